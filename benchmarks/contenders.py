"""One consumer of the throughput comparison, in a process of its own (see bench_consumer.py).

    python benchmarks/contenders.py CONTENDER --threads N --queue-url URL --queue-name NAME

The peers (sqs-workers, dramatiq-sqs, Celery) run from the bench environment's Python, which has
them installed; `automlops` and `naive` from the project's. Each is set up the way its
documentation says, with the same thread count, long polling (20 s) and batches of ten where the
library has a setting for it. The process speaks a line protocol on stdin/stdout:

    -> ready                     the consumer is running
    <- fill COUNT MS DEPTH       enqueue COUNT messages whose handler sleeps MS milliseconds,
                                 never more than DEPTH of them unhandled at a time
    -> done SECONDS              from the first send to the COUNT-th handler's return

Messages are encoded by the contender's own library (its send calls are captured instead of
made, then sent ten at a time by the same sender, in step with the handling), so filling costs
every contender the same. SQS calls are counted by the harness's server, not here.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

WAIT_SECONDS = 20
BATCH = 10
Entry = dict[str, Any]


class Handled:
    """Counts handler returns; `wait(n)` blocks until n have returned and gives the last one's
    time."""

    def __init__(self) -> None:
        self._count = 0
        self._last = 0.0
        self._changed = threading.Condition()

    def tick(self) -> None:
        with self._changed:
            self._count += 1
            self._last = time.perf_counter()
            self._changed.notify_all()

    def wait(self, count: int) -> float:
        with self._changed:
            self._changed.wait_for(lambda: self._count >= count)
            return self._last


HANDLED = Handled()


def nap(ms: int) -> None:
    if ms:
        time.sleep(ms / 1000)
    HANDLED.tick()


# -- sending -----------------------------------------------------------------------------------


def sqs_client() -> Any:
    import boto3

    return boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"])


@contextmanager
def captured_sends() -> Iterator[list[Entry]]:
    """Within the block, SendMessage/SendMessageBatch are recorded instead of made."""
    from botocore.client import BaseClient

    entries: list[Entry] = []
    original = BaseClient._make_api_call  # type: ignore[attr-defined]

    def capture(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "SendMessage":
            entries.append({k: v for k, v in params.items() if k != "QueueUrl"})
            body = params["MessageBody"].encode()
            return {
                "MessageId": str(len(entries)),
                "MD5OfMessageBody": hashlib.md5(body).hexdigest(),
            }
        if operation == "SendMessageBatch":
            entries.extend({k: v for k, v in e.items() if k != "Id"} for e in params["Entries"])
            return {
                "Successful": [{"Id": e["Id"], "MessageId": e["Id"]} for e in params["Entries"]],
                "Failed": [],
            }
        return original(self, operation, params)

    BaseClient._make_api_call = capture  # type: ignore[attr-defined]
    try:
        yield entries
    finally:
        BaseClient._make_api_call = original  # type: ignore[attr-defined]


def feed(sqs: Any, url: str, entries: list[Entry], handled_before: int, depth: int) -> None:
    """Sends the entries ten at a time, never leaving more than `depth` unhandled: the queue
    stays topped up, as a backlog keeps it, without growing deep."""
    for start in range(0, len(entries), BATCH):
        HANDLED.wait(handled_before + start + BATCH - depth)
        batch = [{"Id": str(i), **e} for i, e in enumerate(entries[start : start + BATCH])]
        failed = sqs.send_message_batch(QueueUrl=url, Entries=batch).get("Failed", [])
        assert not failed, failed


Encode = Callable[[int, int], list[Entry]]


def encoded_by(send: Callable[[int], object]) -> Encode:
    """`encode` for a library whose `send(ms)` enqueues one message: its sends, captured."""

    def encode(count: int, ms: int) -> list[Entry]:
        with captured_sends() as entries:
            for _ in range(count):
                send(ms)
        return entries

    return encode


# -- the contenders ------------------------------------------------------------------------------
# Each starts consuming and returns `encode(count, ms)`, which makes the entries to send.


def naive(args: argparse.Namespace) -> Encode:
    """The baseline: each thread receives one message, handles it, deletes it."""
    sqs = sqs_client()

    def loop() -> None:
        while True:
            response = sqs.receive_message(
                QueueUrl=args.queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=WAIT_SECONDS
            )
            for message in response.get("Messages", []):
                nap(json.loads(message["Body"])["ms"])
                sqs.delete_message(QueueUrl=args.queue_url, ReceiptHandle=message["ReceiptHandle"])

    for _ in range(args.threads):
        threading.Thread(target=loop, daemon=True).start()
    return lambda count, ms: [{"MessageBody": json.dumps({"ms": ms})} for _ in range(count)]


def automlops(args: argparse.Namespace) -> Encode:
    """The worker at its defaults but for the thread count and the queue it polls."""
    from bench_nap import Nap, make_route

    from automlops.aws import AwsTarget, build_clients
    from service.assembly import build_worker
    from service.logs import configure_logging
    from service.messages import encode_envelope
    from service.settings import RuntimeSettings
    from service.sqs import SqsTransport

    configure_logging("INFO", "json", stream=open(os.devnull, "w"))  # noqa: SIM115 - for the process's life
    env = {**os.environ, "AUTOMLOPS_WORKER_THREADS": str(args.threads)}
    settings = RuntimeSettings.from_env(env)
    clients = build_clients(
        AwsTarget.from_env(env),
        poll_wait_seconds=settings.poll_wait_seconds,
        threads=settings.worker_threads,
        invoke_concurrency=1,
    )
    worker = build_worker(settings, SqsTransport(clients.sqs), [make_route(HANDLED.tick)])
    threading.Thread(target=worker.run, daemon=True).start()
    worker.wait_started(30)
    return lambda count, ms: [
        {"MessageBody": encode_envelope(Nap(run_id=f"n-{i}", ms=ms))} for i in range(count)
    ]


def sqs_workers(args: argparse.Namespace) -> Encode:
    """Doist's sqs-workers: one `process_batch` loop (receive ten, handle, delete) per thread."""
    from sqs_workers import SQSEnv

    # JSON, as the other contenders encode (its default codec is a pickle).
    queue = SQSEnv(codec="json").queue(args.queue_name, queue_url=args.queue_url)
    queue.connect_processor("nap", lambda ms: nap(ms))

    def loop() -> None:
        while True:
            queue.process_batch(wait_seconds=WAIT_SECONDS)

    for _ in range(args.threads):
        threading.Thread(target=loop, daemon=True).start()

    return encoded_by(lambda ms: queue.add_job("nap", ms=ms))


