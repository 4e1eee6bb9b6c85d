"""Stage `model.trained`: model -> serverless endpoint config -> endpoint, each only once."""

from __future__ import annotations

from handlers.deps import Ctx
from handlers.messages import EvaluateRequested, ModelTrained
from handlers.naming import sagemaker_names
from handlers.sagemaker import tags
from handlers.storage import s3_uri
from service.messages import Outgoing

STAGE = "deploy"
VARIANT = "AllTraffic"


def handle(msg: ModelTrained, ctx: Ctx) -> list[Outgoing]:
    run_id = msg.run_id
    with ctx.deps.runs.stage(msg, STAGE, ctx.log) as record:
        # Only runs that this pipeline's preprocessing started have facts: a stray model fails.
        dataset = ctx.deps.runs.facts(run_id).dataset
        names = sagemaker_names(dataset, run_id)
        gateway = ctx.deps.sagemaker
        run_tags = tags(run_id=run_id, dataset=dataset)
        gateway.ensure_model(names.model, s3_uri(msg.bucket, msg.key), run_tags)
        gateway.ensure_serverless_config(names.endpoint_config, names.model, VARIANT, run_tags)
        gateway.ensure_endpoint(names.endpoint, names.endpoint_config, run_tags)
        record.artifacts.update(
            model=names.model, endpoint_config=names.endpoint_config, endpoint=names.endpoint
        )
        follow_up = EvaluateRequested(
            run_id=run_id, dataset=dataset, endpoint_name=names.endpoint, model_key=msg.key
        )
        return [Outgoing(follow_up)]
