"""Stage `data.uploaded`: claim the upload once, validate and encode it, write the processed file.

The raw object is only ever read. Duplicate S3 events (and two tasks receiving them at once)
meet at the run's claim: the first delivery to write `run.json` (the run's facts, with the
recipe frozen as used) does the work; the others stand down (`handlers/runs/claims.py`).
"""

from __future__ import annotations

from handlers.aws.storage import s3_uri, scratch_dir
from handlers.data.checks import check_trainable
from handlers.data.dialect import opened
from handlers.data.features import transform_csv
from handlers.deps import Ctx
from handlers.messages import DataUploaded, TrainRequested
from handlers.naming import DATASET_PATTERN, RunPaths, dataset_of_key
from handlers.runs import manifest
from handlers.runs.claims import Claim, claim
from handlers.runs.recipe_source import Found
from handlers.runs.repository import RunFacts, Source, StageRecord
from handlers.stages import order
from service.failures import DuplicateDelivery, PermanentError
from service.messages import Outgoing

STAGE = order.PREPROCESS
# Preprocessing takes seconds to minutes; past this, a holder that never finished is replaced.
CLAIM_LEASE_SECONDS = 600


def handle(msg: DataUploaded, ctx: Ctx) -> list[Outgoing]:
    runs = ctx.deps.runs
    try:
        dataset, found = _recipe(msg, ctx)
    except PermanentError:
        # A key that names no dataset, or no usable recipe: the run fails on its first stage.
        with runs.stage(msg, STAGE, ctx, details=_details(msg), new_run=True):
            raise
    # The claim comes first: a duplicate delivery leaves the run's record as it found it.
    _claim(msg, ctx, _facts(msg, dataset, found))
    with runs.stage(msg, STAGE, ctx, details=_details(msg), new_run=True) as record:
        rows = _transform(msg, ctx, found, record)
        follow_up = TrainRequested(
            run_id=msg.run_id,
            dataset=dataset,
            raw_bucket=msg.bucket,
            raw_key=msg.key,
            processed_key=RunPaths(msg.run_id).processed,
            rows=rows,
        )
        return [Outgoing(follow_up)]


def _transform(msg: DataUploaded, ctx: Ctx, found: Found, record: StageRecord) -> int:
    paths, curated = RunPaths(msg.run_id), ctx.deps.buckets.curated
    file = s3_uri(msg.bucket, msg.key)
    with scratch_dir(ctx.deps.settings.work_dir) as scratch:
        source = ctx.deps.buckets.raw.download(msg.key, scratch / "raw")
        processed = scratch / "processed.csv"
        with opened(source, file) as reader, processed.open("wb") as sink:
            stats = transform_csv(reader, sink, found.recipe, file=file)
        check_trainable(stats, found.recipe, file)
        curated.upload(processed, paths.processed, "text/csv")
    record.artifacts.update(
        processed=curated.uri(paths.processed),
        run=ctx.deps.buckets.reports.uri(paths.run),
        rows=str(stats.rows_out),
    )
    if found.recipe.target.kind == "binary":
        record.artifacts["positive_rate"] = f"{stats.positive_rate:.4f}"
    record.stats = stats.to_dict()
    return stats.rows_out


def _recipe(msg: DataUploaded, ctx: Ctx) -> tuple[str, Found]:
    """The dataset the key names and its recipe; a key that names none, or a dataset with no
    (or a broken) recipe, fails the run with an error that names the upload."""
    try:
        dataset = dataset_of_key(msg.key)
        return dataset, ctx.deps.recipes.find(dataset)
    except PermanentError as exc:
        raise PermanentError(f"file {s3_uri(msg.bucket, msg.key)}: {exc.reason}") from exc


def _facts(msg: DataUploaded, dataset: str, found: Found) -> RunFacts:
    source = Source(msg.bucket, msg.key, msg.version_id, msg.etag)
    columns = found.recipe.feature_input_columns()
    return RunFacts(msg.run_id, dataset, source, found.frozen, columns)


def _claim(msg: DataUploaded, ctx: Ctx, facts: RunFacts) -> None:
    """Returns when this delivery should do the work; raises DuplicateDelivery otherwise."""
    spec = Claim(
        bucket=ctx.deps.buckets.reports,
        key=RunPaths(msg.run_id).run,
        run_id=msg.run_id,
        stage=STAGE,
        lease_seconds=CLAIM_LEASE_SECONDS,
        done=lambda document: manifest.stage_of(document, STAGE).get("outcome") == "ok",
    )
    verdict = claim(spec, ctx.deps.runs, ctx.message_id, ctx.log, content=facts.to_dict())
    if verdict != "ours":
        state = "is done" if verdict == "done" else "failed"
        raise DuplicateDelivery(f"run {msg.run_id}: {STAGE} {state} (another delivery's)")


def _details(msg: DataUploaded) -> dict[str, object]:
    """What the manifest keeps about a run the first time it hears of it."""
    details: dict[str, object] = {
        "source": {
            "bucket": msg.bucket,
            "key": msg.key,
            "version_id": msg.version_id,
            "etag": msg.etag,
        }
    }
    if DATASET_PATTERN.match(msg.dataset):
        details["dataset"] = msg.dataset
    return details
