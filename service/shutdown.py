"""SIGTERM / SIGINT: the first asks the worker to drain, a second one exits at once.

The handler only sets a flag (through `request_stop`): locks are not safe inside a signal
handler, so the worker's main loop notices the flag and does the draining itself.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from types import FrameType

SIGNALS = (signal.SIGTERM, signal.SIGINT)


def install_signal_handlers(request_stop: Callable[[], None]) -> None:
    received: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if received:
            # Messages not yet settled reappear after their visibility timeout: nothing is lost.
            sys.stderr.write(f"second signal {signal.Signals(signum).name}: exiting now\n")
            os._exit(128 + signum)
        received.append(signum)
        request_stop()

    for signum in SIGNALS:
        signal.signal(signum, on_signal)
