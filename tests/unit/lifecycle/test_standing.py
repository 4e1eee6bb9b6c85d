"""Where a run stands now: the champion pointer's history read in order."""

from __future__ import annotations

from typing import Any

from handlers.lifecycle.champions import Pointer, Served
from handlers.lifecycle.standing import replaced_by, standing

A, B, C = "20261201-000000000a", "20261201-000000000b", "20261201-000000000c"


def served(run: str, version: int) -> Served:
    return Served(version, run, f"arn/{version}", f"{run}-live", f"{run}-live-epc")


def entry(run: str, decision: str, action: str, replaced: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"run_id": run, "decision": decision, "action": action}
    if replaced is not None:
        found["replaced"] = replaced
    return found


def pointer(champion: Served | None, *history: dict[str, Any]) -> Pointer:
    return Pointer("shop", champion, None, {"history": list(history)}, "etag")


PROMOTED = (
    entry(A, "promoted", "gate"),
    entry(B, "rejected", "gate"),
    entry(C, "promoted", "gate", replaced=A),
)


def test_a_promotion_replaces_the_champion_and_a_rollback_takes_it_away() -> None:
    promoted = pointer(served(C, 3), *PROMOTED)
    assert standing(C, ["promoted"], promoted) == "live"
    assert standing(A, ["promoted"], promoted) == "replaced"
    assert standing(B, ["rejected"], promoted) == "rejected"
    assert replaced_by(promoted, C) == A
    rolled = pointer(served(A, 1), *PROMOTED, entry(A, "rolled-back", "rollback", replaced=C))
    # the run rolled back to is live, not "rolled-back"; the one rolled back from says so
    assert standing(A, ["promoted", "rolled-back"], rolled) == "live"
    assert standing(C, ["promoted"], rolled) == "rolled back from"
    assert replaced_by(rolled, A) == C
    again = pointer(
        served(C, 3),
        *PROMOTED,
        entry(A, "rolled-back", "rollback", replaced=C),
        entry(C, "promoted", "approve", replaced=A),
    )
    assert standing(C, ["promoted", "promoted"], again) == "live"
    assert standing(A, ["promoted", "rolled-back"], again) == "replaced"


def test_standing_survives_a_history_trimmed_of_the_first_promotions() -> None:
    """The pointer keeps its last 50 decisions: each change names the run it replaced."""
    trimmed = pointer(
        served(A, 1),
        *(entry(B, "rejected", "gate") for _ in range(48)),
        entry(A, "rolled-back", "rollback", replaced=C),
    )
    assert standing(C, ["promoted"], trimmed) == "rolled back from"
    assert replaced_by(trimmed, A) == C
    # a run made live by a promotion whose message gave up has no decision of its own
    assert standing(C, [], trimmed) == "rolled back from"


def test_a_version_that_never_served_shows_its_decision() -> None:
    none_yet = pointer(None, entry(B, "pending-approval", "gate"))
    assert standing(B, ["pending-approval"], none_yet) == "pending-approval"
    assert standing(B, ["pending-approval", "promotion-failed"], none_yet) == "promotion-failed"
    assert standing(A, [], none_yet) == ""
    assert replaced_by(none_yet, B) is None
