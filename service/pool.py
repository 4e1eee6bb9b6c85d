"""A fixed set of daemon threads running handler tasks.

Daemon threads, unlike ThreadPoolExecutor's, do not hold the process open at exit: a handler still
running when the shutdown budget is spent has had its message handed back and is abandoned.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

Task = Callable[[], None]


class HandlerPool:
    def __init__(self, size: int, name: str = "handler") -> None:
        self._tasks: queue.SimpleQueue[Task | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}-{i}", daemon=True) for i in range(size)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def submit(self, task: Task) -> None:
        self._tasks.put(task)

    def stop(self) -> None:
        """Let each thread end after the task it is running; does not wait for them."""
        for _ in self._threads:
            self._tasks.put(None)

    def _run(self) -> None:
        while (task := self._tasks.get()) is not None:
            task()
