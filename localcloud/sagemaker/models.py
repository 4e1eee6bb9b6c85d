"""CreateModel, DescribeModel, DeleteModel, ListModels."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from localcloud.sagemaker import listing
from localcloud.sagemaker.errors import already_exists, not_found, validation
from localcloud.sagemaker.s3io import S3, S3Error
from localcloud.sagemaker.store import Model, Store
from localcloud.sagemaker.validation import (
    MODEL_NAME_PATTERN,
    ROLE_ARN_PATTERN,
    S3_URI_PATTERN,
    Problems,
    check_name,
    check_string,
    check_tags,
    required,
)

LABEL = "model"
ECHOED = (
    "PrimaryContainer",
    "Containers",
    "InferenceExecutionConfig",
    "ExecutionRoleArn",
    "VpcConfig",
)


def containers(request: Mapping[str, Any]) -> list[dict[str, Any]]:
    primary = request.get("PrimaryContainer")
    return [primary] if primary else list(request.get("Containers") or [])


class Models:
    def __init__(self, store: Store, s3: S3) -> None:
        self._store = store
        self._s3 = s3

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        _validate(body)
        name = str(body["ModelName"])
        arn = self._store.arn("model", name)
        self._refuse_duplicate(name, arn)
        self._require_model_data(body)
        with self._store.lock:
            self._refuse_duplicate(name, arn)
            self._store.models.add(name, Model(name, arn, dict(body), time.time()))
            if body.get("Tags"):
                self._store.tags[arn] = {t["Key"]: t["Value"] for t in body["Tags"]}
        return {"ModelArn": arn}

    def describe(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._store.lock:
            model = self._find(str(body.get("ModelName", "")))
            result = {key: model.request[key] for key in ECHOED if key in model.request}
            result.update(
                {
                    "ModelName": model.name,
                    "ModelArn": model.arn,
                    "CreationTime": model.created,
                    "EnableNetworkIsolation": bool(
                        model.request.get("EnableNetworkIsolation", False)
                    ),
                }
            )
            return result

    def delete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        # Deleting a model an endpoint serves is allowed; the endpoint keeps serving it.
        with self._store.lock:
            model = self._find(str(body.get("ModelName", "")))
            self._store.models.remove(model.name)
            self._store.tags.pop(model.arn, None)
        return {}

    def list(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._store.lock:
            summaries = [
                {"ModelName": m.name, "ModelArn": m.arn, "CreationTime": m.created}
                for m in self._store.models
            ]
        summaries = listing.filtered(summaries, body, "ModelName")
        fields = {"Name": "ModelName", "CreationTime": "CreationTime"}
        summaries = listing.sorted_by(summaries, body, fields, default_order="Descending")
        return listing.page(summaries, body, "Models")

    def _find(self, name: str) -> Model:
        model = self._store.models.find(name)
        if model is None:
            raise not_found(LABEL, self._store.arn("model", name))
        return model

    def _refuse_duplicate(self, name: str, arn: str) -> None:
        with self._store.lock:
            if self._store.models.find(name) is not None:
                raise already_exists(LABEL, arn)

    def _require_model_data(self, body: Mapping[str, Any]) -> None:
        """CreateModel checks that the model data object exists (it does not open it)."""
        for container in containers(body):
            url = container.get("ModelDataUrl")
            if not url:
                continue
            try:
                present = str(url).startswith("s3://") and self._s3.exists(str(url))
            except S3Error:
                present = False
            if not present:
                raise validation(f"Could not find model data at {url}.")


def _validate(body: Mapping[str, Any]) -> None:
    problems = Problems()
    name = required(problems, body, "ModelName", "modelName")
    check_name(problems, name, "modelName", MODEL_NAME_PATTERN)
    role = required(problems, body, "ExecutionRoleArn", "executionRoleArn")
    check_string(problems, role, "executionRoleArn", ROLE_ARN_PATTERN, 2048)
    if not containers(body):
        problems.add(None, "primaryContainer", "Member must not be null")
    for index, container in enumerate(containers(body)):
        prefix = (
            "primaryContainer" if body.get("PrimaryContainer") else f"containers.{index + 1}.member"
        )
        required(problems, container, "Image", f"{prefix}.image")
        url = container.get("ModelDataUrl")
        check_string(problems, url, f"{prefix}.modelDataUrl", S3_URI_PATTERN, 1024)
    check_tags(problems, body.get("Tags"))
    problems.raise_if_any()
