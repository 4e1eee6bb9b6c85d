"""One thread that settles messages in batches: DeleteMessageBatch and ChangeMessageVisibilityBatch.

Handler threads hand over a finished message and move on; whatever has queued up meanwhile goes
out together, in batches of up to ten per queue, so a busy worker makes one call per ten messages
and an idle one adds no waiting.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import structlog

from service.transport import BatchFailure, Transport
from service.visibility import Visibility

log = structlog.get_logger("service.batcher")

# Called once per operation with None on success or the reason it failed.
Done = Callable[[str | None], None]
DRAIN_LIMIT = 200


@dataclass(frozen=True)
class SettleOp:
    kind: Literal["delete", "visibility"]
    queue_url: str
    receipt_handle: str
    done: Done
    seconds: int = 0


class SettleBatcher:
    def __init__(self, transport: Transport, visibility: Visibility, threads: int = 4) -> None:
        """`threads` settling threads share the queue of operations: a call that stalls (a slow
        DeleteMessageBatch) holds only its own batch, never the others'."""
        self._transport = transport
        self._visibility = visibility
        self._ops: queue.SimpleQueue[SettleOp | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"settle-{i}", daemon=True)
            for i in range(threads)
        ]

    @property
    def transport(self) -> Transport:
        return self._transport

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float) -> None:
        """Settle everything handed over so far, then end the threads."""
        deadline = time.monotonic() + timeout
        for _ in self._threads:
            self._ops.put(None)
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def delete(self, queue_url: str, receipt_handle: str, done: Done) -> None:
        self._ops.put(SettleOp("delete", queue_url, receipt_handle, done))

    def change_visibility(
        self, queue_url: str, receipt_handle: str, seconds: int, done: Done
    ) -> None:
        self._ops.put(SettleOp("visibility", queue_url, receipt_handle, done, seconds))

    def _run(self) -> None:
        stopping = False
        while not stopping:
            ops, stopping = self._take()
            groups: dict[tuple[str, str], list[SettleOp]] = defaultdict(list)
            for op in ops:
                groups[(op.kind, op.queue_url)].append(op)
            for (kind, url), group in groups.items():
                self._settle(kind, url, group)

    def _take(self) -> tuple[list[SettleOp], bool]:
        """Block for one op, then take whatever else is already waiting."""
        ops: list[SettleOp] = []
        item = self._ops.get()
        while item is not None:
            ops.append(item)
            if len(ops) >= DRAIN_LIMIT:
                return ops, False
            try:
                item = self._ops.get_nowait()
            except queue.Empty:
                return ops, False
        return ops, True

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
            failures = [BatchFailure(i, "CallFailed", reason, False) for i in range(len(ops))]
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
