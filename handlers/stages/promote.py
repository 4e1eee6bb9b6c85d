"""Stages `model.evaluated`, `model.approve` and `model.rollback`: who serves on the live endpoint.

`model.evaluated` registers the run's version and puts it through the gate
(`handlers/lifecycle/gate.py`): the champion is scored on the challenger's own test rows through the
live endpoint, so both numbers come from the same data. `model.approve` and `model.rollback` (sent
by `automlops approve` and `rollback`) move the live endpoint to a version an operator names. All
three end the same way (`_conclude`): the live endpoint switched, the registry and the champion
pointer updated, the decision announced, and `endpoint.cleanup` sent.

Decisions about one dataset are made one at a time through the champion pointer's conditional
write (`handlers/lifecycle/champions.py`): a decision read against an old champion loses its
write and is made again against the new one; while the live endpoint changes, other decisions wait.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from tenacity import (
    RetryError,
    Retrying,
    retry_if_result,
    stop_after_delay,
    wait_exponential_jitter,
)

from handlers.aws import endpoint_wait
from handlers.aws.storage import s3_uri
from handlers.deps import Ctx
from handlers.evaluation import bootstrap, score_files
from handlers.evaluation.measure import measure
from handlers.evaluation.scoring import Scored
from handlers.lifecycle import live
from handlers.lifecycle.champions import Pointer, Served, Transition
from handlers.lifecycle.decisions import DecisionRecord, announce, decided, write_decision
from handlers.lifecycle.gate import Champion, Verdict, decide
from handlers.lifecycle.registry import PENDING, Registration, Version
from handlers.messages import (
    EndpointCleanup,
    ModelApprove,
    ModelEvaluated,
    ModelRollback,
    VersionMessage,
)
from handlers.naming import RunPaths
from handlers.recipe.model import Recipe
from handlers.runs.manifest import now
from handlers.stages import order
from handlers.stages._shared import score_test_set
from service.errors import (
    PermanentError,
    RetryableError,
    ends_message,
    reason_of,
)
from service.messages import Outgoing

STAGE = order.PROMOTE
DECIDE_ATTEMPTS = 5


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


@dataclass(frozen=True)
class Ending:
    decision: str
    reason: str
    live_version: int | None


# -- model.evaluated ---------------------------------------------------------------------------


def handle_evaluated(msg: ModelEvaluated, ctx: Ctx) -> list[Outgoing]:
    follow_up = [Outgoing(EndpointCleanup(run_id=msg.run_id, dataset=msg.dataset))]
    runs = ctx.deps.runs
    runs.require(msg, after=order.AFTER[STAGE])
    if ctx.deps.buckets.reports.exists(RunPaths(msg.run_id).decision):
        return follow_up  # decided; the first delivery may have died before sending this
    with runs.stage(msg, STAGE, ctx, after=order.AFTER[STAGE]) as record:
        candidate = _candidate(ctx, msg)
        ending, compared = _gate(ctx, candidate)
        document = _announce(
            ctx, candidate.served, candidate.dataset, ending, "gate", candidate.scores, compared
        )
        record.artifacts["decision"] = ctx.deps.buckets.reports.uri(RunPaths(msg.run_id).decision)
        record.stats = {"decision": ending.decision, "version": candidate.version.number}
        ctx.notes["decision"] = ending.decision
    runs.update(msg, decided(document))
    write_decision(ctx.deps.buckets.reports, document)
    return follow_up


def _candidate(ctx: Ctx, msg: ModelEvaluated) -> Candidate:
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
            model_data_url=deps.buckets.models.uri(
                RunPaths(msg.run_id).model_artifact(names.training_job)
            ),
            metrics_uri=deps.buckets.reports.uri(msg.metrics_key),
            source_uri=s3_uri(facts.source.bucket, facts.source.key),
            recipe_digest=facts.recipe.digest,
            headline=f"{recipe.promotion.metric}={shown}",
        ),
    )
    served = Served(version.number, msg.run_id, version.arn, names.model, names.endpoint_config)
    run = evaluation.get("run", {})
    return Candidate(
        msg.dataset, msg.run_id, recipe, version, served, metrics, run.get("evaluated_at")
    )


def _gate(ctx: Ctx, candidate: Candidate) -> tuple[Ending, dict[str, Any] | None]:
    """Decide against the champion of the moment; again if it changed meanwhile."""
    for _ in range(DECIDE_ATTEMPTS):
        pointer = _settled_pointer(ctx, candidate.dataset, candidate.run_id)
        transition = pointer.transition
        if transition is not None and transition.target.run_id == candidate.run_id:
            return _conclude(ctx, pointer), transition.context.get("champion")  # a redelivery
        if transition is not None:
            raise _busy(pointer)
        if pointer.champion is not None and pointer.champion.run_id == candidate.run_id:
            return Ending(
                "promoted", "promoted by an earlier delivery", pointer.champion.version
            ), None
        champion, comparable, compared = _champion(ctx, candidate, pointer)
        verdict = decide(candidate.recipe.promotion, candidate.metrics, champion, comparable)
        ending = _apply(ctx, candidate, pointer, verdict, compared)
        if ending is not None:
            return ending, compared
    raise RetryableError(
        f"the champion of {candidate.dataset} kept changing while deciding; deciding again",
        delay=1,
    )


def _apply(
    ctx: Ctx,
    candidate: Candidate,
    pointer: Pointer,
    verdict: Verdict,
    compared: dict[str, Any] | None,
) -> Ending | None:
    """Act on the verdict, conditional on the pointer as read; None when someone wrote first."""
    champions = ctx.deps.champions
    if verdict.promotes:
        transition = Transition(
            "promote",
            candidate.served,
            pointer.champion,
            started_at=now(),
            context={"reason": verdict.reason, "champion": compared},
        )
        started = champions.write(pointer, pointer.with_transition(transition))
        return None if started is None else _conclude(ctx, started)
    live_version = pointer.champion.version if pointer.champion else None
    entry = _history(candidate.served, verdict.decision, "gate")
    if champions.write(pointer, pointer.noting(entry)) is None:
        return None
    status = "Rejected" if verdict.decision == "rejected" else PENDING
    ctx.deps.registry.set_status(candidate.version, status, verdict.reason)
    return Ending(verdict.decision, verdict.reason, live_version)


def _champion(
    ctx: Ctx, candidate: Candidate, pointer: Pointer
) -> tuple[Champion | None, bool, dict[str, Any] | None]:
    """The champion's scores on the challenger's test rows (through the live endpoint, cached
    per champion version), whether it can be scored on them, and what the report shows."""
    served = pointer.champion
    if served is None:
        return None, True, None
    theirs = ctx.deps.runs.facts(served.run_id).recipe.load()
    if theirs.output_columns() != candidate.recipe.output_columns():
        unscored = {"version": served.version, "run_id": served.run_id, "metrics": None}
        return Champion(served.version, {}), False, unscored
    shown = _champion_metrics(ctx, candidate, pointer, served)
    difference = (shown.get("comparison") or {}).get("difference")
    interval = None if difference is None else bootstrap.Interval(**difference)
    return Champion(served.version, shown["metrics"], interval), True, shown


def _champion_metrics(
    ctx: Ctx, candidate: Candidate, pointer: Pointer, served: Served
) -> dict[str, Any]:
    """The champion's metrics on the challenger's rows and the bootstrap comparison of the two
    (`{"version", "run_id", "metrics", "comparison"}`), cached per champion version."""
    reports = ctx.deps.buckets.reports
    paths = RunPaths(candidate.run_id)
    key = paths.champion_scores(served.version)
    cached = reports.read_json(key)
    if cached is not None:
        return cached[0]
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
    document: dict[str, Any] = {
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


# -- model.approve / model.rollback ------------------------------------------------------------


def handle_approve(msg: ModelApprove, ctx: Ctx) -> list[Outgoing]:
    return _operator(msg, ctx, "approve")


def handle_rollback(msg: ModelRollback, ctx: Ctx) -> list[Outgoing]:
    return _operator(msg, ctx, "rollback")


def _operator(msg: VersionMessage, ctx: Ctx, action: str) -> list[Outgoing]:
    follow_up = [Outgoing(EndpointCleanup(run_id=msg.run_id, dataset=msg.dataset))]
    ctx.deps.runs.require(msg, after=())
    target = _operator_target(ctx, msg)
    pointer = _settled_pointer(ctx, msg.dataset, msg.run_id)
    transition = pointer.transition
    if transition is None or transition.target.version != msg.version:
        if transition is not None:
            raise _busy(pointer)
        if pointer.champion is not None and pointer.champion.version == msg.version:
            ctx.log.info("promotion.unchanged", dataset=msg.dataset, version=msg.version)
            return follow_up  # already live (a redelivery, or asked twice)
        _check_allowed(action, target, msg)
        pointer, transition = _start(ctx, pointer, action, target, msg)
    ending = _conclude(ctx, pointer)
    ctx.notes["decision"] = ending.decision
    scores = _scores_of(ctx, transition.target.run_id)
    document = _announce(
        ctx, transition.target, msg.dataset, ending, action, scores, None, msg.requested_by
    )
    ctx.deps.runs.update(msg, decided(document))
    write_decision(ctx.deps.buckets.reports, document)
    return follow_up


def _operator_target(ctx: Ctx, msg: VersionMessage) -> Version:
    group = ctx.deps.dataset_names(msg.dataset).model_package_group
    target = ctx.deps.registry.version(group, msg.version)
    if target.run_id != msg.run_id:
        raise PermanentError(
            f"{msg.TYPE}: version {msg.version} of {msg.dataset} was made by run {target.run_id}, "
            f"not {msg.run_id}"
        )
    return target


def _check_allowed(action: str, target: Version, msg: VersionMessage) -> None:
    wanted = PENDING if action == "approve" else "Approved"
    if target.status != wanted:
        raise PermanentError(
            f"{msg.TYPE}: version {msg.version} of {msg.dataset} is {target.status}; "
            f"{action} takes a version that is {wanted}"
        )


def _start(
    ctx: Ctx, pointer: Pointer, action: str, target: Version, msg: VersionMessage
) -> tuple[Pointer, Transition]:
    names = ctx.deps.names(msg.dataset, target.run_id)
    served = Served(target.number, target.run_id, target.arn, names.model, names.endpoint_config)
    reason = (
        f"approved by {msg.requested_by}"
        if action == "approve"
        else f"rolled back by {msg.requested_by} from version "
        f"{pointer.champion.version if pointer.champion else 'none'} to version {target.number}"
    )
    transition = Transition(
        action, served, pointer.champion, started_at=now(), context={"reason": reason}
    )
    started = ctx.deps.champions.write(pointer, pointer.with_transition(transition))
    if started is None:
        raise RetryableError(f"the champion of {msg.dataset} changed; trying again", delay=1)
    return started, transition


# -- the end of every transition ---------------------------------------------------------------


def _conclude(ctx: Ctx, pointer: Pointer) -> Ending:
    """Switch the live endpoint to the transition's target and record how it went. Safe to
    repeat: a redelivery carries on from what the pointer and the endpoint say. A failure that
    ends the message (permanent, or on its last attempt) ends the transition too, so the
    dataset's later decisions are not left waiting for it."""
    try:
        return _switch(ctx, pointer)
    except Exception as exc:
        if ends_message(exc, ctx.last_attempt):
            _abandon(ctx, pointer, exc)
        raise


