"""How the worker asks for messages: one at a time with a full long poll on a quiet queue, ten at
a time with a short wait on a busy one, so a queue that goes quiet gives its credits back within a
second instead of holding them for a whole long poll; a second receiver only on a backlog."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.assembly import build_worker
from service.memory import MemoryTransport
from service.messages import encode_envelope
from service.ping import Ping
from service.settings import RuntimeSettings
from service.transport import Received
from service.worker import BUSY_WAIT_SECONDS, Worker


class Recording(MemoryTransport):
    def __init__(self) -> None:
        super().__init__()
        # (queue, max messages, wait seconds, receiving thread)
        self.receives: list[tuple[str, int, int, str]] = []
        self._lock = threading.Lock()

    def receive(
        self, queue: str, url: str, max_messages: int, wait_seconds: int, visibility_timeout: int
    ) -> list[Received]:
        with self._lock:
            self.receives.append(
                (queue, max_messages, wait_seconds, threading.current_thread().name)
            )
        return super().receive(queue, url, max_messages, wait_seconds, visibility_timeout)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Worker, Recording]]:
    transport = Recording()
    urls = {}
    for role in ("ingest", "stages"):
        dlq = transport.create_queue(f"{role}-dlq")
        urls[role] = transport.create_queue(role, dlq_url=dlq, max_receive_count=5)
    settings = RuntimeSettings(
        ingest_queue_url=urls["ingest"],
        stages_queue_url=urls["stages"],
        poll_wait_seconds=3,
        health_file=tmp_path / "health",
        shutdown_budget_seconds=2,
    )
    worker = build_worker(settings, transport, [])
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    assert worker.wait_started(10)
    yield worker, transport
    worker.stop()
    thread.join(10)


def test_a_queue_that_goes_quiet_waits_briefly_then_long_polls_for_one(
    running: tuple[Worker, Recording],
) -> None:
    worker, transport = running
    url = worker.settings.ingest_queue_url
    transport.send(url, encode_envelope(Ping(run_id="p-1")))
    deadline = time.monotonic() + 10
    while len([r for r in transport.receives if r[0] == "ingest"]) < 4:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    asked = [r[1:3] for r in transport.receives if r[0] == "ingest"]
    # Quiet: one message, a long poll. It returned the ping: busy, so ten with a short wait, by
    # the first receiver alone (one message is no backlog). That came back empty: quiet again.
    assert asked[:3] == [(1, 3), (10, BUSY_WAIT_SECONDS), (1, 3)]
    assert all(r[1:3] == (1, 3) for r in transport.receives if r[0] == "stages")
    assert {r[3] for r in transport.receives} == {"poll-ingest-0", "poll-stages-0"}


def test_a_backlog_gets_the_second_receiver(running: tuple[Worker, Recording]) -> None:
    worker, transport = running
    url = worker.settings.ingest_queue_url
    for i in range(200):
        transport.send(url, encode_envelope(Ping(run_id=f"p-{i}")))
    deadline = time.monotonic() + 10
    while transport.depth(url):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    helper = [r[1:3] for r in transport.receives if r[3] == "poll-ingest-1"]
    assert helper, "the second receiver never received"
    assert all(wait == BUSY_WAIT_SECONDS for _, wait in helper)
    assert not [r for r in transport.receives if r[3] == "poll-stages-1"]
