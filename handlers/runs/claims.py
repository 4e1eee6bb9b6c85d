"""Claims: which of several deliveries of the same work does it.

S3 and SQS deliver at least once, and two tasks may hold twins of one message at the same time.
The first delivery to write the claim object (a conditional PutObject, `If-None-Match: *`) does
the work. A redelivery of that same SQS message (a crash, an expired visibility) carries the
same message id and carries on. Any other delivery finds the work done (or the run failed) and
stands down, or finds a live holder and is settled as a duplicate (`DuplicateDelivery`: the
holder's own message is what recovers the work if the holder dies), or, when the holder's lease
ended without the work done, takes the claim over. The takeover is what lets a message redriven
from a DLQ (SQS gives it a new message id) finish a run whose first delivery gave up.

A claim object is `{"claim": {"message_id", "stage", "at"}, ...}`: what else it holds is the
caller's (preprocess's claim is the run's `run.json`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from handlers.aws.storage import Bucket
from handlers.runs import manifest
from handlers.runs.repository import RunRepository
from service.failures import DuplicateDelivery, RetryableError

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

Verdict = Literal["ours", "done", "run-failed"]


@dataclass(frozen=True)
class Claim:
    """One stage's claim on one run's work, as a delivery `message_id` makes it."""

    bucket: Bucket
    key: str
    run_id: str
    stage: str
    lease_seconds: float
    # done(manifest) tells whether the holder finished.
    done: Callable[[manifest.Manifest], bool]


def claim(
    spec: Claim,
    runs: RunRepository,
    message_id: str,
    log: FilteringBoundLogger,
    content: dict[str, Any] | None = None,
) -> Verdict:
    """While the holder has not finished and its lease runs, this raises DuplicateDelivery.
    `content` is stored beside the claim record."""
    record = {
        **(content or {}),
        "claim": {"message_id": message_id, "stage": spec.stage, "at": manifest.now()},
    }
    if _write(spec, record, etag=None):
        return "ours"
    found = spec.bucket.read_json(spec.key)
    if found is None:  # released between our write and our read: try again soon
        raise RetryableError(f"run {spec.run_id}: the {spec.stage} claim changed; looking again", 1)
    held, etag = found
    holder = held.get("claim", {})
    if holder.get("message_id") == message_id:
        # Our own earlier attempt: carry on from where it stopped, with this attempt's content.
        if _write(spec, record, etag=etag):
            return "ours"
        raise RetryableError(f"run {spec.run_id}: the {spec.stage} claim changed; looking again", 1)
    document = runs.load(spec.run_id) or {}
    if document.get("status") == "failed":
        return "run-failed"
    if spec.done(document):
        return "done"
    age = _age_seconds(holder.get("at"))
    if age >= spec.lease_seconds and _write(spec, record, etag=etag):
        log.warning(
            "claim.taken_over",
            run_id=spec.run_id,
            stage=spec.stage,
            previous_message_id=holder.get("message_id"),
            claim_age_s=round(age),
        )
        return "ours"
    raise DuplicateDelivery(
        f"run {spec.run_id}: {spec.stage} is being done by another delivery (message "
        f"{holder.get('message_id')}, claimed {age:.0f} s ago, lease {spec.lease_seconds:.0f} s)"
    )


def _write(spec: Claim, record: dict[str, Any], etag: str | None) -> bool:
    """Create the claim (etag None) or replace exactly the claim we read; False if we lost."""
    return spec.bucket.write_json_if(spec.key, record, etag) is not None


def _age_seconds(at: object) -> float:
    try:
        claimed = datetime.fromisoformat(str(at))
    except ValueError:
        return float("inf")  # unreadable: treat as expired rather than block the run forever
    return (datetime.fromisoformat(manifest.now()) - claimed).total_seconds()
