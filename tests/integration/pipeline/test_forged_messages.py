"""Stage messages are not trusted: anyone who can send to the stages queue could write one. A
message with an invented run, a run id that is no run id, or names that are not its run's is
dead-lettered with the reason, and nothing is written for it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pipeline_harness import Pipeline, synthetic_csv

from handlers.messages import DataUploaded, ModelEvaluated
from handlers.naming import RunPaths, sagemaker_names
from handlers.stages import preprocess
from handlers.stages.promote import handle as promote
from service.failures import RetryableError

DATASET = "bank-marketing"


def envelope(kind: str, run_id: str, **payload: Any) -> str:
    sent_at = datetime.now(UTC).isoformat()
    return json.dumps(
        {"type": kind, "version": 1, "run_id": run_id, "payload": payload, "sent_at": sent_at}
    )


def evaluated(run_id: str, dataset: str = DATASET, **changes: str) -> dict[str, Any]:
    names = sagemaker_names(dataset, run_id)
    payload = {
        "dataset": dataset,
        "endpoint_name": names.endpoint,
        "metrics_key": RunPaths(run_id).evaluation["metrics"],
    }
    return {**payload, **changes}


@pytest.fixture(scope="module")
def finished(pipeline: Pipeline) -> dict[str, Any]:
    """A succeeded run whose own messages are all settled."""
    key = f"data/{DATASET}/a-real-run.csv"
    pipeline.upload(key, synthetic_csv(300, seed=31))
    run = pipeline.wait_for_run(key)
    assert run["status"] == "succeeded", run
    return pipeline.wait_until_quiet(run)


def dead_reason(pipeline: Pipeline, body: str) -> str:
    """Send `body` to the stages queue; the reason its dead letter carries."""
    pipeline.clients.sqs.send_message(QueueUrl=pipeline.runtime.stages_queue_url, MessageBody=body)
    [dead] = pipeline.dead_letters("stages", lambda dead_body: dead_body == body)
    return str(dead["MessageAttributes"]["automlops-error"]["StringValue"])


def test_a_model_evaluated_for_an_invented_run_creates_no_run(pipeline: Pipeline) -> None:
    run_id = "20261201-0123456789"
    reason = dead_reason(pipeline, envelope("model.evaluated", run_id, **evaluated(run_id)))
    assert f"run {run_id} does not exist" in reason
    assert pipeline.manifest(run_id) is None  # no run, least of all a succeeded one
    assert pipeline.keys("reports", f"runs/{run_id}/") == []


@pytest.mark.parametrize("run_id", ["../../x", "20261201-../../evil", "20261201-ABCDEF0123"])
def test_a_run_id_that_is_no_run_id_is_refused_before_any_key_is_built(
    pipeline: Pipeline, run_id: str
) -> None:
    payload = {"dataset": DATASET, "endpoint_name": "x", "metrics_key": "x"}
    reason = dead_reason(pipeline, envelope("model.evaluated", run_id, **payload))
    assert "MessageDecodeError: model.evaluated.run_id" in reason
    assert "is not a run id" in reason
    every_key = pipeline.keys("reports", "")
    assert not [key for key in every_key if "evil" in key or key.startswith(("x", "../"))]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("endpoint_name", "someone-elses-endpoint"),
        ("metrics_key", "runs/20261201-0000000000/evaluation/metrics.json"),
        ("dataset", "Bank Marketing"),
    ],
)
def test_names_that_are_not_the_runs_own_are_refused(
    pipeline: Pipeline, finished: dict[str, Any], field: str, value: str
) -> None:
    run_id = finished["run_id"]
    before = pipeline.manifest(run_id)
    reason = dead_reason(
        pipeline, envelope("model.evaluated", run_id, **evaluated(run_id, **{field: value}))
    )
    assert f"model.evaluated.{field}" in reason
    assert pipeline.manifest(run_id) == before


def test_a_training_watch_for_another_job_is_refused(
    pipeline: Pipeline, finished: dict[str, Any]
) -> None:
    run_id = finished["run_id"]
    payload = {"dataset": DATASET, "job_name": "some-other-teams-job"}
    reason = dead_reason(pipeline, envelope("training.watch", run_id, **payload))
    assert "training.watch.job_name: 'some-other-teams-job' is not this run's" in reason


def test_a_message_of_another_dataset_for_an_existing_run_changes_nothing(
    pipeline: Pipeline, finished: dict[str, Any]
) -> None:
    run_id = finished["run_id"]
    before = pipeline.manifest(run_id)
    reason = dead_reason(
        pipeline, envelope("model.evaluated", run_id, **evaluated(run_id, dataset="other"))
    )
    assert "names dataset 'other', but the run is of 'bank-marketing'" in reason
    assert pipeline.manifest(run_id) == before


def test_a_stage_message_that_comes_before_its_run_is_ready_waits(pipeline: Pipeline) -> None:
    """A run whose evaluation has not ended is not finished by a model.evaluated."""
    key = f"data/{DATASET}/not-yet-evaluated.csv.held"  # no S3 rule takes it: the worker won't
    event = pipeline.upload(key, synthetic_csv(300, seed=32))
    # The stage called directly, so no worker carries the run on meanwhile.
    fields = {"bucket": event.bucket, "key": key, "etag": event.etag.strip('"')}
    uploaded = DataUploaded.from_event({**fields, "event_time": "2026-12-01T00:00:00Z"}, "test")
    preprocess.handle(uploaded, pipeline.context())
    message = ModelEvaluated(run_id=uploaded.run_id, **evaluated(uploaded.run_id))
    with pytest.raises(RetryableError, match="is early \\(evaluate is not started\\)"):
        promote.handle_evaluated(message, pipeline.context())
    document = pipeline.manifest(uploaded.run_id)
    assert document is not None
    assert document["status"] == "running"
