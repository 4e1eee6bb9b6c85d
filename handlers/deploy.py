"""Stage `model.trained`: model -> serverless endpoint config -> endpoint, each only once."""

from __future__ import annotations

from handlers import manifest
from handlers.images import xgboost_image_uri
from handlers.messages import EvaluateRequested, ModelTrained
from handlers.naming import sagemaker_names
from handlers.sagemaker import ensure, tags
from handlers.stage import recorded
from handlers.storage import s3_uri
from service.context import HandlerContext
from service.errors import PermanentError
from service.messages import Outgoing

VARIANT = "AllTraffic"


@recorded("deploy")
def handle(msg: ModelTrained, ctx: HandlerContext) -> list[Outgoing]:
    run_id = msg.run_id
    dataset = _dataset_of_run(ctx, run_id, msg)
    names = sagemaker_names(dataset, run_id)
    sm = ctx.clients.sagemaker
    settings = ctx.settings
    run_tags = tags(run_id=run_id, dataset=dataset)
    image = xgboost_image_uri(
        sm.meta.region_name, settings.xgboost_version, settings.xgboost_image_uri
    )
    model_data = s3_uri(msg.bucket, msg.key)
    ensure(
        lambda: sm.describe_model(ModelName=names.model),
        lambda: sm.create_model(
            ModelName=names.model,
            PrimaryContainer={"Image": image, "ModelDataUrl": model_data},
            ExecutionRoleArn=settings.sagemaker_role_arn,
            Tags=run_tags,
        ),
    )
    ensure(
        lambda: sm.describe_endpoint_config(EndpointConfigName=names.endpoint_config),
        lambda: sm.create_endpoint_config(
            EndpointConfigName=names.endpoint_config,
            ProductionVariants=[
                {
                    "VariantName": VARIANT,
                    "ModelName": names.model,
                    "ServerlessConfig": {
                        "MemorySizeInMB": settings.endpoint_memory_mb,
                        "MaxConcurrency": settings.endpoint_max_concurrency,
                    },
                }
            ],
            Tags=run_tags,
        ),
    )
    ensure(
        lambda: sm.describe_endpoint(EndpointName=names.endpoint),
        lambda: sm.create_endpoint(
            EndpointName=names.endpoint, EndpointConfigName=names.endpoint_config, Tags=run_tags
        ),
    )
    manifest.update(
        ctx.clients.s3,
        settings.reports_bucket,
        run_id,
        manifest.add_artifacts(
            "deploy",
            {
                "model": names.model,
                "endpoint_config": names.endpoint_config,
                "endpoint": names.endpoint,
            },
        ),
    )
    follow_up = EvaluateRequested(
        run_id=run_id, dataset=dataset, endpoint_name=names.endpoint, model_key=msg.key
    )
    return [Outgoing(follow_up)]


def _dataset_of_run(ctx: HandlerContext, run_id: str, msg: ModelTrained) -> str:
    document = manifest.load(ctx.clients.s3, ctx.settings.reports_bucket, run_id)
    dataset = (document or {}).get("dataset")
    if not isinstance(dataset, str):
        raise PermanentError(
            f"{s3_uri(msg.bucket, msg.key)}: run {run_id} has no manifest with a dataset; "
            "only models trained by this pipeline are deployed"
        )
    return dataset
