"""A handler that outlives the visibility timeout keeps its message: the heartbeat extends it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from service.context import HandlerContext
from service.messages import Outgoing, StageMessage, encode_envelope
from service.routing import Route
from service.settings import RuntimeSettings as Settings
from service.worker import Worker

if TYPE_CHECKING:
    from conftest import Broker, QueueTool, Summaries

HANDLER_SECONDS = 5


@dataclass(frozen=True, kw_only=True)
class Long(StageMessage):
    TYPE: ClassVar[str] = "test.long"


def test_long_handler_is_not_redelivered_while_it_runs(
    start_worker: Callable[..., Worker],
    make_settings: Callable[..., Settings],
    summaries: Summaries,
    queues: QueueTool,
    broker: Broker,
) -> None:
    settings = make_settings(heartbeat_seconds=1, visibility_extension_seconds=2)
    # Without beats the message would be visible again (and taken by a free thread) mid-run.
    assert settings.visibility_extension_seconds * 2 < HANDLER_SECONDS
    calls: list[str] = []
    lock = threading.Lock()

    def long(msg: Long, ctx: HandlerContext[object]) -> list[Outgoing]:
        with lock:
            calls.append(ctx.message_id)
        time.sleep(HANDLER_SECONDS)
        return []

    start_worker([Route(Long, long)], settings=settings)
    queues.send(broker.queue_urls["stages"], encode_envelope(Long(run_id="r-long")))

    [summary] = summaries.wait_count(1, timeout=HANDLER_SECONDS + 10)
    assert (summary["outcome"], summary["receive_count"]) == ("ok", 1)
    assert summary["duration_ms"] >= HANDLER_SECONDS * 1000
    assert len(calls) == 1
    assert queues.depth(broker.queue_urls["stages"]) == 0
