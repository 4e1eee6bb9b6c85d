"""What more than one stage does: helpers of the stage modules, which never import each other."""

from __future__ import annotations

from handlers.aws.storage import scratch_dir
from handlers.deps import Ctx
from handlers.evaluation import measure
from handlers.evaluation.scoring import Scored, score_raw_file
from handlers.naming import RunPaths
from handlers.recipe.model import Recipe
from handlers.serving import answers


def score_test_set(ctx: Ctx, recipe: Recipe, run_id: str, endpoint: str) -> Scored:
    """The run's test rows, raw as a client sends them, scored by `endpoint` (its own, or the
    live one serving the champion), with their labels from the encoded test file."""
    settings = ctx.deps.settings
    invoke = measure.parser(recipe, lambda body: ctx.deps.sagemaker.invoke_csv(endpoint, body))
    curated, paths = ctx.deps.buckets.curated, RunPaths(run_id)
    with scratch_dir(settings.work_dir) as scratch:
        test = curated.download(paths.test, scratch / "test.csv")
        raw = curated.download(paths.test_rows, scratch / "test-rows.csv")
        limit = settings.invoke_payload_limit_bytes
        max_rows = answers.rows_within(recipe, limit)
        return score_raw_file(raw, test, invoke, limit, settings.endpoint_max_concurrency, max_rows)
