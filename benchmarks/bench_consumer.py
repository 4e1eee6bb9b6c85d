"""Consumer throughput against real peers, and worker start-up time, on moto's server. `make bench`
runs it; by hand:

    .venv/bin/python benchmarks/bench_consumer.py [--rounds 3] [--threads 4] [--io-messages 400]
        [--noop-messages 1000] [--starts 5] [--servers moto sqs-like] [--depth 50]
        [--latency-ms 20]

1. Throughput. Each contender (`benchmarks/contenders.py`) runs in a process of its own against one
   moto server (a child process, so that nobody competes with it for a GIL): the naive loop, Doist
   sqs-workers, dramatiq with dramatiq-sqs, Celery's SQS transport, and the automlops worker at
   its defaults. The peers come from the bench environment (`benchmarks/peers.txt`, installed
   by `make bench` into .tools/bench). Every contender gets a fresh queue, the same thread count,
   long polling and batches of ten where it has the setting; rounds are interleaved and the
   table gives medians. The server counts the SQS calls by action (whatever client made them:
   Celery receives through its own HTTP client), so calls per message are the consumer's own
   receives, deletes and visibility changes. The queue is kept topped up, as a backlog keeps it:
   one sender in the contender's process sends ten at a time whenever that leaves at most
   `--depth` (50) unhandled, so no consumer waits on the harness.
   Two servers, one table each. moto as it is costs O(queue length) per message sent or
   received (a receive of ten takes 16 ms at 10 deep, 50 ms at 50, 180 ms at 200), so its table
   rewards the consumer that puts the least load on a slow server. The "sqs-like" server takes
   those costs out (`constant_cost_moto`): ~5 ms a receive at any depth, as on SQS, so its table
   measures the consumers; `--latency-ms` (20) adds the round trip of a real SQS call (10-30 ms
   in a region) to every receive, delete and visibility change. The goal lines set each ratio
   beside what the thread count allows at all (threads x 1000 / handler ms): a peer near that
   limit bounds any ratio.
2. Start-up: `python -m automlops worker` as a real process, from spawn to its `worker.started`
   line (the pollers are issuing their first ReceiveMessage) and to the health file (that
   receive has returned), with `python -c "import boto3"` as the floor no SQS worker can beat.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automlops.aws import AwsTarget
from service.messages import encode_envelope
from service.ping import Ping

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_PYTHON = REPO_ROOT / ".tools" / "bench" / "bin" / "python"
PEERS = ("sqs-workers", "dramatiq-sqs", "celery")
CONSUMING = (
    "ReceiveMessage",
    "DeleteMessage",
    "DeleteMessageBatch",
    "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch",
)
DEPTH = 50
SERVERS = {
    "moto": "moto as it is (a receive or send costs O(queue length))",
    "sqs-like": "moto at a constant cost per call, as SQS",
}


@dataclass(frozen=True)
class Contender:
    name: str
    threads: int
    handler_ms: int

    @property
    def python(self) -> Path:
        return BENCH_PYTHON if self.name in PEERS else Path(sys.executable)


@dataclass
class Run:
    contender: Contender
    messages: int
    seconds: float
    calls: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @property
    def calls_per_message(self) -> float:
        return sum(self.calls[a] for a in CONSUMING) / self.messages


# -- the server, in a child process ----------------------------------------------------------


class CountingApp:
    """WSGI middleware counting SQS calls by action, for both of SQS's protocols."""

    def __init__(self, app: Callable[..., Any], latency_seconds: float = 0.0) -> None:
        self._app = app
        self._latency = latency_seconds
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        action = self._action(environ)
        if action:
            with self._lock:
                self.calls[action] += 1
        if action in CONSUMING:  # the sender's calls are not: the producer is not under test
            time.sleep(self._latency)  # off the GIL: other calls are served meanwhile
        return self._app(environ, start_response)

    @staticmethod
    def _action(environ: dict[str, Any]) -> str:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("AmazonSQS."):
            return str(target.removeprefix("AmazonSQS."))
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        from urllib.parse import parse_qs

        form = parse_qs(body.decode(errors="replace")) | parse_qs(environ.get("QUERY_STRING", ""))
        return str(form.get("Action", [""])[0])

    def take(self) -> dict[str, int]:
        with self._lock:
            calls, self.calls = dict(self.calls), Counter()
        return calls


