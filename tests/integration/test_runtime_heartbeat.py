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


@dataclass(frozen=True, kw_only=True)
class Quick(StageMessage):
    TYPE: ClassVar[str] = "test.quick"


def test_prefetched_messages_wait_under_the_heartbeat_and_are_not_redelivered(
    start_worker: Callable[..., Worker],
    make_settings: Callable[..., Settings],
    summaries: Summaries,
    queues: QueueTool,
    broker: Broker,
) -> None:
    settings = make_settings(worker_threads=1, heartbeat_seconds=1, visibility_extension_seconds=2)
    running = threading.Event()

    def long(msg: Long, ctx: HandlerContext[object]) -> list[Outgoing]:
        running.set()
        time.sleep(HANDLER_SECONDS)
        return []

    start_worker([Route(Long, long), Route(Quick, lambda msg, ctx: [])], settings=settings)
    url = broker.queue_urls["stages"]
    queues.send(url, encode_envelope(Long(run_id="r-long")))
    assert running.wait(10)
    for n in range(3):
        queues.send(url, encode_envelope(Quick(run_id=f"r-quick-{n}")))

    done = summaries.wait_count(4, timeout=HANDLER_SECONDS + 10)
    quick = [s for s in done if s["message_type"] == "test.quick"]
    assert len(quick) == 3
    # Received while the one thread was busy, they waited locally for seconds, longer than two
    # visibility extensions, and still ran once each, on their first receive.
    assert all(s["duration_ms"] >= 2 * settings.visibility_extension_seconds * 1000 for s in quick)
    assert {(s["outcome"], s["receive_count"]) for s in done} == {("ok", 1)}
    assert queues.depth(url) == 0
