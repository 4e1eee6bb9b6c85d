"""S3 events that reach the queue through EventBridge or SNS decode to the same typed message as
a direct notification. The payloads follow AWS's published samples (S3 user guide: "EventBridge
event message structure", "Event message structure"; SNS developer guide: "Fanout to Amazon SQS
queues", message body without raw delivery)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers.messages import DataUploaded
from handlers.routes import ROUTES, S3_RULES
from service.decode import Decoder
from service.routing import build_route_table

RAW = "amzn-s3-demo-bucket1"
KEY = "data/bank-marketing/red flower+1.csv"  # a space and a plus: encoding matters
DIRECT_KEY = "data/bank-marketing/red+flower%2B1.csv"  # as S3 notifications write it


@pytest.fixture
def decoder() -> Decoder:
    return Decoder(build_route_table(ROUTES), S3_RULES, {"raw": RAW, "models": "models"})


def direct(key: str = DIRECT_KEY) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "ca-central-1",
                "eventTime": "2021-11-12T00:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": RAW, "arn": f"arn:aws:s3:::{RAW}"},
                    "object": {
                        "key": key,
                        "size": 5,
                        "eTag": "b1946ac92492d2347c6235b4d2611184",
                        "versionId": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
                        "sequencer": "00617F08299329D189",
                    },
                },
            }
        ]
    }


def eventbridge(detail_type: str = "Object Created") -> dict[str, Any]:
    return {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": detail_type,
        "source": "aws.s3",
        "account": "111122223333",
        "time": "2021-11-12T00:00:00Z",
        "region": "ca-central-1",
        "resources": [f"arn:aws:s3:::{RAW}"],
        "detail": {
            "version": "0",
            "bucket": {"name": RAW},
            "object": {
                "key": KEY,  # EventBridge does not URL-encode the key
                "size": 5,
                "etag": "b1946ac92492d2347c6235b4d2611184",
                "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
                "sequencer": "00617F08299329D189",
            },
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "source-ip-address": "1.2.3.4",
            "reason": "PutObject",
        },
    }


def through_sns(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": "arn:aws:sns:ca-central-1:111122223333:uploads",
        "Subject": "Amazon S3 Notification",
        "Message": json.dumps(message),
        "Timestamp": "2021-11-12T00:00:00.123Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": "https://sns.ca-central-1.amazonaws.com/cert.pem",
        "UnsubscribeURL": "https://sns.ca-central-1.amazonaws.com/?Action=Unsubscribe",
    }


def only_upload(decoder: Decoder, body: dict[str, Any]) -> DataUploaded:
    decoded = decoder.decode(json.dumps(body))
    [job] = decoded.jobs
    assert isinstance(job.message, DataUploaded)
    return job.message


@pytest.mark.parametrize(
    "body",
    [eventbridge(), through_sns(direct()), direct()],
    ids=["eventbridge", "sns-wrapped", "direct-or-sns-raw"],
)
def test_every_route_an_s3_event_takes_decodes_to_the_same_upload(
    decoder: Decoder, body: dict[str, Any]
) -> None:
    upload = only_upload(decoder, body)
    assert (upload.bucket, upload.key, upload.size) == (RAW, KEY, 5)
    assert upload.version_id == "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"
    assert upload.dataset == "bank-marketing"
    # The version id names the upload, so all three routes give the one run.
    assert upload.run_id == only_upload(decoder, direct()).run_id


def test_other_eventbridge_events_are_dropped_with_the_reason(decoder: Decoder) -> None:
    decoded = decoder.decode(json.dumps(eventbridge("Object Deleted")))
    assert decoded.jobs == ()
    assert decoded.dropped == ("event: Object Deleted is not Object Created",)


def test_the_test_event_through_sns_is_dropped(decoder: Decoder) -> None:
    test_event = {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2021-11-12T00:00:00.000Z",
        "Bucket": RAW,
        "RequestId": "5582815E1AEA5ADF",
        "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
    }
    decoded = decoder.decode(json.dumps(through_sns(test_event)))
    assert (decoded.jobs, decoded.label) == ((), "s3:TestEvent")
