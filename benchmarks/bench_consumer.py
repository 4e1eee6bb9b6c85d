"""Consumer throughput and worker start-up time, against moto's server. Run by hand:

    .venv/bin/python benchmarks/bench_consumer.py [--messages 2000] [--chunk 50]
        [--threads 4 16] [--starts 3]

1. Throughput: N `worker.ping` messages (a no-op handler) drained from the stages queue by a
   naive consumer (receive 1, handle, delete 1) and by the Worker; the ratio is the point.
   moto's SQS does O(queue length) work per message received (it recomputes the queue's
   attributes for each one), so the queue is filled and drained in chunks (default 50) and only
   draining is timed: deeper queues measure moto, not the consumer.
   Both consumers run in this process; moto runs in a child process so that it does not
   compete with them for the GIL.
2. Start-up: `python -m automlops worker` as a real process, from spawn to its `worker.started`
   line (the pollers are about to issue their first ReceiveMessage) and to the health file
   (the first ReceiveMessage has returned; a message waits so it returns at once).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from automlops.aws import AwsTarget, build_clients
from service.context import HandlerContext
from service.hooks import Hooks
from service.logs import configure_logging
from service.messages import Outgoing, StageMessage, encode_envelope
from service.ping import Ping
from service.routing import Route
from service.settings import RuntimeSettings as Settings
from service.sqs import SqsTransport
from service.worker import Worker

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_SETTINGS = {
    "AUTOMLOPS_POLL_WAIT_SECONDS": "1",
    "AUTOMLOPS_LOG_FORMAT": "json",
}


@dataclass(frozen=True)
class Run:
    name: str
    messages: int
    seconds: float
    calls: int  # SQS calls the consumer made (receive, delete, visibility)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


# -- the stack, in a child process -----------------------------------------------------------


def serve_stack() -> None:
    """Child process: start the embedded stack, print its env, serve until stdin closes."""
    from localcloud.stack import StackConfig, running_stack

    config = StackConfig(prefix="bench", visibility_timeout=30, max_receive_count=5)
    with running_stack(config) as stack:
        print(json.dumps({"env": stack.env, "queue_urls": stack.queue_urls}), flush=True)
        sys.stdin.read()


class StackProcess:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve-stack"],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        info = json.loads(self.process.stdout.readline())
        self.env: dict[str, str] = info["env"]
        self.queue_urls: dict[str, str] = info["queue_urls"]

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(10)


# -- filling and draining --------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Nap(StageMessage):
    """The benchmark's message: its handler sleeps `ms` (0 = a no-op handler)."""

    TYPE: ClassVar[str] = "bench.nap"
    ms: int = 0


def nap(ms: int) -> None:
    if ms:
        time.sleep(ms / 1000)


def handle_nap(msg: Nap, ctx: HandlerContext[object]) -> list[Outgoing]:
    nap(msg.ms)
    return []


class CallCounter:
    """Counts SQS API calls made by a client, by operation."""

    def __init__(self, sqs: Any) -> None:
        self.calls: Counter[str] = Counter()
        sqs.meta.events.register("before-call.sqs", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def consuming(self) -> int:
        """Calls a consumer makes; sends (the producer's) are not counted."""
        return sum(n for name, n in self.calls.items() if not name.startswith("Send"))


def fill(sqs: Any, url: str, count: int, handler_ms: int) -> None:
    def send_batch(start: int) -> None:
        entries = [
            {
                "Id": str(i),
                "MessageBody": encode_envelope(Nap(run_id=f"b-{start + i}", ms=handler_ms)),
            }
            for i in range(min(10, count - start))
        ]
        failed = sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed", [])
        assert not failed, failed

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(send_batch, range(0, count, 10)))


def purge(sqs: Any, urls: Sequence[str]) -> None:
    for url in urls:
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ]
            sqs.delete_message_batch(QueueUrl=url, Entries=entries)


def chunked(total: int, chunk: int) -> list[int]:
    return [min(chunk, total - start) for start in range(0, total, chunk)]


def sqs_client(env: dict[str, str]) -> Any:
    return AwsTarget.from_env(env).session().client("sqs", endpoint_url=env["AWS_ENDPOINT_URL"])


def naive_consumer(env: dict[str, str], total: int, chunk: int, handler_ms: int) -> Run:
    sqs = sqs_client(env)
    counter = CallCounter(sqs)
    url = env["AUTOMLOPS_STAGES_QUEUE_URL"]
    seconds = 0.0
    for count in chunked(total, chunk):
        fill(sqs, url, count, handler_ms)
        seconds += drain_naively(sqs, url, count)
    return Run("naive (receive 1, delete 1)", total, seconds, counter.consuming())


def drain_naively(sqs: Any, url: str, count: int) -> float:
    """The baseline: one message per receive, handled, deleted on its own."""
    done = 0
    started = time.perf_counter()
    while done < count:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1).get(
            "Messages", []
        )
        for message in messages:
            nap(json.loads(message["Body"])["payload"]["ms"])  # the handler
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            done += 1
    return time.perf_counter() - started


def worker_consumer(
    env: dict[str, str], threads: int, total: int, chunk: int, handler_ms: int
) -> Run:
    settings = Settings.from_env({**env, "AUTOMLOPS_WORKER_THREADS": str(threads)})
    filler = sqs_client(env)
    seconds = 0.0
    calls = 0
    for count in chunked(total, chunk):
        fill(filler, settings.stages_queue_url, count, handler_ms)
        elapsed, made = drain_with_worker(env, settings, count)
        seconds += elapsed
        calls += made
    return Run(f"worker ({threads} threads, batched)", total, seconds, calls)


