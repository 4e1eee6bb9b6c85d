"""The run manifest's document: `runs/<run_id>/manifest.json` in the reports bucket.

It records each stage's start, end, outcome and artifacts so an operator can see where a run is
and why it stopped. The functions here are pure changes to the document; the run repository
(`handlers/runs/repository.py`) reads and writes it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

Document = dict[str, Any]
TERMINAL = ("succeeded", "failed")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new(run_id: str) -> Document:
    return {"run_id": run_id, "status": "running", "created_at": now(), "stages": {}}


def stage_started(stage: str, details: dict[str, Any]) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        entry = document["stages"].setdefault(stage, {"attempts": 0})
        entry["attempts"] = entry.get("attempts", 0) + 1
        if document["status"] in TERMINAL or entry.get("outcome") == "ok":
            # A redelivery after the run ended, or of a stage already done (a duplicate that
            # finds the work done): count it, but never reopen the run or the stage.
            return
        entry.update(started_at=now(), outcome="running")
        entry.pop("ended_at", None)
        for key, value in details.items():
            document.setdefault(key, value)
        document["current_stage"] = stage

    return change


def stage_ended(
    stage: str,
    outcome: str,
    artifacts: dict[str, str] | None = None,
    error: str | None = None,
    stats: dict[str, Any] | None = None,
) -> Callable[[Document], None]:
    def change(document: Document) -> None:
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
        entry.update(ended_at=now(), outcome=outcome)
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


def run_finished(status: str) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        if document["status"] != "failed":
            document["status"] = status
        document["finished_at"] = now()
        document.pop("current_stage", None)

    return change
