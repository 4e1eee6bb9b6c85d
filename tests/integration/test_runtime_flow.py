"""The runtime end to end against moto over HTTP: routing, follow-ups, S3 events, dead-letters."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import pytest

from handlers.messages import DataUploaded
from handlers.routes import S3_RULES
from localcloud.stack import Stack
from service.context import HandlerContext
from service.failures import PermanentError
from service.messages import Outgoing, StageMessage, encode_envelope
from service.routing import Route
from service.worker import Worker

if TYPE_CHECKING:
    from conftest import Broker, QueueTool, Summaries

StartWorker = Callable[..., Worker]
SUMMARY_KEYS = {
    "queue",
    "message_id",
    "message_type",
    "stage",
    "run_id",
    "receive_count",
    "outcome",
    "duration_ms",
}


@dataclass(frozen=True, kw_only=True)
class Start(StageMessage):
    TYPE: ClassVar[str] = "test.start"
    n: int


@dataclass(frozen=True, kw_only=True)
class Next(StageMessage):
    TYPE: ClassVar[str] = "test.next"
    n: int


class Calls:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self._lock = threading.Lock()

    def record(self, message: Any) -> None:
        with self._lock:
            self.messages.append(message)


def s3_event(bucket: str, *keys: str, event: str = "ObjectCreated:Put") -> str:
    records = [
        {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "eventName": event,
            "eventTime": "2026-11-26T10:00:00.000Z",
            "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 3, "eTag": "abc"}},
        }
        for key in keys
    ]
    return json.dumps({"Records": records})


def test_message_is_routed_handled_followed_up_and_deleted(
    start_worker: StartWorker, summaries: Summaries, queues: QueueTool, broker: Broker
) -> None:
    calls = Calls()

    def start(msg: Start, ctx: HandlerContext[object]) -> list[Outgoing]:
        calls.record(msg)
        return [Outgoing(Next(run_id=msg.run_id, n=msg.n + 1))]

    def follow(msg: Next, ctx: HandlerContext[object]) -> list[Outgoing]:
        calls.record(msg)
        return []

    start_worker([Route(Start, start), Route(Next, follow)])
    message_id = queues.send(broker.queue_urls["stages"], encode_envelope(Start(run_id="r-1", n=1)))

    settled = summaries.wait_count(2)
    assert calls.messages == [Start(run_id="r-1", n=1), Next(run_id="r-1", n=2)]
    first = next(s for s in settled if s["message_type"] == "test.start")
    assert first.keys() >= SUMMARY_KEYS
    assert first["message_id"] == message_id
    assert (first["queue"], first["run_id"], first["receive_count"]) == ("stages", "r-1", 1)
    assert (first["outcome"], first["followups"]) == ("ok", 1)
    assert "error" not in first
    assert 0 <= first["handler_ms"] <= first["duration_ms"]
    if broker.kind == "sqs":  # SQS says when it was sent (memory keeps no such clock)
        assert 0 <= first["queued_ms"] < 60_000
    assert [s["outcome"] for s in settled] == ["ok", "ok"]
    assert queues.wait_until(lambda: queues.depth(broker.queue_urls["stages"]) == 0, 5)


@pytest.mark.parametrize("broker", ["sqs"], indirect=True)  # moto's long poll, not memory's
def test_a_follow_up_is_taken_by_the_long_poll_already_waiting(
    start_worker: StartWorker,
    make_settings: Callable[..., Any],
    summaries: Summaries,
    queues: QueueTool,
    broker: Broker,
) -> None:
    sent_at: list[float] = []
    started_at: list[float] = []

    def start(msg: Start, ctx: HandlerContext[object]) -> list[Outgoing]:
        time.sleep(1.5)  # the stages queue goes quiet: its poller is back in a 20 s long poll
        sent_at.append(time.monotonic())
        return [Outgoing(Next(run_id=msg.run_id, n=msg.n + 1))]

    def follow(msg: Next, ctx: HandlerContext[object]) -> list[Outgoing]:
        started_at.append(time.monotonic())
        return []

    start_worker(
        [Route(Start, start), Route(Next, follow)], settings=make_settings(poll_wait_seconds=20)
    )
    queues.send(broker.queue_urls["stages"], encode_envelope(Start(run_id="r-1", n=1)))
    summaries.wait_count(2, timeout=30)
    # Far less than a poll's 20 s: the waiting receive returned as the follow-up arrived.
    assert started_at[0] - sent_at[0] < 2.0


@pytest.mark.parametrize("broker", ["sqs"], indirect=True)  # S3 notifies SQS, not memory
def test_s3_upload_arrives_as_typed_message_with_decoded_key(
    start_worker: StartWorker, summaries: Summaries, broker: Broker, stack: Stack
) -> None:
    calls = Calls()

    def uploaded(msg: DataUploaded, ctx: HandlerContext[object]) -> list[Outgoing]:
        calls.record(msg)
        return []

    start_worker([Route(DataUploaded, uploaded)], S3_RULES)
    key = "data/bank marketing/q1+q2 Zürich €.csv"
    body = b"a,b\n1,2\n"
    stack.client("s3").put_object(Bucket=broker.buckets["raw"], Key=key, Body=body)

    [summary] = summaries.wait_count(1)
    assert (summary["message_type"], summary["outcome"]) == ("data.uploaded", "ok")
    [message] = calls.messages
    assert isinstance(message, DataUploaded)
    assert (message.bucket, message.key, message.size) == (broker.buckets["raw"], key, len(body))
    assert message.etag


@pytest.mark.parametrize("broker", ["sqs"], indirect=True)  # S3 notifies SQS, not memory
def test_s3_test_event_is_acknowledged_and_dropped(
    start_worker: StartWorker, summaries: Summaries, queues: QueueTool, broker: Broker, stack: Stack
) -> None:
    start_worker([], S3_RULES)
    s3 = stack.client("s3")
    bucket = broker.buckets["raw"]
    config = s3.get_bucket_notification_configuration(Bucket=bucket)
    config.pop("ResponseMetadata", None)
    # Setting the configuration again makes S3 (and moto) send an s3:TestEvent.
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)

    [summary] = summaries.wait_count(1)
    assert (summary["message_type"], summary["outcome"]) == ("s3:TestEvent", "dropped")
    assert queues.wait_until(lambda: queues.depth(broker.queue_urls["ingest"]) == 0, 5)
    assert queues.depth(broker.dlq_urls["ingest"]) == 0


def test_s3_object_matching_no_rule_is_dropped(
    start_worker: StartWorker, summaries: Summaries, queues: QueueTool, broker: Broker
) -> None:
    start_worker([], S3_RULES)
    queues.send(broker.queue_urls["ingest"], s3_event(broker.buckets["raw"], "notes/readme.txt"))

    [summary] = summaries.wait_count(1)
    assert summary["outcome"] == "dropped"
    assert queues.wait_until(lambda: queues.depth(broker.queue_urls["ingest"]) == 0, 5)
    assert queues.depth(broker.dlq_urls["ingest"]) == 0


def test_every_record_of_an_s3_event_is_handled_and_the_message_settles_once(
    start_worker: StartWorker, summaries: Summaries, queues: QueueTool, broker: Broker
) -> None:
    calls = Calls()

    def uploaded(msg: DataUploaded, ctx: HandlerContext[object]) -> list[Outgoing]:
        calls.record(msg.key)
        if msg.key.endswith("bad.csv"):
            raise PermanentError("column age is not a number")
        return [Outgoing(Next(run_id="r-s3", n=len(msg.key)))]

    start_worker([Route(DataUploaded, uploaded), Route(Next, lambda msg, ctx: [])], S3_RULES)
    keys = ("data/a/one.csv", "data/a/bad.csv", "data/a/two+three.csv")
    body = s3_event(broker.buckets["raw"], *keys)
    queues.send(broker.queue_urls["ingest"], body)

    settled = summaries.wait_count(3)  # the S3 message + the two follow-ups it produced
    decoded = ["data/a/one.csv", "data/a/bad.csv", "data/a/two three.csv"]
    assert sorted(calls.messages) == sorted(decoded)
    [s3_summary] = [s for s in settled if s["queue"] == "ingest"]
    assert s3_summary["outcome"] == "dead-lettered"
    assert s3_summary["followups"] == 2  # sent even though another record failed
    assert "PermanentError: column age is not a number" in s3_summary["error"]
    [dead] = queues.receive_all(broker.dlq_urls["ingest"])
    assert dead["Body"] == body


def test_permanent_failure_goes_to_the_dlq_at_once_with_reason_and_original(
    start_worker: StartWorker, summaries: Summaries, queues: QueueTool, broker: Broker
) -> None:
    calls = Calls()

    def start(msg: Start, ctx: HandlerContext[object]) -> list[Outgoing]:
        calls.record(msg)
        raise PermanentError("row 3: column age is not a number")

    start_worker([Route(Start, start)])
    body = encode_envelope(Start(run_id="r-p", n=1))
    origin = {"origin": {"DataType": "String", "StringValue": "upstream"}}
    message_id = queues.send(broker.queue_urls["stages"], body, origin)

    [summary] = summaries.wait_count(1)
    assert summary["outcome"] == "dead-lettered"
    assert summary["error"] == "PermanentError: row 3: column age is not a number"
    assert len(calls.messages) == 1  # not retried
    [dead] = queues.receive_all(broker.dlq_urls["stages"])
    assert dead["Body"] == body
    attributes = {name: value["StringValue"] for name, value in dead["MessageAttributes"].items()}
    assert attributes["origin"] == "upstream"
    assert attributes["automlops-error"] == summary["error"]
    assert attributes["automlops-source-queue"] == broker.queue_urls["stages"]
    assert attributes["automlops-message-type"] == "test.start"
    assert attributes["automlops-source-message-id"] == message_id
    assert queues.depth(broker.queue_urls["stages"]) == 0


def test_undecodable_messages_are_dead_lettered_with_the_reason(
    start_worker: StartWorker, summaries: Summaries, queues: QueueTool, broker: Broker
) -> None:
    start_worker([Route(Start, lambda msg, ctx: [])])
    envelope = json.loads(encode_envelope(Start(run_id="r-d", n=1)))
    bodies = {
        "bad json": "{not json",
        "unknown type": json.dumps({**envelope, "type": "no.such.type"}),
        "missing field": json.dumps({**envelope, "payload": {}}),
    }
    for body in bodies.values():
        queues.send(broker.queue_urls["stages"], body)

    settled = summaries.wait_count(3)
    assert {s["outcome"] for s in settled} == {"dead-lettered"}
    errors = sorted(s["error"] for s in settled)
    assert all(e.startswith("MessageDecodeError: ") for e in errors)
    assert any("not JSON" in e for e in errors)
    assert any("unknown message type 'no.such.type'" in e for e in errors)
    assert any("test.start.payload.n: required field is missing" in e for e in errors)
    assert sorted(s["message_type"] for s in settled) == ["no.such.type", "test.start", "unknown"]
    dead = queues.receive_all(broker.dlq_urls["stages"])
    assert sorted(m["Body"] for m in dead) == sorted(bodies.values())
