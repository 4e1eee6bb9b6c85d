"""The challenger of a `model.evaluated`: its registered version, its scores, and the champion
scored on the challenger's own raw test rows through the live endpoint (cached per champion
version), so the gate compares two numbers from the same data; a champion trained on another
recipe is scored too when it predicts the same target from columns those rows have."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from handlers.aws import endpoint_wait
from handlers.aws.storage import s3_uri
from handlers.deps import Ctx
from handlers.evaluation import bootstrap, score_files
from handlers.evaluation.measure import measure
from handlers.evaluation.scoring import Scored
from handlers.lifecycle import contract
from handlers.lifecycle.champions import ChampionScores, Pointer, Served
from handlers.lifecycle.gate import Champion
from handlers.lifecycle.registry import Registration, Version
from handlers.messages import ModelEvaluated
from handlers.naming import RunPaths
from handlers.recipe.model import Recipe
from handlers.runs.manifest import stage_of, upload_columns
from handlers.serving import bundle
from handlers.stages import order
from handlers.stages._shared import score_test_set
from handlers.stages.promote.live_model import live_served
from service.failures import PermanentError, RetryableError


@dataclass(frozen=True)
class Candidate:
    """The challenger: its run, recipe, registered version and metrics."""

    dataset: str
    run_id: str
    recipe: Recipe
    version: Version
    served: Served
    metrics: dict[str, Any]
    evaluated_at: str | None

    @property
    def scores(self) -> Scores:
        return Scores(self.recipe.promotion.metric, self.metrics, self.evaluated_at)


@dataclass(frozen=True)
class Scores:
    """What a decision reports of the version it is about."""

    metric: str  # the promotion metric
    metrics: dict[str, Any] | None
    evaluated_at: str | None


def candidate(ctx: Ctx, msg: ModelEvaluated) -> Candidate:
    deps = ctx.deps
    facts = deps.runs.facts(msg.run_id)
    recipe = facts.recipe.load()
    found = deps.buckets.reports.read_json(msg.metrics_key)
    if found is None:
        raise PermanentError(f"{deps.buckets.reports.uri(msg.metrics_key)} is missing")
    evaluation = found[0]
    metrics = dict(evaluation["metrics"])
    names = deps.names(msg.dataset, msg.run_id)
    group = deps.dataset_names(msg.dataset).model_package_group
    deps.registry.ensure_group(group, msg.dataset)
    headline = metrics.get(recipe.promotion.metric)
    shown = "undefined" if headline is None else f"{headline:.4f}"
    version = deps.registry.register(
        group,
        Registration(
            run_id=msg.run_id,
            dataset=msg.dataset,
            image=deps.sagemaker.image_uri,
            model_data_url=deps.buckets.models.uri(RunPaths(msg.run_id).serving_bundle),
            environment=bundle.environment(),
            input_columns=recipe.feature_input_columns(),
            metrics_uri=deps.buckets.reports.uri(msg.metrics_key),
            source_uri=s3_uri(facts.source.bucket, facts.source.key),
            recipe_digest=facts.recipe.digest,
            headline=f"{recipe.promotion.metric}={shown}",
        ),
    )
    served = live_served(version, names)
    run = evaluation.get("run", {})
    return Candidate(
        msg.dataset, msg.run_id, recipe, version, served, metrics, run.get("evaluated_at")
    )


@dataclass(frozen=True)
class FoundChampion:
    """The champion as the gate weighs it against the challenger."""

    champion: Champion | None  # None: the dataset has none yet
    shown: ChampionScores | None  # what the report shows of it
    unscorable: str | None = None  # why it could not be scored on the challenger's rows
    breaks: tuple[str, ...] = ()  # how promoting the challenger would break its clients


def champion(ctx: Ctx, candidate: Candidate, pointer: Pointer) -> FoundChampion:
    """The champion's scores on the challenger's test rows (through the live endpoint, cached
    per champion version), or why it cannot be scored on them, and the columns the challenger
    would add to the live endpoint's contract."""
    served = pointer.champion
    if served is None:
        return FoundChampion(None, None)
    runs = ctx.deps.runs
    theirs = runs.facts(served.run_id).recipe.load()
    columns = _upload_columns(ctx, candidate.run_id)
    added = contract.breaks(
        theirs,
        candidate.recipe,
        _layout(theirs, _upload_columns(ctx, served.run_id)),
        _layout(candidate.recipe, columns),
    )
    deployed = stage_of(runs.load(served.run_id) or {}, order.DEPLOY).get("artifacts", {})
    why = contract.unscorable(
        theirs, candidate.recipe, columns, served.version,
        raw_rows="bundle" in deployed,
    )  # fmt: skip
    if why is not None:
        unscored: ChampionScores = {
            "version": served.version,
            "run_id": served.run_id,
            "metrics": None,
        }
        return FoundChampion(Champion(served.version, {}), unscored, why, added)
    shown = _champion_metrics(ctx, candidate, pointer, served)
    difference = shown.get("comparison", {}).get("difference")
    interval = None if difference is None else bootstrap.Interval(**difference)
    scored = Champion(served.version, shown["metrics"] or {}, interval)
    return FoundChampion(scored, shown, None, added)


