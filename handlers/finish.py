"""Stage `model.evaluated`: the run is complete. A promotion gate would start from here."""

from __future__ import annotations

from handlers import evaluate, manifest
from handlers.deps import Ctx
from handlers.messages import ModelEvaluated
from service.messages import Outgoing

STAGE = "finish"


def handle(msg: ModelEvaluated, ctx: Ctx) -> list[Outgoing]:
    document = ctx.deps.runs.update(
        msg, manifest.run_finished("succeeded"), after=(evaluate.STAGE,)
    )
    ctx.log.info(
        "run.succeeded",
        run_id=msg.run_id,
        dataset=msg.dataset,
        metrics_key=msg.metrics_key,
        status=document["status"],
    )
    return []
