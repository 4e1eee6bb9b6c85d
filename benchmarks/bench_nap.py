"""The throughput benchmark's message for the worker: its handler sleeps `ms` (0: a no-op)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from service.context import HandlerContext
from service.messages import Outgoing, StageMessage
from service.routing import Route


@dataclass(frozen=True, kw_only=True)
class Nap(StageMessage):
    TYPE: ClassVar[str] = "bench.nap"
    ms: int = 0


def make_route(handled: Callable[[], None]) -> Route[Nap, object]:
    """The route whose handler sleeps and then calls `handled()`."""

    def handle_nap(msg: Nap, ctx: HandlerContext[object]) -> list[Outgoing]:
        if msg.ms:
            time.sleep(msg.ms / 1000)
        handled()
        return []

    return Route(Nap, handle_nap)
