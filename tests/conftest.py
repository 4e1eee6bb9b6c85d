"""Shared fixtures: an embedded AWS (moto over HTTP) per test module, fast worker settings, an
in-process worker runner, a worker subprocess runner, and small SQS helpers.

A module that needs other queue settings overrides the `stack_config` fixture.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from localstack_server import MISSING as LOCALSTACK_MISSING
from localstack_server import LocalStack
from localstack_server import available as localstack_available
from summaries import Summaries

from automlops.aws import AwsClients, AwsTarget, build_clients
from localcloud.stack import Stack, StackConfig, running_stack
from service.assembly import build_worker
from service.config import PREFIX
from service.hooks import Hooks
from service.memory import MemoryTransport
from service.messages import S3Rule
from service.routing import AnyRoute
from service.settings import RuntimeSettings
from service.sqs import SqsTransport
from service.transport import Transport
from service.worker import Worker

__all__ = ["Broker", "Summaries"]  # the runtime tests import it from here

REPO_ROOT = Path(__file__).resolve().parents[1]

# Small numbers so the suite is quick: 1 s polls and beats, seconds-long back-offs.
FAST_SETTINGS: dict[str, Any] = {
    "poll_wait_seconds": 1,
    "heartbeat_seconds": 1,
    "visibility_extension_seconds": 3,
    "backoff_base_seconds": 1,
    "backoff_max_seconds": 4,
    "shutdown_budget_seconds": 5,
    "worker_threads": 4,
    "log_format": "json",
}


# -- the embedded stack --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def localstack_server() -> Iterator[LocalStack]:
    """One LocalStack for the session (the pipeline's second backend), if it is installed."""
    if not localstack_available():
        pytest.skip(LOCALSTACK_MISSING)
    server = LocalStack()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["moto", "localstack"])
def backend(request: pytest.FixtureRequest) -> LocalStack | None:
    """The AWS a pipeline module runs on: each such module runs once on moto and once on
    LocalStack (same test bodies); None means moto of the module's own."""
    if request.param == "moto":
        return None
    server: LocalStack = request.getfixturevalue("localstack_server")
    return server


@pytest.fixture(scope="module")
def stack_config() -> StackConfig:
    return StackConfig(prefix=f"t{uuid.uuid4().hex[:8]}", visibility_timeout=3, max_receive_count=3)


@pytest.fixture(scope="module")
def stack(stack_config: StackConfig) -> Iterator[Stack]:
    """moto's server with buckets, queues (+ DLQs) and notifications, for the module."""
    with pytest.MonkeyPatch.context() as patch, running_stack(stack_config) as running:
        # moto (in this process) reads it per call: tests purge between themselves.
        patch.setenv("MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR", "false")
        yield running


@pytest.fixture
def sqs(stack: Stack) -> Any:
    return stack.client("sqs")


@pytest.fixture
def clean_queues(stack: Stack, sqs: Any) -> Stack:
    """Empty every queue and DLQ (including the s3:TestEvents sent when notifications were set)."""
    for url in [*stack.queue_urls.values(), *stack.dlq_urls.values()]:
        sqs.purge_queue(QueueUrl=url)
    return stack


# -- settings and clients ------------------------------------------------------------------------


def worker_env(stack: Stack, health_file: Path, **overrides: Any) -> dict[str, str]:
    """A complete process environment for a worker on `stack`, with FAST_SETTINGS + overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", PREFIX))}
    env.update(stack.env)
    values = {**FAST_SETTINGS, "health_file": health_file, **overrides}
    env.update({PREFIX + name.upper(): str(value) for name, value in values.items()})
    return env


@pytest.fixture
def make_env(stack: Stack, tmp_path: Path) -> Callable[..., dict[str, str]]:
    """`make_env(**overrides)`: the environment of a worker process on `stack`."""

    def make(**overrides: Any) -> dict[str, str]:
        return worker_env(stack, tmp_path / "health", **overrides)

    return make


@pytest.fixture
def make_settings(broker: Broker, tmp_path: Path) -> Callable[..., RuntimeSettings]:
    """`make_settings(**overrides)`: runtime settings for a worker on `broker`'s queues."""

    def make(**overrides: Any) -> RuntimeSettings:
        values = {
            **FAST_SETTINGS,
            "health_file": tmp_path / "health",
            "ingest_queue_url": broker.queue_urls["ingest"],
            "stages_queue_url": broker.queue_urls["stages"],
            **overrides,
        }
        env = {PREFIX + name.upper(): str(value) for name, value in values.items()}
        return RuntimeSettings.from_env(env)

    return make


