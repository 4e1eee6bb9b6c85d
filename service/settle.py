"""What becomes of a message once its handlers have run: the failure policy, as pure functions.

ok / dropped -> delete. Retryable (or anything unclassified) -> stay on the queue, invisible for
a back-off computed from the receive count; SQS redrive moves it to the DLQ after maxReceiveCount.
Permanent -> straight to the DLQ with its reason attached, then delete.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from service.backoff import Backoff, clamp_visibility
from service.errors import is_permanent, reason_of
from service.failures import DuplicateDelivery, RetryableError

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef

    from service.transport import Received

Outcome = Literal["ok", "retry", "dead-lettered", "dropped", "duplicate", "handed-back"]

# SQS allows ten message attributes per message; these names are our part of them.
ATTR_ERROR = "automlops-error"
ATTR_SOURCE_QUEUE = "automlops-source-queue"
ATTR_MESSAGE_TYPE = "automlops-message-type"
ATTR_MESSAGE_ID = "automlops-source-message-id"
ATTR_RECEIVE_COUNT = "automlops-receive-count"
ATTR_FAILED_AT = "automlops-failed-at"
MAX_ATTRIBUTES = 10
MAX_ERROR_CHARS = 1000


@dataclass(frozen=True)
class Failure:
    error: str  # "<ExceptionType>: <reason>"
    permanent: bool
    delay: float | None = None  # a RetryableError's own delay, overriding the back-off
    duplicate: bool = False  # another delivery has this work: not a failure at all


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    error: str | None = None
    retry_delay: int | None = None


def classify(exc: BaseException) -> Failure:
    """Permanent or not as `service.errors.is_permanent` says; a duplicate is neither."""
    error = reason_of(exc, with_type=True)[:MAX_ERROR_CHARS]
    if isinstance(exc, DuplicateDelivery):
        return Failure(error=error, permanent=False, duplicate=True)
    if is_permanent(exc):
        return Failure(error=error, permanent=True)
    delay = exc.delay if isinstance(exc, RetryableError) else None
    return Failure(error=error, permanent=False, delay=delay)


def decide(
    failures: Sequence[Failure],
    handled: int,
    receive_count: int,
    backoff: Backoff,
    last_attempt: bool = False,
) -> Verdict:
    """One verdict for the whole message. A permanent failure wins: retrying cannot clear it, and
    the DLQ keeps the whole body, so records that succeeded are only replayed (idempotently).
    On the last receive the queue allows, a retry becomes a dead letter with its reason, rather
    than a silent move by the queue's redrive."""
    real = [f for f in failures if not f.duplicate]
    if not real:
        return Verdict(outcome="duplicate" if failures else "ok" if handled else "dropped")
    failures = real
    error = "; ".join(f.error for f in failures)[:MAX_ERROR_CHARS]
    if any(f.permanent for f in failures):
        return Verdict(outcome="dead-lettered", error=error)
    if last_attempt:
        gave_up = f"{error} (receive {receive_count}: the last the queue allows)"
        return Verdict(outcome="dead-lettered", error=gave_up[:MAX_ERROR_CHARS])
    explicit = [f.delay for f in failures if f.delay is not None]
    delay = clamp_visibility(max(explicit)) if explicit else backoff.delay(receive_count)
    return Verdict(outcome="retry", error=error, retry_delay=delay)


def dead_letter_attributes(
    received: Received, error: str, message_type: str, now: datetime | None = None
) -> dict[str, MessageAttributeValueTypeDef]:
    """The original attributes plus ours, within SQS's ten. Ours replace same-named originals
    (a replayed message that fails again carries its newest reason); the error comes first."""
    ours: dict[str, str] = {
        ATTR_ERROR: error[:MAX_ERROR_CHARS] or "unknown",
        ATTR_SOURCE_QUEUE: received.queue_url,
        ATTR_MESSAGE_TYPE: message_type or "unknown",
        ATTR_MESSAGE_ID: received.message_id,
        ATTR_RECEIVE_COUNT: str(received.receive_count),
        ATTR_FAILED_AT: (now or datetime.now(UTC)).isoformat(timespec="seconds"),
    }
    attributes = _original_attributes(received.attributes, exclude=set(ours))
    for name, value in ours.items():
        if len(attributes) >= MAX_ATTRIBUTES:
            break
        attributes[name] = {"DataType": "String", "StringValue": value}
    return attributes


def _original_attributes(
    attributes: Mapping[str, MessageAttributeValueTypeDef], exclude: set[str]
) -> dict[str, MessageAttributeValueTypeDef]:
    kept: dict[str, MessageAttributeValueTypeDef] = {}
    for name, value in attributes.items():
        if name in exclude:
            continue
        copy: MessageAttributeValueTypeDef = {"DataType": value["DataType"]}
        if "StringValue" in value:
            copy["StringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            copy["BinaryValue"] = value["BinaryValue"]
        kept[name] = copy
    # Ours need room too: the error at least. Originals beyond nine are the rare casualty.
    return dict(list(kept.items())[: MAX_ATTRIBUTES - 1])
