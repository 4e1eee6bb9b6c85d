"""InvokeEndpoint: what sagemaker-runtime and the XGBoost container answer.

A model created in script mode (`SAGEMAKER_PROGRAM`) answers from its own process
(script_mode.py), with whatever status and body its module gives. Otherwise, algorithm mode:
input is CSV rows of features (no label, no header). The answer follows the container's
single-model server: for text/csv one score per line ("0.12\n0.97\n"), for application/json
{"predictions": [{"score": 0.12}, ...]}; no Accept (or */*) means text/csv. Container failures come
back as ModelError (HTTP 424) carrying the container's status and message, as AWS relays them.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import xgboost as xgb

from localcloud.sagemaker.arns import Account
from localcloud.sagemaker.csvdata import CsvError, read_matrix
from localcloud.sagemaker.errors import ApiError, runtime_validation
from localcloud.sagemaker.faults import FaultState
from localcloud.sagemaker.script_mode import ScriptHost
from localcloud.sagemaker.store import Deployment, Store

REAL_TIME_PAYLOAD_LIMIT = 6 * 1024 * 1024
SERVERLESS_PAYLOAD_LIMIT = 4 * 1024 * 1024
CSV = "text/csv"
JSON = "application/json"


@dataclass(frozen=True)
class Invocation:
    body: bytes
    content_type: str
    variant: str
    custom_attributes: str | None = None


class Runtime:
    def __init__(self, store: Store, faults: FaultState, account: Account) -> None:
        self._store = store
        self._faults = faults
        self._account = account

    def invoke(
        self, endpoint_name: str, body: bytes, content_type: str | None, accept: str | None
    ) -> Invocation:
        deployment = self._serving(endpoint_name)
        limit = SERVERLESS_PAYLOAD_LIMIT if deployment.serverless else REAL_TIME_PAYLOAD_LIMIT
        if len(body) > limit:
            raise runtime_validation(f"Request {uuid.uuid4()} has oversize body.")
        faults = self._faults.current
        if faults.invoke_latency_seconds:
            time.sleep(faults.invoke_latency_seconds)
        container = _Container(self._account, endpoint_name)
        injected = self._faults.model_error(endpoint_name)
        if injected is not None:
            raise container.error(*injected)
        if deployment.script is not None:
            return container.forward(deployment, deployment.script, body, content_type, accept)
        answer, media = container.answer(deployment, body, content_type, accept)
        return Invocation(answer, media, deployment.variant_name)

    def _serving(self, endpoint_name: str) -> Deployment:
        """The deployment answering now: an updating endpoint keeps serving its old config."""
        with self._store.lock:
            endpoint = self._store.endpoints.find(endpoint_name)
            serving = endpoint.serving if endpoint is not None else None
        if serving is None:
            raise runtime_validation(
                f"Endpoint {endpoint_name} of account {self._account.account_id} not found."
            )
        return serving


@dataclass(frozen=True)
class _Container:
    account: Account
    endpoint_name: str

    def answer(
        self, deployment: Deployment, body: bytes, content_type: str | None, accept: str | None
    ) -> tuple[bytes, str]:
        media = _media_type(content_type) or CSV
        if media != CSV:
            raise self.error(
                415,
                f"Content-type {media} not supported. This emulator's container reads text/csv.",
            )
        if not body.strip():
            return b"", _media_type(accept) or CSV
        try:
            features = read_matrix(body)
        except CsvError as exc:
            raise self.error(
                415,
                "Loading csv data failed with Exception, please ensure data is in csv format:\n"
                f" <class 'ValueError'>\n {exc}",
            ) from exc
        wanted = _accept(accept)
        if wanted not in (CSV, JSON):
            raise self.error(
                406,
                f"Accept type {accept} is not supported. "
                f"Please use supported accept types: {[CSV, JSON]}.",
            )
        try:
            scores = predict(deployment.boosters, features)
        except xgb.core.XGBoostError as exc:
            first_line = (str(exc).splitlines() or ["prediction failed"])[0]
            raise self.error(400, f"Unable to evaluate payload provided: {first_line}") from exc
        return encode(scores, wanted), wanted

    def forward(
        self,
        deployment: Deployment,
        host: ScriptHost,
        body: bytes,
        content_type: str | None,
        accept: str | None,
    ) -> Invocation:
        """A script-mode model answers from its own process; any status but 2xx is a ModelError
        carrying the container's status and body, as SageMaker relays it."""
        headers = {"Content-Type": content_type} if content_type else {}
        if accept:
            headers["Accept"] = accept
        try:
            answer = host.request("POST", "/invocations", body, headers)
        except OSError as exc:  # the process died, or did not answer in time
            raise self.error(500, f"the model's server did not answer: {exc}") from exc
        if not 200 <= answer.status < 300:
            raise self.error(answer.status, answer.body.decode("utf-8", "replace"))
        return Invocation(
            answer.body, answer.content_type, deployment.variant_name, answer.custom_attributes
        )

    def error(self, status: int, message: str) -> ApiError:
        region, account = self.account.region, self.account.account_id
        kind = "client" if status < 500 else "server"
        group = f"/aws/sagemaker/Endpoints/{self.endpoint_name}"
        text = (
            f'Received {kind} error ({status}) from primary with message "{message}". See '
            f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#logEventViewer:group={group} in account {account} for more information."
        )
        fields = {
            "OriginalStatusCode": status,
            "OriginalMessage": message,
            "LogStreamArn": f"arn:aws:logs:{region}:{account}:log-group:{group}",
        }
        return ApiError("ModelError", text, 424, fields)


def predict(
    boosters: tuple[xgb.Booster, ...], features: npt.NDArray[np.float64]
) -> npt.NDArray[Any]:
    """Scores as the container computes them: all trees, averaged over an ensemble archive."""
    matrix = xgb.DMatrix(features)
    outputs = [booster.predict(matrix, validate_features=False) for booster in boosters]
    return outputs[0] if len(outputs) == 1 else np.mean(outputs, axis=0)


def encode(scores: npt.NDArray[Any], media: str) -> bytes:
    values = scores.tolist()
    if media == JSON:
        return json.dumps({"predictions": [{"score": value} for value in values]}).encode()
    # numpy.savetxt(fmt="%s") of the scores, as the container does: a row per line, str(float).
    lines = (",".join(map(str, v)) if isinstance(v, list) else str(v) for v in values)
    return "".join(f"{line}\n" for line in lines).encode()


def _media_type(header: str | None) -> str:
    return (header or "").split(";")[0].strip().lower()


def _accept(header: str | None) -> str:
    media = _media_type(header)
    return CSV if media in ("", "*/*") else media
