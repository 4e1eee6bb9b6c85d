"""What a handler is given: the AWS clients, the settings and a logger bound to its message."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from service.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient
    from mypy_boto3_sqs import SQSClient
    from structlog.typing import FilteringBoundLogger


@dataclass(frozen=True)
class AwsClients:
    """Built once in the composition root from one boto3 session; thread-safe to share."""

    s3: S3Client
    sqs: SQSClient
    sagemaker: SageMakerClient
    sagemaker_runtime: SageMakerRuntimeClient
    cloudwatch: CloudWatchClient


@dataclass(frozen=True)
class HandlerContext:
    """Passed to every handler call. `log` already carries the message's context keys."""

    clients: AwsClients
    settings: Settings
    log: FilteringBoundLogger
    message_id: str = ""
    receive_count: int = 1
    # Emits one CloudWatch Embedded Metric Format line; a no-op unless the runtime wires one in.
    emit_metric: Callable[..., Any] | None = None
