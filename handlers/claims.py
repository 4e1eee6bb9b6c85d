"""Claims: which of several deliveries of the same work does it.

S3 and SQS deliver at least once, and two tasks may hold twins of one message at the same time.
The first delivery to write the claim object (a conditional PutObject, `If-None-Match: *`) does
the work. A redelivery of that same SQS message (a crash, an expired visibility) carries the
same message id and carries on. Any other delivery waits for the winner, then finds the work
done (or the run failed) and stands down.
"""

from __future__ import annotations

from collections.abc import Callable
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
    wait_seconds: float,
) -> Verdict:
    """`done(manifest)` tells whether the winner finished; until it has, this raises
    RetryableError so the message is looked at again after `wait_seconds`."""
    record = {"message_id": ctx.message_id, "stage": stage, "at": manifest.now()}
    try:
        write_json(ctx.clients.s3, bucket, key, record, if_none_match=True)
        return "ours"
    except ClientError as exc:
        if not is_conflict(exc):
            raise
    found = read_json(ctx.clients.s3, bucket, key)
    if found and found[0].get("message_id") == ctx.message_id:
        return "ours"  # our own earlier attempt: carry on from where it stopped
    document = manifest.load(ctx.clients.s3, ctx.settings.reports_bucket, run_id) or {}
    if document.get("status") == "failed":
        return "run-failed"
    if done(document):
        return "done"
    raise RetryableError(
        f"run {run_id}: {stage} is being done by another delivery; looking again later",
        delay=wait_seconds,
    )
