"""What the worker tells the outside world besides its log: EMF metrics and ECS scale-in
protection, wired to the Worker's hooks in the composition root."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from service.hooks import Hooks
from service.metrics import MetricsEmitter
from service.protection import TaskProtection

MAINTAIN_SECONDS = 15.0


class Observers:
    """The Worker's hooks. Protection calls go to a thread of their own: the hooks run under the
    in-flight lock, and an ECS agent call may take seconds."""

    def __init__(self, metrics: MetricsEmitter, protection: TaskProtection) -> None:
        self.metrics = metrics
        self.protection = protection
        self._calls: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def hooks(self) -> Hooks:
        return Hooks(
            on_settled=self.on_settled,
            on_polled=self.on_polled,
            on_busy=lambda: self._calls.put(self.protection.on_busy),
            on_idle=lambda: self._calls.put(self.protection.on_idle),
        )

    def on_polled(self) -> None:
        self.metrics.poll_succeeded()

    def on_settled(self, summary: dict[str, Any]) -> None:
        self.metrics.message_settled(
            str(summary.get("stage") or "unknown"),
            str(summary["outcome"]),
            float(summary["duration_ms"]),
            run_id=summary.get("run_id"),
            message_id=summary.get("message_id"),
        )

    def start(self) -> None:
        if self.protection.enabled:
            self._thread = threading.Thread(target=self._serve, name="protection", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._calls.put(None)
            self._thread.join(timeout=self.protection.timeout_seconds * 2 + 1)
        self.protection.close()

    def _serve(self) -> None:
        while True:
            try:
                call = self._calls.get(timeout=MAINTAIN_SECONDS)
            except queue.Empty:
                self.protection.maintain()
                continue
            if call is None:
                return
            call()
