"""Importing the stages' modules in the background, once the worker is polling.

The routes' `deferred` handlers keep pandas, scikit-learn and matplotlib out of start-up.
`Warmup` imports them on a daemon thread after the first poll has returned: by the time a
stage's first message arrives they are usually loaded, and a message that comes sooner waits
only for what is still importing (Python's import lock is shared between threads).
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Sequence

import structlog

from service.hooks import Hooks

log = structlog.get_logger("service.warmup")


class Warmup:
    """Imports `modules` once, on a daemon thread started by the first poll's `on_polled`."""

    def __init__(self, modules: Sequence[str]) -> None:
        self._modules = tuple(modules)
        self._started = False
        self._lock = threading.Lock()
        self._done = threading.Event()

    def hooks(self) -> Hooks:
        return Hooks(on_polled=self.start)

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._run, name="warm-up", daemon=True).start()

    def wait(self, timeout: float) -> bool:
        return self._done.wait(timeout)

    def _run(self) -> None:
        began = time.monotonic()
        failed: list[str] = []
        for module in self._modules:
            try:
                importlib.import_module(module)
            except Exception as exc:
                # The handler's own import will fail the same way, with its message, and say so.
                failed.append(f"{module}: {type(exc).__name__}: {exc}")
        duration_ms = round((time.monotonic() - began) * 1000, 1)
        if failed:
            log.error("worker.warm_up_failed", error="; ".join(failed), duration_ms=duration_ms)
        else:
            log.info("worker.warmed", modules=len(self._modules), duration_ms=duration_ms)
        self._done.set()
