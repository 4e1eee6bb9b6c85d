"""A queue service in memory, with the SQS behaviour the runtime relies on.

What it keeps of SQS: visibility timeouts (a received message is invisible until its timeout
lapses, is changed, or it is deleted), a new receipt handle per receive (an old one no longer
settles the message), receive counts, delivery delays, message attributes, and the redrive to a
dead-letter queue when a receive would exceed the queue's maxReceiveCount. A long poll returns as
soon as a message can be had, so the runtime's tests need no real waits on their fast path.

Not kept: ordering guarantees beyond "oldest first", duplicates, message size limits.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from service.failures import ConfigurationError
from service.transport import (
    BatchFailure,
    QueueConfig,
    Received,
    clamp_delay,
    no_dead_letter_queue,
)

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef

URL_PREFIX = "memory://queue/"
MAX_VISIBILITY_SECONDS = 43_200


@dataclass
class StoredMessage:
    message_id: str
    body: str
    attributes: dict[str, MessageAttributeValueTypeDef]
    visible_at: float
    receive_count: int = 0
    receipt_handle: str | None = None  # the newest one; None until received


@dataclass
class MemoryQueue:
    url: str
    visibility_timeout: int
    dlq_url: str | None
    max_receive_count: int
    messages: list[StoredMessage] = field(default_factory=list)


class MemoryTransport:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._changed = threading.Condition()
        self._queues: dict[str, MemoryQueue] = {}
        self._ids = itertools.count(1)

    # -- set-up and inspection (what CreateQueue and the console are for SQS) -------------------

    def create_queue(
        self,
        name: str,
        *,
        visibility_timeout: int = 30,
        dlq_url: str | None = None,
        max_receive_count: int = 0,
    ) -> str:
        url = URL_PREFIX + name
        with self._changed:
            self._queues[url] = MemoryQueue(url, visibility_timeout, dlq_url, max_receive_count)
        return url

    def depth(self, url: str) -> int:
        """Visible + in flight + delayed messages, like SQS's three approximate counts."""
        with self._changed:
            return len(self._queue(url).messages)

    # -- the Transport protocol ----------------------------------------------------------------

    def receive(
        self, queue: str, url: str, max_messages: int, wait_seconds: int, visibility_timeout: int
    ) -> list[Received]:
        deadline = self._clock() + wait_seconds
        with self._changed:
            while True:
                taken = self._take(self._queue(url), max_messages, visibility_timeout)
                remaining = deadline - self._clock()
                if taken or remaining <= 0:
                    return [self._received(queue, url, m) for m in taken]
                self._changed.wait(min(remaining, self._next_change(url)))

    def send(
        self,
        url: str,
        body: str,
        delay_seconds: int = 0,
        attributes: Mapping[str, MessageAttributeValueTypeDef] | None = None,
    ) -> str:
        with self._changed:
            return self._append(self._queue(url), body, dict(attributes or {}), delay_seconds)

    def delete_batch(self, url: str, receipt_handles: Sequence[str]) -> list[BatchFailure]:
        failures: list[BatchFailure] = []
        with self._changed:
            queue = self._queue(url)
            for index, handle in enumerate(receipt_handles):
                message = self._holding(queue, handle)
                if message is None:
                    failures.append(_invalid(index, handle))
                else:
                    queue.messages.remove(message)
            self._changed.notify_all()
        return failures

    def change_visibility_batch(
        self, url: str, changes: Sequence[tuple[str, int]]
    ) -> list[BatchFailure]:
        failures: list[BatchFailure] = []
        now = self._clock()
        with self._changed:
            queue = self._queue(url)
            for index, (handle, seconds) in enumerate(changes):
                message = self._holding(queue, handle)
                if message is None:
                    failures.append(_invalid(index, handle))
                elif message.visible_at <= now:
                    failures.append(
                        BatchFailure(index, "MessageNotInflight", "message is not in flight")
                    )
                else:
                    message.visible_at = now + min(max(seconds, 0), MAX_VISIBILITY_SECONDS)
            self._changed.notify_all()
        return failures

    def queue_config(self, url: str) -> QueueConfig:
        with self._changed:
            queue = self._queues.get(url)
        if queue is None:
            raise ConfigurationError(f"queue {url}: cannot read its attributes: no such queue")
        if queue.dlq_url is None:
            raise no_dead_letter_queue(url)
        return QueueConfig(url, queue.dlq_url, queue.visibility_timeout, queue.max_receive_count)

    # -- inside the lock -----------------------------------------------------------------------

    def _queue(self, url: str) -> MemoryQueue:
        queue = self._queues.get(url)
        if queue is None:
            raise KeyError(f"AWS.SimpleQueueService.NonExistentQueue: {url}")
        return queue

    def _append(
        self,
        queue: MemoryQueue,
        body: str,
        attributes: dict[str, MessageAttributeValueTypeDef],
        delay_seconds: int = 0,
    ) -> str:
        message_id = f"m-{next(self._ids):06d}"
        visible_at = self._clock() + clamp_delay(delay_seconds)
        queue.messages.append(StoredMessage(message_id, body, attributes, visible_at))
        self._changed.notify_all()
        return message_id

    def _take(self, queue: MemoryQueue, wanted: int, visibility: int) -> list[StoredMessage]:
        now = self._clock()
        taken: list[StoredMessage] = []
        for message in [m for m in queue.messages if m.visible_at <= now]:
            if len(taken) >= min(wanted, 10):
                break
            if queue.dlq_url and message.receive_count >= queue.max_receive_count > 0:
                # SQS's redrive: the receive that would exceed maxReceiveCount moves it instead.
                queue.messages.remove(message)
                self._append(self._queue(queue.dlq_url), message.body, message.attributes)
                continue
            message.receive_count += 1
            message.receipt_handle = uuid.uuid4().hex
            message.visible_at = now + visibility
            taken.append(message)
        return taken

    def _next_change(self, url: str) -> float:
        """Seconds until a message of `url` becomes visible by itself (a timeout lapsing)."""
        now = self._clock()
        pending = [m.visible_at - now for m in self._queue(url).messages if m.visible_at > now]
        return max(min(pending, default=1.0), 0.001)

    @staticmethod
    def _holding(queue: MemoryQueue, handle: str) -> StoredMessage | None:
        return next((m for m in queue.messages if m.receipt_handle == handle), None)

    @staticmethod
    def _received(queue: str, url: str, message: StoredMessage) -> Received:
        assert message.receipt_handle is not None
        return Received(
            queue=queue,
            queue_url=url,
            message_id=message.message_id,
            receipt_handle=message.receipt_handle,
            body=message.body,
            receive_count=message.receive_count,
            attributes=dict(message.attributes),
        )


def _invalid(index: int, handle: str) -> BatchFailure:
    return BatchFailure(
        index, "ReceiptHandleIsInvalid", f"receipt handle {handle[:12]}... is not current"
    )