def _abandon(ctx: Ctx, pointer: Pointer, cause: Exception) -> None:
    """End a transition whose message gives up: whatever the live endpoint serves now is the
    champion (the previous one, unless the switch had already happened)."""
    reason = reason_of(cause)
    try:
        current = ctx.deps.champions.read(pointer.dataset)
        transition = current.transition
        if transition is None or pointer.transition is None:
            return
        if transition.target.run_id != pointer.transition.target.run_id:
            return
        target = transition.target
        live_name = ctx.deps.dataset_names(pointer.dataset).live_endpoint
        described = ctx.deps.sagemaker.endpoint(live_name) or {}
        serving = described.get("EndpointStatus") == "InService" and (
            described.get("EndpointConfigName") == target.endpoint_config
        )
        switched = live.Switched(serving, f"the promotion gave up: {reason}")
        ending = _registry_after(ctx, transition, switched, reason)
        final = target if serving else transition.previous
        entry = _history(target, ending.decision, transition.action)
        ctx.deps.champions.write(current, current.with_champion(final, entry))
        ctx.log.error(
            "promotion.abandoned", dataset=pointer.dataset, version=target.version, error=reason
        )
    except Exception as failure:  # the original error is what the message reports
        ctx.log.error("promotion.abandon_failed", dataset=pointer.dataset, error=repr(failure))


