"""The queue service as the runtime sees it: a protocol, with SQS (`service/sqs.py`) and an
in-memory implementation (`service/memory.py`) for fast tests of the runtime itself.

Batch calls take any number of entries (SQS's batches of ten are the implementation's business)
and return the entries that failed instead of raising, since one bad entry must not hide the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from service.failures import ConfigurationError

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef

BATCH_LIMIT = 10
MAX_DELAY_SECONDS = 900


@dataclass(frozen=True)
class Received:
    """One received SQS message, with the queue it came from."""

    queue: str  # the queue's role, e.g. "stages"
    queue_url: str
    message_id: str
    receipt_handle: str
    body: str
    receive_count: int
    attributes: Mapping[str, MessageAttributeValueTypeDef] = field(default_factory=dict)
    sent_at: float | None = None  # epoch seconds the queue says it was sent (SentTimestamp)


@dataclass(frozen=True)
class BatchFailure:
    index: int  # position in the list given to the batch call
    code: str
    message: str


@dataclass(frozen=True)
class QueueConfig:
    url: str
    dlq_url: str
    visibility_timeout: int
    max_receive_count: int


class Transport(Protocol):
    def receive(
        self, queue: str, url: str, max_messages: int, wait_seconds: int, visibility_timeout: int
    ) -> list[Received]:
        """Up to `max_messages`, waiting up to `wait_seconds` for the first; each received one is
        invisible for `visibility_timeout` seconds. `queue` is the role the caller knows it by."""
        ...

    def send(
        self,
        url: str,
        body: str,
        delay_seconds: int = 0,
        attributes: Mapping[str, MessageAttributeValueTypeDef] | None = None,
    ) -> str:
        """Send one message; returns its id."""
        ...

    def delete_batch(self, url: str, receipt_handles: Sequence[str]) -> list[BatchFailure]: ...

    def change_visibility_batch(
        self, url: str, changes: Sequence[tuple[str, int]]
    ) -> list[BatchFailure]:
        """`changes` are (receipt handle, seconds from now) pairs."""
        ...

    def queue_config(self, url: str) -> QueueConfig:
        """The queue's visibility timeout and dead-letter queue; ConfigurationError if it has
        no dead-letter queue (a failing message would cycle forever)."""
        ...


def no_dead_letter_queue(url: str) -> ConfigurationError:
    return ConfigurationError(
        f"queue {url} has no RedrivePolicy: every queue the worker polls needs a "
        "dead-letter queue, or a failing message would cycle forever"
    )


def clamp_delay(seconds: int) -> int:
    return int(min(max(seconds, 0), MAX_DELAY_SECONDS))
