"""SIGTERM / SIGINT: the first asks the worker to drain, a second one exits at once.

The handler only sets a flag (through `request_stop`): locks are not safe inside a signal
handler, so the worker's main loop notices the flag and does the draining itself.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import NoReturn

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


def exit_after_drain(code: int) -> NoReturn:
    """End the process now that the worker has drained. Threads that are not daemons (an SDK's
    transfer pool mid-upload, a library's executor) would otherwise hold the interpreter open
    past the shutdown budget until ECS kills the task; their messages were handed back."""
    lingering = [
        t.name
        for t in threading.enumerate()
        if t.is_alive() and not t.daemon and t is not threading.main_thread()
    ]
    if lingering:
        sys.stderr.write(f"exiting with threads still running: {', '.join(lingering)}\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
