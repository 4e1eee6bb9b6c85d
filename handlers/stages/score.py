"""Stage `score.requested`: a file of rows under `score/<dataset>/` scored by the dataset's live
model, predictions written to `predictions/<dataset>/` in the reports bucket.

The rows are validated against the live version's frozen recipe first (the label column
optional), so a bad row refuses the whole file, naming row, column and value, before any
request is sent and without writing predictions; with the recipe's `[scoring] bad_rows =
"skip"`, the good rows are scored and the bad ones written to `<name>.rejected.csv` with a
reason each. The rows are scored through the live endpoint, raw, as an application sends them
(`handlers/serving/upload.py`). A file that has the label column also measures the live model
on fresh labelled rows: its metrics are written beside the predictions and sent to CloudWatch
per dataset, with `LiveBelowFloor` (1 when a recipe floor is missed) for the alarm. Whatever
refuses the file is written to `<name>.error.json` beside where the predictions would be, and
dead-letters the message with the same reason.

Idempotent: a redelivery of the same upload finds its summary (`<name>.json`, with the job id)
and does nothing; a new upload of the same key scores again and replaces the outputs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from handlers.aws import cloudwatch as run_metrics
from handlers.aws.storage import Pinned, s3_uri, scratch_dir
from handlers.data.dialect import opened
from handlers.data.features import encode_features
from handlers.data.validation import open_csv, validate_csv
from handlers.deps import Ctx
from handlers.evaluation import measure
from handlers.evaluation.scoring import Scored
from handlers.lifecycle.champions import Served
from handlers.lifecycle.gate import missed_floors
from handlers.messages import ScoreRequested
from handlers.naming import ScorePaths
from handlers.recipe.model import Recipe
from handlers.runs.manifest import now, stage_of
from handlers.serving.rows_aside import SetAside, set_aside
from handlers.serving.upload import UploadScores, score_upload
from handlers.stages import order
from service.errors import ends_message, reason_of
from service.failures import DuplicateDelivery, PermanentError
from service.messages import Outgoing

STAGE = order.SCORE


def handle(msg: ScoreRequested, ctx: Ctx) -> list[Outgoing]:
    paths = ScorePaths.of_key(msg.key)
    reports = ctx.deps.buckets.reports
    done = reports.read_json(paths.summary)
    if done is not None and done[0].get("job_id") == msg.job_id:
        raise DuplicateDelivery(f"{s3_uri(msg.bucket, msg.key)} was scored already")
    try:
        summary = _score(msg, ctx, paths)
    except Exception as failure:
        # Whatever ends the message (a refusal, a client error from the endpoint, the last
        # retry used up) is recorded where the person who uploaded the file looks.
        if ends_message(failure, ctx.last_attempt):
            reports.write_json(paths.error, _error(msg, paths, reason_of(failure)))
        raise
    reports.write_json(paths.summary, summary)
    ctx.log.info(
        "score.done",
        dataset=paths.dataset,
        rows=summary["rows"],
        version=summary["model"]["version"],
        seconds=summary["seconds"],
    )
    return []


def _score(msg: ScoreRequested, ctx: Ctx, paths: ScorePaths) -> dict[str, Any]:
    served = _live(ctx, paths.dataset)
    deployed = stage_of(ctx.deps.runs.load(served.run_id) or {}, order.DEPLOY)
    if "bundle" not in deployed.get("artifacts", {}):
        raise PermanentError(
            f"version {served.version} of {paths.dataset} was deployed before endpoints took raw "
            "rows: once a newer version is promoted, files can be scored"
        )
    recipe = ctx.deps.runs.facts(served.run_id).recipe.load()
    live = ctx.deps.dataset_names(paths.dataset).live_endpoint
    file = s3_uri(msg.bucket, msg.key)
    started = time.monotonic()
    with scratch_dir(ctx.deps.settings.work_dir) as scratch:
        pinned = Pinned(msg.version_id, msg.etag or None)
        upload = ctx.deps.buckets.raw.download(msg.key, scratch / "upload", pinned)
        aside = None
        if recipe.bad_rows == "skip":
            upload, aside = _set_aside(ctx, upload, recipe, paths, file, scratch)
        # Rows set aside were checked one by one already: the good ones need no second pass.
        labelled = aside.labelled if aside is not None else _validate(upload, recipe, file)
        ctx.deps.sagemaker.wait_in_service(live)
        output = scratch / "predictions.csv"
        scores = _predict(ctx, upload, recipe, live, output, file)
        ctx.deps.buckets.reports.upload(output, paths.predictions, "text/csv")
    summary = _summary(msg, ctx, paths, served, scores, time.monotonic() - started)
    if aside is not None:
        summary["rejected"] = aside.rejected
        if aside.rejected:
            summary["rejected_rows"] = ctx.deps.buckets.reports.uri(paths.rejected)
    if labelled and scores.scores is not None and scores.labels is not None:
        summary["metrics"] = _monitor(ctx, paths.dataset, recipe, scores.scores, scores.labels)
    return summary


def _live(ctx: Ctx, dataset: str) -> Served:
    served = ctx.deps.champions.read(dataset).champion
    if served is not None:
        return served
    ctx.deps.recipes.find(dataset)  # an unknown dataset says so, naming where recipes go
    raise PermanentError(
        f"dataset {dataset} has no live model yet: upload its data under data/{dataset}/ and "
        "score files once a version is promoted"
    )


def _set_aside(
    ctx: Ctx, upload: Path, recipe: Recipe, paths: ScorePaths, file: str, scratch: Path
) -> tuple[Path, SetAside]:
    """`[scoring] bad_rows = "skip"`: the good rows (a plain CSV, scored next) and the bad ones
    with their reasons, written to `<name>.rejected.csv` when there are any."""
    good, rejected = scratch / "good.csv", scratch / "rejected.csv"
    with opened(upload, file) as rows, good.open("wb") as kept, rejected.open("wb") as aside:
        outcome = set_aside(rows, recipe, kept, aside, file=file)
    if outcome.rejected:
        ctx.deps.buckets.reports.upload(rejected, paths.rejected, "text/csv")
    if not outcome.good:
        raise PermanentError(
            f"file {file}: every one of its {outcome.rejected} rows was refused; the reasons "
            f"are in {ctx.deps.buckets.reports.uri(paths.rejected)}"
        )
    return good, outcome


def _validate(upload: Path, recipe: Recipe, file: str) -> bool:
    """The whole file checked against the live recipe before any request; whether it has the
    label column (then its labels are checked too)."""
    with opened(upload, file) as rows:
        layout, _ = open_csv(rows, recipe, file=file, labelled=False)
    labelled = recipe.target.column in layout.header
    with opened(upload, file) as rows:
        if labelled:
            validate_csv(rows, recipe, file=file)
        else:
            for _ in encode_features(rows, recipe, file=file):
                pass
    return labelled


def _predict(
    ctx: Ctx, upload: Path, recipe: Recipe, live: str, output: Path, file: str
) -> UploadScores:
    settings = ctx.deps.settings
    with opened(upload, file) as rows, output.open("wb") as sink:
        return score_upload(
            rows,
            recipe,
            lambda body: ctx.deps.sagemaker.invoke_csv(live, body),
            sink,
            file=file,
            limit_bytes=settings.invoke_payload_limit_bytes,
            concurrency=settings.endpoint_max_concurrency,
        )


def _summary(
    msg: ScoreRequested,
    ctx: Ctx,
    paths: ScorePaths,
    served: Served,
    scores: UploadScores,
    seconds: float,
) -> dict[str, Any]:
    reports = ctx.deps.buckets.reports
    return {
        "job_id": msg.job_id,
        "input": s3_uri(msg.bucket, msg.key),
        "input_etag": msg.etag.strip('"'),
        "predictions": reports.uri(paths.predictions),
        "rows": scores.rows,
        "model": {"dataset": paths.dataset, "version": served.version, "run_id": served.run_id},
        "requests": scores.requests,
        "seconds": round(seconds, 3),
        "scored_at": now(),
        "summary": scores.summary,
    }


def _monitor(
    ctx: Ctx, dataset: str, recipe: Recipe, scores: np.ndarray, labels: np.ndarray
) -> dict[str, Any]:
    """The live model's metrics on the file's own labels, to CloudWatch per dataset."""
    measured = measure.measure(recipe, Scored(labels, scores, 0, 0.0))
    values = measured.to_dict()
    missed = missed_floors(recipe.promotion, values)
    headline = {f"Live{name}": value for name, value in measure.headline(measured, recipe).items()}
    headline["LiveBelowFloor"] = 1.0 if missed else 0.0
    namespace = ctx.deps.settings.metrics_namespace
    run_metrics.put(ctx.deps.cloudwatch, namespace, dataset, headline)
    return {**values, "floors_missed": missed}


def _error(msg: ScoreRequested, paths: ScorePaths, reason: str) -> dict[str, Any]:
    return {
        "job_id": msg.job_id,
        "input": s3_uri(msg.bucket, msg.key),
        "input_etag": msg.etag.strip('"'),
        "error": reason,
        "failed_at": now(),
        "dataset": paths.dataset,
    }
