"""Stage `train.requested`: split the processed file and start a SageMaker training job.

The job is started and left to run; a delayed `training.watch` looks at it later. A duplicate
request finds the job by its deterministic name and does nothing twice.
"""

from __future__ import annotations

from typing import Any

from handlers import manifest
from handlers.images import xgboost_image_uri
from handlers.messages import TrainingWatch, TrainRequested
from handlers.naming import RunPaths, sagemaker_names
from handlers.recipe import Recipe
from handlers.recipes_source import recipe_for
from handlers.sagemaker import create_once, describe_or_none, tags
from handlers.split import split_csv
from handlers.stage import recorded
from handlers.storage import download, s3_uri, scratch_dir, upload
from service.context import HandlerContext
from service.messages import Outgoing

STAGE = "train"
PARTS = ("train", "validation", "test")


@recorded(STAGE)
def handle(msg: TrainRequested, ctx: HandlerContext) -> list[Outgoing]:
    job_name = sagemaker_names(msg.dataset, msg.run_id).training_job
    sm = ctx.clients.sagemaker
    if describe_or_none(lambda: sm.describe_training_job(TrainingJobName=job_name)) is None:
        recipe = recipe_for(msg.dataset, ctx)
        paths = RunPaths(msg.run_id)
        _split(msg, ctx, recipe, paths)
        # Looked up just above: only a twin delivery racing this one can have created it since.
        create_once(
            lambda: sm.create_training_job(**_job_request(msg, ctx, recipe, paths, job_name))
        )
        _record(ctx, msg.run_id, paths, job_name)
    watch = TrainingWatch(run_id=msg.run_id, dataset=msg.dataset, job_name=job_name)
    return [Outgoing(watch, delay_seconds=ctx.settings.training_watch_seconds)]


def _split(msg: TrainRequested, ctx: HandlerContext, recipe: Recipe, paths: RunPaths) -> None:
    bucket, s3 = ctx.settings.curated_bucket, ctx.clients.s3
    with scratch_dir(ctx.settings.work_dir) as folder:
        processed = download(s3, bucket, msg.processed_key, folder / "processed.csv")
        files = {part: folder / f"{part}.csv" for part in PARTS}
        with (
            processed.open("rb") as source,
            files["train"].open("wb") as train,
            files["validation"].open("wb") as validation,
            files["test"].open("wb") as test,
        ):
            stats = split_csv(
                source,
                train,
                validation,
                test,
                rows=msg.rows,
                spec=recipe.split,
                file=msg.processed_key,
            )
        for part, key in zip(PARTS, (paths.train, paths.validation, paths.test), strict=True):
            upload(s3, files[part], bucket, key, "text/csv")
    ctx.log.info(
        "train.split", run_id=msg.run_id, **{f"{p}_rows": n for p, n in stats.rows.items()}
    )


def _job_request(
    msg: TrainRequested, ctx: HandlerContext, recipe: Recipe, paths: RunPaths, job_name: str
) -> dict[str, Any]:
    settings = ctx.settings
    curated = settings.curated_bucket
    region = ctx.clients.sagemaker.meta.region_name
    return {
        "TrainingJobName": job_name,
        "AlgorithmSpecification": {
            "TrainingImage": xgboost_image_uri(
                region, settings.xgboost_version, settings.xgboost_image_uri
            ),
            "TrainingInputMode": "File",
        },
        "RoleArn": settings.sagemaker_role_arn,
        "HyperParameters": recipe.hyperparameter_dict(),
        "InputDataConfig": [
            _channel("train", s3_uri(curated, paths.train)),
            _channel("validation", s3_uri(curated, paths.validation)),
        ],
        "OutputDataConfig": {"S3OutputPath": s3_uri(settings.models_bucket, paths.model_prefix)},
        "ResourceConfig": {
            "InstanceType": settings.training_instance_type,
            "InstanceCount": 1,
            "VolumeSizeInGB": 10,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": settings.training_max_runtime_seconds},
        "Tags": tags(
            run_id=msg.run_id,
            dataset=msg.dataset,
            test_data=s3_uri(curated, paths.test),
            source=s3_uri(msg.raw_bucket, msg.raw_key),
        ),
    }


def _channel(name: str, uri: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "ContentType": "text/csv",
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": uri,
                "S3DataDistributionType": "FullyReplicated",
            }
        },
    }


def _record(ctx: HandlerContext, run_id: str, paths: RunPaths, job_name: str) -> None:
    curated = ctx.settings.curated_bucket
    artifacts = {
        part: s3_uri(curated, key)
        for part, key in zip(PARTS, (paths.train, paths.validation, paths.test), strict=True)
    }
    artifacts["training_job"] = job_name
    manifest.update(
        ctx.clients.s3,
        ctx.settings.reports_bucket,
        run_id,
        manifest.add_artifacts(STAGE, artifacts),
    )
