"""Real worker processes and signals: drain within the budget, hand back, exit codes."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from conftest import QueueTool
from worker_app import Pooled, Slow

from localcloud.stack import Stack
from service.messages import encode_envelope
from service.ping import Ping

if TYPE_CHECKING:
    from conftest import WorkerProcess


@pytest.fixture
def queues(sqs: Any) -> QueueTool:
    """Real worker processes reach SQS (moto's server), never another process's memory."""
    return QueueTool(sqs)


Spawn = Callable[..., "WorkerProcess"]
MakeEnv = Callable[..., dict[str, str]]
APP = ["-m", "tests.integration.worker_app"]


def start_app(spawn: Spawn, env: dict[str, str]) -> WorkerProcess:
    process = spawn(APP, env)
    process.wait_for_event("worker.started")
    return process


def test_sigterm_lets_a_running_handler_finish_and_exits_0(
    clean_queues: Stack, spawn: Spawn, make_env: MakeEnv, queues: QueueTool, stack: Stack
) -> None:
    budget = 8
    process = start_app(spawn, make_env(shutdown_budget_seconds=budget))
    queues.send(stack.queue_urls["ingest"], encode_envelope(Slow(run_id="r-finish", seconds=2)))
    process.wait_for_event("slow.started")

    signalled = time.monotonic()
    process.process.send_signal(signal.SIGTERM)
    assert process.wait_exit(timeout=budget + 5) == 0, process.output()
    assert time.monotonic() - signalled < budget

    [summary] = process.events("message.settled")
    assert (summary["outcome"], summary["followups"]) == ("ok", 1)
    assert queues.depth(stack.queue_urls["ingest"]) == 0
    [done] = queues.receive_all(stack.queue_urls["stages"])
    assert '"type":"test.done"' in done["Body"]


def test_sigterm_hands_back_what_cannot_finish_within_the_budget(
    clean_queues: Stack, spawn: Spawn, make_env: MakeEnv, queues: QueueTool, stack: Stack
) -> None:
    budget = 2
    process = start_app(spawn, make_env(shutdown_budget_seconds=budget))
    body = encode_envelope(Slow(run_id="r-slow", seconds=60))
    queues.send(stack.queue_urls["ingest"], body)
    process.wait_for_event("slow.started")

    signalled = time.monotonic()
    process.process.send_signal(signal.SIGTERM)
    assert process.wait_exit(timeout=budget + 10) == 0, process.output()
    # The budget, plus at most one open long poll (1 s) and the final flush.
    assert time.monotonic() - signalled < budget + 3

    [summary] = process.events("message.settled")
    assert summary["outcome"] == "handed-back"
    # Visible again at once (visibility 0), not after a timeout: nothing lost, nothing delayed.
    [again] = queues.receive_all(stack.queue_urls["ingest"], wait_seconds=1)
    assert again["Body"] == body
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    assert queues.receive_all(stack.queue_urls["stages"], wait_seconds=0) == []


def test_sigterm_hands_back_prefetched_messages_unstarted(
    clean_queues: Stack, spawn: Spawn, make_env: MakeEnv, queues: QueueTool, stack: Stack
) -> None:
    process = start_app(spawn, make_env(worker_threads=1, shutdown_budget_seconds=2))
    url = stack.queue_urls["ingest"]
    queues.send(url, encode_envelope(Slow(run_id="r-slow", seconds=60)))
    process.wait_for_event("slow.started")
    pings = {encode_envelope(Ping(run_id=f"r-ping-{n}")) for n in range(3)}
    for body in pings:
        queues.send(url, body)
    time.sleep(1.5)  # received into the prefetch: the one thread is busy
    visible = queues.sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    assert visible == "0"

    process.process.send_signal(signal.SIGTERM)
    assert process.wait_exit(timeout=15) == 0, process.output()
    outcomes = [e["outcome"] for e in process.events("message.settled")]
    assert outcomes == ["handed-back"] * 4
    back = queues.receive_all(url, wait_seconds=1)
    assert pings <= {m["Body"] for m in back}  # visible again at once, none lost or run
    assert all(m["Attributes"]["ApproximateReceiveCount"] == "2" for m in back)


def test_sigterm_exits_within_the_budget_even_with_a_non_daemon_thread_in_flight(
    clean_queues: Stack, spawn: Spawn, make_env: MakeEnv, queues: QueueTool, stack: Stack
) -> None:
    """An SDK's transfer pool or a library's executor mid-call: the interpreter would join its
    thread at exit (here 60 s; on ECS, past stopTimeout: SIGKILL)."""
    budget = 2
    process = start_app(spawn, make_env(shutdown_budget_seconds=budget))
    body = encode_envelope(Pooled(run_id="r-pooled", seconds=60))
    queues.send(stack.queue_urls["ingest"], body)
    process.wait_for_event("pooled.started")

    signalled = time.monotonic()
    process.process.send_signal(signal.SIGTERM)
    assert process.wait_exit(timeout=budget + 15) == 0, process.output()
    assert time.monotonic() - signalled < budget + 3
    [again] = queues.receive_all(stack.queue_urls["ingest"], wait_seconds=1)
    assert again["Body"] == body  # handed back: nothing lost


def test_a_second_signal_exits_at_once(
    clean_queues: Stack, spawn: Spawn, make_env: MakeEnv, queues: QueueTool, stack: Stack
) -> None:
    process = start_app(spawn, make_env(shutdown_budget_seconds=30))
    queues.send(stack.queue_urls["ingest"], encode_envelope(Slow(run_id="r-2nd", seconds=60)))
    process.wait_for_event("slow.started")

    process.process.send_signal(signal.SIGTERM)
    process.wait_for_event("worker.stopping")
    signalled = time.monotonic()
    process.process.send_signal(signal.SIGTERM)
    assert process.wait_exit(timeout=5) == 128 + signal.SIGTERM
    assert time.monotonic() - signalled < 2


def test_cli_worker_logs_one_json_summary_per_message_and_stops_on_sigterm(
    clean_queues: Stack, spawn: Spawn, make_env: MakeEnv, queues: QueueTool, stack: Stack
) -> None:
    process = spawn(["-m", "automlops", "worker"], make_env())
    process.wait_for_event("worker.started", timeout=30)
    for n in range(3):
        queues.send(stack.queue_urls["stages"], encode_envelope(Ping(run_id=f"r-{n}")))
    process.wait_for_line(lambda line: '"run_id": "r-2"' in line and "message.settled" in line)
    process.process.send_signal(signal.SIGTERM)
    assert process.wait_exit(timeout=10) == 0, process.output()

    summaries: list[dict[str, Any]] = process.events("message.settled")
    assert sorted(s["run_id"] for s in summaries) == ["r-0", "r-1", "r-2"]
    for summary in summaries:
        assert summary["level"] == "info"
        assert (summary["queue"], summary["message_type"]) == ("stages", "worker.ping")
        assert (summary["outcome"], summary["receive_count"]) == ("ok", 1)
        assert isinstance(summary["duration_ms"], float)
        assert summary["message_id"]
    assert queues.depth(stack.queue_urls["stages"]) == 0


def test_cli_worker_configuration_errors_exit_2_with_one_line(
    spawn: Spawn, make_env: MakeEnv, stack: Stack
) -> None:
    env = {k: v for k, v in make_env().items() if k != "AUTOMLOPS_RAW_BUCKET"}
    missing = spawn(["-m", "automlops", "worker"], env)
    assert missing.wait_exit(timeout=20) == 2
    [line] = [line for line in missing.lines if line.strip()]
    assert line.startswith("automlops: configuration error: ")
    assert "AUTOMLOPS_RAW_BUCKET is required but not set" in line

    url = stack.client("sqs").create_queue(QueueName=f"{stack.buckets['raw']}-no-dlq")["QueueUrl"]
    without_dlq = spawn(["-m", "automlops", "worker"], make_env(stages_queue_url=url))
    assert without_dlq.wait_exit(timeout=20) == 2
    assert f"queue {url} has no RedrivePolicy" in without_dlq.output()
