"""The route table: message type -> (message class, handler, stage name), built once at start-up.

`Route` is generic in the message type, so `Route(DataUploaded, train.handle)` (a handler of
`TrainRequested`) fails type-checking instead of failing at run time.

`deferred(module, name)` is a handler imported on its first call. A stage's module pulls in its
libraries (pandas, scikit-learn, matplotlib): seconds of imports that a worker scaled from zero
would otherwise pay before its first ReceiveMessage, and that the health check must never load.
`service/warmup.py` imports them in the background once the worker is polling.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from service.context import HandlerContext
from service.failures import ConfigurationError
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


def deferred(module: str, name: str) -> Handler[Any, Any]:
    """The handler `module.name`, imported on its first call. The route table's type check
    does not see through it: `tests/unit/test_deferred.py` checks each route's handler instead."""

    def handle(msg: Any, ctx: HandlerContext[Any]) -> list[Outgoing]:
        target: Handler[Any, Any] = getattr(importlib.import_module(module), name)
        return target(msg, ctx)

    handle.__module__ = module
    handle.__name__ = handle.__qualname__ = name
    handle.deferred_to = (module, name)  # type: ignore[attr-defined]
    return handle


def deferred_target(handler: Handler[Any, Any]) -> tuple[str, str] | None:
    """(module, name) of a `deferred` handler; None for a plain one."""
    target = getattr(handler, "deferred_to", None)
    return target if isinstance(target, tuple) else None


def modules_of(routes: Iterable[AnyRoute]) -> list[str]:
    """The modules the deferred handlers of `routes` live in, in route order."""
    found = (deferred_target(route.handler) for route in routes)
    return list(dict.fromkeys(target[0] for target in found if target))