def _upload_columns(ctx: Ctx, run_id: str) -> tuple[str, ...]:
    return upload_columns(ctx.deps.runs.load(run_id) or {})


def _layout(recipe: Recipe, columns: tuple[str, ...]) -> tuple[str, ...]:
    """A headerless row's columns: the upload's, without the label."""
    return tuple(column for column in columns if column != recipe.target.column)


def _champion_metrics(
    ctx: Ctx, candidate: Candidate, pointer: Pointer, served: Served
) -> ChampionScores:
    """The champion's metrics on the challenger's rows and the bootstrap comparison of the two,
    cached per champion version."""
    reports = ctx.deps.buckets.reports
    paths = RunPaths(candidate.run_id)
    key = paths.champion_scores(served.version)
    cached = reports.read_json(key)
    if cached is not None:
        return cast(ChampionScores, cached[0])
    live_name = ctx.deps.dataset_names(candidate.dataset).live_endpoint
    described = ctx.deps.sagemaker.endpoint(live_name)
    if described is None or described["EndpointConfigName"] != served.endpoint_config:
        raise RetryableError(
            f"{live_name} does not serve the champion (version {served.version}) right now; "
            "scoring it later",
        )
    with endpoint_wait.noted(ctx.notes):
        ctx.deps.sagemaker.wait_in_service(live_name)
    scored = score_test_set(ctx, candidate.recipe, candidate.run_id, live_name)
    document: ChampionScores = {
        "version": served.version,
        "run_id": served.run_id,
        "metrics": measure(candidate.recipe, scored).to_dict(),
        "comparison": _comparison(ctx, candidate, scored).to_dict(),
    }
    # Cached only if no promotion began meanwhile (its model may have answered some batches).
    if ctx.deps.champions.read(candidate.dataset).etag == pointer.etag:
        reports.put_bytes(
            paths.champion_score_rows(served.version),
            score_files.to_csv(scored.labels, scored.scores),
            "text/csv",
        )
        reports.write_json(key, document)
    return document


def _comparison(ctx: Ctx, candidate: Candidate, champion: Scored) -> bootstrap.Comparison:
    """Challenger and champion resampled together on the challenger's test rows."""
    reports = ctx.deps.buckets.reports
    key = RunPaths(candidate.run_id).scores
    body = reports.read_bytes(key)
    if body is None:
        raise PermanentError(f"{reports.uri(key)} is missing: the evaluation wrote no scores")
    labels, ours = score_files.from_csv(body, reports.uri(key))
    if len(labels) != len(champion.labels):
        raise PermanentError(
            f"{reports.uri(key)} holds {len(labels)} rows, the test set {len(champion.labels)}"
        )
    metric = candidate.recipe.promotion.metric
    return bootstrap.compare(
        candidate.recipe, labels, ours, champion.scores, metric, candidate.run_id
    )


def scores_of(ctx: Ctx, run_id: str) -> Scores:
    """An earlier run's scores, for an operator's decision about its version."""
    found = ctx.deps.buckets.reports.read_json(RunPaths(run_id).evaluation["metrics"])
    evaluation = found[0] if found else {}
    return Scores(
        metric=ctx.deps.runs.facts(run_id).recipe.load().promotion.metric,
        metrics=evaluation.get("metrics"),
        evaluated_at=evaluation.get("run", {}).get("evaluated_at"),
    )
