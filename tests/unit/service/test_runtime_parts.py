"""The runtime's small parts: slots, the in-flight registry and its hooks, logging."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterator

import pytest
import structlog

from service.capacity import Capacity
from service.inflight import InFlight, State
from service.logs import REDACTED, configure_logging
from service.transport import Received


def message(n: int) -> Received:
    return Received("stages", "http://q", f"m-{n}", f"rh-{n}", "{}", 1)


def test_capacity_hands_out_no_more_than_is_free() -> None:
    slots = Capacity(4)
    assert slots.reserve(10, timeout=0) == 4
    assert slots.reserve(1, timeout=0.05) == 0  # none free: waits, then gives nothing
    slots.release(1)
    assert slots.reserve(10, timeout=0) == 1
    slots.release(10)  # never above the size
    assert slots.free == 4


def test_capacity_counts_the_prefetch_beyond_the_threads() -> None:
    credits = Capacity(4, prefetch_max=20, horizon_seconds=60)
    assert credits.reserve(10, timeout=0) == 10
    credits.accepted(10)  # received: waiting for threads
    assert credits.reserve(10, timeout=0) == 10
    credits.accepted(10)
    assert credits.reserve(10, timeout=0.05) == 4  # 24 in all; the threads have work queued
    assert credits.free == 0


def test_capacity_wakes_a_waiting_poller_when_a_slot_frees() -> None:
    slots = Capacity(1)
    slots.reserve(1, timeout=0)
    threading.Timer(0.1, slots.release).start()
    started = time.monotonic()
    assert slots.reserve(5, timeout=5) == 1
    assert time.monotonic() - started < 2


def test_prefetch_shrinks_to_what_the_threads_start_within_the_horizon() -> None:
    credits = Capacity(4, prefetch_max=20, horizon_seconds=60)
    assert credits.prefetch == 20  # nothing measured yet
    credits.reserve(1, timeout=0)
    credits.release(1, seconds=0.02)
    assert credits.prefetch == 20  # fast handlers: capped at the maximum
    slow = Capacity(4, prefetch_max=20, horizon_seconds=60)
    slow.reserve(1, timeout=0)
    slow.release(1, seconds=25.0)  # two runs fit in 60 s: the 8 waiting start within it
    assert slow.prefetch == 8
    slow.reserve(1, timeout=0)
    slow.release(1, seconds=400.0)  # the running average passes 60 s: nothing waits
    assert slow.prefetch == 0
    assert slow.free == 4


def test_busy_and_idle_hooks_fire_on_the_edges_only() -> None:
    calls: list[str] = []
    inflight = InFlight(on_busy=lambda: calls.append("busy"), on_idle=lambda: calls.append("idle"))
    a, b = inflight.add(message(1)), inflight.add(message(2))
    inflight.remove(a)
    inflight.remove(a)  # twice is harmless
    inflight.remove(b)
    inflight.add(message(3))
    assert calls == ["busy", "idle", "busy"]


def test_a_failing_hook_does_not_break_the_registry() -> None:
    def broken() -> None:
        raise RuntimeError("agent unreachable")

    inflight = InFlight(on_busy=broken, on_idle=broken)
    entry = inflight.add(message(1))
    inflight.remove(entry)
    assert len(inflight) == 0


def test_hand_back_takes_only_the_requested_states_and_wins_over_a_late_finish() -> None:
    inflight = InFlight()
    waiting, running, settling = (inflight.add(message(n)) for n in range(3))
    assert inflight.move(running, State.RECEIVED, State.RUNNING)
    assert inflight.move(settling, State.RECEIVED, State.RUNNING)
    assert inflight.move(settling, State.RUNNING, State.SETTLING)

    assert inflight.hand_back(State.RECEIVED) == [waiting]
    assert set(inflight.hand_back(State.RECEIVED, State.RUNNING)) == {running}
    # The handler of `running` finishing now must not settle it too.
    assert not inflight.move(running, State.RUNNING, State.SETTLING)
    assert settling.state is State.SETTLING


def test_wait_empty_returns_when_the_last_entry_settles() -> None:
    inflight = InFlight()
    entry = inflight.add(message(1))
    assert not inflight.wait_empty(time.monotonic() + 0.05)
    threading.Timer(0.1, inflight.remove, args=(entry,)).start()
    assert inflight.wait_empty(time.monotonic() + 5)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.reset_defaults()
    root.handlers, root.level = handlers, level


@pytest.mark.usefixtures("restore_logging")
def test_json_logs_carry_context_bound_in_another_thread_and_hide_secrets() -> None:
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)

    def handler_thread() -> None:
        structlog.contextvars.bind_contextvars(message_id="m-1", queue="stages")
        structlog.get_logger("t").info("handler.step", password="hunter2", rows=3)
        structlog.get_logger("t").debug("not shown at INFO")
        structlog.contextvars.clear_contextvars()

    thread = threading.Thread(target=handler_thread)
    thread.start()
    thread.join()
    structlog.get_logger("t").info("main.thread")
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert list(first)[:3] == ["timestamp", "level", "event"]
    assert (first["event"], first["message_id"], first["queue"]) == (
        "handler.step",
        "m-1",
        "stages",
    )
    assert (first["rows"], first["password"]) == (3, REDACTED)
    assert "message_id" not in second  # bound in the other thread only


@pytest.mark.usefixtures("restore_logging")
def test_console_format_is_not_json() -> None:
    out = io.StringIO()
    configure_logging("INFO", "console", stream=out)
    structlog.get_logger("t").info("hello", rows=3)
    line = out.getvalue()
    assert "hello" in line
    assert "rows=3" in line
    assert not line.startswith("{")


def test_capacity_waits_for_a_full_receive_while_the_threads_have_work() -> None:
    credits = Capacity(4, prefetch_max=10)
    assert credits.reserve(10, timeout=0) == 10
    credits.accepted(10)
    for _ in range(4):
        credits.started()  # six still queued: enough for the threads
    for delay in (0.01, 0.02, 0.03):
        threading.Timer(delay, lambda: credits.release(3)).start()
    started = time.monotonic()
    assert credits.reserve(10, timeout=1) == 10  # waited for ten, not just the first four free
    assert time.monotonic() - started < 1


def test_capacity_takes_what_is_free_when_the_threads_run_short() -> None:
    credits = Capacity(4, prefetch_max=10)
    assert credits.reserve(14, timeout=0) == 14
    credits.accepted(14)
    for _ in range(11):
        credits.started()  # three queued: fewer than the threads
    credits.release(6)
    started = time.monotonic()
    assert credits.reserve(10, timeout=1) == 6  # no waiting for a full ten
    assert time.monotonic() - started < 0.5


def test_a_helper_receiver_waits_for_the_threads_to_run_short() -> None:
    credits = Capacity(4, prefetch_max=20)
    assert credits.reserve(8, timeout=0) == 8
    credits.accepted(8)
    assert credits.reserve(10, timeout=0.05, when_low=True) == 0  # 8 queued: not needed
    for _ in range(5):
        credits.started()
    assert credits.reserve(10, timeout=0.05, when_low=True) == 10  # 3 queued: it helps
