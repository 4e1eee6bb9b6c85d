"""The Transport contract, one test body for both implementations: SQS (moto's server over
HTTP) and the in-memory transport the runtime's fast tests use. What the memory transport
claims to keep of SQS is checked here against SQS itself."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from service.failures import ConfigurationError
from service.memory import MemoryTransport

if TYPE_CHECKING:
    from conftest import Broker

WAIT = 1  # long poll, seconds


def test_a_message_arrives_with_its_body_attributes_and_first_receive_count(
    broker: Broker,
) -> None:
    url = broker.queue_urls["stages"]
    attributes: dict[str, Any] = {"origin": {"DataType": "String", "StringValue": "test"}}
    sent = broker.transport.send(url, "hello", attributes=attributes)
    [got] = broker.transport.receive("stages", url, 10, WAIT, 30)
    assert (got.message_id, got.body, got.receive_count, got.queue) == (sent, "hello", 1, "stages")
    assert got.attributes["origin"]["StringValue"] == "test"
    assert broker.transport.delete_batch(url, [got.receipt_handle]) == []
    assert broker.tool.depth(url) == 0


def test_a_received_message_stays_invisible_until_its_visibility_changes(broker: Broker) -> None:
    url = broker.queue_urls["stages"]
    broker.transport.send(url, "once")
    [first] = broker.transport.receive("stages", url, 10, WAIT, 30)
    assert broker.transport.receive("stages", url, 10, 0, 30) == []
    assert broker.tool.depth(url) == 1  # in flight still counts
    assert broker.transport.change_visibility_batch(url, [(first.receipt_handle, 0)]) == []
    [again] = broker.transport.receive("stages", url, 10, WAIT, 30)
    assert (again.message_id, again.receive_count) == (first.message_id, 2)
    assert again.receipt_handle != first.receipt_handle
    broker.transport.delete_batch(url, [again.receipt_handle])


def test_a_delayed_message_is_held_back(broker: Broker) -> None:
    url = broker.queue_urls["stages"]
    broker.transport.send(url, "later", delay_seconds=1)
    sent_at = time.monotonic()
    assert broker.transport.receive("stages", url, 10, 0, 30) == []
    [got] = broker.transport.receive("stages", url, 10, 3, 30)
    assert time.monotonic() - sent_at >= 0.9
    broker.transport.delete_batch(url, [got.receipt_handle])


def test_a_batch_reports_the_bad_entry_and_settles_the_good_ones(broker: Broker) -> None:
    url = broker.queue_urls["stages"]
    for body in ("a", "b"):
        broker.transport.send(url, body)
    received = broker.transport.receive("stages", url, 10, WAIT, 30)
    while len(received) < 2:
        received += broker.transport.receive("stages", url, 10, WAIT, 30)
    bogus = "not-a-receipt-handle-" + uuid.uuid4().hex
    failures = broker.transport.delete_batch(
        url, [received[0].receipt_handle, bogus, received[1].receipt_handle]
    )
    assert [f.index for f in failures] == [1]
    assert failures[0].code  # e.g. ReceiptHandleIsInvalid
    assert broker.tool.depth(url) == 0


def test_beyond_max_receive_count_the_queue_redrives_to_its_dlq(broker: Broker) -> None:
    url, dlq = broker.queue_urls["stages"], broker.dlq_urls["stages"]
    config = broker.transport.queue_config(url)
    assert (config.dlq_url, config.max_receive_count) == (dlq, 3)
    broker.transport.send(url, "poison")
    for count in (1, 2, 3):
        [got] = broker.transport.receive("stages", url, 10, WAIT, 30)
        assert got.receive_count == count
        broker.transport.change_visibility_batch(url, [(got.receipt_handle, 0)])
    assert broker.transport.receive("stages", url, 10, 0, 30) == []
    assert broker.tool.wait_until(lambda: broker.tool.depth(dlq) == 1, 5)
    [dead] = broker.tool.receive_all(dlq)
    assert dead["Body"] == "poison"
    assert broker.tool.depth(url) == 0


def test_a_queue_without_a_dead_letter_queue_is_refused(broker: Broker) -> None:
    if isinstance(broker.transport, MemoryTransport):
        url = broker.transport.create_queue(f"no-dlq-{uuid.uuid4().hex[:6]}")
    else:
        sqs = broker.tool.sqs  # type: ignore[union-attr]
        url = sqs.create_queue(QueueName=f"no-dlq-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    with pytest.raises(ConfigurationError, match="has no RedrivePolicy"):
        broker.transport.queue_config(url)
