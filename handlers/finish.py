"""Stage `model.evaluated`: the run is complete. A promotion gate would start from here."""

from __future__ import annotations

from handlers import manifest
from handlers.messages import ModelEvaluated
from service.context import HandlerContext
from service.messages import Outgoing


def handle(msg: ModelEvaluated, ctx: HandlerContext) -> list[Outgoing]:
    document = manifest.update(
        ctx.clients.s3, ctx.settings.reports_bucket, msg.run_id, manifest.run_finished("succeeded")
    )
    ctx.log.info(
        "run.succeeded",
        run_id=msg.run_id,
        dataset=msg.dataset,
        metrics_key=msg.metrics_key,
        status=document["status"],
    )
    return []