def drain_with_worker(env: dict[str, str], settings: Settings, count: int) -> tuple[float, int]:
    """Seconds from a new Worker's start to `count` settled stages messages, and its SQS calls."""
    settled = threading.Semaphore(0)

    def on_settled(summary: dict[str, Any]) -> None:
        if summary["queue"] == "stages":
            settled.release()

    clients = build_clients(
        AwsTarget.from_env(env),
        poll_wait_seconds=settings.poll_wait_seconds,
        threads=settings.worker_threads,
        invoke_concurrency=1,
    )
    counter = CallCounter(clients.sqs)
    worker = Worker(
        settings,
        SqsTransport(clients.sqs),
        [Route(Nap, handle_nap)],
        hooks=Hooks(on_settled=on_settled),
    )
    runner = threading.Thread(target=worker.run, daemon=True)
    runner.start()
    worker.wait_started(30)  # queue discovery done; the pollers are starting
    started = time.perf_counter()
    for _ in range(count):
        settled.acquire()
    elapsed = time.perf_counter() - started
    made = counter.consuming() - counter.calls["GetQueueAttributes"] - counter.calls["GetQueueUrl"]
    worker.stop()
    runner.join(30)
    return elapsed, made


# -- start-up ----------------------------------------------------------------------------------


def startup_times(env: dict[str, str], sqs: Any, starts: int) -> tuple[list[float], list[float]]:
    """Seconds from spawn to `worker.started`, and to the first completed receive."""
    to_started: list[float] = []
    to_polled: list[float] = []
    for _ in range(starts):
        with tempfile.TemporaryDirectory() as tmp:
            health = Path(tmp) / "health"
            sqs.send_message(
                QueueUrl=env["AUTOMLOPS_STAGES_QUEUE_URL"],
                MessageBody=encode_envelope(Ping(run_id="startup")),
            )
            process_env = {**os.environ, **env, "AUTOMLOPS_HEALTH_FILE": str(health)}
            spawned = time.perf_counter()
            process = subprocess.Popen(
                [sys.executable, "-m", "automlops", "worker"],
                cwd=REPO_ROOT,
                env=process_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            to_started.append(wait_for_line(process, "worker.started") - spawned)
            to_polled.append(wait_for(health.exists) - spawned)
            process.terminate()
            process.communicate(timeout=30)
    return to_started, to_polled


def wait_for_line(process: subprocess.Popen[str], event: str) -> float:
    assert process.stdout is not None
    for line in process.stdout:
        if f'"event": "{event}"' in line:
            return time.perf_counter()
    raise RuntimeError(f"worker exited before {event}")


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> float:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise RuntimeError("timed out")
        time.sleep(0.002)
    return time.perf_counter()


# -- report ------------------------------------------------------------------------------------


def report(title: str, runs: list[Run]) -> None:
    baseline = runs[0]
    print(f"\n{title}")
    print(
        f"{'consumer':<34} {'messages':>8} {'seconds':>8} {'msg/s':>8} {'vs naive':>9} "
        f"{'SQS calls/msg':>14}"
    )
    for run in runs:
        print(
            f"{run.name:<34} {run.messages:>8} {run.seconds:>8.2f} {run.rate:>8.1f} "
            f"{run.rate / baseline.rate:>8.1f}x {run.calls / run.messages:>14.2f}"
        )


def report_startup(to_started: list[float], to_polled: list[float]) -> None:
    print(f"\nstart-up of `python -m automlops worker`, {len(to_started)} runs")
    print(f"{'':<34} {'median':>8} {'min':>8} {'max':>8}")
    for name, values in (
        ("spawn -> first receive issued", to_started),
        ("spawn -> first receive returned", to_polled),
    ):
        print(
            f"{name:<34} {statistics.median(values):>7.2f}s {min(values):>7.2f}s "
            f"{max(values):>7.2f}s"
        )


def compare(args: argparse.Namespace, env: dict[str, str], total: int, handler_ms: int) -> None:
    runs = [naive_consumer(env, total, args.chunk, handler_ms)]
    for threads in args.threads:
        runs.append(worker_consumer(env, threads, total, args.chunk, handler_ms))
    what = "no-op handler" if not handler_ms else f"handler sleeping {handler_ms} ms (I/O-bound)"
    report(f"throughput, {what}, queue depth <= {args.chunk}", runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="for the no-op handler")
    parser.add_argument("--chunk", type=int, default=50, help="queue depth per fill")
    parser.add_argument("--threads", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--io-ms", type=int, default=20, help="the I/O-bound handler's sleep")
    parser.add_argument("--io-messages", type=int, default=400, help="0 skips that comparison")
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--serve-stack", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_stack:
        serve_stack()
        return

    stack = StackProcess()
    # One JSON summary line per message is part of the real cost; it goes to /dev/null.
    with open(os.devnull, "w") as sink:
        configure_logging("INFO", "json", stream=sink)
        try:
            env = {**stack.env, **BENCH_SETTINGS}
            purge(sqs_client(env), list(stack.queue_urls.values()))
            compare(args, env, args.messages, handler_ms=0)
            if args.io_messages:
                compare(args, env, args.io_messages, handler_ms=args.io_ms)
            report_startup(*startup_times(env, sqs_client(env), args.starts))
        finally:
            stack.close()


if __name__ == "__main__":
    main()
