"""No run stays "running" or "retrying" once its message is gone: an AWS error that retrying
cannot clear fails the run at once, and any failure on the last receive the queue allows is
recorded as the run's end, with error.json, before the message is dead-lettered."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from pipeline_harness import Pipeline, synthetic_csv

from handlers.messages import DataUploaded, EvaluateRequested, ModelTrained, TrainRequested
from handlers.naming import RunPaths
from handlers.stages import deploy, evaluate, preprocess, train, watch
from service.failures import PermanentError, RetryableError


@pytest.fixture(scope="module")
def pipeline_options() -> dict[str, Any]:
    # The stages are called directly; endpoints take 6 s to come up.
    return {"worker": False, "faults": {"endpoint_delay_seconds": 6.0}}


def deployed(pipeline: Pipeline, name: str, seed: int) -> EvaluateRequested:
    """A run through deploy, its endpoint still Creating."""
    key = f"data/bank-marketing/{name}.csv"
    uploaded = pipeline.upload(key, synthetic_csv(300, seed))
    fields = {"bucket": uploaded.bucket, "key": key, "etag": uploaded.etag.strip('"')}
    event = DataUploaded.from_event({**fields, "event_time": datetime.now(UTC).isoformat()}, "test")
    [request] = [o.message for o in preprocess.handle(event, pipeline.context())]
    assert isinstance(request, TrainRequested)
    [watching] = [o.message for o in train.handle(request, pipeline.context())]
    deadline = time.monotonic() + 60
    while True:
        job = pipeline.clients.sagemaker.describe_training_job(TrainingJobName=watching.job_name)  # type: ignore[attr-defined]
        if job["TrainingJobStatus"] not in watch.RUNNING or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    bucket, _, model = (
        job["ModelArtifacts"]["S3ModelArtifacts"].removeprefix("s3://").partition("/")
    )
    trained = ModelTrained.from_event({"bucket": bucket, "key": model}, "test")
    [evaluation] = [o.message for o in deploy.handle(trained, pipeline.context())]
    assert isinstance(evaluation, EvaluateRequested)
    return evaluation


def test_an_aws_error_retrying_cannot_clear_fails_the_run_at_once(pipeline: Pipeline) -> None:
    request = deployed(pipeline, "endpoint-gone", seed=41)
    # Someone deletes the endpoint: SageMaker answers ValidationException "Could not find".
    pipeline.clients.sagemaker.delete_endpoint(EndpointName=request.endpoint_name)
    with pytest.raises(PermanentError, match="ValidationException"):
        evaluate.handle(request, pipeline.context())
    run = pipeline.manifest(request.run_id)
    assert run is not None
    assert (run["status"], run["failed_stage"]) == ("failed", "evaluate")
    assert "Could not find endpoint" in run["error"]
    error = pipeline.read_json("reports", RunPaths(request.run_id).error)
    assert error["stage"] == "evaluate"
    assert "Could not find endpoint" in error["reason"]


def test_a_retryable_failure_on_the_last_allowed_receive_ends_the_run(
    pipeline: Pipeline,
) -> None:
    request = deployed(pipeline, "endpoint-slow", seed=42)
    # Not the last receive: the stage waits (the endpoint needs 6 s, the bound is 1 s).
    delivery = "the-one-delivery"  # redelivered by SQS with the same message id
    with pytest.raises(RetryableError, match="still Creating"):
        evaluate.handle(request, pipeline.context(delivery, endpoint_wait_seconds=1))
    waiting = pipeline.manifest(request.run_id)
    assert waiting is not None
    assert (waiting["status"], waiting["stages"]["evaluate"]["outcome"]) == ("running", "waiting")
    # The last receive: the same failure is now the run's end, recorded before the dead letter.
    context = pipeline.context(delivery, endpoint_wait_seconds=1, last_attempt=True)
    with pytest.raises(PermanentError, match="the last attempt the queue allows"):
        evaluate.handle(request, context)
    run = pipeline.manifest(request.run_id)
    assert run is not None
    assert (run["status"], run["failed_stage"]) == ("failed", "evaluate")
    assert "still Creating" in run["error"]
    assert pipeline.read_json("reports", RunPaths(request.run_id).error)["stage"] == "evaluate"
