"""Records each stage in the run manifest around a plain handler, and the reason a run stopped.

A stage handler stays a plain function `handle(msg, ctx) -> list[Outgoing]`; `recorded(name)`
wraps it so that its start, end and outcome land in `runs/<run_id>/manifest.json`, and a
permanent failure also lands in `runs/<run_id>/error.json` (what, where, why) before the
runtime dead-letters the message.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from handlers import manifest
from handlers.storage import write_json
from service.context import HandlerContext
from service.errors import PermanentError, RetryableError
from service.messages import Message, Outgoing

M = TypeVar("M", bound=Message)
StageHandler = Callable[[M, HandlerContext], list[Outgoing]]


def recorded(stage: str) -> Callable[[StageHandler[M]], StageHandler[M]]:
    def wrap(handler: StageHandler[M]) -> StageHandler[M]:
        @functools.wraps(handler)
        def run(msg: M, ctx: HandlerContext) -> list[Outgoing]:
            run_id: str = getattr(msg, "run_id")  # noqa: B009 - S3 messages derive it lazily
            record = functools.partial(
                manifest.update, ctx.clients.s3, ctx.settings.reports_bucket, run_id
            )
            record(manifest.stage_started(stage, _details(msg)))
            try:
                follow_ups = handler(msg, ctx)
            except PermanentError as exc:
                record_failure(ctx, run_id, stage, msg, exc)
                raise
            except RetryableError as exc:
                record(manifest.stage_ended(stage, "waiting", error=exc.reason))
                raise
            except Exception as exc:
                record(
                    manifest.stage_ended(stage, "retrying", error=f"{type(exc).__name__}: {exc}")
                )
                raise
            record(manifest.stage_ended(stage, _outcome(msg, follow_ups)))
            return follow_ups

        return run

    return wrap


def record_failure(
    ctx: HandlerContext, run_id: str, stage: str, msg: Message, exc: PermanentError
) -> None:
    """Write error.json next to the run and mark the run failed in its manifest."""
    details: dict[str, Any] = exc.to_dict() if hasattr(exc, "to_dict") else {}
    document = {
        "run_id": run_id,
        "stage": stage,
        "message_type": msg.TYPE,
        "error": type(exc).__name__,
        "reason": exc.reason,
        "details": details,
        "at": manifest.now(),
    }
    bucket = ctx.settings.reports_bucket
    write_json(ctx.clients.s3, bucket, manifest.error_key(run_id), document)
    manifest.update(
        ctx.clients.s3, bucket, run_id, manifest.stage_ended(stage, "failed", error=exc.reason)
    )
    ctx.log.error("run.failed", run_id=run_id, stage=stage, error=exc.reason, **_flat(details))


def _outcome(msg: Message, follow_ups: list[Outgoing]) -> str:
    """A stage that sends itself again (a watch) is waiting, not done."""
    return "waiting" if any(out.message.TYPE == msg.TYPE for out in follow_ups) else "ok"


def _details(msg: Message) -> dict[str, Any]:
    """What the manifest keeps about a run the first time it hears of it."""
    details: dict[str, Any] = {}
    try:
        dataset = getattr(msg, "dataset", None)
    except PermanentError:  # a bad key: the handler raises it again, inside the record
        dataset = None
    if isinstance(dataset, str):
        details["dataset"] = dataset
    if msg.TYPE == "data.uploaded":
        details["source"] = {
            "bucket": getattr(msg, "bucket", ""),
            "key": getattr(msg, "key", ""),
            "version_id": getattr(msg, "version_id", None),
            "etag": getattr(msg, "etag", ""),
        }
    return details


def _flat(details: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in details.items() if k in ("file", "column", "row", "value")}
