"""Stages `model.evaluated`, `model.approve` and `model.rollback`: who serves on the live endpoint.

`model.evaluated` registers the run's version and puts it through the gate
(`handlers/lifecycle/gate.py`): the champion is scored on the challenger's own test rows through the
live endpoint, so both numbers come from the same data. `model.approve` and `model.rollback` (sent
by `automlops approve` and `rollback`) move the live endpoint to a version an operator names. All
three end the same way (`transition.conclude`): the live endpoint switched, the registry and the
champion pointer updated, the decision announced, and `endpoint.cleanup` sent.

Decisions about one dataset are made one at a time through the champion pointer's conditional
write (`handlers/lifecycle/champions.py`): a decision read against an old champion loses its
write and is made again against the new one; while the live endpoint changes, other decisions wait.
"""

from __future__ import annotations

from handlers.deps import Ctx
from handlers.lifecycle.champions import ChampionScores, Pointer, Transition
from handlers.lifecycle.decisions import decided, write_decision
from handlers.lifecycle.gate import Verdict, decide
from handlers.lifecycle.registry import PENDING, Version, may_serve_again
from handlers.messages import (
    EndpointCleanup,
    ModelApprove,
    ModelEvaluated,
    ModelRollback,
    VersionMessage,
)
from handlers.naming import RunPaths
from handlers.runs.manifest import now
from handlers.stages import order
from handlers.stages.promote import challenger
from handlers.stages.promote.challenger import Candidate
from handlers.stages.promote.transition import (
    Ending,
    Operator,
    announce_decision,
    busy,
    conclude,
    history,
    settled_pointer,
    start,
)
from service.failures import PermanentError, RetryableError
from service.messages import Outgoing

STAGE = order.PROMOTE
DECIDE_ATTEMPTS = 5


def handle_evaluated(msg: ModelEvaluated, ctx: Ctx) -> list[Outgoing]:
    follow_up = [Outgoing(EndpointCleanup(run_id=msg.run_id, dataset=msg.dataset))]
    runs = ctx.deps.runs
    runs.require(msg, after=order.AFTER[STAGE])
    if ctx.deps.buckets.reports.exists(RunPaths(msg.run_id).decision):
        return follow_up  # decided; the first delivery may have died before sending this
    with runs.stage(msg, STAGE, ctx, after=order.AFTER[STAGE]) as record:
        candidate = challenger.candidate(ctx, msg)
        ending, compared = _gate(ctx, candidate)
        document = announce_decision(
            ctx, candidate.served, candidate.dataset, ending, "gate", candidate.scores, compared
        )
        record.artifacts["decision"] = ctx.deps.buckets.reports.uri(RunPaths(msg.run_id).decision)
        record.stats = {"decision": ending.decision, "version": candidate.version.number}
        ctx.notes["decision"] = ending.decision
    runs.update(msg, decided(document))
    write_decision(ctx.deps.buckets.reports, document)
    return follow_up


def _gate(ctx: Ctx, candidate: Candidate) -> tuple[Ending, ChampionScores | None]:
    """Decide against the champion of the moment; again if it changed meanwhile."""
    for _ in range(DECIDE_ATTEMPTS):
        pointer = settled_pointer(ctx, candidate.dataset, candidate.run_id)
        transition = pointer.transition
        if transition is not None and transition.target.run_id == candidate.run_id:
            return conclude(ctx, pointer), transition.context.get("champion")  # a redelivery
        if transition is not None:
            raise busy(pointer)
        if pointer.champion is not None and pointer.champion.run_id == candidate.run_id:
            return Ending(
                "promoted", "promoted by an earlier delivery", pointer.champion.version
            ), None
        found = challenger.champion(ctx, candidate, pointer)
        verdict = decide(
            candidate.recipe.promotion,
            candidate.metrics,
            found.champion,
            found.unscorable,
            found.breaks,
        )
        compared = found.shown
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
    compared: ChampionScores | None,
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
        return None if started is None else conclude(ctx, started)
    live_version = pointer.champion.version if pointer.champion else None
    entry = history(candidate.served, verdict.decision, "gate")
    if champions.write(pointer, pointer.noting(entry)) is None:
        return None
    status = "Rejected" if verdict.decision == "rejected" else PENDING
    ctx.deps.registry.set_status(candidate.version, status, verdict.reason)
    return Ending(verdict.decision, verdict.reason, live_version)


def handle_approve(msg: ModelApprove, ctx: Ctx) -> list[Outgoing]:
    return _operator(msg, ctx, "approve")


def handle_rollback(msg: ModelRollback, ctx: Ctx) -> list[Outgoing]:
    return _operator(msg, ctx, "rollback")


def _operator(msg: VersionMessage, ctx: Ctx, action: Operator) -> list[Outgoing]:
    follow_up = [Outgoing(EndpointCleanup(run_id=msg.run_id, dataset=msg.dataset))]
    ctx.deps.runs.require(msg, after=())
    target = _operator_target(ctx, msg)
    pointer = settled_pointer(ctx, msg.dataset, msg.run_id)
    transition = pointer.transition
    if transition is None or transition.target.version != msg.version:
        if transition is not None:
            raise busy(pointer)
        if pointer.champion is not None and pointer.champion.version == msg.version:
            ctx.log.info("promotion.unchanged", dataset=msg.dataset, version=msg.version)
            return follow_up  # already live (a redelivery, or asked twice)
        _check_allowed(action, target, msg, ctx)
        pointer, transition = start(ctx, pointer, action, target, msg)
    ending = conclude(ctx, pointer)
    ctx.notes["decision"] = ending.decision
    scores = challenger.scores_of(ctx, transition.target.run_id)
    document = announce_decision(
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


def _check_allowed(action: Operator, target: Version, msg: VersionMessage, ctx: Ctx) -> None:
    """approve takes a version awaiting approval, rollback an approved one; both take a version
    rolled back from (it served once: an operator may bring it back)."""
    wanted = PENDING if action == "approve" else "Approved"
    if target.status == wanted:
        return
    reason = str(ctx.deps.registry.describe(target).get("ApprovalDescription", ""))
    if may_serve_again(target.status, reason):
        return
    raise PermanentError(
        f"{msg.TYPE}: version {msg.version} of {msg.dataset} is {target.status}; "
        f"{action} takes a version that is {wanted}, or one rolled back from"
    )
