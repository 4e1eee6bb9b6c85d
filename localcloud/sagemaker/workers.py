"""Background threads for the asynchronous parts (training jobs, endpoint deployments).

Every wait goes through `sleep`, so `shutdown()` ends them promptly when the emulator stops.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("localcloud.sagemaker")


class Workers:
    def __init__(self) -> None:
        self._closing = threading.Event()

    @property
    def closing(self) -> bool:
        return self._closing.is_set()

    def spawn(self, name: str, work: Callable[[], None]) -> None:
        def run() -> None:
            try:
                work()
            except Exception:
                # A background failure must not vanish silently; the resource itself reports it.
                log.exception("background work %s failed", name)

        threading.Thread(target=run, name=f"sagemaker-{name}", daemon=True).start()

    def sleep(self, seconds: float) -> bool:
        """Wait; False when the emulator is shutting down and the work should give up."""
        if seconds > 0:
            self._closing.wait(seconds)
        return not self._closing.is_set()

    def shutdown(self) -> None:
        self._closing.set()
