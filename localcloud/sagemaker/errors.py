"""The errors the emulator answers with, shaped so botocore raises the ClientError AWS would.

Control-plane messages are the ones SageMaker really returns (e.g. DescribeTrainingJob on a missing
job is a ValidationException "Requested resource not found.", not ResourceNotFound), because the
worker's idempotency checks branch on exactly these codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ApiError(Exception):
    """An AWS error response: `code` becomes ClientError.response["Error"]["Code"]."""

    def __init__(
        self, code: str, message: str, status: int = 400, fields: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.fields = dict(fields or {})


def validation(message: str) -> ApiError:
    return ApiError("ValidationException", message)


def limit_exceeded(limit: str, quota: int, used: int, unit: str) -> ApiError:
    """An account quota, worded as SageMaker words them."""
    return ApiError(
        "ResourceLimitExceeded",
        f"The account-level service limit '{limit}' is {quota} {unit}, with current utilization "
        f"of {used} {unit} and a request delta of 1 {unit}. Please use AWS Service Quotas to "
        "request an increase for this quota. If AWS Service Quotas is not available, contact "
        "AWS support to request an increase for this quota.",
    )


def resource_in_use(message: str) -> ApiError:
    return ApiError("ResourceInUse", message)


def not_found(label: str, arn: str) -> ApiError:
    """Describe/Delete of a missing model, endpoint config or endpoint: a ValidationException."""
    return validation(f'Could not find {label} "{arn}".')


def already_exists(label: str, arn: str) -> ApiError:
    """Create of a model, endpoint config or endpoint whose name is taken."""
    return validation(f'Cannot create already existing {label} "{arn}".')


def runtime_validation(message: str) -> ApiError:
    """sagemaker-runtime's own code is ValidationError (no "Exception" suffix)."""
    return ApiError("ValidationError", message)


class ContainerError(Exception):
    """A failure inside the training container; `reason` is the job's FailureReason verbatim."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def client_error(message: str) -> ContainerError:
    """What the XGBoost container reports for bad input (its UserError)."""
    return ContainerError(f"ClientError: {message}")


def algorithm_error(message: str) -> ContainerError:
    """What the XGBoost container reports for an unexpected failure (its AlgorithmError)."""
    return ContainerError(f"AlgorithmError: {message}")
