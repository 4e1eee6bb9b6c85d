"""What the worker tells an observer, as plain callbacks (metrics, ECS task protection)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

Summary = dict[str, Any]


def _nothing() -> None:
    return None


def _ignore(_: Summary) -> None:
    return None


@dataclass(frozen=True)
class Hooks:
    """`on_settled(summary)` runs after each message's summary line; `on_busy` / `on_idle` when
    the count of held messages goes 0 -> 1 / 1 -> 0; `on_polled` after every receive call that
    returned (with or without messages). All of them must be quick."""

    on_settled: Callable[[Summary], None] = _ignore
    on_busy: Callable[[], None] = _nothing
    on_idle: Callable[[], None] = _nothing
    on_polled: Callable[[], None] = _nothing

    @staticmethod
    def combine(*hooks: Hooks) -> Hooks:
        """One set of hooks that calls each of `hooks` in order."""
        return Hooks(
            on_settled=lambda summary: _each([partial(h.on_settled, summary) for h in hooks]),
            on_busy=lambda: _each([h.on_busy for h in hooks]),
            on_idle=lambda: _each([h.on_idle for h in hooks]),
            on_polled=lambda: _each([h.on_polled for h in hooks]),
        )


def _each(calls: list[Callable[[], None]]) -> None:
    for call in calls:
        call()
