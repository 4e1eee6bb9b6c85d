"""What a handler is given: the dependencies its application defined, and a bound logger.

The runtime does not know what is in `deps`: the pipeline defines its dependencies object
(settings, buckets, the run repository, the SageMaker gateway) and the composition root builds
it once; every handler call receives the same one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

D = TypeVar("D", covariant=True)


@dataclass(frozen=True)
class HandlerContext(Generic[D]):
    """Passed to every handler call. `log` already carries the message's context keys."""

    deps: D
    log: FilteringBoundLogger
    message_id: str = ""
    receive_count: int = 1
    # This is the last receive the queue allows: a failure now is the message's end (the
    # handler records it as final; the runtime dead-letters it with the reason).
    last_attempt: bool = False
    # Fields the handler adds to the message's one summary line (e.g. `decision`), so what the
    # message decided is on the line operators query; the runtime's own keys always win.
    notes: dict[str, Any] = field(default_factory=dict)
