"""The one owner of message visibility: the heartbeat, and every change that settles a message.

Every `interval` seconds the heartbeat extends, in batched calls, the visibility of all messages
still waiting for or inside a handler, so a handler that outlives the queue's visibility timeout
is not redelivered to another consumer. Settling changes (a retry's delay, a hand-back) go
through `change_batch` too: both take the same lock, so a beat that read a message as running
lands before that message's retry delay or hand-back, never after it (which would undo them).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Sequence

import structlog

from service.inflight import Entry, InFlight, State
from service.transport import BatchFailure, Transport

RECEIPT_GONE = "ReceiptHandleIsInvalid"
log = structlog.get_logger("service.visibility")


class Visibility:
    def __init__(
        self, inflight: InFlight, transport: Transport, interval: float, extension: int
    ) -> None:
        self._inflight = inflight
        self._transport = transport
        self._interval = interval
        self._extension = extension
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self._interval + 5)

    def change_batch(self, url: str, changes: Sequence[tuple[str, int]]) -> list[BatchFailure]:
        """(receipt handle, seconds) changes of one queue, never interleaved with a beat."""
        with self._lock:
            return self.change_batch_locked(url, changes)

    def change_batch_locked(
        self, url: str, changes: Sequence[tuple[str, int]]
    ) -> list[BatchFailure]:
        """`change_batch` for a caller inside `exclusively`."""
        return self._transport.change_visibility_batch(url, changes)

    def exclusively(self, work: Callable[[], None]) -> None:
        """Run `work` with no beat in between (settling a change and recording it as settled)."""
        with self._lock:
            work()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.beat()
            except Exception as exc:
                log.warning("heartbeat.failed", error=f"{type(exc).__name__}: {exc}")

    def beat(self) -> int:
        """Extend every held message once; returns how many were extended."""
        with self._lock:
            # Messages waiting for their delete or visibility change too: a stalled settle call
            # must not let a finished message reappear and be done a second time.
            entries = self._inflight.in_states(State.RECEIVED, State.RUNNING, State.SETTLING)
            by_queue: dict[str, list[Entry]] = defaultdict(list)
            for entry in entries:
                by_queue[entry.received.queue_url].append(entry)
            extended = 0
            for url, queued in by_queue.items():
                changes = [(e.received.receipt_handle, self._extension) for e in queued]
                failures = self._transport.change_visibility_batch(url, changes)
                for failure in failures:
                    entry = queued[failure.index]
                    # A delete that completed while this beat was under way: nothing is wrong.
                    deleted = entry.state is State.SETTLING and failure.code == RECEIPT_GONE
                    (log.debug if deleted else log.warning)(
                        "heartbeat.extend_failed",
                        message_id=entry.received.message_id,
                        code=failure.code,
                        reason=failure.message,
                    )
                extended += len(queued) - len(failures)
        return extended
