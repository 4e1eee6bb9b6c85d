"""Waits, within a bound, for an endpoint to be InService (tenacity, exponential + jitter).

Serverless endpoints can take more than ten minutes. The wait here is bounded so a handler
thread is never held for long: past the bound the message is retried later, and `Failed` is
permanent, carrying the endpoint's FailureReason.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from tenacity import (
    RetryError,
    Retrying,
    retry_if_result,
    stop_after_delay,
    wait_exponential_jitter,
)

from service.failures import PermanentError, RetryableError

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

SETTLING = ("Creating", "Updating", "SystemUpdating", "RollingBack")
NOTE = "endpoint_wait_ms"  # in the message's summary line: how long its stage waited
# The longest pause between two DescribeEndpoint calls: the endpoint is seen InService at most
# this late (one cheap call per 10 s per waiting stage, where 30 s gave 15 s of idle on average).
MAX_PAUSE_SECONDS = 10


@contextmanager
def noted(notes: MutableMapping[str, Any]) -> Iterator[None]:
    """Adds the block's time to `notes[NOTE]`: the stage's waiting, told apart from its work."""
    began = time.monotonic()
    try:
        yield
    finally:
        waited = (time.monotonic() - began) * 1000
        notes[NOTE] = round(float(notes.get(NOTE, 0.0)) + waited, 1)


def wait_in_service(
    sagemaker: SageMakerClient, endpoint: str, bound_seconds: float, first_wait: float = 0.25
) -> None:
    retrying = Retrying(
        stop=stop_after_delay(bound_seconds),
        wait=wait_exponential_jitter(
            multiplier=first_wait, max=MAX_PAUSE_SECONDS, jitter=first_wait
        ),
        retry=retry_if_result(lambda described: described["EndpointStatus"] in SETTLING),
    )
    try:
        described = retrying(sagemaker.describe_endpoint, EndpointName=endpoint)
    except RetryError as exc:
        status = exc.last_attempt.result()["EndpointStatus"]
        raise RetryableError(
            f"endpoint {endpoint} is still {status} after {bound_seconds:.0f} s", delay=60
        ) from None
    status = described["EndpointStatus"]
    if status == "Failed":
        reason = described.get("FailureReason")
        raise PermanentError(f"endpoint {endpoint} failed: {reason or 'no FailureReason given'}")
    if status != "InService":
        raise PermanentError(f"endpoint {endpoint} is {status}, not InService")