def dramatiq_sqs(args: argparse.Namespace) -> Encode:
    """dramatiq with dramatiq-sqs: its worker threads fed by one consumer prefetching ten (the
    harness sets `dramatiq_queue_prefetch`, which dramatiq reads at import)."""
    import dramatiq
    from dramatiq_sqs import SQSBroker

    broker = SQSBroker(endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    dramatiq.set_broker(broker)
    actor = dramatiq.actor(queue_name=args.queue_name, max_retries=0)(nap)
    worker = dramatiq.Worker(
        broker, worker_threads=args.threads, worker_timeout=WAIT_SECONDS * 1000
    )
    worker.start()

    return encoded_by(lambda ms: actor.send(ms))


def celery(args: argparse.Namespace) -> Encode:
    """Celery's SQS transport (kombu) with the threads pool, its worker in this process."""
    import warnings

    from celery import Celery

    # The benchmark runs as root in a throw-away process; Celery says so at every start.
    warnings.filterwarnings("ignore", message="You're running the worker with superuser")

    endpoint = os.environ["AWS_ENDPOINT_URL"].removeprefix("http://")
    app = Celery("bench", broker=f"sqs://testing:testing@{endpoint}")
    app.conf.update(
        broker_transport_options={
            "region": os.environ["AWS_DEFAULT_REGION"],
            "is_secure": False,
            "wait_time_seconds": WAIT_SECONDS,
            "polling_interval": 0,
            "predefined_queues": {args.queue_name: {"url": args.queue_url}},
        },
        task_default_queue=args.queue_name,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        broker_connection_retry_on_startup=True,
    )
    task = app.task(name="nap")(nap)
    worker = app.Worker(
        pool="threads",
        concurrency=args.threads,
        loglevel="WARNING",
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        quiet=True,
    )
    threading.Thread(target=worker.start, daemon=True).start()

    return encoded_by(lambda ms: task.delay(ms))


CONTENDERS: dict[str, Callable[[argparse.Namespace], Encode]] = {
    "naive": naive,
    "automlops": automlops,
    "sqs-workers": sqs_workers,
    "dramatiq-sqs": dramatiq_sqs,
    "celery": celery,
}


def serve(args: argparse.Namespace) -> None:
    # The protocol's own copy of stdout: a library may redirect sys.stdout (Celery's worker does).
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    encode = CONTENDERS[args.contender](args)
    sqs = sqs_client()
    expected = 0
    print("ready", file=out)
    for line in sys.stdin:
        _, count, ms, depth = line.split()
        entries = encode(int(count), int(ms))
        started = time.perf_counter()
        feed(sqs, args.queue_url, entries, expected, int(depth))
        expected += int(count)
        print(f"done {HANDLED.wait(expected) - started:.6f}", file=out)
    os._exit(0)  # the consumers' threads are not told to stop: the run is over


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("contender", choices=sorted(CONTENDERS))
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--queue-name", required=True)
    serve(parser.parse_args())


if __name__ == "__main__":
    main()
