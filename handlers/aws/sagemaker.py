"""The SageMaker gateway: idempotent calls (look before creating, "already exists" is success).

Names are derived from the run id, so a redelivered message finds the resource it (or a twin
delivery in another task) created instead of making a second one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from handlers.aws.endpoint_wait import wait_in_service
from handlers.aws.images import xgboost_image_uri
from handlers.aws.storage import error_code
from handlers.naming import TAG_KEY_MAX, TAG_VALUE_MAX, tag_text
from handlers.settings import PipelineSettings
from service.failures import RetryableError

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker.type_defs import (
        ContainerDefinitionTypeDef,
        ProductionVariantServerlessConfigTypeDef,
        TagTypeDef,
    )
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient

_NOT_FOUND = ("could not find", "not found", "does not exist")
_ALREADY = ("already exist",)


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")).lower()


def is_not_found(exc: ClientError) -> bool:
    return error_code(exc) in ("ResourceNotFound", "ValidationException") and any(
        text in _message(exc) for text in _NOT_FOUND
    )


def is_already_there(exc: ClientError) -> bool:
    return error_code(exc) == "ResourceInUse" or (
        error_code(exc) == "ValidationException" and any(t in _message(exc) for t in _ALREADY)
    )


def describe_or_none(describe: Callable[[], object]) -> object | None:
    try:
        return describe()
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise


def ensure(describe: Callable[[], object], create: Callable[[], Any]) -> bool:
    """Create the resource unless it exists. True when this call created it."""
    if describe_or_none(describe) is not None:
        return False
    return create_once(create)


def create_once(create: Callable[[], Any]) -> bool:
    """Create; "already exists" (a twin delivery got there first) counts as done.
    True when this call created it."""
    try:
        create()
    except ClientError as exc:
        if is_already_there(exc):
            return False
        raise
    return True


def _deleted(delete: Callable[[], object]) -> bool:
    try:
        delete()
    except ClientError as exc:
        if is_not_found(exc):
            return False
        raise
    return True


def _message_of(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")) or error_code(exc)


def tags(**values: str) -> list[TagTypeDef]:
    """Tags AWS accepts whatever the values hold (a browser's `bank-additional (1).csv`)."""
    return [
        {"Key": tag_text(f"automlops:{key}", TAG_KEY_MAX), "Value": tag_text(value, TAG_VALUE_MAX)}
        for key, value in values.items()
    ]


class SageMakerGateway:
    """The SageMaker calls the stages make, with the deployment's settings filled in: the image,
    the execution role, the serverless sizing. Creation is idempotent (see above)."""

    def __init__(
        self,
        sagemaker: SageMakerClient,
        runtime: SageMakerRuntimeClient,
        settings: PipelineSettings,
    ) -> None:
        self._sm = sagemaker
        self._runtime = runtime
        self._settings = settings

    @property
    def region(self) -> str:
        return self._sm.meta.region_name

    @property
    def image_uri(self) -> str:
        s = self._settings
        return xgboost_image_uri(self.region, s.xgboost_version, s.xgboost_image_uri)

    # -- training ----------------------------------------------------------------------------

    def training_job(self, name: str) -> dict[str, Any] | None:
        found = describe_or_none(lambda: self._sm.describe_training_job(TrainingJobName=name))
        return None if found is None else dict(found)  # type: ignore[call-overload]

    def describe_training_job(self, name: str) -> dict[str, Any]:
        return dict(self._sm.describe_training_job(TrainingJobName=name))

    def start_training_job(self, request: dict[str, Any]) -> bool:
        """True when this call started it; False when a twin delivery got there first."""
        return create_once(lambda: self._sm.create_training_job(**request))

    # -- serving -----------------------------------------------------------------------------

    def ensure_model(
        self,
        name: str,
        model_data_url: str,
        run_tags: list[TagTypeDef],
        environment: Mapping[str, str] | None = None,
    ) -> bool:
        container: ContainerDefinitionTypeDef = {
            "Image": self.image_uri,
            "ModelDataUrl": model_data_url,
        }
        if environment:
            container["Environment"] = dict(environment)
        return ensure(
            lambda: self._sm.describe_model(ModelName=name),
            lambda: self._sm.create_model(
                ModelName=name,
                PrimaryContainer=container,
                ExecutionRoleArn=self._settings.sagemaker_role_arn,
                Tags=run_tags,
            ),
        )

    def config_models(self, name: str) -> list[str]:
        """The models an endpoint config names ([] when there is no such config)."""
        described = describe_or_none(
            lambda: self._sm.describe_endpoint_config(EndpointConfigName=name)
        )
        if not isinstance(described, dict):
            return []
        return [
            str(v["ModelName"])
            for v in described.get("ProductionVariants", [])
            if v.get("ModelName")
        ]

    def has_model(self, name: str) -> bool:
        return describe_or_none(lambda: self._sm.describe_model(ModelName=name)) is not None

    def ensure_serverless_config(
        self, name: str, model: str, variant: str, run_tags: list[TagTypeDef]
    ) -> bool:
        serverless: ProductionVariantServerlessConfigTypeDef = {
            "MemorySizeInMB": self._settings.endpoint_memory_mb,
            "MaxConcurrency": self._settings.endpoint_max_concurrency,
        }
        return ensure(
            lambda: self._sm.describe_endpoint_config(EndpointConfigName=name),
            lambda: self._sm.create_endpoint_config(
                EndpointConfigName=name,
                ProductionVariants=[
                    {"VariantName": variant, "ModelName": model, "ServerlessConfig": serverless}
                ],
                Tags=run_tags,
            ),
        )

    def ensure_endpoint(self, name: str, config: str, run_tags: list[TagTypeDef]) -> bool:
        """Create the endpoint unless it exists. The account's quota of serverless endpoints
        being used up is waited out (clean-up after each decision frees one), not a failure."""
        try:
            return ensure(
                lambda: self._sm.describe_endpoint(EndpointName=name),
                lambda: self._sm.create_endpoint(
                    EndpointName=name, EndpointConfigName=config, Tags=run_tags
                ),
            )
        except ClientError as exc:
            if error_code(exc) != "ResourceLimitExceeded":
                raise
            raise RetryableError(
                f"endpoint {name} cannot be created yet: {_message_of(exc)} (trying again as "
                "other runs' endpoints are deleted after their decisions)"
            ) from exc

    def endpoint(self, name: str) -> dict[str, Any] | None:
        found = describe_or_none(lambda: self._sm.describe_endpoint(EndpointName=name))
        return None if found is None else dict(found)  # type: ignore[call-overload]

    def endpoint_names(self, prefix: str) -> list[str]:
        """Every endpoint whose name starts with `prefix`."""
        paginator = self._sm.get_paginator("list_endpoints")
        return [
            summary["EndpointName"]
            for page in paginator.paginate(NameContains=prefix.rstrip("-"))
            for summary in page["Endpoints"]
            if summary["EndpointName"].startswith(prefix)
        ]

    def update_endpoint(self, name: str, config: str) -> None:
        self._sm.update_endpoint(EndpointName=name, EndpointConfigName=config)

    def delete_endpoint(self, name: str) -> bool:
        """True when it was there (deleting what is already gone is done, not an error)."""
        return _deleted(lambda: self._sm.delete_endpoint(EndpointName=name))

    def delete_endpoint_config(self, name: str) -> bool:
        return _deleted(lambda: self._sm.delete_endpoint_config(EndpointConfigName=name))

    def delete_model(self, name: str) -> bool:
        return _deleted(lambda: self._sm.delete_model(ModelName=name))

    def wait_in_service(self, endpoint: str) -> None:
        wait_in_service(self._sm, endpoint, self._settings.endpoint_wait_seconds)

    def invoke_csv(self, endpoint: str, body: bytes) -> bytes:
        response = self._runtime.invoke_endpoint(
            EndpointName=endpoint, ContentType="text/csv", Accept="text/csv", Body=body
        )
        return response["Body"].read()
