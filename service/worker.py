"""The consumer: one long-polling thread per queue feeding a bounded pool of handler threads.

Pollers reserve free handler slots before each ReceiveMessage, so nothing received waits for a
thread. Each message is decoded, handled and its follow-ups sent on a handler thread; settling is
batched on one thread and a heartbeat thread keeps running messages invisible. `run()` returns
after `stop()` once in-flight work has finished or been handed back within the shutdown budget.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import Any

import structlog

from service.backoff import Backoff
from service.batcher import SettleBatcher
from service.capacity import Capacity
from service.decode import Decoder, rules_without_route
from service.dispatch import Dispatcher, Identity, Processed
from service.health import HealthFile
from service.heartbeat import Heartbeat
from service.hooks import Hooks
from service.inflight import Entry, InFlight, State
from service.messages import QueueRole, S3Rule
from service.ping import PING_ROUTE
from service.pool import HandlerPool
from service.routing import AnyRoute, build_route_table
from service.settings import RuntimeSettings
from service.settle import Outcome, Verdict, dead_letter_attributes
from service.transport import QueueConfig, Received, Transport

log = structlog.get_logger("service.worker")

QUEUE_ROLES: tuple[QueueRole, ...] = ("ingest", "stages")

STOP_CHECK_SECONDS = 0.1  # how often the main loop looks for a stop request
CAPACITY_WAIT_SECONDS = 1.0  # a poller waiting for a free slot re-checks for stop this often
GATHER_SECONDS = 0.01  # a busy queue's poller waits this long for more free slots
POLL_ERROR_MAX_SLEEP = 30.0
SETTLE_FLUSH_SECONDS = 5.0  # beyond the budget, for the last hand-backs to reach SQS


class Worker:
    def __init__(
        self,
        settings: RuntimeSettings,
        transport: Transport,
        routes: Iterable[AnyRoute],
        *,
        s3_rules: Sequence[S3Rule] = (),
        buckets: Mapping[str, str] | None = None,
        deps: object = None,
        hooks: Hooks | None = None,
        backoff: Backoff | None = None,
        queues: Sequence[QueueRole] = QUEUE_ROLES,
    ) -> None:
        """`deps` is what every handler receives as `ctx.deps`; `buckets` maps the S3 rules'
        bucket roles to bucket names; `hooks` are told about settled messages and busy/idle."""
        self.settings = settings
        self.routes: Mapping[str, AnyRoute] = build_route_table([*routes, PING_ROUTE])
        self._rules = tuple(s3_rules)
        self._queues = tuple(queues)
        self._transport = transport
        self._hooks = hooks or Hooks()
        self._backoff = backoff or Backoff(
            settings.backoff_base_seconds, settings.backoff_max_seconds, "full"
        )
        decoder = Decoder(self.routes, self._rules, buckets or {})
        self._dispatcher = Dispatcher(
            decoder, self._transport, settings.queue_url, deps, self._backoff
        )
        self._inflight = InFlight(on_busy=self._hooks.on_busy, on_idle=self._hooks.on_idle)
        self._capacity = Capacity(settings.worker_threads)
        self._pool = HandlerPool(settings.worker_threads)
        visibility_lock = threading.Lock()
        self._batcher = SettleBatcher(self._transport, visibility_lock)
        self._heartbeat = Heartbeat(
            self._inflight,
            self._transport,
            settings.heartbeat_seconds,
            settings.visibility_extension_seconds,
            visibility_lock,
        )
        self._health = HealthFile(settings.health_file)
        self._queue_configs: dict[str, QueueConfig] = {}
        self._pollers: list[threading.Thread] = []
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

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    def start(self) -> None:
        """Find every queue's DLQ (a ConfigurationError if one has none), then start the threads."""
        for role in self._queues:
            self._queue_configs[role] = self._transport.queue_config(self.settings.queue_url(role))
        for kind in rules_without_route(self._rules, self.routes):
            log.warning("worker.s3_rule_without_route", message_type=kind)
        self._health.prepare()
        self._batcher.start()
        self._heartbeat.start()
        self._pool.start()
        for role in self._queues:
            poller = threading.Thread(
                target=self._poll, args=(role,), name=f"poll-{role}", daemon=True
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
        self._hand_back(self._inflight.hand_back(State.RECEIVED))  # not started: back at once
        self._inflight.wait_empty(deadline)
        for poller in self._pollers:
            # A poll still open may yet return messages; waiting lets it hand them back instead
            # of leaving them invisible (and one receive closer to the DLQ).
            poller.join(timeout=max(0.0, deadline - time.monotonic()))
        leftover = self._inflight.hand_back(State.RECEIVED, State.RUNNING)
        self._hand_back(leftover)
        self._heartbeat.stop()
        self._pool.stop()
        self._batcher.stop(timeout=SETTLE_FLUSH_SECONDS)
        log.info("worker.stopped", handed_back=len(leftover))

    # -- polling -----------------------------------------------------------------------------

    def _poll(self, role: QueueRole) -> None:
        url = self._queue_configs[role].url
        busy = False  # an idle queue's long poll holds one slot, a busy one's up to ten
        failures = 0
        while not self._stopping.is_set():
            try:
                busy = self._poll_once(role, url, busy)
                failures = 0
            except Exception as exc:
                # SQS unreachable or refusing: back off; the health file ages meanwhile.
                failures += 1
                log.error("poll.failed", queue=role, error=f"{type(exc).__name__}: {exc}")
                self._stopping.wait(min(2.0**failures, POLL_ERROR_MAX_SLEEP))

    def _poll_once(self, role: QueueRole, url: str, busy: bool) -> bool:
        """One receive into free slots; returns whether the queue looks busy."""
        wanted = self.settings.max_messages if busy else 1
        gather = GATHER_SECONDS if busy else 0.0
        slots = self._capacity.reserve(wanted, CAPACITY_WAIT_SECONDS, gather)
        if not slots:
            self._health.touch()  # all threads busy is not a hung poll loop
            return busy
        try:
            received = self._receive(role, url, slots)
        except Exception:
            self._capacity.release(slots)
            raise
        self._capacity.release(slots - len(received))
        self._health.touch()
        self._hooks.on_polled()
        self._accept(received)
        return bool(received)

    def _receive(self, role: QueueRole, url: str, slots: int) -> list[Received]:
        return self._transport.receive(
            role,
            url,
            max_messages=slots,
            wait_seconds=self.settings.poll_wait_seconds,
            visibility_timeout=self.settings.visibility_extension_seconds,
        )

    def _accept(self, received: list[Received]) -> None:
        late: list[Received] = []
        for message in received:
            if self._stopping.is_set():
                late.append(message)
                continue
            entry = self._inflight.add(message)
            self._pool.submit(partial(self._handle, entry))
        if late:
            self._hand_back_now(late)

    # -- handling ----------------------------------------------------------------------------

    def _handle(self, entry: Entry) -> None:
        structlog.contextvars.clear_contextvars()
        try:
            if self._stopping.is_set():
                if self._inflight.move(entry, State.RECEIVED, State.HANDED_BACK):
                    self._hand_back([entry])
                return
            if not self._inflight.move(entry, State.RECEIVED, State.RUNNING):
                return
            message = entry.received
            structlog.contextvars.bind_contextvars(
                queue=message.queue,
                message_id=message.message_id,
                receive_count=message.receive_count,
            )
            processed = self._dispatcher.process(message, note=partial(_note, entry))
            self._settle(entry, processed)
        except Exception as exc:
            self._abandon(entry, exc)
        finally:
            structlog.contextvars.clear_contextvars()
            self._capacity.release(1)

    def _settle(self, entry: Entry, processed: Processed) -> None:
        # Follow-ups were sent even when the message was handed back meanwhile: the handler's
        # work is done, and a stage that claims its input once might not emit them a second time.
        if not self._inflight.move(entry, State.RUNNING, State.SETTLING):
            log.info("message.finished_after_hand_back", followups=processed.followups)
            return
        verdict = processed.verdict
        if verdict.outcome == "dead-lettered":
            verdict = self._dead_letter(entry, processed)
        message = entry.received
        done = partial(self._settled, entry, processed, verdict)
        if verdict.outcome == "retry":
            delay = verdict.retry_delay or 0
            self._batcher.change_visibility(message.queue_url, message.receipt_handle, delay, done)
        else:
            self._batcher.delete(message.queue_url, message.receipt_handle, done)

    def _dead_letter(self, entry: Entry, processed: Processed) -> Verdict:
        """Copy the original to the DLQ with its reason; if that fails, retry rather than lose."""
        message = entry.received
        error = processed.verdict.error or "unknown"
        try:
            self._transport.send(
                self._queue_configs[message.queue].dlq_url,
                message.body,
                attributes=dead_letter_attributes(message, error, processed.identity.message_type),
            )
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            log.error("message.dead_letter_failed", error=reason)
            return Verdict(
                outcome="retry",
                error=f"{error}; dead-letter send failed: {reason}",
                retry_delay=self._backoff.delay(message.receive_count),
            )
        return processed.verdict

    def _abandon(self, entry: Entry, exc: Exception) -> None:
        """A fault in the runtime itself: let the message reappear after its visibility lapses."""
        log.exception("worker.internal_error")
        if self._inflight.move(entry, State.RUNNING, State.SETTLING):
            verdict = Verdict(outcome="retry", error=f"{type(exc).__name__}: {exc}")
            self._settled(entry, None, verdict, None)

    # -- hand-back and summaries ---------------------------------------------------------------

    def _hand_back(self, entries: list[Entry]) -> None:
        for entry in entries:
            message = entry.received
            verdict = Verdict(outcome="handed-back")
            done = partial(self._settled, entry, None, verdict)
            self._batcher.change_visibility(message.queue_url, message.receipt_handle, 0, done)

    def _hand_back_now(self, messages: list[Received]) -> None:
        """Messages a poll returned after stop: back to their queue at once, from this thread."""
        url = messages[0].queue_url
        try:
            failures = self._transport.change_visibility_batch(
                url, [(m.receipt_handle, 0) for m in messages]
            )
            failed = {f.index: f"{f.code}: {f.message}" for f in failures}
        except Exception as exc:
            failed = dict.fromkeys(range(len(messages)), f"{type(exc).__name__}: {exc}")
        for index, message in enumerate(messages):
            entry = Entry(received=message, state=State.HANDED_BACK)
            self._settled(entry, None, Verdict(outcome="handed-back"), failed.get(index))

    def _settled(
        self, entry: Entry, processed: Processed | None, verdict: Verdict, settle_error: str | None
    ) -> None:
        self._inflight.remove(entry)
        summary = _summary(entry, processed, verdict, settle_error)
        level = "warning" if verdict.outcome == "dead-lettered" or settle_error else "info"
        getattr(log, level)("message.settled", **summary)
        try:
            self._hooks.on_settled(summary)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning("worker.hook_failed", hook="on_settled", error=error)


def _note(entry: Entry, identity: Identity) -> None:
    entry.identity = identity


def _summary(
    entry: Entry, processed: Processed | None, verdict: Verdict, settle_error: str | None
) -> dict[str, Any]:
    """The one line per message. Key names are a contract for dashboards and metric filters."""
    message = entry.received
    outcome: Outcome = verdict.outcome
    identity = processed.identity if processed else entry.identity
    summary: dict[str, Any] = {
        "queue": message.queue,
        "message_id": message.message_id,
        "message_type": identity.message_type,
        # The route's stage name, as the run manifest calls it; the saved queries group by it.
        "stage": identity.stage,
        "run_id": identity.run_id,
        "receive_count": message.receive_count,
        "outcome": outcome,
        "duration_ms": round((time.monotonic() - entry.started) * 1000, 1),
        "followups": processed.followups if processed else 0,
    }
    if verdict.error:
        summary["error"] = verdict.error
    if verdict.retry_delay is not None:
        summary["retry_delay_s"] = verdict.retry_delay
    if settle_error:
        summary["settle_error"] = settle_error
    return summary
