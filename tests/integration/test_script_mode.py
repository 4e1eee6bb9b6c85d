"""Script-mode models on the SageMaker emulator, over HTTP with boto3, and the emulator held to
the serving framework the XGBoost container wraps.

Each model is a serving bundle (the model, the run's recipe and the project's encoder) created
with the container's script-mode environment. The endpoint answers raw rows exactly as the
bundle's module answers them; a client's mistake comes back as InvokeEndpoint's ModelError with
the module's 4xx status and message; a module the container would not serve fails the
endpoint's health check. The fidelity test serves the same bundle under sagemaker-containers
(the image's version, pins and Python) and compares every answer byte for byte.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError
from csv_rows import as_csv, rows_of
from served_models import RUN_ID, ServedModel, served_model

from handlers.serving import bundle
from localcloud.sagemaker import Emulator
from localcloud.stack import (
    CREDENTIALS,
    REGION,
    SAGEMAKER_ROLE_ARN,
    Stack,
    StackConfig,
    running_sagemaker,
    running_stack,
)

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
ROOT = Path(__file__).resolve().parents[2]
ORACLE_PYTHON = ROOT / ".tools" / "serving-oracle" / "bin" / "python"


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running_stack(StackConfig(prefix=f"s{uuid.uuid4().hex[:8]}")) as running:
        yield running


@pytest.fixture(scope="module")
def emulator(stack: Stack) -> Iterator[Emulator]:
    with running_sagemaker(stack, endpoint_delay_seconds=0.1) as running:
        yield running


@pytest.fixture(scope="module")
def sm(stack: Stack, emulator: Emulator) -> SageMakerClient:
    client: SageMakerClient = _client("sagemaker", emulator.url)
    return client


@pytest.fixture(scope="module")
def runtime(stack: Stack, emulator: Emulator) -> SageMakerRuntimeClient:
    client: SageMakerRuntimeClient = _client("sagemaker-runtime", emulator.url)
    return client


def _client(service: str, url: str) -> Any:
    return boto3.client(service, endpoint_url=url, region_name=REGION, **CREDENTIALS)  # type: ignore[call-overload]


@cache
def model_of(kind: str) -> ServedModel:
    return served_model(kind)


def deploy(
    stack: Stack,
    sm: SageMakerClient,
    archive: bytes,
    environment: dict[str, str] | None = None,
    wait: bool = True,
) -> str:
    name = f"sm-{uuid.uuid4().hex[:10]}"
    key = f"serving/{name}/bundle.tar.gz"
    bucket = stack.buckets["models"]
    stack.client("s3").put_object(Bucket=bucket, Key=key, Body=archive)
    sm.create_model(
        ModelName=name,
        ExecutionRoleArn=SAGEMAKER_ROLE_ARN,
        PrimaryContainer={
            "Image": IMAGE,
            "ModelDataUrl": f"s3://{bucket}/{key}",
            "Environment": bundle.environment() if environment is None else environment,
        },
    )
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": name,
                "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 1},
            }
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    if wait:
        status = settled(sm, name)
        assert status == "InService", sm.describe_endpoint(EndpointName=name)
    return name


def settled(sm: SageMakerClient, name: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = sm.describe_endpoint(EndpointName=name)["EndpointStatus"]
        if status not in ("Creating", "Updating"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"{name} did not settle")


def invoke(
    runtime: SageMakerRuntimeClient, name: str, body: str, content_type: str, accept: str = ""
) -> dict[str, Any]:
    extra = {"Accept": accept} if accept else {}
    return dict(
        runtime.invoke_endpoint(EndpointName=name, Body=body, ContentType=content_type, **extra)
    )


def headerless(served: ServedModel, rows: int) -> str:
    table = rows_of(served.raw)[: rows + 1]
    label = table[0].index(served.target)
    return as_csv([[c for i, c in enumerate(r) if i != label] for r in table[1:]]).decode()


def with_header(served: ServedModel, rows: int) -> str:
    table = rows_of(served.raw)[: rows + 1]
    order = list(reversed(range(len(table[0]))))  # another column order than the upload's
    return as_csv([[row[i] for i in order] for row in table]).decode()


def instances(served: ServedModel, rows: int) -> str:
    table = rows_of(served.raw)[: rows + 1]
    return json.dumps({"instances": [dict(zip(table[0], r, strict=True)) for r in table[1:]]})


def scores_in(kind: str, answer: dict[str, Any]) -> np.ndarray:
    items = json.loads(answer["Body"].read())["predictions"]
    if kind == "binary":
        return np.array([p["probability"] for p in items])
    if kind == "multiclass":
        return np.array([list(p["probabilities"].values()) for p in items])
    return np.array([p["value"] for p in items])


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_each_kind_answers_raw_rows_with_the_models_own_scores(
    kind: str, stack: Stack, sm: SageMakerClient, runtime: SageMakerRuntimeClient
) -> None:
    served = model_of(kind)
    name = deploy(stack, sm, served.bundle)
    expected = served.scores()[:30].astype(np.float64)
    for body, media in (
        (with_header(served, 30), "text/csv"),
        (headerless(served, 30), "text/csv"),
        (instances(served, 30), "application/json"),
    ):
        answer = invoke(runtime, name, body, media)
        assert answer["ContentType"] == "application/json"
        assert answer["CustomAttributes"] == f"dataset={served.recipe.name},run_id={RUN_ID}"
        assert np.allclose(scores_in(kind, answer), expected, rtol=0, atol=1e-6)
    csv_answer = invoke(runtime, name, headerless(served, 3), "text/csv", accept="text/csv")
    assert csv_answer["ContentType"] == "text/csv"
    header = csv_answer["Body"].read().decode().splitlines()[0]
    assert tuple(header.split(",")) == served.recipe.target.prediction_columns()


def test_a_bad_row_is_a_model_error_with_the_modules_400_and_message(
    stack: Stack, sm: SageMakerClient, runtime: SageMakerRuntimeClient
) -> None:
    served = model_of("binary")
    name = deploy(stack, sm, served.bundle)
    table = rows_of(served.raw)[:4]
    table[3][table[0].index("age")] = "old"
    with pytest.raises(ClientError) as raised:
        invoke(runtime, name, as_csv(table).decode(), "text/csv")
    error = raised.value.response
    assert error["Error"]["Code"] == "ModelError"
    assert error["OriginalStatusCode"] == 400  # type: ignore[typeddict-item]
    message = json.loads(error["OriginalMessage"])  # type: ignore[typeddict-item]
    assert (message["row"], message["column"], message["value"]) == (3, "age", "old")


def archive_with(served: ServedModel, program: str) -> bytes:
    """The bundle with its program replaced by `program`."""
    out = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(served.bundle), mode="r:gz") as source,
        tarfile.open(fileobj=out, mode="w:gz") as target,
    ):
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == f"code/{bundle.PROGRAM}":
                data = program.encode()
                member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    return out.getvalue()


@pytest.mark.parametrize(
    ("program", "environment"),
    [
        ("def input_fn(b, c):\n    return b\n", None),  # no model_fn
        (
            "from handlers.serving.entry import *\ndef transform_fn(m, d, c, a):\n    return d\n",
            None,
        ),  # transform_fn beside the other three
        ("import handlers.aws.storage\n", None),  # a module the bundle does not ship
        (None, {"SAGEMAKER_PROGRAM": "", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}),
        (None, {"SAGEMAKER_PROGRAM": "serve.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/tmp/code"}),
    ],
    ids=["no-model-fn", "transform-fn-and-others", "unshipped-import", "empty-program", "no-code"],
)
def test_what_the_container_would_not_serve_fails_the_health_check(
    program: str | None, environment: dict[str, str] | None, stack: Stack, sm: SageMakerClient
) -> None:
    served = model_of("binary")
    archive = served.bundle if program is None else archive_with(served, program)
    name = deploy(stack, sm, archive, environment, wait=False)
    assert settled(sm, name) == "Failed"
    reason = sm.describe_endpoint(EndpointName=name)["FailureReason"]
    assert "did not pass the ping health check" in reason


def test_deleting_or_updating_an_endpoint_stops_its_models_process(
    stack: Stack, sm: SageMakerClient, runtime: SageMakerRuntimeClient, emulator: Emulator
) -> None:
    served = model_of("regression")
    first = deploy(stack, sm, served.bundle)
    host = _host_of(emulator, first)
    second = deploy(stack, sm, served.bundle)
    sm.update_endpoint(EndpointName=first, EndpointConfigName=second)
    assert settled(sm, first) == "InService"
    assert host.process.wait(timeout=10) is not None  # the replaced model's process is gone
    assert invoke(runtime, first, headerless(served, 2), "text/csv")["ContentType"]
    replacement = _host_of(emulator, first)
    sm.delete_endpoint(EndpointName=first)
    assert replacement.process.wait(timeout=10) is not None


def _host_of(emulator: Emulator, endpoint: str) -> Any:
    with emulator.store.lock:
        found = emulator.store.endpoints.find(endpoint)
        assert found is not None
        assert found.serving is not None
        return found.serving.script


# ------------------------------------------------------------------------------------ fidelity


def oracle_answers(model_dir: Path, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    base = model_dir.parent
    result = subprocess.run(
        [str(ORACLE_PYTHON), str(ROOT / "tests" / "serving_oracle.py"), str(base)],
        input=json.dumps(requests),
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return list(json.loads((base / "answers.json").read_text()))


def emulator_answer(
    runtime: SageMakerRuntimeClient, name: str, request: dict[str, Any]
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"EndpointName": name, "Body": base64.b64decode(request["body"])}
    if request["content_type"] is not None:
        kwargs["ContentType"] = request["content_type"]
    if request["accept"] is not None:
        kwargs["Accept"] = request["accept"]
    try:
        answer = runtime.invoke_endpoint(**kwargs)
    except ClientError as error:
        response: Any = error.response
        body = str(response["OriginalMessage"]).encode()
        return {"status": response["OriginalStatusCode"], "body": body}
    return {"status": 200, "content_type": answer["ContentType"], "body": answer["Body"].read()}


def fidelity_requests(served: ServedModel) -> list[dict[str, Any]]:
    table = rows_of(served.raw)[:6]
    bad = [list(row) for row in table]
    bad[2][bad[0].index("job")] = "astronaut"
    cases = [
        (with_header(served, 5), "text/csv", None),
        (headerless(served, 5), "text/csv", "text/csv"),
        (instances(served, 5), "application/json", "application/json"),
        (instances(served, 2), None, None),  # no Content-Type: the container reads JSON
        (with_header(served, 2), "text/csv; charset=utf-8", "*/*"),
        (as_csv(bad).decode(), "text/csv", None),
        ("{}", "application/json", None),
        ("", "text/csv", None),
        (headerless(served, 2), "text/plain", None),
        (headerless(served, 2), "text/csv", "image/png"),
    ]
    return [
        {"body": base64.b64encode(body.encode()).decode(), "content_type": media, "accept": accept}
        for body, media, accept in cases
    ]


@pytest.mark.skipif(
    not ORACLE_PYTHON.exists(),
    reason="no serving-oracle environment (make serving-oracle; needs Python 3.10)",
)
def test_the_emulator_answers_as_the_containers_serving_framework(
    stack: Stack, sm: SageMakerClient, runtime: SageMakerRuntimeClient, tmp_path: Path
) -> None:
    served = model_of("binary")
    requests = fidelity_requests(served)
    expected = oracle_answers(served.unpack(tmp_path / "model"), requests)
    name = deploy(stack, sm, served.bundle)
    for request, reference in zip(requests, expected, strict=True):
        got = emulator_answer(runtime, name, request)
        assert got["status"] == reference["status"], request
        assert got["body"] == base64.b64decode(reference["body"]), request
        if got["status"] == 200:
            assert got["content_type"] == reference["content_type"], request
