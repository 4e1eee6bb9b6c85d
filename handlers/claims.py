"""Claims: which of several deliveries of the same work does it.

S3 and SQS deliver at least once, and two tasks may hold twins of one message at the same time.
The first delivery to write the claim object (a conditional PutObject, `If-None-Match: *`) does
the work. A redelivery of that same SQS message (a crash, an expired visibility) carries the
same message id and carries on. Any other delivery waits until the claim's lease ends, then
finds the work done (or the run failed) and stands down, or, when the holder never finished,
takes the claim over. The takeover is what lets a message redriven from a DLQ (SQS gives it a
new message id) finish a run whose first delivery gave up.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from botocore.exceptions import ClientError

from handlers import manifest
from handlers.storage import is_conflict, read_json, write_json
from service.context import HandlerContext
from service.errors import RetryableError

Verdict = Literal["ours", "done", "run-failed"]


def claim(
    ctx: HandlerContext,
    *,
    bucket: str,
    key: str,
    run_id: str,
    stage: str,
    done: Callable[[dict[str, Any]], bool],
    lease_seconds: float,
) -> Verdict:
    """`done(manifest)` tells whether the holder finished. While it has not and its lease runs,
    this raises RetryableError timed to look again when the lease ends."""
    record = {"message_id": ctx.message_id, "stage": stage, "at": manifest.now()}
    if _write(ctx, bucket, key, record, etag=None):
        return "ours"
    found = read_json(ctx.clients.s3, bucket, key)
    if found is None:  # released between our write and our read: try again soon
        raise RetryableError(f"run {run_id}: the {stage} claim changed; looking again", delay=1)
    held, etag = found
    if held.get("message_id") == ctx.message_id:
        return "ours"  # our own earlier attempt: carry on from where it stopped
    document = manifest.load(ctx.clients.s3, ctx.settings.reports_bucket, run_id) or {}
    if document.get("status") == "failed":
        return "run-failed"
    if done(document):
        return "done"
    age = _age_seconds(held.get("at"))
    if age >= lease_seconds and _write(ctx, bucket, key, record, etag=etag):
        ctx.log.warning(
            "claim.taken_over",
            run_id=run_id,
            stage=stage,
            previous_message_id=held.get("message_id"),
            claim_age_s=round(age),
        )
        return "ours"
    raise RetryableError(
        f"run {run_id}: {stage} is being done by another delivery (claimed {age:.0f} s ago); "
        "looking again when its lease ends",
        delay=max(1.0, lease_seconds - age),
    )


def _write(
    ctx: HandlerContext, bucket: str, key: str, record: dict[str, Any], etag: str | None
) -> bool:
    """Create the claim (etag None) or replace exactly the claim we read; False if we lost."""
    try:
        write_json(ctx.clients.s3, bucket, key, record, if_match=etag, if_none_match=etag is None)
    except ClientError as exc:
        if is_conflict(exc):
            return False
        raise
    return True


def _age_seconds(at: object) -> float:
    try:
        claimed = datetime.fromisoformat(str(at))
    except ValueError:
        return float("inf")  # unreadable: treat as expired rather than block the run forever
    return (datetime.fromisoformat(manifest.now()) - claimed).total_seconds()
