"""What more than one stage does: helpers of the stage modules, which never import each other."""

from __future__ import annotations

from handlers.aws.storage import scratch_dir
from handlers.deps import Ctx
from handlers.evaluation import measure
from handlers.evaluation.scoring import Scored, score_file
from handlers.naming import RunPaths
from handlers.recipe.model import Recipe


def score_test_set(ctx: Ctx, recipe: Recipe, run_id: str, endpoint: str) -> Scored:
    """The run's test rows scored by `endpoint` (its own, or the live one serving the champion)."""
    settings = ctx.deps.settings
    invoke = measure.parser(recipe, lambda body: ctx.deps.sagemaker.invoke_csv(endpoint, body))
    with scratch_dir(settings.work_dir) as scratch:
        test = ctx.deps.buckets.curated.download(RunPaths(run_id).test, scratch / "test.csv")
        return score_file(
            test, invoke, settings.invoke_payload_limit_bytes, settings.endpoint_max_concurrency
        )
