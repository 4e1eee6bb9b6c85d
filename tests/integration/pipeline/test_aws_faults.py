"""AWS answering with errors, injected in the SageMaker emulator: a run completes through
transient throttling, and fails at once, with the recorded reason, on an error retrying cannot
clear."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pipeline_harness import Pipeline, synthetic_csv

from handlers.naming import RunPaths

DATASET = "bank-marketing"


@pytest.fixture
def faults(pipeline: Pipeline) -> Iterator[Any]:
    yield pipeline.emulator
    pipeline.emulator.set_faults(api_errors={})


def test_a_run_completes_through_throttling(pipeline: Pipeline, faults: Any) -> None:
    # Six throttled calls: the SDK's six attempts (five retries) give up on the first delivery
    # (the stage is retried by the worker's back-off); its next call gets through.
    faults.set_faults(
        api_errors={"DescribeEndpoint": {"code": "ThrottlingException", "status": 400, "times": 6}}
    )
    key = f"data/{DATASET}/throttled.csv"
    pipeline.upload(key, synthetic_csv(300, seed=71))
    run = pipeline.wait_for_run(key, timeout=120)
    assert run["status"] == "succeeded", run
    retried = [
        s
        for s in pipeline.settled.items
        if s["run_id"] == run["run_id"] and s["outcome"] == "retry"
    ]
    assert retried, "the throttling never reached the worker's own retries"
    assert "ThrottlingException" in retried[0]["error"]


def test_an_error_retrying_cannot_clear_fails_the_run_at_once(
    pipeline: Pipeline, faults: Any
) -> None:
    faults.set_faults(
        api_errors={
            "CreateTrainingJob": {
                "code": "AccessDeniedException",
                "status": 400,
                "message": "User is not authorized to perform: sagemaker:CreateTrainingJob",
            }
        }
    )
    key = f"data/{DATASET}/denied.csv"
    pipeline.upload(key, synthetic_csv(300, seed=72))
    run = pipeline.wait_for_run(key)
    assert (run["status"], run["failed_stage"]) == ("failed", "train")
    assert "AccessDeniedException" in run["error"]
    assert run["stages"]["train"]["attempts"] == 1  # not retried: it could not help
    error = pipeline.read_json("reports", RunPaths(run["run_id"]).error)
    assert "not authorized" in error["reason"]
    [dead] = pipeline.dead_letters_of_run(run["run_id"])
    reason = dead["MessageAttributes"]["automlops-error"]["StringValue"]
    assert "AccessDeniedException" in reason
