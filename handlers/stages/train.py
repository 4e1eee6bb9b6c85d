"""Stage `train.requested`: split the processed file and start a SageMaker training job.

Beside the parts, the test rows are kept as the upload holds them (`test-rows.csv`): evaluation
sends those to the endpoint, as an application would.

The job is started and left to run; a delayed `training.watch` looks at it later. A duplicate
request finds the job by its deterministic name and does nothing twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from handlers.aws import cloudwatch as run_metrics
from handlers.aws.sagemaker import tags
from handlers.aws.storage import Pinned, s3_uri, scratch_dir
from handlers.data import profile as data_profile
from handlers.data.checks import check_split, split_file
from handlers.data.dialect import opened
from handlers.data.raw_rows import write_rows
from handlers.deps import Ctx
from handlers.messages import TrainingWatch, TrainRequested
from handlers.naming import RunPaths
from handlers.recipe.model import Recipe
from handlers.runs.manifest import stage_of
from handlers.runs.repository import StageRecord
from handlers.stages import order
from service.failures import PermanentError
from service.messages import Outgoing

STAGE = order.TRAIN
PARTS = ("train", "validation", "test")


def handle(msg: TrainRequested, ctx: Ctx) -> list[Outgoing]:
    job_name = ctx.deps.names(msg.dataset, msg.run_id).training_job
    gateway = ctx.deps.sagemaker
    with ctx.deps.runs.stage(msg, STAGE, ctx, after=order.AFTER[STAGE]) as record:
        if gateway.training_job(job_name) is None:
            recipe = ctx.deps.runs.facts(msg.run_id).recipe.load()
            paths = RunPaths(msg.run_id)
            _split(msg, ctx, recipe, paths, record)
            # Looked up just above: only a twin delivery racing this one can have created it.
            gateway.start_training_job(_job_request(msg, ctx, recipe, paths, job_name))
            curated = ctx.deps.buckets.curated
            record.artifacts.update({part: curated.uri(key) for part, key in _parts(paths)})
            record.artifacts["training_job"] = job_name
        watch = TrainingWatch(run_id=msg.run_id, dataset=msg.dataset, job_name=job_name)
        return [Outgoing(watch, delay_seconds=ctx.deps.settings.watch_delay(0))]


def _parts(paths: RunPaths) -> list[tuple[str, str]]:
    return list(zip(PARTS, (paths.train, paths.validation, paths.test), strict=True))


def _split(
    msg: TrainRequested, ctx: Ctx, recipe: Recipe, paths: RunPaths, record: StageRecord
) -> None:
    curated = ctx.deps.buckets.curated
    # Errors name the upload as well as the file they were found in.
    file = f"{s3_uri(msg.raw_bucket, msg.raw_key)} (as {curated.uri(msg.processed_key)})"
    with scratch_dir(ctx.deps.settings.work_dir) as folder:
        processed = curated.download(msg.processed_key, folder / "processed.csv")
        stats = split_file(processed, folder, msg.rows, recipe, file)
        record.stats = stats.to_dict()  # recorded whether or not the split can be used
        check_split(stats, recipe, file)
        test_rows = _raw_test_rows(msg, ctx, recipe, stats.test_positions, folder)
        for part, key in [*_parts(paths), ("test-rows", paths.test_rows)]:
            curated.upload(folder / f"{part}.csv", key, "text/csv")
        record.stats["test_raw_rows"] = test_rows
        record.stats["drift"] = _profile(ctx, msg, recipe, processed, folder / "train.csv")
    ctx.log.info(
        "train.split",
        run_id=msg.run_id,
        test_overlap=round(stats.test_overlap, 4),
        **{f"{p}_rows": n for p, n in stats.rows.items()},
    )


def _raw_test_rows(
    msg: TrainRequested, ctx: Ctx, recipe: Recipe, positions: np.ndarray, folder: Path
) -> int:
    """The test rows as the upload holds them (`test-rows.csv`), for evaluation to send as a
    client does; read from the very version of the upload that preprocessing encoded."""
    source = ctx.deps.runs.facts(msg.run_id).source
    file = s3_uri(source.bucket, source.key)
    pinned = Pinned(source.version_id, source.etag)
    upload = ctx.deps.buckets.raw.download(source.key, folder / "upload", pinned)
    with opened(upload, file) as rows, (folder / "test-rows.csv").open("wb") as sink:
        written = write_rows(rows, recipe, positions, sink, file=file)
    if written != len(positions):  # found now, before a training job is paid for
        raise PermanentError(
            f"{file}: {written} of its {len(positions)} test rows were found again in the upload"
        )
    return written


def _profile(
    ctx: Ctx, msg: TrainRequested, recipe: Recipe, processed: Path, train: Path
) -> dict[str, Any] | None:
    """The upload's profile and, when the dataset has a champion, its drift from the champion's
    training rows: written to the run's profile.json, emitted as metrics, summarised on the run.
    """
    reports = ctx.deps.buckets.reports
    document = ctx.deps.runs.load(msg.run_id)
    stats = {} if document is None else stage_of(document, order.PREPROCESS).get("stats", {})
    found, upload = data_profile.profile(recipe, processed, train, stats, msg.rows)
    champion = ctx.deps.champions.read(msg.dataset).champion
    reference = None if champion is None else reports.read_json(RunPaths(champion.run_id).profile)
    if champion is not None and reference is not None:
        against = {"version": champion.version, "run_id": champion.run_id}
        found["drift"] = data_profile.drift(recipe, upload, reference[0]["reference"], against)
    reports.write_json(RunPaths(msg.run_id).profile, found)
    shift = found.get("drift")
    if shift is None:
        return None
    # DataDrifted is 1 when a feature is beyond the recipe's threshold: the alarm's metric.
    values = {"DataDriftMaxPSI": shift["max_psi"], "DataDrifted": float(shift["drifted"])}
    namespace = ctx.deps.settings.metrics_namespace
    run_metrics.put(ctx.deps.cloudwatch, namespace, msg.dataset, values)
    ctx.log.info(
        "train.drift",
        run_id=msg.run_id,
        max_psi=shift["max_psi"],
        drifted=shift["drifted"],
        against_version=shift["against"]["version"],
    )
    keys = ("max_psi", "drifted", "drifted_features", "threshold", "against")
    return {key: shift[key] for key in keys}


def _job_request(
    msg: TrainRequested, ctx: Ctx, recipe: Recipe, paths: RunPaths, job_name: str
) -> dict[str, Any]:
    settings = ctx.deps.settings
    curated = ctx.deps.buckets.curated
    return {
        "TrainingJobName": job_name,
        "AlgorithmSpecification": {
            "TrainingImage": ctx.deps.sagemaker.image_uri,
            "TrainingInputMode": "File",
        },
        "RoleArn": settings.sagemaker_role_arn,
        "HyperParameters": recipe.hyperparameter_dict(),
        "InputDataConfig": [
            _channel("train", curated.uri(paths.train)),
            _channel("validation", curated.uri(paths.validation)),
        ],
        "OutputDataConfig": {"S3OutputPath": ctx.deps.buckets.models.uri(paths.model_prefix)},
        "ResourceConfig": {
            "InstanceType": settings.training_instance_type,
            "InstanceCount": 1,
            "VolumeSizeInGB": 10,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": settings.training_max_runtime_seconds},
        "Tags": tags(
            run_id=msg.run_id,
            dataset=msg.dataset,
            test_data=curated.uri(paths.test),
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
