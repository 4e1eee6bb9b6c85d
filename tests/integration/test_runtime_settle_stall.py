"""A settle call that stalls (a DeleteMessageBatch taking longer than the visibility extension)
holds neither the other messages' settling nor lets its own message reappear meanwhile."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from service.assembly import build_worker
from service.context import HandlerContext
from service.hooks import Hooks
from service.messages import Outgoing, StageMessage, encode_envelope
from service.routing import Route
from service.settings import RuntimeSettings
from service.transport import BatchFailure, Transport

if TYPE_CHECKING:
    from conftest import Broker, QueueTool, Summaries

STALL_SECONDS = 5


@dataclass(frozen=True, kw_only=True)
class Job(StageMessage):
    TYPE: ClassVar[str] = "test.job"


class FirstDeleteStalls:
    """The broker's transport, but its first DeleteMessageBatch takes STALL_SECONDS."""

    def __init__(self, inner: Transport) -> None:
        self._inner = inner
        self._first = True
        self._lock = threading.Lock()
        self.stalling = threading.Event()
        self.stall_ended_at = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def delete_batch(self, url: str, receipt_handles: Sequence[str]) -> list[BatchFailure]:
        with self._lock:
            stall, self._first = self._first, False
        if stall:
            self.stalling.set()
            time.sleep(STALL_SECONDS)
            self.stall_ended_at = time.monotonic()
        return self._inner.delete_batch(url, receipt_handles)


def test_a_stalled_delete_holds_no_other_message_and_its_own_stays_invisible(
    broker: Broker,
    make_settings: Callable[..., RuntimeSettings],
    summaries: Summaries,
    queues: QueueTool,
) -> None:
    settings = make_settings(heartbeat_seconds=1, visibility_extension_seconds=2)
    assert settings.visibility_extension_seconds < STALL_SECONDS  # it would reappear unbeaten
    transport = FirstDeleteStalls(broker.transport)
    handled: list[str] = []

    def job(msg: Job, ctx: HandlerContext[object]) -> list[Outgoing]:
        handled.append(msg.run_id)
        return []

    worker = build_worker(settings, transport, [Route(Job, job)], hooks=Hooks(on_settled=summaries))
    runner = threading.Thread(target=worker.run, daemon=True)
    runner.start()
    try:
        assert worker.wait_started(10)
        url = broker.queue_urls["stages"]
        queues.send(url, encode_envelope(Job(run_id="first")))
        assert transport.stalling.wait(10)
        for name in ("second", "third"):
            queues.send(url, encode_envelope(Job(run_id=name)))
        settled = summaries.wait_count(3, timeout=STALL_SECONDS + 10)
        by_run = {s["run_id"]: s for s in settled}
        assert all(s["outcome"] == "ok" for s in settled)
        # The others settled while the first delete was still stalled...
        assert by_run["first"] is settled[-1]
        # ...and the first message was never handed to a handler a second time.
        time.sleep(1)
        assert sorted(handled) == ["first", "second", "third"]
        assert queues.wait_until(lambda: queues.depth(url) == 0, 5)
    finally:
        worker.stop()
        runner.join(settings.shutdown_budget_seconds + 10)
