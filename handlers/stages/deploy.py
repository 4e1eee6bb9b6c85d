"""Stage `model.trained`: serving bundle -> model -> serverless endpoint config -> endpoint, each
only once.

The model is created from the run's serving bundle (the trained model with the run's recipe and
the project's encoder, `handlers/serving/bundle.py`) in the container's script mode, so every
endpoint, the run's own and the live one, takes raw rows.
"""

from __future__ import annotations

from handlers.aws.sagemaker import tags
from handlers.aws.storage import s3_uri
from handlers.deps import Ctx
from handlers.messages import EvaluateRequested, ModelTrained
from handlers.naming import RunPaths
from handlers.recipe.reader import parse_toml
from handlers.runs.manifest import TERMINAL, upload_columns
from handlers.serving import bundle
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
        bundle_uri = _bundle(msg, ctx, dataset)
        gateway.ensure_model(names.model, bundle_uri, run_tags, bundle.environment())
        gateway.ensure_serverless_config(names.endpoint_config, names.model, VARIANT, run_tags)
        gateway.ensure_endpoint(names.endpoint, names.endpoint_config, run_tags)
        record.artifacts.update(
            bundle=bundle_uri,
            model=names.model,
            endpoint_config=names.endpoint_config,
            endpoint=names.endpoint,
        )
        follow_up = EvaluateRequested(
            run_id=run_id, dataset=dataset, endpoint_name=names.endpoint, model_key=msg.key
        )
        return [Outgoing(follow_up)]


def _bundle(msg: ModelTrained, ctx: Ctx, dataset: str) -> str:
    """The run's serving bundle in the models bucket, built once (the same bytes every time)."""
    models, key = ctx.deps.buckets.models, RunPaths(msg.run_id).serving_bundle
    if models.exists(key):
        return models.uri(key)
    archive = models.read_bytes(msg.key)
    if archive is None:
        raise PermanentError(f"{s3_uri(msg.bucket, msg.key)} does not exist: nothing to deploy")
    frozen = ctx.deps.runs.facts(msg.run_id).recipe
    columns = upload_columns(ctx.deps.runs.load(msg.run_id) or {})
    recipe = frozen.load()
    if not columns:
        raise PermanentError(f"run {msg.run_id} recorded no upload header: it cannot be served")
    served = bundle.Served(
        dataset=dataset,
        run_id=msg.run_id,
        recipe_source=frozen.source,
        recipe_document=parse_toml(frozen.text.encode("utf-8"), frozen.source),
        layout=[column for column in columns if column != recipe.target.column],
    )
    models.put_bytes(key, bundle.build(archive, served), "application/gzip")
    return models.uri(key)
