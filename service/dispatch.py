"""Runs one received message: decode, call each job's handler, send the follow-ups, reach a verdict.

Settling (delete, back-off, dead-letter) is left to the caller; this module never deletes, so a
follow-up is always sent before its input can disappear.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from service.backoff import Backoff
from service.context import HandlerContext
from service.decode import Decoded, Decoder, Job, guess_type
from service.failures import HandlerError
from service.messages import Outgoing, QueueRole, encode_envelope
from service.settle import Failure, Verdict, classify, decide
from service.transport import Received, Transport

log = structlog.get_logger("service.dispatch")


@dataclass(frozen=True)
class Identity:
    """What a message is, known once it is decoded: the keys of its log lines and summary."""

    message_type: str
    stage: str
    run_id: str | None = None


Noter = Callable[[Identity], None]


@dataclass(frozen=True)
class Processed:
    verdict: Verdict
    identity: Identity
    followups: int
    notes: Mapping[str, Any] = field(default_factory=dict)  # the handlers' summary fields


class Dispatcher:
    def __init__(
        self,
        decoder: Decoder,
        transport: Transport,
        queue_urls: Callable[[QueueRole], str],
        deps: Any,
        backoff: Backoff,
        max_receives: Callable[[str], int] = lambda _: 0,
    ) -> None:
        """`deps` is handed to every handler as `ctx.deps`; `queue_urls(role)` says where a
        follow-up for that queue role goes; `max_receives(role)` is that queue's
        maxReceiveCount (0: unknown, so no receive counts as the last)."""
        self._decoder = decoder
        self._transport = transport
        self._queue_urls = queue_urls
        self._deps = deps
        self._backoff = backoff
        self._max_receives = max_receives

    def process(self, received: Received, note: Noter | None = None) -> Processed:
        """`note(identity)` is told what the message is as soon as it is decoded."""
        last = self._is_last(received)
        try:
            decoded = self._decoder.decode(received.body)
        except Exception as exc:
            verdict = decide([classify(exc)], 0, received.receive_count, self._backoff, last)
            kind = guess_type(received.body)
            return Processed(verdict, Identity(kind, kind), followups=0)
        identity = Identity(decoded.message_type, decoded.stage, decoded.run_id)
        structlog.contextvars.bind_contextvars(
            message_type=identity.message_type, stage=identity.stage, run_id=identity.run_id
        )
        if note is not None:
            note(identity)
        for reason in decoded.dropped:
            # An object we were told of and will not process: worth an operator's look.
            log.warning("message.record_dropped", reason=reason)
        notes: dict[str, Any] = {}
        failures, outgoing = self._run_jobs(decoded, received, notes)
        sent, send_failure = self._send_followups(outgoing)
        if send_failure:
            failures.append(send_failure)
        verdict = decide(failures, len(decoded.jobs), received.receive_count, self._backoff, last)
        return Processed(verdict, identity, sent, notes)

    def _is_last(self, received: Received) -> bool:
        limit = self._max_receives(received.queue)
        return 0 < limit <= received.receive_count

    def _run_jobs(
        self, decoded: Decoded, received: Received, notes: dict[str, Any]
    ) -> tuple[list[Failure], list[Outgoing]]:
        """Every job runs even if an earlier one failed: records of one message are independent."""
        failures: list[Failure] = []
        outgoing: list[Outgoing] = []
        for job in decoded.jobs:
            try:
                outgoing += self._run_job(job, received, notes)
            except HandlerError as exc:
                failures.append(classify(exc))
            except Exception as exc:
                # Not a decision the handler made: a bug or an outage. The traceback helps.
                log.warning("handler.crashed", handler_type=job.message.TYPE, exc_info=True)
                failures.append(classify(exc))
        return failures, outgoing

    def _run_job(self, job: Job, received: Received, notes: dict[str, Any]) -> list[Outgoing]:
        ctx = HandlerContext(
            deps=self._deps,
            log=structlog.get_logger("handler").bind(handler_type=job.message.TYPE),
            message_id=received.message_id,
            receive_count=received.receive_count,
            last_attempt=self._is_last(received),
            notes=notes,
        )
        result = job.route.handler(job.message, ctx)
        if result is None:  # "nothing to send" written as a bare return
            return []
        if not isinstance(result, list) or not all(isinstance(o, Outgoing) for o in result):
            raise TypeError(
                f"handler for {job.message.TYPE} returned {result!r:.80}, not list[Outgoing]"
            )
        return result

    def _send_followups(self, outgoing: list[Outgoing]) -> tuple[int, Failure | None]:
        """Send in order; on a failure, stop: the input is retried (a duplicate, never a loss)."""
        for sent, item in enumerate(outgoing):
            try:
                self._transport.send(
                    self._queue_urls(item.queue),
                    encode_envelope(item.message),
                    item.delay_seconds,
                )
            except Exception as exc:
                failure = classify(exc)
                return sent, Failure(error=f"follow-up not sent: {failure.error}", permanent=False)
        return len(outgoing), None
