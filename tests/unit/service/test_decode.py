"""Decoding SQS bodies into typed messages: envelopes, S3 events, and everything that is neither."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from service.context import HandlerContext
from service.decode import Decoder, guess_type
from service.failures import MessageDecodeError, RetryableError
from service.messages import ObjectCreated, Outgoing, S3Rule, StageMessage, encode_envelope
from service.routing import Route, build_route_table


@dataclass(frozen=True, kw_only=True)
class Uploaded(ObjectCreated):
    TYPE: ClassVar[str] = "test.uploaded"


@dataclass(frozen=True, kw_only=True)
class Trained(ObjectCreated):
    TYPE: ClassVar[str] = "test.trained"


@dataclass(frozen=True, kw_only=True)
class Step(StageMessage):
    TYPE: ClassVar[str] = "test.step"
    VERSION: ClassVar[int] = 2
    n: int
    note: str = ""


def nothing(msg: Any, ctx: HandlerContext[object]) -> list[Outgoing]:
    return []


RULES = (
    S3Rule(bucket="raw", prefix="data/", suffix=".csv", message=Uploaded),
    S3Rule(bucket="models", prefix="runs/", suffix="model.tar.gz", message=Trained),
)
ROUTES = build_route_table(
    [Route(Uploaded, nothing), Route(Trained, nothing), Route(Step, nothing)]
)
BUCKETS = {"raw": "my-raw", "models": "my-models"}


@pytest.fixture
def decoder() -> Decoder:
    return Decoder(ROUTES, RULES, BUCKETS)


def record(bucket: str, key: str, event: str = "ObjectCreated:Put", **obj: Any) -> dict[str, Any]:
    return {
        "eventSource": "aws:s3",
        "eventName": event,
        "eventTime": "2026-11-26T10:00:00.000Z",
        "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 7, "eTag": "e1", **obj}},
    }


def s3_body(*records: dict[str, Any]) -> str:
    return json.dumps({"Records": list(records)})


def envelope(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(encode_envelope(Step(run_id="r-1", n=3)))
    doc.update(changes)
    return doc


def test_envelope_round_trips_to_the_typed_message(decoder: Decoder) -> None:
    decoded = decoder.decode(encode_envelope(Step(run_id="r-1", n=3, note="x")))
    [job] = decoded.jobs
    assert job.message == Step(run_id="r-1", n=3, note="x")
    assert job.route is ROUTES["test.step"]
    assert (decoded.message_type, decoded.run_id) == ("test.step", "r-1")


def test_unknown_payload_fields_are_ignored_for_newer_senders(decoder: Decoder) -> None:
    body = json.dumps(envelope(payload={"n": 1, "added_later": True}))
    assert decoder.decode(body).jobs[0].message == Step(run_id="r-1", n=1)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "body is not JSON"),
        ("", "body is not JSON"),
        ("[1, 2]", "body is JSON list, expected an object"),
        (json.dumps({"hello": "world"}), "neither an envelope"),
        (json.dumps(envelope(type="no.such")), "unknown message type 'no.such'"),
        (json.dumps(envelope(payload={})), "test.step.payload.n: required field is missing"),
        (json.dumps(envelope(payload={"n": "3"})), "test.step.payload.n: expected int, got str"),
        (json.dumps(envelope(payload=[1])), "envelope.payload: expected dict, got list"),
        (json.dumps(envelope(version=True)), "envelope.version: expected int, got bool"),
        (
            json.dumps({k: v for k, v in envelope().items() if k != "run_id"}),
            "envelope.run_id: required field is missing",
        ),
        (
            json.dumps({k: v for k, v in envelope().items() if k != "sent_at"}),
            "envelope.sent_at: required field is missing",
        ),
    ],
)
def test_undecodable_bodies_are_permanent_and_say_why(
    decoder: Decoder, body: str, reason: str
) -> None:
    with pytest.raises(MessageDecodeError) as failure:
        decoder.decode(body)
    assert reason in failure.value.reason


def test_a_newer_envelope_version_is_retried_for_a_newer_worker(decoder: Decoder) -> None:
    with pytest.raises(RetryableError, match="version 3 is newer than this worker's 2"):
        decoder.decode(json.dumps(envelope(version=3)))


def test_every_record_of_an_s3_event_becomes_a_message_with_an_unquoted_key(
    decoder: Decoder,
) -> None:
    body = s3_body(
        record("my-raw", "data/bank+marketing/q1%2Bq2+Z%C3%BCrich.csv", versionId="v7"),
        record("my-models", "runs/r-9/output/model.tar.gz", sequencer="00A1"),
    )
    decoded = decoder.decode(body)
    first, second = (job.message for job in decoded.jobs)
    assert first == Uploaded(
        bucket="my-raw",
        key="data/bank marketing/q1+q2 Zürich.csv",
        size=7,
        etag="e1",
        version_id="v7",
        event_time="2026-11-26T10:00:00.000Z",
    )
    assert isinstance(second, Trained)
    assert (second.key, second.sequencer) == ("runs/r-9/output/model.tar.gz", "00A1")
    assert decoded.message_type == "test.uploaded,test.trained"
    assert decoded.dropped == ()


def test_s3_test_event_is_dropped(decoder: Decoder) -> None:
    body = json.dumps(
        {"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "t", "Bucket": "my-raw"}
    )
    decoded = decoder.decode(body)
    assert decoded.jobs == ()
    assert decoded.message_type == "s3:TestEvent"


def test_records_that_are_not_ours_are_dropped_with_a_reason(decoder: Decoder) -> None:
    decoded = decoder.decode(
        s3_body(
            record("my-raw", "data/a.csv", event="ObjectRemoved:Delete"),
            record("my-raw", "notes/readme.txt"),
            record("someone-elses", "data/a.csv"),
            record("my-raw", "data/kept.csv", event="ObjectCreated:CompleteMultipartUpload"),
        )
    )
    assert [job.message.key for job in decoded.jobs] == ["data/kept.csv"]
    assert decoded.dropped == (
        "Records[0]: event ObjectRemoved:Delete is not ObjectCreated",
        "Records[1]: no rule for s3://my-raw/notes/readme.txt",
        "Records[2]: no rule for s3://someone-elses/data/a.csv",
    )


def test_a_malformed_s3_record_names_the_missing_field(decoder: Decoder) -> None:
    broken = record("my-raw", "data/a.csv")
    del broken["s3"]["object"]["key"]
    with pytest.raises(MessageDecodeError, match=r"Records\[1\]\.s3\.object\.key: required field"):
        decoder.decode(s3_body(record("my-raw", "data/ok.csv"), broken))


def test_an_s3_rule_without_a_route_is_a_permanent_failure() -> None:
    decoder = Decoder(build_route_table([Route(Step, nothing)]), RULES, BUCKETS)
    with pytest.raises(MessageDecodeError, match=r"unknown message type 'test\.uploaded'"):
        decoder.decode(s3_body(record("my-raw", "data/a.csv")))


def test_the_type_of_an_undecodable_body_is_kept_for_the_record() -> None:
    assert guess_type(json.dumps(envelope(type="no.such", payload={}))) == "no.such"
    assert guess_type("{not json") == guess_type("[1]") == guess_type('{"type": 7}') == "unknown"


def test_a_deeply_nested_body_is_a_decode_error_not_a_crash(decoder: Decoder) -> None:
    body = "[" * 100_000 + "]" * 100_000
    with pytest.raises(MessageDecodeError, match="nested too deeply"):
        decoder.decode(body)
    assert guess_type(body) == "unknown"
    nested_type = '{"type": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert guess_type(nested_type) == "unknown"


def test_the_pipelines_rule_takes_csv_and_tsv_in_any_case_and_says_why_not_the_rest() -> None:
    from handlers.routes import ROUTES as PIPELINE_ROUTES
    from handlers.routes import S3_RULES

    pipeline = Decoder(build_route_table(PIPELINE_ROUTES), S3_RULES, {"raw": "r", "models": "m"})
    taken = [
        "data/d/a.csv",
        "data/d/B.CSV",
        "data/d/c.Csv",
        "data/d/d.csv.gz",
        "data/d/E.CSV.GZ",
        "data/d/f.tsv",
        "data/d/G.TSV.gz",
    ]
    decoded = pipeline.decode(s3_body(*(record("r", key) for key in taken)))
    assert [job.message.key for job in decoded.jobs] == taken
    assert {type(job.message).__name__ for job in decoded.jobs} == {"DataUploaded"}
    # Under data/ and score/, what the rules leave is recorded as ignored (a message of its
    # own); elsewhere nothing takes it.
    left = pipeline.decode(
        s3_body(
            record("r", "data/d/notes.txt"),
            record("r", "score/d/x.xlsx"),
            record("r", "other/x.csv"),
        )
    )
    assert [(type(j.message).__name__, j.message.key) for j in left.jobs] == [
        ("UploadIgnored", "data/d/notes.txt"),
        ("UploadIgnored", "score/d/x.xlsx"),
    ]
    assert left.dropped == ("Records[2]: no rule for s3://r/other/x.csv",)


def test_notifications_announce_what_a_rule_cannot_filter_by_its_prefix_only() -> None:
    from handlers.routes import S3_RULES
    from localcloud.stack import notification_filters

    assert notification_filters(S3_RULES) == {
        "raw": [{"prefix": "data/", "suffix": ""}, {"prefix": "score/", "suffix": ""}],
        "models": [{"prefix": "runs/", "suffix": "model.tar.gz"}],
    }


def test_a_catch_all_rule_is_announced_by_the_rules_of_its_prefix() -> None:
    """A rule without a notification of its own sees only what the bucket announces for
    another rule: one of the same bucket and prefix whose filter has no suffix."""
    from handlers.routes import S3_RULES

    for quiet in (r for r in S3_RULES if not r.notified):
        assert any(
            r.notified
            and r.bucket == quiet.bucket
            and quiet.prefix.startswith(r.prefix)
            and not r.notify_suffix
            for r in S3_RULES
        ), quiet
