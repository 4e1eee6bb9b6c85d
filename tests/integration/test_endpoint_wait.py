"""wait_in_service against the SageMaker emulator over HTTP: InService, Failed, past the bound."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import numpy as np
import pytest
import xgboost as xgb

from handlers.aws.endpoint_wait import MAX_PAUSE_SECONDS, noted, wait_in_service
from localcloud.sagemaker import Emulator
from localcloud.sagemaker.artifacts import pack
from localcloud.stack import (
    CREDENTIALS,
    REGION,
    SAGEMAKER_ROLE_ARN,
    Stack,
    StackConfig,
    running_sagemaker,
    running_stack,
)
from service.failures import PermanentError, RetryableError

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
FAST = 0.1  # first wait between DescribeEndpoint calls


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running_stack(StackConfig(prefix=f"e{uuid.uuid4().hex[:8]}")) as running:
        yield running


@pytest.fixture(scope="module")
def emulator(stack: Stack) -> Iterator[Emulator]:
    with running_sagemaker(stack, endpoint_delay_seconds=0.2) as running:
        yield running


@pytest.fixture(autouse=True)
def _reset_faults(emulator: Emulator) -> Iterator[None]:
    yield
    emulator.reset_faults()


@pytest.fixture(scope="module")
def sm(emulator: Emulator) -> SageMakerClient:
    session = boto3.Session(
        aws_access_key_id=CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=CREDENTIALS["aws_secret_access_key"],
        region_name=REGION,
    )
    return session.client("sagemaker", endpoint_url=emulator.url)


@pytest.fixture(scope="module")
def model_data(stack: Stack) -> str:
    """A real, tiny XGBoost model in the container's model.tar.gz layout, in the models bucket."""
    rng = np.random.default_rng(1729)
    features = rng.normal(size=(200, 3))
    labels = (features[:, 0] > 0).astype(np.float64)
    params = {"objective": "binary:logistic", "max_depth": 2}
    booster = xgb.train(params, xgb.DMatrix(features, label=labels), num_boost_round=5)
    bucket, key = stack.buckets["models"], "runs/wait/model/output/model.tar.gz"
    stack.client("s3").put_object(Bucket=bucket, Key=key, Body=pack(booster))
    return f"s3://{bucket}/{key}"


def create_endpoint(sm: SageMakerClient, model_data: str, label: str) -> str:
    """Model, serverless config and endpoint, named after `label` (fault rules match on it)."""
    name = f"wait-{label}-{uuid.uuid4().hex[:8]}"
    sm.create_model(
        ModelName=name,
        ExecutionRoleArn=SAGEMAKER_ROLE_ARN,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": model_data},
    )
    serverless: Any = {"MemorySizeInMB": 4096, "MaxConcurrency": 1}
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": name, "ServerlessConfig": serverless}
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    return name


def status_of(sm: SageMakerClient, name: str) -> str:
    return str(sm.describe_endpoint(EndpointName=name)["EndpointStatus"])


def test_returns_once_the_endpoint_is_in_service(sm: SageMakerClient, model_data: str) -> None:
    name = create_endpoint(sm, model_data, "ok")
    wait_in_service(sm, name, bound_seconds=30, first_wait=FAST)
    assert status_of(sm, name) == "InService"


def test_returns_at_once_for_an_endpoint_already_in_service(
    sm: SageMakerClient, model_data: str
) -> None:
    name = create_endpoint(sm, model_data, "ready")
    wait_in_service(sm, name, bound_seconds=30, first_wait=FAST)
    started = time.monotonic()
    wait_in_service(sm, name, bound_seconds=30, first_wait=5)
    assert time.monotonic() - started < 2


def test_a_failed_endpoint_is_permanent_with_its_failure_reason(
    sm: SageMakerClient, emulator: Emulator, model_data: str
) -> None:
    reason = "The container ran out of memory while loading the model."
    emulator.set_faults(endpoint_failures={"wait-failed-": reason})
    name = create_endpoint(sm, model_data, "failed")
    with pytest.raises(PermanentError) as caught:
        wait_in_service(sm, name, bound_seconds=30, first_wait=FAST)
    assert status_of(sm, name) == "Failed"
    assert caught.value.reason == f"endpoint {name} failed: {reason}"


def test_a_failed_health_check_carries_sagemakers_own_reason(
    sm: SageMakerClient, emulator: Emulator, model_data: str
) -> None:
    emulator.set_faults(endpoint_failures={"wait-ping-": ""})
    name = create_endpoint(sm, model_data, "ping")
    with pytest.raises(PermanentError, match="did not pass the ping health check"):
        wait_in_service(sm, name, bound_seconds=30, first_wait=FAST)


def test_past_the_bound_it_is_retryable_and_returns_soon(
    sm: SageMakerClient, emulator: Emulator, model_data: str
) -> None:
    emulator.set_faults(endpoint_delay_seconds=5)
    name = create_endpoint(sm, model_data, "slow")
    started = time.monotonic()
    with pytest.raises(RetryableError) as caught:
        wait_in_service(sm, name, bound_seconds=1, first_wait=FAST)
    elapsed = time.monotonic() - started
    assert 1 <= elapsed < 4
    assert caught.value.reason == f"endpoint {name} is still Creating after 1 s"
    assert caught.value.delay == 60
    assert status_of(sm, name) == "Creating"


def test_the_wait_is_noted_for_the_summary_line_even_when_it_fails() -> None:
    notes: dict[str, Any] = {}

    def failing_wait() -> None:
        with noted(notes):
            time.sleep(0.02)
            raise RuntimeError("endpoint Failed")

    with noted(notes):
        time.sleep(0.02)
    with pytest.raises(RuntimeError):
        failing_wait()
    assert notes["endpoint_wait_ms"] >= 40  # both waits, added up


def test_the_pauses_grow_to_ten_seconds_and_no_further(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []
    monkeypatch.setattr("tenacity.nap.time.sleep", pauses.append)  # no real waiting

    class Creating:
        calls = 0

        def describe_endpoint(self, EndpointName: str) -> dict[str, str]:
            self.calls += 1
            return {"EndpointStatus": "Creating" if self.calls < 12 else "InService"}

    wait_in_service(Creating(), "ep", bound_seconds=300)  # type: ignore[arg-type]
    assert len(pauses) == 11
    assert pauses[0] < 1  # the first look comes soon
    assert max(pauses) <= MAX_PAUSE_SECONDS + 0.25  # the cap, plus its jitter
    assert min(pauses[-4:]) >= MAX_PAUSE_SECONDS  # reached, and held
