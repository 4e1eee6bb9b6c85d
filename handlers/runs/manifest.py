"""The run manifest's document: `runs/<run_id>/manifest.json` in the reports bucket.

It records each stage's start, end, outcome and artifacts so an operator can see where a run is
and why it stopped. The functions here are pure changes to the document; the run repository
(`handlers/runs/repository.py`) reads and writes it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict, cast

RunStatus = Literal["running", "succeeded", "failed"]
# A stage's outcome: under way; done; waiting for something (an endpoint, a job) or retrying
# after an error, both with the message coming back; failed for good (the run fails).
Outcome = Literal["running", "ok", "waiting", "retrying", "failed"]
Decision = Literal["promoted", "rejected", "pending-approval", "rolled-back", "promotion-failed"]
DecisionAction = Literal["gate", "approve", "rollback"]
TERMINAL: tuple[RunStatus, ...] = ("succeeded", "failed")


class StageEntry(TypedDict, total=False):
    attempts: int
    started_at: str
    ended_at: str
    outcome: Outcome
    error: str
    artifacts: dict[str, str]  # name -> s3:// URI (or a count, as text)
    stats: dict[str, Any]  # what the stage measured (rows, labels per part, drift, ...)


class SourceObject(TypedDict):
    bucket: str
    key: str
    version_id: str | None
    etag: str | None


class DecisionSummary(TypedDict):
    decision: Decision | None
    reason: str | None
    action: DecisionAction | None
    version: int | None
    live_version: int | None
    decided_at: str | None


class Manifest(TypedDict, total=False):
    """`runs/<run_id>/manifest.json`. `run_id`, `status`, `created_at` and `stages` are always
    there; the rest appear as the run goes on."""

    run_id: str
    status: RunStatus
    created_at: str
    updated_at: str
    finished_at: str
    dataset: str
    source: SourceObject
    stages: dict[str, StageEntry]
    current_stage: str
    failed_stage: str
    error: str | None
    decision: DecisionSummary  # the latest
    decisions: list[DecisionSummary]  # every one, in order


Document = Manifest


def stage_of(document: Manifest, stage: str) -> StageEntry:
    """The stage's entry, empty when the stage has not run."""
    return document.get("stages", {}).get(stage, {})


def upload_columns(document: Manifest) -> tuple[str, ...]:
    """The upload's header as preprocessing read it (empty for a run that recorded none)."""
    stats = stage_of(document, "preprocess").get("stats") or {}
    return tuple(stats.get("header", ()))


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new(run_id: str) -> Manifest:
    return {"run_id": run_id, "status": "running", "created_at": now(), "stages": {}}


def stage_started(stage: str, details: dict[str, Any]) -> Callable[[Manifest], None]:
    def change(document: Manifest) -> None:
        entry = document["stages"].setdefault(stage, {"attempts": 0})
        entry["attempts"] = entry.get("attempts", 0) + 1
        if document["status"] in TERMINAL or entry.get("outcome") == "ok":
            # A redelivery after the run ended, or of a stage already done (a duplicate that
            # finds the work done): count it, but never reopen the run or the stage.
            return
        entry["started_at"], entry["outcome"] = now(), "running"
        entry.pop("ended_at", None)
        # What the run's first stage knows of it (`dataset`, `source`): kept as first heard.
        fields = cast(dict[str, Any], document)
        for key, value in details.items():
            fields.setdefault(key, value)
        document["current_stage"] = stage

    return change


def stage_ended(
    stage: str,
    outcome: Outcome,
    artifacts: dict[str, str] | None = None,
    error: str | None = None,
    stats: dict[str, Any] | None = None,
) -> Callable[[Manifest], None]:
    def change(document: Manifest) -> None:
        entry = document["stages"].setdefault(stage, {"attempts": 1})
        if artifacts:
            entry.setdefault("artifacts", {}).update(artifacts)
        if stats:
            entry["stats"] = stats
        if document["status"] in TERMINAL and outcome != "failed":
            return
        if entry.get("outcome") == "ok" and outcome != "failed":
            # The stage is done: a duplicate delivery that waited or ended later keeps its record.
            return
        entry["ended_at"], entry["outcome"] = now(), outcome
        if error is not None:
            entry["error"] = error
        else:
            entry.pop("error", None)
        if outcome == "failed" and document["status"] != "failed":
            # The first failure is the cause; later ones (a duplicate, a watch) are echoes of it.
            document["status"] = "failed"
            document["failed_stage"] = stage
            document["error"] = error

    return change


def run_finished(status: RunStatus) -> Callable[[Manifest], None]:
    def change(document: Manifest) -> None:
        if document["status"] != "failed":
            document["status"] = status
        document["finished_at"] = now()
        document.pop("current_stage", None)

    return change
