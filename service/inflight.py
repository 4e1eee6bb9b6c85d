"""The messages this worker holds, from receive until settled, and the state each is in.

Heartbeat, shutdown and settle all look at the same entries; state changes happen under one lock
so that a message handed back at shutdown is never also settled by a handler finishing late.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from service.dispatch import Identity
from service.transport import Received

Hook = Callable[[], None]

log = structlog.get_logger("service.inflight")


class State(enum.Enum):
    RECEIVED = "received"  # waiting for a handler thread
    RUNNING = "running"  # handlers running; the heartbeat keeps it invisible
    SETTLING = "settling"  # verdict reached; delete / visibility change under way
    HANDED_BACK = "handed-back"  # returned to the queue at shutdown; a late finish is ignored


@dataclass(eq=False)
class Entry:
    received: Received
    started: float = field(default_factory=time.monotonic)  # received, on the monotonic clock
    received_at: float = field(default_factory=time.time)  # the same moment, wall clock
    handler_seconds: float | None = None  # how long its handlers ran, once they have
    state: State = State.RECEIVED
    # Known once decoded; for the summary of a message handed back before it finished.
    identity: Identity = field(default_factory=lambda: Identity("unknown", "unknown"))


class InFlight:
    """`on_busy` runs when the count goes 0 -> 1, `on_idle` when it goes 1 -> 0, in order: both
    run under the lock, so they must be quick (or hand their work off)."""

    def __init__(self, on_busy: Hook | None = None, on_idle: Hook | None = None) -> None:
        self._entries: set[Entry] = set()
        self._changed = threading.Condition()
        self._on_busy = on_busy
        self._on_idle = on_idle

    def add(self, received: Received) -> Entry:
        entry = Entry(received=received)
        with self._changed:
            self._entries.add(entry)
            if len(self._entries) == 1:
                _call_hook("on_busy", self._on_busy)
        return entry

    def remove(self, entry: Entry) -> None:
        with self._changed:
            if entry not in self._entries:
                return
            self._entries.discard(entry)
            if not self._entries:
                _call_hook("on_idle", self._on_idle)
            self._changed.notify_all()

    def move(self, entry: Entry, source: State, target: State) -> bool:
        """Move `entry` from `source` to `target`; False (and no change) if it is elsewhere."""
        with self._changed:
            if entry.state is not source:
                return False
            entry.state = target
            return True

    def in_states(self, *states: State) -> list[Entry]:
        with self._changed:
            return [e for e in self._entries if e.state in states]

    def hand_back(self, *states: State) -> list[Entry]:
        """Mark every entry in `states` handed back and return them, for a visibility-0 change."""
        with self._changed:
            taken = [e for e in self._entries if e.state in states]
            for entry in taken:
                entry.state = State.HANDED_BACK
            return taken

    def __len__(self) -> int:
        with self._changed:
            return len(self._entries)

    def wait_empty(self, deadline: float) -> bool:
        with self._changed:
            return self._changed.wait_for(
                lambda: not self._entries, timeout=max(0.0, deadline - time.monotonic())
            )


def _call_hook(name: str, hook: Hook | None) -> None:
    if hook is None:
        return
    try:
        hook()
    except Exception as exc:
        log.warning("worker.hook_failed", hook=name, error=f"{type(exc).__name__}: {exc}")
