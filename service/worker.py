"""The consumer: one long-polling thread per queue feeding a bounded pool of handler threads.

Pollers reserve credits before each receive (`Capacity`): one per handler thread plus a bounded
prefetch, so a busy queue is received ten at a time while the last ten still run. Each message
is decoded, handled and its follow-ups sent on a handler thread (`dispatch`); the `Settler`
decides and records what becomes of it, batching deletes and visibility changes (`batcher`);
`Visibility` keeps held messages invisible meanwhile, prefetched ones included. `run()` returns
after `stop()` once in-flight work has finished or been handed back within the shutdown budget.
"""

from __future__ import annotations

import threading
import time
from functools import partial
from typing import TYPE_CHECKING

import structlog

from service.decode import rules_without_route
from service.dispatch import Identity
from service.inflight import Entry, State
from service.messages import QueueRole
from service.settings import RuntimeSettings
from service.transport import Received, Transport

if TYPE_CHECKING:
    from service.assembly import WorkerParts

log = structlog.get_logger("service.worker")

QUEUE_ROLES: tuple[QueueRole, ...] = ("ingest", "stages")

STOP_CHECK_SECONDS = 0.1  # how often the main loop looks for a stop request
CAPACITY_WAIT_SECONDS = 1.0  # a poller waiting for a free credit re-checks for stop this often
# A busy queue's receive holds up to ten credits while it waits, so it waits briefly: a queue
# that went quiet must not keep them from the other queue for a whole long poll.
BUSY_WAIT_SECONDS = 1
# Receivers per queue. The first long-polls; the others receive only while the queue has a
# backlog (its last busy receive came back as full as asked) and the threads are running short
# of queued work (a round trip slower than the threads' pace). A queue that gave one message and
# went quiet (an upload, S3's test event) thus holds one receive's credits for a second, not two.
RECEIVERS_PER_QUEUE = 2
POLL_ERROR_MAX_SLEEP = 30.0
SETTLE_FLUSH_SECONDS = 5.0  # beyond the budget, for the last hand-backs to reach SQS


