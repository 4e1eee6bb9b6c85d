"""Settling in batches: DeleteMessageBatch and ChangeMessageVisibilityBatch.

Handler threads hand over a finished message and move on. One collector groups the operations
by (action, queue) and sends a group when it holds ten entries (SQS's batch limit) or when its
first entry has waited `window` seconds, so a busy worker makes one call per ten messages and a
quiet one adds at most the window. The calls themselves run on a few caller threads: one that
stalls (a slow DeleteMessageBatch) holds only its own batch, never the others'.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import structlog

from service.transport import BATCH_LIMIT, BatchFailure, Transport
from service.visibility import Visibility

log = structlog.get_logger("service.batcher")

# Called once per operation with None on success or the reason it failed.
Done = Callable[[str | None], None]
WINDOW_SECONDS = 0.05  # how long a lone delete waits for company


@dataclass(frozen=True)
class SettleOp:
    kind: Literal["delete", "visibility"]
    queue_url: str
    receipt_handle: str
    done: Done
    seconds: int = 0


@dataclass
class _Group:
    """The operations of one (action, queue) waiting to go out together."""

    due: float  # when the group goes out even if not full
    ops: list[SettleOp] = field(default_factory=list)


Batch = tuple[str, str, list[SettleOp]]


class SettleBatcher:
    def __init__(
        self,
        transport: Transport,
        visibility: Visibility,
        threads: int = 4,
        window: float = WINDOW_SECONDS,
    ) -> None:
        self._transport = transport
        self._visibility = visibility
        self._window = window
        self._ops: queue.SimpleQueue[SettleOp | None] = queue.SimpleQueue()
        self._batches: queue.SimpleQueue[Batch | None] = queue.SimpleQueue()
        self._collector = threading.Thread(target=self._collect, name="settle-collect", daemon=True)
        self._callers = [
            threading.Thread(target=self._call, name=f"settle-{i}", daemon=True)
            for i in range(threads)
        ]

    @property
    def transport(self) -> Transport:
        return self._transport

    def start(self) -> None:
        self._collector.start()
        for thread in self._callers:
            thread.start()

    def stop(self, timeout: float) -> None:
        """Settle everything handed over so far (no more waiting for company), then end."""
        deadline = time.monotonic() + timeout
        self._ops.put(None)
        self._collector.join(timeout=max(0.0, deadline - time.monotonic()))
        for thread in self._callers:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def delete(self, queue_url: str, receipt_handle: str, done: Done) -> None:
        self._ops.put(SettleOp("delete", queue_url, receipt_handle, done))

    def change_visibility(
        self, queue_url: str, receipt_handle: str, seconds: int, done: Done
    ) -> None:
        self._ops.put(SettleOp("visibility", queue_url, receipt_handle, done, seconds))

    # -- the collector -----------------------------------------------------------------------

    def _collect(self) -> None:
        groups: dict[tuple[str, str], _Group] = {}
        stopping = False
        while not stopping:
            stopping = self._take_into(groups)
            self._send_due(groups, time.monotonic())
        self._send_due(groups, float("inf"))
        for _ in self._callers:
            self._batches.put(None)

    def _take_into(self, groups: dict[tuple[str, str], _Group]) -> bool:
        """Wait for the next operation until the earliest group is due; True means stop."""
        due = min((g.due for g in groups.values()), default=None)
        try:
            op = self._ops.get(timeout=None if due is None else max(0.0, due - time.monotonic()))
        except queue.Empty:
            return False
        if op is None:
            return True
        self._add(groups, op)
        return False

    def _add(self, groups: dict[tuple[str, str], _Group], op: SettleOp) -> None:
        key = (op.kind, op.queue_url)
        group = groups.setdefault(key, _Group(time.monotonic() + self._window))
        group.ops.append(op)
        if len(group.ops) >= BATCH_LIMIT:
            del groups[key]
            self._batches.put((*key, group.ops))

    def _send_due(self, groups: dict[tuple[str, str], _Group], now: float) -> None:
        for key in [k for k, g in groups.items() if g.due <= now]:
            self._batches.put((*key, groups.pop(key).ops))

    # -- the callers -------------------------------------------------------------------------

    def _call(self) -> None:
        while (batch := self._batches.get()) is not None:
            self._settle(*batch)

    def _settle(self, kind: str, url: str, ops: list[SettleOp]) -> None:
        if kind == "delete":
            self._report_all(kind, ops, lambda: self._transport.delete_batch(url, _handles(ops)))
            return
        changes = [(op.receipt_handle, op.seconds) for op in ops]
        # Reported under the visibility lock: a heartbeat that still saw these messages as held
        # must not extend them after their retry delay or hand-back has landed.
        self._visibility.exclusively(
            lambda: self._report_all(
                kind, ops, lambda: self._visibility.change_batch_locked(url, changes)
            )
        )

    def _report_all(
        self, kind: str, ops: list[SettleOp], call: Callable[[], list[BatchFailure]]
    ) -> None:
        try:
            failures = call()
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            log.error("settle.batch_failed", action=kind, count=len(ops), error=reason)
            failures = [BatchFailure(i, "CallFailed", reason) for i in range(len(ops))]
        failed = {f.index: f for f in failures}
        for index, op in enumerate(ops):
            failure = failed.get(index)
            if failure is not None:
                log.warning(
                    "settle.entry_failed", action=kind, code=failure.code, reason=failure.message
                )
            _report(op, None if failure is None else f"{failure.code}: {failure.message}")


def _handles(ops: list[SettleOp]) -> list[str]:
    return [op.receipt_handle for op in ops]


def _report(op: SettleOp, error: str | None) -> None:
    try:
        op.done(error)
    except Exception as exc:
        log.error("settle.callback_failed", error=f"{type(exc).__name__}: {exc}")
