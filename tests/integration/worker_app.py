"""A worker process with test routes, for tests that need a real process (signals, SIGKILL).

    python -m tests.integration.worker_app [--die-before-delete]

Settings come from the environment like `automlops worker`; it polls the ingest queue only, so
follow-ups it sends to the stages queue stay there for the test to find.

- `test.slow` {seconds}: logs `slow.started`, sleeps, then sends `test.done` to the stages queue.
- `test.forward`: sends `test.done` to the stages queue at once.
- `test.pooled` {seconds}: logs `pooled.started`, then waits for a sleep on a
  ThreadPoolExecutor thread (not a daemon: the interpreter joins it at exit).
- `--die-before-delete`: the process SIGKILLs itself when it is about to delete a message, i.e.
  after the follow-ups were sent and before the input is gone.
"""

from __future__ import annotations

import argparse
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar

from automlops.aws import AwsTarget, build_clients
from service.assembly import build_worker
from service.context import HandlerContext
from service.logs import configure_logging
from service.messages import Outgoing, StageMessage
from service.routing import Route
from service.settings import RuntimeSettings
from service.shutdown import exit_after_drain, install_signal_handlers
from service.sqs import SqsTransport


@dataclass(frozen=True, kw_only=True)
class Slow(StageMessage):
    TYPE: ClassVar[str] = "test.slow"
    seconds: float


@dataclass(frozen=True, kw_only=True)
class Forward(StageMessage):
    TYPE: ClassVar[str] = "test.forward"


@dataclass(frozen=True, kw_only=True)
class Done(StageMessage):
    TYPE: ClassVar[str] = "test.done"


def handle_slow(msg: Slow, ctx: HandlerContext[object]) -> list[Outgoing]:
    ctx.log.info("slow.started", seconds=msg.seconds)
    time.sleep(msg.seconds)
    ctx.log.info("slow.finished")
    return [Outgoing(Done(run_id=msg.run_id))]


@dataclass(frozen=True, kw_only=True)
class Pooled(StageMessage):
    TYPE: ClassVar[str] = "test.pooled"
    seconds: float


def handle_pooled(msg: Pooled, ctx: HandlerContext[object]) -> list[Outgoing]:
    ctx.log.info("pooled.started", seconds=msg.seconds)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(time.sleep, msg.seconds).result()
    return []


def handle_forward(msg: Forward, ctx: HandlerContext[object]) -> list[Outgoing]:
    return [Outgoing(Done(run_id=msg.run_id))]


ROUTES = (Route(Slow, handle_slow), Route(Forward, handle_forward), Route(Pooled, handle_pooled))


class DieBeforeDelete:
    """An SQS client that behaves normally until asked to delete: then the process dies."""

    def __init__(self, sqs: Any) -> None:
        self._sqs = sqs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)

    def delete_message_batch(self, **_: Any) -> Any:
        os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--die-before-delete", action="store_true")
    args = parser.parse_args()
    settings = RuntimeSettings.from_env(os.environ)
    configure_logging(settings.log_level, settings.log_format)
    clients = build_clients(
        AwsTarget.from_env(os.environ),
        poll_wait_seconds=settings.poll_wait_seconds,
        threads=settings.worker_threads,
        invoke_concurrency=1,
    )
    sqs = DieBeforeDelete(clients.sqs) if args.die_before_delete else clients.sqs
    worker = build_worker(settings, SqsTransport(sqs), ROUTES, queues=("ingest",))  # type: ignore[arg-type]
    install_signal_handlers(worker.stop)
    worker.run()
    exit_after_drain(0)


if __name__ == "__main__":
    main()