class Worker:
    def __init__(self, settings: RuntimeSettings, parts: WorkerParts) -> None:
        """`parts` are the worker's collaborators, built once by `service.assembly.assemble`
        (the composition root calls it); the worker only runs them."""
        self.settings = settings
        self.routes = parts.routes
        self._rules = parts.rules
        self._queues = parts.queues
        self._transport = parts.transport
        self._hooks = parts.hooks
        self._queue_configs = parts.queue_configs
        self._dispatcher = parts.dispatcher
        self._inflight = parts.inflight
        self._capacity = parts.capacity
        self._pool = parts.pool
        self._visibility = parts.visibility
        self._batcher = parts.batcher
        self._settler = parts.settler
        self._health = parts.health
        self._pollers: list[threading.Thread] = []
        self._busy: dict[QueueRole, threading.Event] = {}  # set while a queue returns messages
        self._backlog: dict[QueueRole, threading.Event] = {}  # ...as many as a busy receive asks
        self._stop_requested = False
        self._stopping = threading.Event()
        self._started = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------

    def run(self) -> None:
        """Start, serve until `stop()`, then drain within the shutdown budget."""
        self.start()
        try:
            while not self._stop_requested:
                time.sleep(STOP_CHECK_SECONDS)
        finally:
            self._drain()

    def stop(self) -> None:
        """Ask `run()` to drain and return. Safe from a signal handler and from any thread."""
        self._stop_requested = True

    def wait_started(self, timeout: float) -> bool:
        return self._started.wait(timeout)

    @property
    def transport(self) -> Transport:
        return self._transport

    def start(self) -> None:
        """Find every queue's DLQ (a ConfigurationError if one has none), then start the threads."""
        for role in self._queues:
            self._queue_configs[role] = self._transport.queue_config(self.settings.queue_url(role))
        for kind in rules_without_route(self._rules, self.routes):
            log.warning("worker.s3_rule_without_route", message_type=kind)
        self._health.prepare()
        self._batcher.start()
        self._visibility.start()
        self._pool.start()
        for role in self._queues:
            self._busy[role] = threading.Event()
            self._backlog[role] = threading.Event()
            for index in range(RECEIVERS_PER_QUEUE):
                poller = threading.Thread(
                    target=self._poll, args=(role, index), name=f"poll-{role}-{index}", daemon=True
                )
                self._pollers.append(poller)
                poller.start()
        log.info(
            "worker.started",
            queues=list(self._queues),
            worker_threads=self.settings.worker_threads,
            message_types=sorted(self.routes),
        )
        self._started.set()

    def _drain(self) -> None:
        deadline = time.monotonic() + self.settings.shutdown_budget_seconds
        self._stopping.set()
        log.info("worker.stopping", in_flight=len(self._inflight))
        self._settler.hand_back(
            self._inflight.hand_back(State.RECEIVED)
        )  # not started: back at once
        self._inflight.wait_empty(deadline)
        for poller in self._pollers:
            # A poll still open may yet return messages; waiting lets it hand them back instead
            # of leaving them invisible (and one receive closer to the DLQ).
            poller.join(timeout=max(0.0, deadline - time.monotonic()))
        leftover = self._inflight.hand_back(State.RECEIVED, State.RUNNING)
        self._settler.hand_back(leftover)
        self._visibility.stop()
        self._pool.stop()
        self._batcher.stop(timeout=SETTLE_FLUSH_SECONDS)
        log.info("worker.stopped", handed_back=len(leftover))

    # -- polling -----------------------------------------------------------------------------

    def _poll(self, role: QueueRole, index: int) -> None:
        url = self._queue_configs[role].url
        busy = self._busy[role]  # an idle queue's long poll holds one credit, a busy one's ten
        backlog = self._backlog[role]
        failures = 0
        while not self._stopping.is_set():
            if index and not backlog.wait(CAPACITY_WAIT_SECONDS):
                continue  # a helper receiver: only while the queue has a backlog
            try:
                was_busy = busy.is_set()
                polled = self._poll_once(role, url, was_busy, helper=index > 0)
                if polled is not None:  # None: no credit came free, nothing learnt
                    asked, got = polled
                    _set(busy, got > 0)
                    _set(backlog, was_busy and got == asked)
                failures = 0
            except Exception as exc:
                # SQS unreachable or refusing: back off; the health file ages meanwhile.
                failures += 1
                log.error("poll.failed", queue=role, error=f"{type(exc).__name__}: {exc}")
                self._stopping.wait(min(2.0**failures, POLL_ERROR_MAX_SLEEP))

    def _poll_once(
        self, role: QueueRole, url: str, busy: bool, helper: bool = False
    ) -> tuple[int, int] | None:
        """One receive into free credits; returns how many it asked for and how many came, or
        None when no credit came free."""
        wanted = self.settings.max_messages if busy else 1
        slots = self._capacity.reserve(wanted, CAPACITY_WAIT_SECONDS, when_low=helper)
        if not slots:
            self._health.touch()  # all threads busy is not a hung poll loop
            return None
        try:
            received = self._receive(role, url, slots, busy)
        except Exception:
            self._capacity.release(slots)
            raise
        self._capacity.release(slots - len(received))
        self._health.touch()
        self._hooks.on_polled()
        self._accept(received)
        return slots, len(received)

    def _receive(self, role: QueueRole, url: str, slots: int, busy: bool) -> list[Received]:
        wait = self.settings.poll_wait_seconds
        return self._transport.receive(
            role,
            url,
            max_messages=slots,
            wait_seconds=min(wait, BUSY_WAIT_SECONDS) if busy else wait,
            visibility_timeout=self.settings.visibility_extension_seconds,
        )

    def _accept(self, received: list[Received]) -> None:
        late: list[Received] = []
        for message in received:
            if self._stopping.is_set():
                late.append(message)
                continue
            entry = self._inflight.add(message)
            self._capacity.accepted(1)
            self._pool.submit(partial(self._handle, entry))
        if late:
            self._capacity.release(len(late))
            self._settler.hand_back_now(late)

    # -- handling ----------------------------------------------------------------------------

    def _handle(self, entry: Entry) -> None:
        structlog.contextvars.clear_contextvars()
        self._capacity.started()
        try:
            if self._stopping.is_set():
                if self._inflight.move(entry, State.RECEIVED, State.HANDED_BACK):
                    self._settler.hand_back([entry])
                return
            if not self._inflight.move(entry, State.RECEIVED, State.RUNNING):
                return
            message = entry.received
            structlog.contextvars.bind_contextvars(
                queue=message.queue,
                message_id=message.message_id,
                receive_count=message.receive_count,
            )
            began = time.monotonic()
            processed = self._dispatcher.process(message, note=partial(_note, entry))
            entry.handler_seconds = time.monotonic() - began
            self._settler.settle(entry, processed)
        except Exception as exc:
            self._settler.abandon(entry, exc)
        finally:
            structlog.contextvars.clear_contextvars()
            self._capacity.release(1, entry.handler_seconds)  # its pace bounds the prefetch


def _note(entry: Entry, identity: Identity) -> None:
    entry.identity = identity


def _set(event: threading.Event, value: bool) -> None:
    if value:
        event.set()
    else:
        event.clear()
