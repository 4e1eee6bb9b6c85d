"""The route table: message type -> (message class, handler), built once at start-up."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from service.context import HandlerContext
from service.errors import ConfigurationError
from service.messages import Message, Outgoing

Handler = Callable[[Any, HandlerContext], list[Outgoing]]


@dataclass(frozen=True)
class Route:
    message: type[Message]
    handler: Handler


def build_route_table(routes: Iterable[Route]) -> Mapping[str, Route]:
    """One route per type; a duplicate or an untyped message class is a start-up error."""
    table: dict[str, Route] = {}
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


def _name(route: Route) -> str:
    return f"{route.handler.__module__}.{getattr(route.handler, '__name__', '?')}"
