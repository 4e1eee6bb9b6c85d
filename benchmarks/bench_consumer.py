"""Consumer throughput and worker start-up time, against moto's server. Run by hand:

    .venv/bin/python benchmarks/bench_consumer.py [--messages 2000] [--threads 4 16] [--starts 3]

1. Throughput: N `worker.ping` messages (a no-op handler) drained from the stages queue by a
   naive consumer (receive 1, handle, delete 1) and by the Worker, each on a full queue; the
   ratio is the point. Both consumers run in this process; moto runs in a child process so
   that it does not compete with them for the GIL.
2. Start-up: `python -m service worker` as a real process, from spawn to its `worker.started`
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
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def fill(sqs: Any, url: str, count: int) -> None:
    from service.messages import encode_envelope
    from service.ping import Ping

    def send_batch(start: int) -> None:
        entries = [
            {"Id": str(i), "MessageBody": encode_envelope(Ping(run_id=f"bench-{start + i}"))}
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


def naive_consumer(sqs: Any, url: str, count: int) -> Run:
    """The baseline: one message per receive, handled, deleted on its own."""
    done = 0
    started = time.perf_counter()
    while done < count:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1).get(
            "Messages", []
        )
        for message in messages:
            json.loads(message["Body"])  # the no-op handler's decode
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            done += 1
    return Run("naive (receive 1, delete 1)", count, time.perf_counter() - started)


def worker_consumer(env: dict[str, str], threads: int, count: int) -> Run:
    from service.clients import build_clients
    from service.logs import configure_logging
    from service.settings import Settings
    from service.worker import Worker

    settings = Settings.from_env({**env, "AUTOMLOPS_WORKER_THREADS": str(threads)})
    settled = threading.Semaphore(0)

    def on_settled(summary: dict[str, Any]) -> None:
        if summary["queue"] == "stages":
            settled.release()

    # One JSON summary line per message is part of the real cost; it goes to /dev/null.
    with open(os.devnull, "w") as sink:
        configure_logging("INFO", "json", stream=sink)
        worker = Worker(settings, build_clients(settings), [], (), on_settled=on_settled)
        runner = threading.Thread(target=worker.run, daemon=True)
        started = time.perf_counter()
        runner.start()
        for _ in range(count):
            settled.acquire()
        elapsed = time.perf_counter() - started
        worker.stop()
        runner.join(30)
    return Run(f"worker ({threads} threads, batched)", count, elapsed)


# -- start-up ----------------------------------------------------------------------------------


def startup_times(env: dict[str, str], sqs: Any, starts: int) -> tuple[list[float], list[float]]:
    """Seconds from spawn to `worker.started`, and to the first completed receive."""
    from service.messages import encode_envelope
    from service.ping import Ping

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
                [sys.executable, "-m", "service", "worker"],
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


def report(runs: list[Run], to_started: list[float], to_polled: list[float]) -> None:
    baseline = runs[0]
    print()
    print(f"{'consumer':<34} {'messages':>8} {'seconds':>8} {'msg/s':>8} {'vs naive':>9}")
    for run in runs:
        ratio = run.rate / baseline.rate
        print(
            f"{run.name:<34} {run.messages:>8} {run.seconds:>8.2f} {run.rate:>8.1f} {ratio:>8.1f}x"
        )
    print()
    print(f"start-up, {len(to_started)} runs   {'median':>8} {'min':>8} {'max':>8}")
    for name, values in (
        ("spawn -> first receive issued", to_started),
        ("spawn -> first receive returned", to_polled),
    ):
        print(
            f"{name:<32} {statistics.median(values):>7.2f}s {min(values):>7.2f}s "
            f"{max(values):>7.2f}s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--threads", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--serve-stack", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_stack:
        serve_stack()
        return

    import boto3

    stack = StackProcess()
    try:
        env = {**stack.env, **BENCH_SETTINGS}
        os.environ.update(env)
        sqs = boto3.client("sqs")
        url = stack.queue_urls["stages"]
        purge(sqs, list(stack.queue_urls.values()))
        runs: list[Run] = []
        fill(sqs, url, args.messages)
        runs.append(naive_consumer(sqs, url, args.messages))
        for threads in args.threads:
            fill(sqs, url, args.messages)
            runs.append(worker_consumer(env, threads, args.messages))
        purge(sqs, list(stack.queue_urls.values()))
        to_started, to_polled = startup_times(env, sqs, args.starts)
        report(runs, to_started, to_polled)
    finally:
        stack.close()


if __name__ == "__main__":
    main()