def constant_cost_moto() -> None:
    """Takes out of moto's SQS the two costs that grow with the queue's length, which SQS does not
    have: each message sent or received computes every queue attribute (three scans of the queue),
    and each of those scans reads a clock built from datetimes twice per message (~9 us a read).
    The clock becomes `time.time()`, the same value; the retention check of a received message
    reads the one attribute it needs. A receive of ten then costs ~5 ms at any depth up to 200,
    against 16 ms at 10 deep and 180 ms at 200 before."""
    import moto.sqs.models as sqs_models
    from moto.core.utils import unix_time

    def clock(dt: Any = None) -> float:
        return time.time() if dt is None else float(unix_time(dt))

    def clock_ms(dt: Any = None) -> float:
        return clock(dt) * 1000

    def retained(backend: Any, queue_name: str, message: Any) -> bool:
        retention = int(backend.get_queue(queue_name).message_retention_period)
        return bool(retention + message.sent_timestamp / 1000 > time.time())

    sqs_models.unix_time = clock  # type: ignore[attr-defined]
    sqs_models.unix_time_millis = clock_ms  # type: ignore[attr-defined]
    backend = sqs_models.SQSBackend
    backend.is_message_valid_based_on_retention_period = retained  # type: ignore[method-assign,assignment]


def serve_stack(kind: str, latency_seconds: float) -> None:
    """Child process: moto behind the counter, the bench stack provisioned; then, per line on
    stdin, `counts` prints (and resets) the calls counted so far."""
    import logging

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from localcloud.stack import Stack, StackConfig, provision

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    if kind == "sqs-like":
        constant_cost_moto()
    counting = CountingApp(DomainDispatcherApplication(create_backend_app), latency_seconds)
    server = make_server(
        "127.0.0.1", 0, counting, threaded=True, request_handler=MotoRequestHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    made = provision(endpoint, StackConfig(prefix="bench", visibility_timeout=30))
    stack = Stack(endpoint, made.buckets, made.queue_urls, made.dlq_urls, server=None)  # type: ignore[arg-type]  # served above
    print(json.dumps(stack.env), flush=True)
    for _ in sys.stdin:
        print(json.dumps(counting.take()), flush=True)


class StackProcess:
    def __init__(self, server: str, latency_ms: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve-stack", server, "--latency-ms", str(latency_ms)],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        # What a worker process needs: endpoint, credentials, buckets, queues.
        self.env: dict[str, str] = json.loads(self._line())

    def _line(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline()

    def take_counts(self) -> Counter[str]:
        assert self.process.stdin is not None
        self.process.stdin.write("counts\n")
        self.process.stdin.flush()
        return Counter(json.loads(self._line()))

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(10)


# -- one contender's run -----------------------------------------------------------------------


def sqs_client(env: dict[str, str]) -> Any:
    return AwsTarget.from_env(env).session().client("sqs", endpoint_url=env["AWS_ENDPOINT_URL"])


def fresh_queue(sqs: Any, name: str) -> str:
    """A queue with a dead-letter queue, as the worker requires of every queue it polls."""
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]
    redrive = {"deadLetterTargetArn": arn["QueueArn"], "maxReceiveCount": "5"}
    attributes = {"VisibilityTimeout": "30", "RedrivePolicy": json.dumps(redrive)}
    return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


def run_contender(
    stack: StackProcess, contender: Contender, total: int, depth: int, tag: str
) -> Run:
    sqs = sqs_client(stack.env)
    name = f"bench_{contender.name.replace('-', '_')}_{tag}"
    url = fresh_queue(sqs, name)
    env = {
        **os.environ,
        **stack.env,
        "AUTOMLOPS_STAGES_QUEUE_URL": url,
        "PYTHONPATH": str(REPO_ROOT / "benchmarks"),
        "dramatiq_queue_prefetch": "10",
    }
    command = [str(contender.python), str(REPO_ROOT / "benchmarks" / "contenders.py")]
    command += [contender.name, "--threads", str(contender.threads)]
    command += ["--queue-url", url, "--queue-name", name]
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        return drive(stack, process, contender, total, depth)
    finally:
        process.kill()
        process.wait(10)


def drive(
    stack: StackProcess,
    process: subprocess.Popen[str],
    contender: Contender,
    total: int,
    depth: int,
) -> Run:
    assert process.stdin is not None
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        raise RuntimeError(f"{contender.name} did not start")
    stack.take_counts()  # set-up calls are not the consumer's work
    process.stdin.write(f"fill {total} {contender.handler_ms} {depth}\n")
    process.stdin.flush()
    seconds = float(process.stdout.readline().split()[1])
    time.sleep(0.3)  # the last deletes, still in flight, are part of the work
    calls = stack.take_counts()
    return Run(contender, total, seconds, calls)


# -- start-up ----------------------------------------------------------------------------------


def startup_times(env: dict[str, str], starts: int) -> dict[str, list[float]]:
    """Seconds from spawn to `worker.started` and to the first completed receive, and the
    floor: spawn to exit of `python -c "import boto3"`. Interleaved, so drift hits all three."""
    sqs = sqs_client(env)
    times: dict[str, list[float]] = {
        'python -c "import boto3" (floor)': [],
        "spawn -> first receive issued": [],
        "spawn -> first receive returned": [],
    }
    floor, issued, returned = times.values()
    for _ in range(starts):
        spawned = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import boto3"], check=True)
        floor.append(time.perf_counter() - spawned)
        with tempfile.TemporaryDirectory() as tmp:
            health = Path(tmp) / "health"
            sqs.send_message(
                QueueUrl=env["AUTOMLOPS_STAGES_QUEUE_URL"],
                MessageBody=encode_envelope(Ping(run_id="startup")),
            )
            process_env = {**os.environ, **env, "AUTOMLOPS_HEALTH_FILE": str(health)}
            process_env |= {"AUTOMLOPS_POLL_WAIT_SECONDS": "1", "AUTOMLOPS_LOG_FORMAT": "json"}
            spawned = time.perf_counter()
            process = subprocess.Popen(
                [sys.executable, "-m", "automlops", "worker"],
                cwd=REPO_ROOT,
                env=process_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            issued.append(wait_for_line(process, "worker.started") - spawned)
            returned.append(wait_for(health.exists) - spawned)
            process.terminate()
            process.communicate(timeout=30)
    return times


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


# -- the table ---------------------------------------------------------------------------------


def medians(runs: list[Run]) -> Iterator[tuple[Contender, float, float, dict[str, float]]]:
    """Per contender, in first-run order: the medians over its runs of msg/s, of SQS calls per
    message, and of each action's calls per message (medians each: they need not add up)."""
    by_contender: dict[Contender, list[Run]] = {}
    for run in runs:
        by_contender.setdefault(run.contender, []).append(run)
    for contender, own in by_contender.items():
        shares = {
            action: statistics.median(_share(r, action) for r in own)
            for action in ("ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility")
        }
        rate = statistics.median(r.rate for r in own)
        yield contender, rate, statistics.median(r.calls_per_message for r in own), shares


def _peer_key(contender: Contender) -> tuple[int, int]:
    """Who a contender is compared with: the same handler and thread count; for the no-op
    handler, the peers at any thread count (sqs-workers runs on one thread there)."""
    return contender.handler_ms, contender.threads if contender.handler_ms else 0


def report(runs: list[Run], rounds: int, server: str, depth: int, latency_ms: int) -> None:
    rows = list(medians(runs))
    best_peer: dict[tuple[int, int], float] = {}
    for contender, rate, _, _ in rows:
        if contender.name in PEERS:
            key = _peer_key(contender)
            best_peer[key] = max(best_peer.get(key, 0.0), rate)
    latency = f", {latency_ms} ms a call" if latency_ms else ""
    print(
        f"\nthroughput on {SERVERS[server]}{latency}: medians of {rounds} rounds, depth <= {depth}"
    )
    print(
        f"{'handler':<8} {'consumer':<14} {'threads':>7} {'msg/s':>7} {'vs best peer':>12} "
        f"{'calls/msg':>9}  {'receive':>7} {'delete':>6} {'visib.':>6}"
    )
    for contender, rate, per_message, shares in rows:
        handler = f"{contender.handler_ms} ms" if contender.handler_ms else "no-op"
        peer = best_peer.get(_peer_key(contender))
        ratio = f"{rate / peer:.2f}x" if peer else "-"
        print(
            f"{handler:<8} {contender.name:<14} {contender.threads:>7} {rate:>7.1f} {ratio:>12} "
            f"{per_message:>9.2f}  {shares['ReceiveMessage']:>7.2f} "
            f"{shares['DeleteMessage']:>6.2f} {shares['ChangeMessageVisibility']:>6.2f}"
        )
    report_goals(rows, best_peer)


def report_goals(
    rows: list[tuple[Contender, float, float, dict[str, float]]],
    best_peer: dict[tuple[int, int], float],
) -> None:
    """The worker's rows against the goals it is held to."""
    for contender, rate, per_message, _ in rows:
        peer = best_peer.get(_peer_key(contender))
        if contender.name != "automlops" or not peer:
            continue
        wanted = 1.5 if contender.handler_ms else 1.0
        what = f"{contender.handler_ms} ms handler" if contender.handler_ms else "no-op handler"
        print(
            f"automlops, {what}, {contender.threads} threads: {rate / peer:.2f}x the best peer "
            f"(goal >= {wanted:.1f}x{_bound(contender, peer)}){_of_limit(contender, rate)}, "
            f"{per_message:.2f} SQS calls per message (goal <= 0.30)"
        )


def _limit(contender: Contender) -> float:
    """What the threads could do if nothing but the handler took time."""
    return contender.threads * 1000 / contender.handler_ms


def _bound(contender: Contender, peer: float) -> str:
    return f"; the limit allows {_limit(contender) / peer:.2f}x" if contender.handler_ms else ""


def _of_limit(contender: Contender, rate: float) -> str:
    if not contender.handler_ms:
        return ""
    return f", {rate / _limit(contender):.0%} of the {_limit(contender):.0f} msg/s limit"


def _share(run: Run, action: str) -> float:
    """Calls per message of one action, its batch form included."""
    return (run.calls[action] + run.calls[action + "Batch"]) / run.messages


def report_startup(times: dict[str, list[float]]) -> None:
    starts = len(next(iter(times.values())))
    print(f"\nstart-up of `python -m automlops worker`, {starts} runs")
    print(f"{'':<34} {'median':>8} {'min':>8} {'max':>8}")
    for name, values in times.items():
        print(
            f"{name:<34} {statistics.median(values):>7.2f}s {min(values):>7.2f}s "
            f"{max(values):>7.2f}s"
        )


def contenders(args: argparse.Namespace) -> list[tuple[Contender, int]]:
    """(contender, messages) in the order each round runs them."""
    peers = PEERS if BENCH_PYTHON.exists() else ()
    if not peers:
        print(f"no bench environment at {BENCH_PYTHON} (`make bench` makes it): peers skipped")
    plan = [
        (Contender(name, threads, args.io_ms), args.io_messages)
        for threads in args.threads
        for name in ("naive", *peers, "automlops")
    ]
    plan += [
        (Contender(name, 1 if name != "automlops" else 4, 0), args.noop_messages)
        for name in ("naive", *peers[:1], "automlops")
    ]
    return plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[4])
    parser.add_argument("--io-ms", type=int, default=20, help="the I/O-bound handler's sleep")
    parser.add_argument("--io-messages", type=int, default=400)
    parser.add_argument("--noop-messages", type=int, default=1000, help="0 skips that part")
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--only", nargs="*", default=None, help="contender names to run")
    parser.add_argument("--servers", nargs="+", choices=sorted(SERVERS), default=list(SERVERS))
    parser.add_argument("--depth", type=int, default=DEPTH, help="the most messages unhandled")
    parser.add_argument("--latency-ms", type=int, default=20, help="per call, sqs-like server")
    parser.add_argument("--serve-stack", choices=sorted(SERVERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_stack:
        serve_stack(args.serve_stack, args.latency_ms / 1000)
        return

    plan = [(c, n) for c, n in contenders(args) if n and (not args.only or c.name in args.only)]
    for server in args.servers:
        # moto as it is is measured as the consumers first were: no latency added
        latency_ms = args.latency_ms if server == "sqs-like" else 0
        stack = StackProcess(server, latency_ms)
        try:
            runs = [
                run_contender(stack, contender, messages, args.depth, f"r{round_}_{i}")
                for round_ in range(args.rounds)
                for i, (contender, messages) in enumerate(plan)
            ]
            report(runs, args.rounds, server, args.depth, latency_ms)
            if args.starts and server == args.servers[-1]:
                report_startup(startup_times(stack.env, args.starts))
        finally:
            stack.close()


if __name__ == "__main__":
    main()
