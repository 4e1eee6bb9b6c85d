"""`worker.ping`: a no-op message the runtime always routes, for smoke tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from service.context import HandlerContext
from service.messages import Outgoing, StageMessage
from service.routing import Route


@dataclass(frozen=True, kw_only=True)
class Ping(StageMessage):
    TYPE: ClassVar[str] = "worker.ping"
    note: str = ""


def handle_ping(msg: Ping, ctx: HandlerContext[object]) -> list[Outgoing]:
    ctx.log.debug("worker.ping.handled", note=msg.note)
    return []


PING_ROUTE: Route[Ping, object] = Route(message=Ping, handler=handle_ping)