def _switch(ctx: Ctx, pointer: Pointer) -> Ending:
    transition = pointer.transition
    assert transition is not None
    deps = ctx.deps
    live_name = deps.dataset_names(pointer.dataset).live_endpoint
    target = transition.target
    live.ensure_deployable(
        deps.sagemaker,
        target,
        pointer.dataset,
        lambda: deps.registry.model_data_url(target.package_arn),
    )
    if not transition.update_sent:
        live.send(deps.sagemaker, live_name, transition, pointer.dataset)
        sent = deps.champions.write(
            pointer, pointer.with_transition(replace(transition, update_sent=True))
        )
        if sent is None:
            raise RetryableError(
                f"the champion pointer of {pointer.dataset} changed; looking again", delay=1
            )
        pointer = sent
    with endpoint_wait.noted(ctx.notes):
        switched = live.outcome(deps.sagemaker, live_name, transition)
    reason = str(transition.context.get("reason", ""))
    ending = _registry_after(ctx, transition, switched, reason)
    final = target if switched.served else transition.previous
    entry = _history(target, ending.decision, transition.action)
    if deps.champions.write(pointer, pointer.with_champion(final, entry)) is None:
        raise RetryableError(
            f"the champion pointer of {pointer.dataset} changed; looking again", delay=1
        )
    return ending


