"""Stage `data.uploaded`: claim the upload once, validate and encode it, write the processed file.

The raw object is only ever read. Duplicate S3 events (and two tasks receiving them at once)
meet at the run's claim: the first delivery to write `run.json` (the run's facts, with the
recipe frozen as used) does the work; the others stand down (`handlers/claims.py`).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, cast

from handlers.claims import Claim, claim
from handlers.deps import Ctx
from handlers.features import TransformStats, transform_csv
from handlers.messages import DataUploaded, TrainRequested
from handlers.naming import DATASET_PATTERN, RunPaths, dataset_of_key
from handlers.recipe import Recipe
from handlers.recipes_source import Found
from handlers.runs import RunFacts, Source, StageRecord
from handlers.storage import s3_uri, scratch_dir
from service.errors import DuplicateDelivery, PermanentError
from service.messages import Outgoing

STAGE = "preprocess"
GZIP_MAGIC = b"\x1f\x8b"
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


@contextmanager
def opened(path: Path, file: str) -> Iterator[BinaryIO]:
    """The upload's bytes, decompressed as they are read when it is gzip (by its magic bytes,
    whatever its name says); a compressed upload that does not decompress is bad input."""
    with path.open("rb") as raw:
        if raw.read(2) != GZIP_MAGIC:
            raw.seek(0)
            yield raw
            return
        raw.seek(0)
        with gzip.GzipFile(fileobj=raw, mode="rb") as unpacked:
            try:
                yield cast(BinaryIO, unpacked)
            except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
                raise PermanentError(f"file {file}: not a readable gzip file: {exc}") from exc


def check_trainable(stats: TransformStats, recipe: Recipe, file: str) -> None:
    """Data that cannot give a meaningful model fails here, before any training: too few rows
    for every part of the split to get one, a target with a single class or a single value, or
    target values the objective cannot train on."""
    sizes = recipe.split.sizes(stats.rows_out)
    if min(sizes) == 0:
        raise PermanentError(
            f"file {file}: {stats.rows_out} rows are too few to split {recipe.split.ratios} "
            f"(the recipe's [split]; part sizes {sizes}): every part needs at least one row"
        )
    if recipe.target.kind == "regression":
        _check_numeric_target(stats, recipe, file)
        return
    present = [label for label, rows in enumerate(stats.label_counts) if rows]
    if len(present) < 2:
        target = recipe.target
        only = target.class_names()[present[0]] if present else "empty"
        raise PermanentError(
            f"file {file}: column {target.column!r} is {only!r} in all {stats.rows_out} rows: "
            "a model needs examples of at least two classes"
        )


def _check_numeric_target(stats: TransformStats, recipe: Recipe, file: str) -> None:
    column, seen = recipe.target.column, stats.target
    if seen is None:
        return
    if seen.minimum == seen.maximum:
        raise PermanentError(
            f"file {file}: column {column!r} is {seen.minimum:g} in all {stats.rows_out} rows: "
            "a constant target leaves nothing to learn"
        )
    objective = recipe.hyperparameter_dict()["objective"]
    allowed = recipe.target.task.label_ranges.get(objective)
    if allowed is None:
        return
    low, high, low_included = allowed
    too_low = low is not None and (seen.minimum < low or (seen.minimum == low and not low_included))
    too_high = high is not None and seen.maximum > high
    if too_low or too_high:
        raise PermanentError(
            f"file {file}: column {column!r} ranges from {seen.minimum:g} to {seen.maximum:g}, "
            f"but objective {objective!r} (the recipe's xgboost.objective) needs "
            f"{_range_text(allowed)}: choose another objective, e.g. reg:squarederror"
        )


def _range_text(allowed: tuple[float | None, float | None, bool]) -> str:
    low, high, low_included = allowed
    lower = f"{'≥' if low_included else '>'} {low:g}" if low is not None else ""
    upper = f"≤ {high:g}" if high is not None else ""
    return "values " + " and ".join(part for part in (lower, upper) if part)


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
    return RunFacts(msg.run_id, dataset, source, found.frozen)


def _claim(msg: DataUploaded, ctx: Ctx, facts: RunFacts) -> None:
    """Returns when this delivery should do the work; raises DuplicateDelivery otherwise."""
    spec = Claim(
        bucket=ctx.deps.buckets.reports,
        key=RunPaths(msg.run_id).run,
        run_id=msg.run_id,
        stage=STAGE,
        lease_seconds=CLAIM_LEASE_SECONDS,
        done=lambda document: document.get("stages", {}).get(STAGE, {}).get("outcome") == "ok",
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
