"""Stage `model.trained`: model -> serverless endpoint config -> endpoint, each only once."""

from __future__ import annotations

from handlers.aws.sagemaker import tags
from handlers.aws.storage import s3_uri
from handlers.deps import Ctx
from handlers.messages import EvaluateRequested, ModelTrained
from handlers.naming import RunPaths
from handlers.runs.manifest import TERMINAL
from handlers.stages import order
from service.failures import DuplicateDelivery, PermanentError
from service.messages import Outgoing

STAGE = order.DEPLOY
VARIANT = "AllTraffic"


def handle(msg: ModelTrained, ctx: Ctx) -> list[Outgoing]:
    run_id = msg.run_id
    # Only runs this pipeline's preprocessing started have facts, and only the model their own
    # training job wrote is deployed: a stray or planted object is refused before any write.
    dataset = ctx.deps.runs.facts(run_id).dataset
    names = ctx.deps.names(dataset, run_id)
    expected = RunPaths(run_id).model_artifact(names.training_job)
    if msg.key != expected:
        raise PermanentError(
            f"{s3_uri(msg.bucket, msg.key)} is not the model run {run_id}'s training job writes "
            f"({expected}): not deployed"
        )
    ended = (ctx.deps.runs.load(run_id) or {}).get("status")
    if ended in TERMINAL:
        # A late redelivery of the model's S3 event: the run was decided and cleaned up, and
        # deploying again would leave an endpoint nobody deletes.
        raise DuplicateDelivery(f"run {run_id} has {ended}: its model is not deployed again")
    # No `after`: S3 may announce the model before the train stage has recorded its end.
    with ctx.deps.runs.stage(msg, STAGE, ctx) as record:
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
