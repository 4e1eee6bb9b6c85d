"""The runtime's Transport over Amazon SQS: receive, send, batched deletes and visibility changes,
and each queue's DLQ, read from its RedrivePolicy.

Batch calls take any number of entries and split them into SQS's batches of ten; they return the
entries SQS reports under `Failed` instead of raising, since one bad entry must not hide the rest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from service.failures import ConfigurationError
from service.transport import (
    BATCH_LIMIT,
    BatchFailure,
    QueueConfig,
    Received,
    clamp_delay,
    no_dead_letter_queue,
)

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef

SYSTEM_ATTRIBUTES = ("ApproximateReceiveCount", "SentTimestamp", "ApproximateFirstReceiveTimestamp")


class SqsTransport:
    """The Transport protocol over an SQS client (boto3)."""

    def __init__(self, sqs: SQSClient) -> None:
        self._sqs = sqs

    def receive(
        self, queue: str, url: str, max_messages: int, wait_seconds: int, visibility_timeout: int
    ) -> list[Received]:
        """`visibility_timeout` replaces the queue's own, so the heartbeat interval (a setting)
        always fits inside it whatever the queue was created with."""
        response = self._sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=visibility_timeout,
            MessageSystemAttributeNames=list(SYSTEM_ATTRIBUTES),  # type: ignore[arg-type]
            MessageAttributeNames=["All"],
        )
        return [_received(queue, url, raw) for raw in response.get("Messages", [])]

    def send(
        self,
        url: str,
        body: str,
        delay_seconds: int = 0,
        attributes: Mapping[str, MessageAttributeValueTypeDef] | None = None,
    ) -> str:
        response = self._sqs.send_message(
            QueueUrl=url,
            MessageBody=body,
            DelaySeconds=clamp_delay(delay_seconds),
            MessageAttributes=dict(attributes or {}),
        )
        return response["MessageId"]

    def delete_batch(self, url: str, receipt_handles: Sequence[str]) -> list[BatchFailure]:
        failures: list[BatchFailure] = []
        for start in range(0, len(receipt_handles), BATCH_LIMIT):
            chunk = receipt_handles[start : start + BATCH_LIMIT]
            entries = [{"Id": str(i), "ReceiptHandle": rh} for i, rh in enumerate(chunk)]
            response = self._sqs.delete_message_batch(QueueUrl=url, Entries=entries)  # type: ignore[arg-type]
            failures += _failures(response.get("Failed", []), start)
        return failures

    def change_visibility_batch(
        self, url: str, changes: Sequence[tuple[str, int]]
    ) -> list[BatchFailure]:
        """`changes` are (receipt handle, seconds from now) pairs."""
        failures: list[BatchFailure] = []
        for start in range(0, len(changes), BATCH_LIMIT):
            chunk = changes[start : start + BATCH_LIMIT]
            entries = [
                {"Id": str(i), "ReceiptHandle": rh, "VisibilityTimeout": seconds}
                for i, (rh, seconds) in enumerate(chunk)
            ]
            response = self._sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)  # type: ignore[arg-type]
            failures += _failures(response.get("Failed", []), start)
        return failures

    def queue_config(self, url: str) -> QueueConfig:
        """The queue's visibility timeout and dead-letter queue, read from its RedrivePolicy."""
        try:
            attrs = self._sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["RedrivePolicy", "VisibilityTimeout"]
            )["Attributes"]
        except ClientError as exc:
            raise ConfigurationError(f"queue {url}: cannot read its attributes: {exc}") from exc
        if "RedrivePolicy" not in attrs:
            raise no_dead_letter_queue(url)
        policy = json.loads(attrs["RedrivePolicy"])
        return QueueConfig(
            url=url,
            dlq_url=self._url_of_arn(str(policy["deadLetterTargetArn"]), url),
            visibility_timeout=int(attrs.get("VisibilityTimeout", "30")),
            max_receive_count=int(policy.get("maxReceiveCount", 0)),
        )

    def _url_of_arn(self, arn: str, source_url: str) -> str:
        # arn:aws:sqs:<region>:<account>:<name>
        parts = arn.split(":")
        if len(parts) != 6:
            raise ConfigurationError(f"queue {source_url}: dead-letter target {arn!r} is no ARN")
        try:
            response = self._sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])
        except ClientError as exc:
            raise ConfigurationError(
                f"queue {source_url}: dead-letter queue {arn} not found: {exc}"
            ) from exc
        return response["QueueUrl"]


def _received(queue: str, url: str, raw: Any) -> Received:
    return Received(
        queue=queue,
        queue_url=url,
        message_id=raw["MessageId"],
        receipt_handle=raw["ReceiptHandle"],
        body=raw.get("Body", ""),
        receive_count=int(raw.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
        attributes=raw.get("MessageAttributes", {}),
        sent_at=_epoch_seconds(raw.get("Attributes", {}).get("SentTimestamp")),
    )


def _epoch_seconds(milliseconds: str | None) -> float | None:
    try:
        return int(milliseconds or "") / 1000
    except ValueError:
        return None


def _failures(failed: Sequence[Any], offset: int) -> list[BatchFailure]:
    return [
        BatchFailure(
            index=offset + int(entry["Id"]),
            code=str(entry.get("Code", "")),
            message=str(entry.get("Message", "")),
        )
        for entry in failed
    ]
