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


def test_capacity_wakes_a_waiting_poller_when_a_slot_frees() -> None:
    slots = Capacity(1)
    slots.reserve(1, timeout=0)
    threading.Timer(0.1, slots.release).start()
    started = time.monotonic()
    assert slots.reserve(5, timeout=5) == 1
    assert time.monotonic() - started < 2


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


def test_capacity_gathers_freed_slots_for_a_fuller_receive() -> None:
    slots = Capacity(4)
    assert slots.reserve(4, timeout=0) == 4
    slots.release(1)
    for delay in (0.01, 0.02, 0.03):
        threading.Timer(delay, slots.release).start()
    started = time.monotonic()
    assert slots.reserve(10, timeout=1, gather=2) == 4  # waited for all four, not just one
    assert time.monotonic() - started < 1  # and no longer: four is all there is
    slots.release(1)
    assert slots.reserve(10, timeout=1, gather=0.05) == 1  # gives up gathering after 50 ms
