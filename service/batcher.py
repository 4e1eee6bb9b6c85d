"""One thread that settles messages in batches: DeleteMessageBatch and ChangeMessageVisibilityBatch.

Handler threads hand over a finished message and move on; whatever has queued up meanwhile goes
out together, in batches of up to ten per queue, so a busy worker makes one call per ten messages
and an idle one adds no waiting.
"""

from __future__ import annotations

import queue
import threading
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
    def __init__(self, transport: Transport, visibility: Visibility) -> None:
        self._transport = transport
        self._visibility = visibility
        self._ops: queue.SimpleQueue[SettleOp | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="settle", daemon=True)

    @property
    def transport(self) -> Transport:
        return self._transport

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Settle everything handed over so far, then end the thread."""
        self._ops.put(None)
        self._thread.join(timeout=timeout)

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
        try:
            failures = self._call(kind, url, ops)
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

    def _call(self, kind: str, url: str, ops: list[SettleOp]) -> list[BatchFailure]:
        if kind == "delete":
            return self._transport.delete_batch(url, [op.receipt_handle for op in ops])
        return self._visibility.change_batch(url, [(op.receipt_handle, op.seconds) for op in ops])


def _report(op: SettleOp, error: str | None) -> None:
    try:
        op.done(error)
    except Exception as exc:
        log.error("settle.callback_failed", error=f"{type(exc).__name__}: {exc}")
