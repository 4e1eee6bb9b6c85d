"""The one owner of what becomes of a received message once it leaves a handler (or never
reaches one): deleted, left to reappear after a back-off, copied to its dead-letter queue, or
handed back at shutdown; and the one summary line per message that says which.

`settle.py` holds the policy (pure functions); this class carries it out through the batcher
(deletes and visibility changes, ten to a call) and the transport (dead letters).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from functools import partial
from typing import Any

import structlog

from service.backoff import Backoff
from service.batcher import SettleBatcher
from service.dispatch import Processed
from service.hooks import Hooks
from service.inflight import Entry, InFlight, State
from service.settle import Outcome, Verdict, dead_letter_attributes
from service.transport import QueueConfig, Received
from service.visibility import Visibility

log = structlog.get_logger("service.settler")


class Settler:
    def __init__(
        self,
        batcher: SettleBatcher,
        visibility: Visibility,
        inflight: InFlight,
        queue_configs: Mapping[str, QueueConfig],
        backoff: Backoff,
        hooks: Hooks,
    ) -> None:
        """`queue_configs` (queue role -> config) is read when a message is dead-lettered."""
        self._batcher = batcher
        self._visibility = visibility
        self._inflight = inflight
        self._queue_configs = queue_configs
        self._backoff = backoff
        self._hooks = hooks

    def settle(self, entry: Entry, processed: Processed) -> None:
        """A handled message: delete it, or let it reappear after its verdict's delay."""
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

    def abandon(self, entry: Entry, exc: Exception) -> None:
        """A fault in the runtime itself: let the message reappear after its visibility lapses."""
        log.exception("worker.internal_error")
        if self._inflight.move(entry, State.RUNNING, State.SETTLING):
            verdict = Verdict(outcome="retry", error=f"{type(exc).__name__}: {exc}")
            self._settled(entry, None, verdict, None)

    def hand_back(self, entries: list[Entry]) -> None:
        """Entries already marked handed back: visible again at once, for another consumer."""
        for entry in entries:
            message = entry.received
            done = partial(self._settled, entry, None, Verdict(outcome="handed-back"))
            self._batcher.change_visibility(message.queue_url, message.receipt_handle, 0, done)

    def hand_back_now(self, messages: list[Received]) -> None:
        """Messages a poll returned after stop: back to their queue at once, from this thread."""
        url = messages[0].queue_url
        try:
            failures = self._visibility.change_batch(url, [(m.receipt_handle, 0) for m in messages])
            failed = {f.index: f"{f.code}: {f.message}" for f in failures}
        except Exception as exc:
            failed = dict.fromkeys(range(len(messages)), f"{type(exc).__name__}: {exc}")
        for index, message in enumerate(messages):
            entry = Entry(received=message, state=State.HANDED_BACK)
            self._settled(entry, None, Verdict(outcome="handed-back"), failed.get(index))

    def _dead_letter(self, entry: Entry, processed: Processed) -> Verdict:
        """Copy the original to the DLQ with its reason; if that fails, retry rather than lose."""
        message = entry.received
        error = processed.verdict.error or "unknown"
        try:
            self._batcher.transport.send(
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
    # Where the time went: in the queue before this receive (a follow-up's delay included),
    # and in the handlers (the rest of duration_ms waited for a thread or for the settle).
    if message.sent_at is not None:
        summary["queued_ms"] = round(max(0.0, entry.received_at - message.sent_at) * 1000, 1)
    if entry.handler_seconds is not None:
        summary["handler_ms"] = round(entry.handler_seconds * 1000, 1)
    if verdict.error:
        summary["error"] = verdict.error
    if verdict.retry_delay is not None:
        summary["retry_delay_s"] = verdict.retry_delay
    if settle_error:
        summary["settle_error"] = settle_error
    for key, value in (processed.notes if processed else {}).items():
        summary.setdefault(key, value)
    return summary
