"""Everything a run's report shows, read back from where the stages left it.

The report is rendered after each decision about the run (`handlers/stages/cleanup.py`), from the
run's manifest and recipe, its evaluation folder (metrics, scores, the champion's scores on the
same rows, the profile), the decisions, the trained model and the training job. A part that
cannot be had (a training log gone, a model file unreadable) is left out with the reason, so
the report still renders; a run never evaluated (or evaluated before its scores were kept)
has no page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from botocore.exceptions import BotoCoreError, ClientError

from handlers.aws.training_logs import TrainingLogsUnavailable
from handlers.deps import Ctx
from handlers.evaluation import score_files
from handlers.lifecycle.standing import standing
from handlers.naming import RunPaths
from handlers.recipe.model import Recipe
from handlers.report import insight as model_insight
from handlers.report.insight import InsightUnavailable
from handlers.runs.manifest import Manifest


@dataclass(frozen=True)
class ModelScores:
    name: str  # "challenger (version 2)" or "champion (version 1)"
    labels: np.ndarray
    scores: np.ndarray


@dataclass
class Sources:
    run_id: str
    dataset: str
    recipe: Recipe
    manifest: Manifest
    evaluation: dict[str, Any]  # metrics.json
    decision: dict[str, Any] | None  # the gate's
    ours: ModelScores
    champion: dict[str, Any] | None  # {"version", "run_id", "metrics", "comparison"}
    theirs: ModelScores | None
    profile: dict[str, Any] | None
    live_endpoint: str
    standing: str = ""  # where its version stands now (handlers/lifecycle/standing.py)
    live_version: int | None = None  # what the live endpoint serves now
    importance: list[tuple[str, float]] | None = None
    curves: model_insight.Curves | None = None
    job: dict[str, Any] = field(default_factory=dict)  # hyperparameters, final metrics, times
    unavailable: dict[str, str] = field(default_factory=dict)  # part -> why it is left out


def gather(ctx: Ctx, run_id: str) -> Sources | None:
    deps = ctx.deps
    reports = deps.buckets.reports
    paths = RunPaths(run_id)
    found = reports.read_json(paths.evaluation["metrics"])
    manifest = deps.runs.load(run_id)
    if found is None or manifest is None:
        return None
    decision = reports.read_json(paths.decision)
    decided = decision[0] if decision else None
    version = (decided or {}).get("version")
    ours = _scores(ctx, paths.scores, f"challenger (version {version or '?'})")
    if ours is None:  # evaluated before scores were kept: nothing to draw the page from
        return None
    dataset = str(manifest["dataset"])
    pointer = deps.champions.read(dataset)
    decisions = [d.get("decision") for d in manifest.get("decisions", [])]
    sources = Sources(
        run_id=run_id,
        dataset=dataset,
        recipe=deps.runs.facts(run_id).recipe.load(),
        manifest=manifest,
        evaluation=found[0],
        decision=decided,
        ours=ours,
        champion=(decided or {}).get("champion"),
        theirs=None,
        profile=_json(ctx, paths.profile),
        live_endpoint=deps.dataset_names(dataset).live_endpoint,
        standing=standing(run_id, decisions, pointer),
        live_version=pointer.champion.version if pointer.champion else None,
    )
    champion = sources.champion
    if champion and champion.get("metrics"):
        key = paths.champion_score_rows(int(champion["version"]))
        sources.theirs = _scores(ctx, key, f"champion (version {champion['version']})")
    _add_model(ctx, sources)
    return sources


def _json(ctx: Ctx, key: str) -> dict[str, Any] | None:
    found = ctx.deps.buckets.reports.read_json(key)
    return found[0] if found else None


def _scores(ctx: Ctx, key: str, name: str) -> ModelScores | None:
    reports = ctx.deps.buckets.reports
    body = reports.read_bytes(key)
    if body is None:
        return None
    labels, scores = score_files.from_csv(body, reports.uri(key))
    return ModelScores(name, labels, scores)


def _add_model(ctx: Ctx, sources: Sources) -> None:
    """Importance from the booster, the job's hyperparameters and final metrics, its curves."""
    deps = ctx.deps
    job_name = deps.names(sources.dataset, sources.run_id).training_job
    try:
        described = deps.sagemaker.training_job(job_name) or {}
    except (ClientError, BotoCoreError) as exc:
        described = {}
        sources.unavailable["job"] = f"DescribeTrainingJob {job_name}: {exc}"
    sources.job = {
        "name": job_name,
        "hyperparameters": dict(described.get("HyperParameters") or {})
        or sources.recipe.hyperparameter_dict(),
        "final_metrics": {
            str(m["MetricName"]): float(m["Value"])
            for m in described.get("FinalMetricDataList") or []
        },
        "billable_seconds": described.get("BillableTimeInSeconds"),
    }
    model_key = RunPaths(sources.run_id).model_artifact(job_name)
    try:
        model = deps.buckets.models.read_bytes(model_key)
        if model is None:
            raise InsightUnavailable(f"{deps.buckets.models.uri(model_key)} is missing")
        features = sources.recipe.feature_columns()
        sources.importance = model_insight.gain_importance(model, features)
    except (InsightUnavailable, ClientError, BotoCoreError) as exc:
        sources.unavailable["importance"] = str(exc)
    try:
        lines = deps.training_logs.lines(job_name)
        sources.curves = model_insight.parse_curves(lines) or None
        if sources.curves is None:
            sources.unavailable["curves"] = f"the log of {job_name} holds no round lines"
    except (InsightUnavailable, TrainingLogsUnavailable, ClientError, BotoCoreError) as exc:
        sources.unavailable["curves"] = str(exc)
