"""The worker's per-message summaries, collected from its `on_settled` hook for tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Summaries:
    """Collects the worker's per-message summaries (its `on_settled` hook), thread-safely."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self._changed = threading.Condition()

    def __call__(self, summary: dict[str, Any]) -> None:
        with self._changed:
            self.items.append(summary)
            self._changed.notify_all()

    def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 30
    ) -> list[dict[str, Any]]:
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self.items), timeout=timeout):
                raise AssertionError(f"timed out after {timeout}s; summaries: {self.items}")
            return list(self.items)

    def wait_count(self, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        return self.wait_for(lambda items: len(items) >= count, timeout)
