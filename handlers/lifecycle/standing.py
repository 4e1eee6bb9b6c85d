"""Where a run's version stands now, as every page and command shows it.

A run's decisions are history: `promoted` stays in its manifest after another version replaced
it, and a rollback records `rolled-back` on the run it went back *to*. What a person asks is
where the version is now, which the champion pointer answers: `live`, `replaced` (it served;
another version serves now), `rolled back from` (an operator took the live endpoint away from
it), or, for a version that never served, its one decision (`rejected`, `pending-approval`,
`promotion-failed`). The pointer's history (the last decisions, in order) says who was champion
before each change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handlers.lifecycle.champions import ChampionStore, Pointer
from handlers.runs.manifest import Manifest

SERVED = ("promoted", "rolled-back")  # the decisions after which the version was live
LIVE = "live"
REPLACED = "replaced"
ROLLED_BACK_FROM = "rolled back from"


def standing(run_id: str, decisions: Sequence[str | None], pointer: Pointer) -> str:
    """`decisions` are the run's own, oldest first (its manifest's); '' when it has none."""
    if pointer.champion is not None and pointer.champion.run_id == run_id:
        return LIVE
    history = pointer.document.get("history", [])
    fates = _fates(history)
    served = any(decision in SERVED for decision in decisions) or any(
        run == run_id for run, _, _ in _changes(history)
    )
    if served or run_id in fates:
        return fates.get(run_id, REPLACED)
    known = [decision for decision in decisions if decision]
    return known[-1] if known else ""


def replaced_by(pointer: Pointer, run_id: str) -> str | None:
    """The run that `run_id`'s last move onto the live endpoint replaced (its page changes
    too), as the pointer's history recorded it."""
    for run, _, replaced in reversed(_changes(pointer.document.get("history", []))):
        if run == run_id:
            return replaced
    return None


def _fates(history: list[dict[str, Any]]) -> dict[str, str]:
    """How each run stopped being live, the last time it did: each entry names the run it
    replaced (entries written before it did are read in order, the champion before each)."""
    fates: dict[str, str] = {}
    champion: str | None = None
    for run, action, replaced in _changes(history):
        gone = replaced or champion
        if gone is not None and gone != run:
            fates[gone] = ROLLED_BACK_FROM if action == "rollback" else REPLACED
        fates.pop(run, None)  # live again since
        champion = run
    return fates


def _changes(history: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    """(run that became live, action, run it replaced if recorded) for each decision that
    moved the live endpoint."""
    return [
        (str(entry.get("run_id")), str(entry.get("action")), entry.get("replaced"))
        for entry in history
        if entry.get("decision") in SERVED
    ]


class Standings:
    """Where each run of a listing stands, reading each dataset's pointer once."""

    def __init__(self, champions: ChampionStore) -> None:
        self._champions = champions
        self._pointers: dict[str, Pointer] = {}

    def of(self, document: Manifest) -> str:
        """For a run manifest: its standing with its version (`live (version 2)`), or '-'."""
        dataset = document.get("dataset")
        decisions = [d.get("decision") for d in document.get("decisions", [])]
        if not dataset or not decisions:
            return "-"
        if dataset not in self._pointers:
            self._pointers[dataset] = self._champions.read(dataset)
        now = standing(str(document["run_id"]), decisions, self._pointers[dataset])
        summary = document.get("decision")
        version = summary.get("version") if summary is not None else None
        return f"{now} (version {version})" if version else now
