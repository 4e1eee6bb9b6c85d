"""What clean-up keeps and what rollback goes back to: pure functions of the registry's
versions and the champion pointer."""

from __future__ import annotations

from typing import Any

from handlers.lifecycle.catalog import Catalog, Row
from handlers.lifecycle.champions import Pointer, Served, Transition
from handlers.lifecycle.registry import Version
from handlers.naming import DatasetNames
from handlers.stages.cleanup import kept_runs


def run(n: int) -> str:
    return f"20261201-{n:010x}"


def served(n: int) -> Served:
    return Served(n, run(n), f"arn:pkg/{n}", f"m{n}", f"c{n}")


def pointer(champion: int | None, transition: Transition | None = None) -> Pointer:
    document: dict[str, Any] = {}
    return Pointer("d", served(champion) if champion else None, transition, document, "etag")


def version(n: int, status: str) -> Version:
    return Version(n, f"arn:pkg/{n}", status, run(n))  # type: ignore[arg-type]


VERSIONS = [
    version(1, "Approved"),
    version(2, "Rejected"),
    version(3, "Approved"),
    version(4, "Approved"),
    version(5, "PendingManualApproval"),
    version(6, "Approved"),
    version(7, "Rejected"),
]


def test_clean_up_keeps_the_live_version_the_newest_approved_and_the_pending_ones() -> None:
    kept = kept_runs(pointer(champion=1), VERSIONS, keep_versions=2)
    assert kept == {
        run(1),
        run(4),
        run(6),
        run(5),
    }  # live 1 (a rollback), newest 4 and 6, pending 5


def test_clean_up_never_touches_a_version_being_moved_onto_the_live_endpoint() -> None:
    moving = Transition("rollback", served(3), served(6))
    kept = kept_runs(pointer(champion=6, transition=moving), VERSIONS, keep_versions=1)
    assert kept == {run(6), run(3), run(5)}


def catalog(rows: list[tuple[int, str]], live: int | None) -> Catalog:
    shown = [Row(n, status, run(n), "", "", n == live) for n, status in rows]
    return Catalog("d", DatasetNames.for_dataset("d"), pointer(live), shown)


def test_rollback_goes_back_to_the_newest_approved_version_older_than_the_live_one() -> None:
    view = catalog([(1, "Approved"), (2, "Rejected"), (3, "Approved"), (4, "Approved")], live=4)
    previous = view.previous_approved()
    assert previous is not None
    assert previous.version == 3
    assert catalog([(1, "Rejected"), (2, "Approved")], live=2).previous_approved() is None
    assert catalog([(1, "Approved")], live=None).previous_approved() is None
