"""How many messages the worker may hold at once: one per handler thread, plus a local prefetch.

Pollers reserve credits before ReceiveMessage, so the worker never holds more than its bound.
The prefetch lets a poller fetch the next ten while the last ten are still running (full
receives, no thread waiting on a round trip), but it is bounded by what the threads can start
within one visibility extension at the handlers' measured pace: a message received is started
before it could need a second extension, and a worker with slow handlers does not hoard messages
that another worker could run. The heartbeat keeps the prefetched ones invisible meanwhile and
shutdown hands them back unstarted.
"""

from __future__ import annotations

import threading

# Weight of the newest handler duration in the running estimate: about the last ten count.
PACE_WEIGHT = 0.1


class Capacity:
    def __init__(self, threads: int, prefetch_max: int = 0, horizon_seconds: float = 60.0) -> None:
        """`prefetch_max` messages may wait beyond the `threads` running ones, fewer when the
        handlers' pace says the threads would not start them within `horizon_seconds`."""
        self._threads = threads
        self._prefetch_max = prefetch_max
        self._horizon = horizon_seconds
        self._held = 0  # reserved for a receive, waiting for a thread, or running
        self._queued = 0  # received and waiting for a thread
        self._pace: float | None = None  # seconds per handler run, a running average
        self._changed = threading.Condition()

    def reserve(self, wanted: int, timeout: float, when_low: bool = False) -> int:
        """Wait up to `timeout` s for a free credit (and, `when_low`, for the threads to be
        running short of queued work); then, while the threads still have work queued, up to
        `timeout` s more until `wanted` are free, for a full receive. Take what is free, at
        most `wanted`; 0 if none came free."""
        with self._changed:
            if not self._changed.wait_for(
                lambda: self._free() > 0 and (not when_low or self._queued < self._threads),
                timeout=timeout,
            ):
                return 0
            self._changed.wait_for(
                lambda: self._free() >= wanted or self._queued < self._threads, timeout=timeout
            )
            taken = max(0, min(wanted, self._free()))
            self._held += taken
            return taken

    def accepted(self, count: int) -> None:
        """`count` reserved credits now hold received messages waiting for a thread."""
        with self._changed:
            self._queued += count

    def started(self) -> None:
        """A waiting message reached a thread."""
        with self._changed:
            self._queued = max(0, self._queued - 1)
            self._changed.notify_all()

    def release(self, count: int = 1, seconds: float | None = None) -> None:
        """`count` credits are free again (unused by a receive, or a message finished); a
        handler's run time in `seconds` updates the pace."""
        if count <= 0:
            return
        with self._changed:
            self._held = max(0, self._held - count)
            if seconds is not None:
                self._pace = (
                    seconds
                    if self._pace is None
                    else (1 - PACE_WEIGHT) * self._pace + PACE_WEIGHT * seconds
                )
            self._changed.notify_all()

    @property
    def free(self) -> int:
        with self._changed:
            return max(0, self._free())

    @property
    def prefetch(self) -> int:
        with self._changed:
            return self._prefetch()

    def _free(self) -> int:
        return self._threads + self._prefetch() - self._held

    def _prefetch(self) -> int:
        if self._pace is None or self._pace <= 0:
            return self._prefetch_max  # nothing measured yet: the heartbeat covers the wait
        # The k-th waiting message starts after ceil(k / threads) handler runs.
        rounds = int(self._horizon // self._pace)
        return min(self._prefetch_max, self._threads * rounds)