def stack_clients(stack: Stack, settings: RuntimeSettings) -> AwsClients:
    """Clients built the worker's way, pointed at `stack` explicitly."""
    return build_clients(
        AwsTarget.from_env(stack.env),
        poll_wait_seconds=settings.poll_wait_seconds,
        threads=settings.worker_threads,
        invoke_concurrency=1,
    )


@pytest.fixture
def clients(stack: Stack, make_settings: Callable[..., RuntimeSettings]) -> AwsClients:
    return stack_clients(stack, make_settings())


# -- running a worker ----------------------------------------------------------------------------


@pytest.fixture
def summaries() -> Summaries:
    return Summaries()


@pytest.fixture
def start_worker(
    broker: Broker,
    make_settings: Callable[..., RuntimeSettings],
    summaries: Summaries,
) -> Iterator[Callable[..., Worker]]:
    """`start_worker(routes, rules=(), settings=None, **worker_options)` runs a Worker on
    `broker` on a thread until the test ends (then stops it and checks it ended within its
    budget), on emptied queues. Summaries go to the `summaries` fixture unless `hooks` are
    given."""
    started: list[tuple[Worker, threading.Thread, list[BaseException]]] = []

    def start(
        routes: Sequence[AnyRoute],
        rules: Sequence[S3Rule] = (),
        settings: RuntimeSettings | None = None,
        **options: Any,
    ) -> Worker:
        options.setdefault("hooks", Hooks(on_settled=summaries))
        worker = build_worker(
            settings or make_settings(),
            broker.transport,
            routes,
            s3_rules=rules,
            buckets=broker.buckets,
            **options,
        )
        errors: list[BaseException] = []
        thread = threading.Thread(target=_run_catching, args=(worker, errors), daemon=True)
        thread.start()
        started.append((worker, thread, errors))
        if not worker.wait_started(10):
            raise AssertionError(f"worker did not start: {errors}")
        return worker

    yield start
    for worker, _, _ in started:
        worker.stop()
    for worker, thread, errors in started:
        thread.join(worker.settings.shutdown_budget_seconds + 10)
        assert not thread.is_alive(), "worker did not stop within its budget"
        assert not errors, errors


def _run_catching(worker: Worker, errors: list[BaseException]) -> None:
    try:
        worker.run()
    except BaseException as exc:
        errors.append(exc)


# -- a worker in a subprocess --------------------------------------------------------------------


