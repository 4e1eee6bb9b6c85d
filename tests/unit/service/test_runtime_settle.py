"""The failure policy: classification, the verdict for a message, the dead-letter attributes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError

from service.backoff import Backoff
from service.errors import is_permanent
from service.failures import DuplicateDelivery, MessageDecodeError, PermanentError, RetryableError
from service.settle import (
    ATTR_ERROR,
    ATTR_MESSAGE_TYPE,
    ATTR_SOURCE_QUEUE,
    MAX_ATTRIBUTES,
    Failure,
    classify,
    dead_letter_attributes,
    decide,
)
from service.transport import Received

BACKOFF = Backoff(base_seconds=5, max_seconds=900, jitter="none")


def received(**attributes: str) -> Received:
    return Received(
        queue="stages",
        queue_url="http://sqs/123/stages",
        message_id="m-1",
        receipt_handle="rh",
        body="{}",
        receive_count=4,
        attributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )


def test_permanent_errors_and_decode_errors_are_permanent() -> None:
    assert classify(PermanentError("bad row 3")) == Failure("PermanentError: bad row 3", True)
    assert classify(MessageDecodeError("not JSON")).permanent


def test_everything_else_is_retried_and_named_by_its_type() -> None:
    assert classify(RetryableError("later", delay=30)) == Failure(
        "RetryableError: later", False, 30
    )
    assert classify(ValueError("oops")) == Failure("ValueError: oops", False)
    throttled = ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "DescribeEndpoint"
    )
    failure = classify(throttled)
    assert not failure.permanent
    assert failure.error.startswith("ClientError: An error occurred (ThrottlingException)")


def test_verdicts() -> None:
    assert decide([], handled=1, receive_count=1, backoff=BACKOFF).outcome == "ok"
    assert decide([], handled=0, receive_count=1, backoff=BACKOFF).outcome == "dropped"
    retry = decide([classify(ValueError("x"))], 1, receive_count=3, backoff=BACKOFF)
    assert (retry.outcome, retry.retry_delay, retry.error) == ("retry", 20, "ValueError: x")


def test_a_permanent_failure_wins_over_a_retryable_one() -> None:
    failures = [classify(RetryableError("later")), classify(PermanentError("broken"))]
    verdict = decide(failures, handled=2, receive_count=1, backoff=BACKOFF)
    assert verdict.outcome == "dead-lettered"
    assert verdict.error == "RetryableError: later; PermanentError: broken"


def test_the_longest_own_delay_overrides_the_back_off() -> None:
    failures = [classify(RetryableError("a", delay=60)), classify(RetryableError("b", delay=7.4))]
    assert decide(failures, 2, receive_count=9, backoff=BACKOFF).retry_delay == 60


def test_dead_letter_attributes_keep_the_originals_and_add_the_reason() -> None:
    now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    attributes = dead_letter_attributes(
        received(origin="upstream"), "PermanentError: x", "t.a", now
    )
    values = {name: value["StringValue"] for name, value in attributes.items()}
    assert values == {
        "origin": "upstream",
        ATTR_ERROR: "PermanentError: x",
        ATTR_SOURCE_QUEUE: "http://sqs/123/stages",
        ATTR_MESSAGE_TYPE: "t.a",
        "automlops-source-message-id": "m-1",
        "automlops-receive-count": "4",
        "automlops-failed-at": "2026-11-26T10:00:00+00:00",
    }


def test_dead_letter_attributes_fit_in_ten_and_always_carry_the_error() -> None:
    many = received(**{f"a{i}": str(i) for i in range(12)}, **{ATTR_ERROR: "old reason"})
    attributes = dead_letter_attributes(many, "PermanentError: new reason", "t.a")
    assert len(attributes) == MAX_ATTRIBUTES
    assert attributes[ATTR_ERROR]["StringValue"] == "PermanentError: new reason"


# -- AWS errors, classified in one place ---------------------------------------------------------


def client_error(code: str, status: int, operation: str = "DescribeEndpoint") -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": f"{code} happened"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ValidationException", 400),  # SageMaker's "Could not find endpoint" is one
        ("AccessDeniedException", 400),
        ("AccessDenied", 403),
        ("ResourceNotFound", 400),
        ("NoSuchKey", 404),
        ("ResourceLimitExceeded", 400),  # a quota: waiting does not raise it
        ("InvalidParameterValue", 400),
        ("SerializationException", 400),
    ],
)
def test_aws_errors_that_retrying_cannot_clear_are_permanent(code: str, status: int) -> None:
    assert is_permanent(client_error(code, status))
    assert classify(client_error(code, status)).permanent


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 400),
        ("Throttling", 400),
        ("SlowDown", 503),
        ("RequestLimitExceeded", 400),
        ("InternalFailure", 500),
        ("ServiceUnavailable", 503),
        ("SomethingNew", 502),
        ("TooManyRequestsException", 429),
        ("RequestTimeout", 408),
        ("ExpiredTokenException", 400),
    ],
)
def test_throttling_5xx_and_timeouts_are_retried(code: str, status: int) -> None:
    assert not is_permanent(client_error(code, status))


def test_connection_failures_and_bugs_are_retried_and_malformed_requests_are_not() -> None:
    assert not is_permanent(EndpointConnectionError(endpoint_url="http://127.0.0.1:9"))
    assert not is_permanent(KeyError("a bug"))
    assert is_permanent(ParamValidationError(report="Invalid length for parameter Tags[0].Key"))


def test_a_duplicate_is_neither_a_failure_nor_a_retry() -> None:
    verdict = decide([classify(DuplicateDelivery("claimed by m-1"))], 1, 1, BACKOFF)
    assert verdict.outcome == "duplicate"
    assert verdict.error is None
    mixed = [classify(DuplicateDelivery("x")), classify(RetryableError("later"))]
    assert decide(mixed, 2, 1, BACKOFF).outcome == "retry"


def test_on_the_last_allowed_receive_a_retry_becomes_a_dead_letter_with_its_reason() -> None:
    failures = [classify(RetryableError("endpoint still Creating"))]
    assert decide(failures, 1, 5, BACKOFF).outcome == "retry"
    verdict = decide(failures, 1, 5, BACKOFF, last_attempt=True)
    assert verdict.outcome == "dead-lettered"
    assert verdict.error == (
        "RetryableError: endpoint still Creating (receive 5: the last the queue allows)"
    )


@pytest.mark.parametrize(
    ("original", "permanent"),
    [(500, False), (503, False), (None, False), (400, True), (415, True), (406, True)],
)
def test_a_model_error_is_permanent_only_when_the_container_answered_4xx(
    original: int | None, permanent: bool
) -> None:
    """InvokeEndpoint answers 424 whatever the container said; the container's status decides."""
    response: Any = {
        "Error": {"Code": "ModelError", "Message": "Received server error from primary"},
        "ResponseMetadata": {"HTTPStatusCode": 424},
    }
    if original is not None:
        response["OriginalStatusCode"] = original  # where botocore puts the modelled member
    error = ClientError(response, "InvokeEndpoint")
    assert is_permanent(error) is permanent
    assert classify(error).permanent is permanent
