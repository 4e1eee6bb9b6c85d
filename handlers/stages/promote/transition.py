"""Moving the live endpoint to a version, and how every decision ends.

A transition is recorded in the champion pointer before the endpoint changes (`start`), so a
redelivery carries on from it; `conclude` switches the endpoint, updates the registry and the
pointer, and a failure that ends the message ends the transition too (`_abandon`), so the
dataset's later decisions are not left waiting. Other decisions wait for a transition
(`settled_pointer`), bounded like an endpoint wait."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from tenacity import (
    RetryError,
    Retrying,
    retry_if_result,
    stop_after_delay,
    wait_exponential_jitter,
)

from handlers.aws import endpoint_wait
from handlers.deps import Ctx
from handlers.lifecycle import live
from handlers.lifecycle.champions import (
    ChampionScores,
    HistoryEntry,
    Pointer,
    Served,
    Transition,
    TransitionAction,
)
from handlers.lifecycle.decisions import DecisionRecord, announce
from handlers.lifecycle.registry import PENDING, ROLLED_BACK, Version
from handlers.messages import VersionMessage
from handlers.runs.manifest import Decision, DecisionAction, now
from handlers.stages.promote.challenger import Scores
from handlers.stages.promote.live_model import live_served, naming_its_version
from service.errors import ends_message, reason_of
from service.failures import RetryableError

# What an operator asks of a version (`automlops approve`, `rollback`).
Operator = Literal["approve", "rollback"]


@dataclass(frozen=True)
class Ending:
    decision: Decision
    reason: str
    live_version: int | None


def start(
    ctx: Ctx, pointer: Pointer, action: Operator, target: Version, msg: VersionMessage
) -> tuple[Pointer, Transition]:
    names = ctx.deps.names(msg.dataset, target.run_id)
    served = live_served(target, names)
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


def conclude(ctx: Ctx, pointer: Pointer) -> Ending:
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
        entry = history(target, ending.decision, transition.action, transition.previous)
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
        lambda: naming_its_version(deps.registry.container(target.package_arn), target.version),
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
    entry = history(target, ending.decision, transition.action, transition.previous)
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
                f"{ROLLED_BACK}version {target.version} serves instead",
            )
        decision: Decision = "rolled-back" if transition.action == "rollback" else "promoted"
        return Ending(decision, reason, target.version)
    if transition.action != "rollback":  # back to waiting: an operator may approve it again
        registry.set_status(as_version, PENDING, f"promotion failed: {switched.reason}")
    previous_version = transition.previous.version if transition.previous else None
    return Ending("promotion-failed", f"{switched.reason}; {reason}", previous_version)


def announce_decision(
    ctx: Ctx,
    served: Served,
    dataset: str,
    ending: Ending,
    action: DecisionAction,
    scores: Scores,
    compared: ChampionScores | None,
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


def history(
    served: Served,
    decision: Decision,
    action: DecisionAction | TransitionAction,
    previous: Served | None = None,
) -> HistoryEntry:
    """The pointer's record of a decision; `previous`, the champion it replaced when the
    decision moved the live endpoint."""
    entry: HistoryEntry = {
        "version": served.version,
        "run_id": served.run_id,
        "decision": decision,
        "action": action,
        "at": now(),
    }
    if previous is not None and decision in ("promoted", "rolled-back"):
        entry["replaced"] = previous.run_id
    return entry


def settled_pointer(ctx: Ctx, dataset: str, run_id: str) -> Pointer:
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
        raise busy(exc.last_attempt.result()) from None
    return pointer


def busy(pointer: Pointer) -> RetryableError:
    transition = pointer.transition
    assert transition is not None
    return RetryableError(
        f"{pointer.dataset}: version {transition.target.version} is being moved onto the live "
        f"endpoint ({transition.action}, since {transition.started_at}); deciding after it",
        delay=60,
    )