class WorkerProcess:
    """A worker started as a real process; its stdout lines are collected as they come."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str]) -> None:
        self.lines: list[str] = []
        self._lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO_ROOT,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))

    def wait_for_line(self, predicate: Callable[[str], bool], timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None and self._lines.empty():
                    break
                continue
            self.lines.append(line)
            if predicate(line):
                return line
        raise AssertionError(f"no matching line within {timeout}s; output:\n" + self.output())

    def wait_for_event(self, event: str, timeout: float = 20) -> dict[str, Any]:
        line = self.wait_for_line(lambda line: f'"event": "{event}"' in line, timeout)
        event_line: dict[str, Any] = json.loads(line)
        return event_line

    def wait_exit(self, timeout: float) -> int:
        code = self.process.wait(timeout)
        # Drain what is left so failures can show the whole output.
        while not self._lines.empty():
            self.lines.append(self._lines.get())
        time.sleep(0.05)
        while not self._lines.empty():
            self.lines.append(self._lines.get())
        return code

    def events(self, event: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines if f'"event": "{event}"' in line]

    def output(self) -> str:
        return "\n".join(self.lines)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


@pytest.fixture
def spawn() -> Iterator[Callable[..., WorkerProcess]]:
    """Start worker processes that are killed, if still running, when the test ends."""
    started: list[WorkerProcess] = []

    def start(args: Sequence[str], env: Mapping[str, str]) -> WorkerProcess:
        process = WorkerProcess(args, env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


# -- SQS helpers ---------------------------------------------------------------------------------


class QueueTool:
    """Looks at queues from the outside, as a test would with the AWS console."""

    def __init__(self, sqs: Any) -> None:
        self.sqs = sqs

    def send(self, url: str, body: str, attributes: Mapping[str, Any] | None = None) -> str:
        response = self.sqs.send_message(
            QueueUrl=url, MessageBody=body, MessageAttributes=dict(attributes or {})
        )
        return str(response["MessageId"])

    def receive_all(self, url: str, wait_seconds: int = 1, max_rounds: int = 5) -> list[Any]:
        """Every message visible on `url` now, with all system and message attributes."""
        messages: list[Any] = []
        for round_ in range(max_rounds):
            batch = self.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=wait_seconds if round_ == 0 else 0,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                break
            messages += batch
        return messages

    def depth(self, url: str) -> int:
        """Visible + in flight + delayed messages."""
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return sum(int(value) for value in attrs.values())

    @staticmethod
    def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(interval)
        return condition()


class MemoryQueueTool:
    """The same look at queues, for the in-memory transport."""

    def __init__(self, memory: MemoryTransport) -> None:
        self.memory = memory

    def send(self, url: str, body: str, attributes: Mapping[str, Any] | None = None) -> str:
        return self.memory.send(url, body, attributes=dict(attributes or {}))

    def receive_all(self, url: str, wait_seconds: int = 1, max_rounds: int = 5) -> list[Any]:
        messages: list[Any] = []
        for round_ in range(max_rounds):
            batch = self.memory.receive("test", url, 10, wait_seconds if round_ == 0 else 0, 30)
            if not batch:
                break
            messages += [
                {
                    "MessageId": m.message_id,
                    "ReceiptHandle": m.receipt_handle,
                    "Body": m.body,
                    "MessageAttributes": dict(m.attributes),
                    "Attributes": {"ApproximateReceiveCount": str(m.receive_count)},
                }
                for m in batch
            ]
        return messages

    def depth(self, url: str) -> int:
        return self.memory.depth(url)

    wait_until = staticmethod(QueueTool.wait_until)


@dataclass(frozen=True)
class Broker:
    """A queue service the runtime's tests run against, one test body for both: SQS (moto's
    server over HTTP) or the in-memory transport."""

    kind: str
    transport: Transport
    queue_urls: dict[str, str]
    dlq_urls: dict[str, str]
    buckets: dict[str, str]
    tool: QueueTool | MemoryQueueTool


def memory_broker(config: StackConfig) -> Broker:
    memory = MemoryTransport()
    queue_urls, dlq_urls = {}, {}
    for role in ("ingest", "stages"):
        dlq_urls[role] = memory.create_queue(f"{role}-dlq")
        queue_urls[role] = memory.create_queue(
            role,
            visibility_timeout=config.visibility_timeout,
            dlq_url=dlq_urls[role],
            max_receive_count=config.max_receive_count,
        )
    buckets = {role: f"memory-{role}" for role in ("raw", "curated", "models", "reports")}
    return Broker("memory", memory, queue_urls, dlq_urls, buckets, MemoryQueueTool(memory))


@pytest.fixture(params=["sqs", "memory"])
def broker(request: pytest.FixtureRequest, stack_config: StackConfig) -> Broker:
    """Each runtime test runs once on SQS (moto) and once in memory; a test that needs S3 too
    asks for `sqs` only (`@pytest.mark.parametrize("broker", ["sqs"], indirect=True)`)."""
    if request.param == "memory":
        return memory_broker(stack_config)
    stack: Stack = request.getfixturevalue("clean_queues")
    sqs = request.getfixturevalue("sqs")
    return Broker(
        "sqs",
        SqsTransport(sqs),
        dict(stack.queue_urls),
        dict(stack.dlq_urls),
        dict(stack.buckets),
        QueueTool(sqs),
    )


@pytest.fixture
def queues(broker: Broker) -> QueueTool | MemoryQueueTool:
    return broker.tool