def _registry_after(
    ctx: Ctx, transition: Transition, switched: live.Switched, reason: str
) -> Ending:
    registry = ctx.deps.registry
    target = transition.target
    as_version = Version(target.version, target.package_arn, PENDING, target.run_id)
    if switched.served:
        registry.set_status(as_version, "Approved", reason)
        previous = transition.previous
        if transition.action == "rollback" and previous is not None:
            registry.set_status(
                Version(previous.version, previous.package_arn, "Approved", previous.run_id),
                "Rejected",
                f"rolled back: version {target.version} serves instead",
            )
        decision = "rolled-back" if transition.action == "rollback" else "promoted"
        return Ending(decision, reason, target.version)
    if transition.action != "rollback":  # back to waiting: an operator may approve it again
        registry.set_status(as_version, PENDING, f"promotion failed: {switched.reason}")
    previous_version = transition.previous.version if transition.previous else None
    return Ending("promotion-failed", f"{switched.reason}; {reason}", previous_version)


def _announce(
    ctx: Ctx,
    served: Served,
    dataset: str,
    ending: Ending,
    action: str,
    scores: Scores,
    compared: dict[str, Any] | None,
    requested_by: str | None = None,
) -> dict[str, Any]:
    deps = ctx.deps
    record = DecisionRecord(
        decision=ending.decision,
        reason=ending.reason,
        action=action,
        dataset=dataset,
        run_id=served.run_id,
        version=served.version,
        package_arn=served.package_arn,
        live_endpoint=deps.dataset_names(dataset).live_endpoint,
        metric=scores.metric,
        challenger=scores.metrics,
        champion=compared,
        live_version=ending.live_version,
        evaluated_at=scores.evaluated_at,
        requested_by=requested_by,
    )
    return announce(record, deps.decisions, ctx.log)


def _scores_of(ctx: Ctx, run_id: str) -> Scores:
    """An earlier run's scores, for an operator's decision about its version."""
    found = ctx.deps.buckets.reports.read_json(RunPaths(run_id).evaluation["metrics"])
    evaluation = found[0] if found else {}
    return Scores(
        metric=ctx.deps.runs.facts(run_id).recipe.load().promotion.metric,
        metrics=evaluation.get("metrics"),
        evaluated_at=evaluation.get("run", {}).get("evaluated_at"),
    )


def _history(served: Served, decision: str, action: str) -> dict[str, Any]:
    return {
        "version": served.version,
        "run_id": served.run_id,
        "decision": decision,
        "action": action,
        "at": now(),
    }


def _settled_pointer(ctx: Ctx, dataset: str, run_id: str) -> Pointer:
    """The pointer once no other version is being moved onto the live endpoint: waited for
    (bounded, like an endpoint) since a transition takes as long as an endpoint update; past
    the bound the message is tried again later."""
    retrying = Retrying(
        stop=stop_after_delay(ctx.deps.settings.endpoint_wait_seconds),
        wait=wait_exponential_jitter(multiplier=0.2, max=15, jitter=0.2),
        retry=retry_if_result(
            lambda p: p.transition is not None and p.transition.target.run_id != run_id
        ),
    )
    try:
        pointer: Pointer = retrying(ctx.deps.champions.read, dataset)
    except RetryError as exc:
        raise _busy(exc.last_attempt.result()) from None
    return pointer


def _busy(pointer: Pointer) -> RetryableError:
    transition = pointer.transition
    assert transition is not None
    return RetryableError(
        f"{pointer.dataset}: version {transition.target.version} is being moved onto the live "
        f"endpoint ({transition.action}, since {transition.started_at}); deciding after it",
        delay=60,
    )
