"""Retryable failures: visibility back-off from the receive count, then SQS redrive to the DLQ."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from service.backoff import Backoff
from service.context import HandlerContext
from service.failures import DuplicateDelivery, RetryableError
from service.messages import Outgoing, StageMessage, encode_envelope
from service.routing import Route
from service.worker import Worker

if TYPE_CHECKING:
    from conftest import Broker, QueueTool, Summaries

StartWorker = Callable[..., Worker]


@dataclass(frozen=True, kw_only=True)
class Flaky(StageMessage):
    TYPE: ClassVar[str] = "test.flaky"
    mode: str


class Attempts:
    """When each attempt happened and with which receive count."""

    def __init__(self) -> None:
        self.at: list[float] = []
        self.receive_counts: list[int] = []
        self._lock = threading.Lock()

    def record(self, ctx: HandlerContext[object]) -> int:
        with self._lock:
            self.at.append(time.monotonic())
            self.receive_counts.append(ctx.receive_count)
            return len(self.at)


def test_retryable_failure_backs_off_growing_then_reaches_the_dlq(
    start_worker: StartWorker, summaries: Summaries, queues: QueueTool, broker: Broker
) -> None:
    attempts = Attempts()

    def flaky(msg: Flaky, ctx: HandlerContext[object]) -> list[Outgoing]:
        attempts.record(ctx)
        raise RetryableError("endpoint not InService yet")

    # No jitter so the growth is exact: 1 s, 2 s, then capped at 2 s.
    start_worker([Route(Flaky, flaky)], backoff=Backoff(1, 2, jitter="none"))
    body = encode_envelope(Flaky(run_id="r-retry", mode="always"))
    queues.send(broker.queue_urls["stages"], body)

    settled = summaries.wait_count(3)
    assert [s["receive_count"] for s in settled] == [1, 2, 3]
    # maxReceiveCount is 3: the third receive is the last the queue allows, so the worker
    # dead-letters the message itself, with the reason, instead of SQS's silent redrive.
    assert [s["outcome"] for s in settled] == ["retry", "retry", "dead-lettered"]
    assert [s.get("retry_delay_s") for s in settled] == [1, 2, None]
    assert settled[0]["error"] == "RetryableError: endpoint not InService yet"
    assert settled[2]["error"] == (
        "RetryableError: endpoint not InService yet (receive 3: the last the queue allows)"
    )
    gaps = [later - earlier for earlier, later in zip(attempts.at, attempts.at[1:], strict=False)]
    # The message really stayed invisible that long.
    assert gaps[0] >= 0.9, gaps
    assert gaps[1] >= 1.9, gaps

    [dead] = queues.receive_all(broker.dlq_urls["stages"])
    assert dead["Body"] == body
    assert dead["MessageAttributes"]["automlops-error"]["StringValue"] == settled[2]["error"]
    assert attempts.receive_counts == [1, 2, 3]
    assert queues.depth(broker.queue_urls["stages"]) == 0


def test_a_duplicate_is_deleted_without_counting_as_a_failure(
    start_worker: StartWorker, summaries: Summaries, queues: QueueTool, broker: Broker
) -> None:
    calls: list[int] = []

    def twin(msg: Flaky, ctx: HandlerContext[object]) -> list[Outgoing]:
        calls.append(ctx.receive_count)
        raise DuplicateDelivery("another delivery holds this work")

    start_worker([Route(Flaky, twin)])
    queues.send(broker.queue_urls["stages"], encode_envelope(Flaky(run_id="r-twin", mode="x")))

    [summary] = summaries.wait_count(1)
    assert summary["outcome"] == "duplicate"
    assert "error" not in summary
    assert queues.wait_until(lambda: queues.depth(broker.queue_urls["stages"]) == 0, 5)
    assert queues.depth(broker.dlq_urls["stages"]) == 0
    assert calls == [1]


def test_own_delay_overrides_back_off_and_unclassified_errors_are_retried(
    start_worker: StartWorker, summaries: Summaries, queues: QueueTool, broker: Broker
) -> None:
    attempts: dict[str, Attempts] = {"delay": Attempts(), "crash": Attempts()}

    def flaky(msg: Flaky, ctx: HandlerContext[object]) -> list[Outgoing]:
        if attempts[msg.mode].record(ctx) > 1:
            return []
        if msg.mode == "delay":
            raise RetryableError("training still running", delay=2)
        raise KeyError("a bug, not a decision")

    start_worker([Route(Flaky, flaky)], backoff=Backoff(1, 4, jitter="none"))
    for mode in attempts:
        queues.send(broker.queue_urls["stages"], encode_envelope(Flaky(run_id=mode, mode=mode)))

    settled = summaries.wait_count(4)
    by_run = {(s["run_id"], s["receive_count"]): s for s in settled}
    assert by_run[("delay", 1)]["retry_delay_s"] == 2  # the handler's own, not the 1 s back-off
    assert by_run[("crash", 1)]["retry_delay_s"] == 1
    assert by_run[("crash", 1)]["error"] == "KeyError: 'a bug, not a decision'"
    assert by_run[("delay", 2)]["outcome"] == by_run[("crash", 2)]["outcome"] == "ok"
    delay_gap = attempts["delay"].at[1] - attempts["delay"].at[0]
    assert delay_gap >= 1.9
