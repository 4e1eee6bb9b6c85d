"""The route table: message type -> (message class, handler, stage name), built once at start-up.

`Route` is generic in the message type, so `Route(DataUploaded, train.handle)` (a handler of
`TrainRequested`) fails type-checking instead of failing at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from service.context import HandlerContext
from service.errors import ConfigurationError
from service.messages import Message, Outgoing

M = TypeVar("M", bound=Message)
D = TypeVar("D")
Handler = Callable[[M, HandlerContext[D]], list[Outgoing]]


@dataclass(frozen=True)
class Route(Generic[M, D]):
    message: type[M]
    handler: Handler[M, D]
    # The name logs and the run manifest use for this step; the message type when not given.
    stage: str = ""

    @property
    def stage_name(self) -> str:
        return self.stage or self.message.TYPE


AnyRoute = Route[Any, Any]


def build_route_table(routes: Iterable[AnyRoute]) -> Mapping[str, AnyRoute]:
    """One route per type; a duplicate or an untyped message class is a start-up error."""
    table: dict[str, AnyRoute] = {}
    for route in routes:
        kind = route.message.TYPE
        if not kind:
            raise ConfigurationError(f"{route.message.__name__} has no TYPE")
        if kind in table:
            raise ConfigurationError(
                f"duplicate route for {kind!r}: {_name(table[kind])} and {_name(route)}"
            )
        table[kind] = route
    return table


def _name(route: AnyRoute) -> str:
    return f"{route.handler.__module__}.{getattr(route.handler, '__name__', '?')}"
