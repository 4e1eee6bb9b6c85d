"""The settle batcher: deletes and visibility changes go out ten to a call, or after a short
window, and one stalled call does not hold the others."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from service.batcher import SettleBatcher
from service.inflight import InFlight
from service.memory import MemoryTransport
from service.transport import BatchFailure
from service.visibility import Visibility

URL = "memory://stages"


class Recording(MemoryTransport):
    """Records each batch call's size and when it was made; a handle may stall its call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int, float]] = []
        self.stall = threading.Event()
        self.stalled_handle = ""

    def delete_batch(self, url: str, receipt_handles: Sequence[str]) -> list[BatchFailure]:
        self.calls.append(("delete", len(receipt_handles), time.monotonic()))
        if self.stalled_handle in receipt_handles:
            self.stall.wait(5)
        return []

    def change_visibility_batch(
        self, url: str, changes: Sequence[tuple[str, int]]
    ) -> list[BatchFailure]:
        self.calls.append(("visibility", len(changes), time.monotonic()))
        return []


def batcher(transport: Recording, window: float) -> SettleBatcher:
    visibility = Visibility(InFlight(), transport, interval=60, extension=120)
    settle = SettleBatcher(transport, visibility, threads=2, window=window)
    settle.start()
    return settle


def deleted_all(settle: SettleBatcher, handles: list[str], gap: float = 0.0) -> float:
    """Hand over the deletes `gap` s apart; seconds until the last was reported."""
    done = threading.Semaphore(0)
    started = time.monotonic()
    for handle in handles:
        settle.delete(URL, handle, lambda _error: done.release())
        time.sleep(gap)
    for _ in handles:
        assert done.acquire(timeout=5)
    return time.monotonic() - started


def test_deletes_within_the_window_share_one_call() -> None:
    transport = Recording()
    settle = batcher(transport, window=0.2)
    deleted_all(settle, [f"rh-{i}" for i in range(6)], gap=0.01)
    assert [(kind, size) for kind, size, _ in transport.calls] == [("delete", 6)]
    settle.stop(timeout=5)


def test_ten_go_out_at_once_without_waiting_for_the_window() -> None:
    transport = Recording()
    settle = batcher(transport, window=2.0)
    assert deleted_all(settle, [f"rh-{i}" for i in range(20)]) < 1.0  # not the 2 s window
    assert [size for _, size, _ in transport.calls] == [10, 10]
    settle.stop(timeout=5)


def test_a_lone_delete_waits_no_longer_than_the_window() -> None:
    transport = Recording()
    settle = batcher(transport, window=0.05)
    assert deleted_all(settle, ["rh-1"]) < 0.5
    assert [size for _, size, _ in transport.calls] == [1]
    settle.stop(timeout=5)


def test_deletes_and_visibility_changes_are_batched_apart() -> None:
    transport = Recording()
    settle = batcher(transport, window=0.1)
    done = threading.Semaphore(0)
    for i in range(3):
        settle.delete(URL, f"d-{i}", lambda _e: done.release())
        settle.change_visibility(URL, f"v-{i}", 30, lambda _e: done.release())
    for _ in range(6):
        assert done.acquire(timeout=5)
    assert sorted((kind, size) for kind, size, _ in transport.calls) == [
        ("delete", 3),
        ("visibility", 3),
    ]
    settle.stop(timeout=5)


def test_a_stalled_call_does_not_hold_the_next_batch() -> None:
    transport = Recording()
    transport.stalled_handle = "rh-0"
    settle = batcher(transport, window=0.02)
    done = threading.Semaphore(0)
    settle.delete(URL, "rh-0", lambda _e: None)  # its call hangs
    time.sleep(0.1)
    settle.delete(URL, "rh-1", lambda _e: done.release())
    assert done.acquire(timeout=1)  # settled by the other caller thread meanwhile
    transport.stall.set()
    settle.stop(timeout=5)


def test_stop_sends_what_is_waiting_without_the_window() -> None:
    transport = Recording()
    settle = batcher(transport, window=30.0)
    reported: list[str | None] = []
    settle.delete(URL, "rh-1", reported.append)
    started = time.monotonic()
    settle.stop(timeout=5)
    assert time.monotonic() - started < 2
    assert reported == [None]
