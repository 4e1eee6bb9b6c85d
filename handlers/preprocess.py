"""Stage `data.uploaded`: claim the upload once, validate and encode it, write the processed file.

The raw object is only ever read. Duplicate S3 events (and two tasks receiving them at once)
meet at the run's claim (`handlers/claims.py`): one delivery does the work, the others stand down.
"""

from __future__ import annotations

from handlers import manifest
from handlers.claims import claim
from handlers.features import transform_csv
from handlers.messages import DataUploaded, TrainRequested
from handlers.naming import RunPaths
from handlers.recipe import Recipe
from handlers.recipes_source import recipe_for
from handlers.stage import recorded
from handlers.storage import download, s3_uri, scratch_dir, upload, write_json
from service.context import HandlerContext
from service.errors import PermanentError
from service.messages import Outgoing

STAGE = "preprocess"
# Preprocessing takes seconds to minutes; past this, a holder that never finished is replaced.
CLAIM_LEASE_SECONDS = 600


@recorded(STAGE)
def handle(msg: DataUploaded, ctx: HandlerContext) -> list[Outgoing]:
    paths = RunPaths(msg.run_id)
    recipe = _recipe(msg, ctx)
    if not _claim(msg, ctx, paths):
        ctx.log.info("preprocess.duplicate", run_id=msg.run_id, key=msg.key)
        return []
    curated = ctx.settings.curated_bucket
    with scratch_dir(ctx.settings.work_dir) as scratch:
        raw = download(ctx.clients.s3, msg.bucket, msg.key, scratch / "raw.csv")
        processed = scratch / "processed.csv"
        with raw.open("rb") as source, processed.open("wb") as sink:
            stats = transform_csv(source, sink, recipe, file=s3_uri(msg.bucket, msg.key))
        upload(ctx.clients.s3, processed, curated, paths.processed, "text/csv")
    write_json(ctx.clients.s3, curated, paths.preprocess_stats, stats.to_dict())
    _record(ctx, msg.run_id, curated, paths, stats.rows_out, stats.positive_rate)
    follow_up = TrainRequested(
        run_id=msg.run_id,
        dataset=msg.dataset,
        raw_bucket=msg.bucket,
        raw_key=msg.key,
        processed_key=paths.processed,
        rows=stats.rows_out,
    )
    return [Outgoing(follow_up)]


def _recipe(msg: DataUploaded, ctx: HandlerContext) -> Recipe:
    """The dataset's recipe; when there is none (or it is broken) the error names the upload."""
    try:
        return recipe_for(msg.dataset, ctx)
    except PermanentError as exc:
        raise PermanentError(f"file {s3_uri(msg.bucket, msg.key)}: {exc.reason}") from exc


def _claim(msg: DataUploaded, ctx: HandlerContext, paths: RunPaths) -> bool:
    """True when this delivery should do the work; False when it is a duplicate."""
    verdict = claim(
        ctx,
        bucket=ctx.settings.curated_bucket,
        key=paths.claim,
        run_id=msg.run_id,
        stage=STAGE,
        done=lambda document: bool(document.get("stages", {}).get(STAGE, {}).get("artifacts")),
        lease_seconds=CLAIM_LEASE_SECONDS,
    )
    return verdict == "ours"


def _record(
    ctx: HandlerContext, run_id: str, bucket: str, paths: RunPaths, rows: int, positive_rate: float
) -> None:
    artifacts = {
        "processed": s3_uri(bucket, paths.processed),
        "stats": s3_uri(bucket, paths.preprocess_stats),
        "rows": str(rows),
        "positive_rate": f"{positive_rate:.4f}",
    }
    manifest.update(
        ctx.clients.s3,
        ctx.settings.reports_bucket,
        run_id,
        manifest.add_artifacts(STAGE, artifacts),
    )
