"""Where a run stands now: the champion pointer's history read in order."""

from __future__ import annotations

from typing import Any

from handlers.lifecycle.champions import Pointer, Served
from handlers.lifecycle.standing import previous_champion, standing


def served(run: str, version: int) -> Served:
    return Served(version, run, f"arn/{version}", f"{run}-live", f"{run}-live-epc")


def pointer(champion: Served | None, *history: tuple[str, str, str]) -> Pointer:
    entries: list[dict[str, Any]] = [
        {"run_id": run, "decision": decision, "action": action} for run, decision, action in history
    ]
    return Pointer("shop", champion, None, {"history": entries}, "etag")


A, B, C = "20261201-000000000a", "20261201-000000000b", "20261201-000000000c"


def test_a_promotion_replaces_the_champion_and_a_rollback_takes_it_away() -> None:
    promoted = pointer(
        served(C, 3),
        (A, "promoted", "gate"),
        (B, "rejected", "gate"),
        (C, "promoted", "gate"),
    )
    assert standing(C, ["promoted"], promoted) == "live"
    assert standing(A, ["promoted"], promoted) == "replaced"
    assert standing(B, ["rejected"], promoted) == "rejected"
    assert previous_champion(promoted) == A
    rolled = pointer(
        served(A, 1),
        (A, "promoted", "gate"),
        (B, "rejected", "gate"),
        (C, "promoted", "gate"),
        (A, "rolled-back", "rollback"),
    )
    # the run rolled back to is live, not "rolled-back"; the one rolled back from says so
    assert standing(A, ["promoted", "rolled-back"], rolled) == "live"
    assert standing(C, ["promoted"], rolled) == "rolled back from"
    assert previous_champion(rolled) == C
    approved_again = pointer(
        served(C, 3),
        *((e["run_id"], e["decision"], e["action"]) for e in rolled.document["history"]),
        (C, "promoted", "approve"),
    )
    assert standing(C, ["promoted", "promoted"], approved_again) == "live"
    assert standing(A, ["promoted", "rolled-back"], approved_again) == "replaced"


def test_a_version_that_never_served_shows_its_decision() -> None:
    none_yet = pointer(None, (B, "pending-approval", "gate"))
    assert standing(B, ["pending-approval"], none_yet) == "pending-approval"
    assert standing(B, ["pending-approval", "promotion-failed"], none_yet) == "promotion-failed"
    assert standing(A, [], none_yet) == ""
    assert previous_champion(none_yet) is None
