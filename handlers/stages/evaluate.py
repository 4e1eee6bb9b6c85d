"""Stage `evaluate.requested`: wait for the endpoint, score the test set, write the report.

The report lives under `runs/<run_id>/evaluation/` in the reports bucket: `metrics.json`,
`report.md` and, for a classification run, `confusion_matrix.png`; the metrics are the recipe's task
kind's (`handlers/evaluation/measure.py`). A duplicate request finds `metrics.json` and only sends
the follow-up again (so a crash between writing and sending loses nothing); a twin that arrives
while the evaluation is under way waits for it (a claim) instead of scoring the test set twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from handlers.aws import cloudwatch as run_metrics
from handlers.aws import endpoint_wait
from handlers.deps import Ctx
from handlers.evaluation import bootstrap, measure, score_files
from handlers.evaluation.measure import Measured
from handlers.evaluation.scoring import Scored
from handlers.messages import EvaluateRequested, ModelEvaluated
from handlers.naming import RunPaths
from handlers.recipe.model import Recipe
from handlers.report import plots as report_plots
from handlers.runs.claims import Claim, claim
from handlers.runs.repository import StageRecord
from handlers.stages import order
from handlers.stages._shared import score_test_set
from service.failures import DuplicateDelivery, PermanentError
from service.messages import Outgoing

STAGE = order.EVALUATE
# Longer than preprocess: the holder may wait for an endpoint over several retries.
CLAIM_LEASE_SECONDS = 900


def evaluation_keys(run_id: str) -> dict[str, str]:
    return RunPaths(run_id).evaluation


def handle(msg: EvaluateRequested, ctx: Ctx) -> list[Outgoing]:
    names = ctx.deps.names(msg.dataset, msg.run_id)
    if msg.endpoint_name != names.endpoint:  # another deployment's prefix: never invoke it
        raise PermanentError(
            f"{msg.TYPE}: endpoint {msg.endpoint_name!r} is not this run's ({names.endpoint!r})"
        )
    paths = RunPaths(msg.run_id)
    follow_up = Outgoing(
        ModelEvaluated(
            run_id=msg.run_id,
            dataset=msg.dataset,
            endpoint_name=msg.endpoint_name,
            metrics_key=paths.evaluation["metrics"],
        )
    )
    # Claimed before the stage's record, so a duplicate delivery leaves the record as it found
    # it; but never for a run not ready to be evaluated (a stray claim would block the real one).
    ctx.deps.runs.require(msg, after=order.AFTER[STAGE])
    verdict = _claim(msg, ctx, paths)
    if verdict == "done":  # sent again: the first delivery may have died before sending it
        return [follow_up]
    if verdict == "run-failed":
        raise DuplicateDelivery(f"run {msg.run_id} failed; {STAGE} stands down")
    with ctx.deps.runs.stage(msg, STAGE, ctx, after=order.AFTER[STAGE]) as record:
        with endpoint_wait.noted(ctx.notes):
            ctx.deps.sagemaker.wait_in_service(msg.endpoint_name)
        recipe = ctx.deps.runs.facts(msg.run_id).recipe.load()
        scored = score_test_set(ctx, recipe, msg.run_id, msg.endpoint_name)
        metrics = measure.measure(recipe, scored)
        run_facts = _run_facts(msg, ctx, scored, paths)
        certainty = bootstrap.interval(recipe, scored, recipe.promotion.metric, msg.run_id)
        ctx.deps.buckets.reports.put_bytes(
            paths.scores, score_files.to_csv(scored.labels, scored.scores), "text/csv"
        )
        evaluation = Evaluation(recipe, metrics, run_facts, certainty)
        _publish(ctx, msg, evaluation, record)
        ctx.log.info(
            "evaluate.metrics",
            run_id=msg.run_id,
            kind=recipe.target.kind,
            rows=metrics.count,
            requests=scored.requests,
            **{recipe.promotion.metric: metrics.to_dict().get(recipe.promotion.metric)},
        )
        return [follow_up]


def _claim(msg: EvaluateRequested, ctx: Ctx, paths: RunPaths) -> str:
    reports = ctx.deps.buckets.reports

    def evaluated(_: object = None) -> bool:
        return reports.exists(paths.evaluation["metrics"])

    if evaluated():
        return "done"
    spec = Claim(
        bucket=reports,
        key=paths.evaluation_claim,
        run_id=msg.run_id,
        stage=STAGE,
        lease_seconds=CLAIM_LEASE_SECONDS,
        done=evaluated,
    )
    return claim(spec, ctx.deps.runs, ctx.message_id, ctx.log)


@dataclass(frozen=True)
class Evaluation:
    recipe: Recipe
    metrics: Measured
    run: dict[str, Any]
    interval: bootstrap.Interval | None  # of the promotion metric

    def document(self) -> dict[str, Any]:
        """metrics.json"""
        certainty = None
        if self.interval is not None:
            certainty = {"metric": self.recipe.promotion.metric, "level": bootstrap.LEVEL}
            certainty.update(self.interval.to_dict())
        metrics = self.metrics.to_dict()
        small = bootstrap.small_test_note(self.metrics.count)
        if small is not None:
            metrics["notes"] = [*metrics.get("notes", []), small]
        return {"run": self.run, "metrics": metrics, "interval": certainty}


def _publish(ctx: Ctx, msg: EvaluateRequested, evaluation: Evaluation, record: StageRecord) -> None:
    """metrics.json marks the evaluation as done (a later request only re-sends the follow-up),
    so it is written last: after a failure before it, the retry evaluates again."""
    reports = ctx.deps.buckets.reports
    headline = measure.headline(evaluation.metrics, evaluation.recipe)
    settings = ctx.deps.settings
    run_metrics.put(ctx.deps.cloudwatch, settings.metrics_namespace, msg.dataset, headline)
    written = _write_report(ctx, RunPaths(msg.run_id).evaluation, evaluation)
    record.artifacts.update({name: reports.uri(key) for name, key in written.items()})
    record.artifacts["scores"] = reports.uri(RunPaths(msg.run_id).scores)


def _run_facts(msg: EvaluateRequested, ctx: Ctx, scored: Scored, paths: RunPaths) -> dict[str, Any]:
    return {
        "run_id": msg.run_id,
        "dataset": msg.dataset,
        "endpoint": msg.endpoint_name,
        "model": ctx.deps.buckets.models.uri(msg.model_key),
        "test_data": ctx.deps.buckets.curated.uri(paths.test),
        "requests": scored.requests,
        "scoring_seconds": round(scored.seconds, 3),
        "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _write_report(ctx: Ctx, keys: dict[str, str], evaluation: Evaluation) -> dict[str, str]:
    """The report files (the keys written, by name); metrics.json last."""
    reports = ctx.deps.buckets.reports
    written = dict(keys)
    metrics, run = evaluation.metrics, evaluation.run
    png = report_plots.confusion_png(metrics, evaluation.recipe)
    if png is None:
        del written["confusion_matrix"]
    else:
        reports.put_bytes(keys["confusion_matrix"], png, "image/png")
    reports.put_bytes(keys["report"], metrics.markdown(run).encode(), "text/markdown")
    # metrics.json last: its presence is what marks the evaluation as done.
    document = evaluation.document()
    reports.put_bytes(keys["metrics"], json.dumps(document, indent=2).encode(), "application/json")
    return written
