"""Idempotent SageMaker calls: look before creating, and treat "already exists" as success.

Names are derived from the run id, so a redelivered message finds the resource it (or a twin
delivery in another task) created instead of making a second one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from handlers.storage import error_code

if TYPE_CHECKING:
    from mypy_boto3_sagemaker.type_defs import TagTypeDef

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


def tags(**values: str) -> list[TagTypeDef]:
    return [{"Key": f"automlops:{key}", "Value": value[:256]} for key, value in values.items()]
