"""At-least-once delivery: the S3 notification of one upload delivered three times at once (the
worker starts only once all three wait on the ingest queue), then twice more at once after the
run ended, still gives one run, one training job, one endpoint and one report; so does the model
artifact's notification delivered twice more after the run ended.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pipeline_harness import Pipeline, event_keys, synthetic_csv

from handlers.naming import DatasetNames, sagemaker_names
from handlers.stages import preprocess
from localcloud.stack import REGION

DATASET = "bank-marketing"
KEY = f"data/{DATASET}/delivered-three-times.csv"
COPIES = 2  # next to the original notification; and twice again after the run ended

SERVICE: Any = {"Name": "Service", "Value": "automlops"}


@pytest.fixture(scope="module")
def backend() -> None:
    """moto only. These copies race for one claim, and the claim is a conditional PutObject
    (`If-None-Match: *`), which S3 (and moto) apply atomically; LocalStack 4.9.2 does not: of 8
    concurrent creates of one key, 4 to 8 succeeded in 5 trials here. On LocalStack two copies
    would both do the work, which says nothing about the worker on AWS."""
    return


@pytest.fixture(scope="module")
def pipeline_options() -> dict[str, Any]:
    return {"worker": False}  # started once the copies are queued


@dataclass(frozen=True)
class Deliveries:
    run: dict[str, Any]  # the manifest once every delivery was handled
    summaries: list[dict[str, Any]]  # the worker's summary of each data.uploaded delivery


@pytest.fixture(scope="module")
def short_claim_wait() -> Iterator[None]:
    """A copy that finds the upload claimed but not yet processed looks again when the claim's
    lease ends: 5 s here (600 s in production), well past the holder's time to finish."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(preprocess, "CLAIM_LEASE_SECONDS", 5)
        yield


def send_at_once(pipeline: Pipeline, body: str, copies: int) -> None:
    """`copies` sends of `body` to the ingest queue, from as many threads released together."""
    start = threading.Barrier(copies)
    errors: list[BaseException] = []

    def send() -> None:
        start.wait()
        try:
            pipeline.clients.sqs.send_message(
                QueueUrl=pipeline.runtime.ingest_queue_url, MessageBody=body
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors, errors


def queued_notification(pipeline: Pipeline, key: str, timeout: float = 15) -> str:
    """The body of the notification S3 sent for `key`, left on the ingest queue."""
    sqs, url = pipeline.clients.sqs, pipeline.runtime.ingest_queue_url
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
            if key in event_keys(message["Body"]):
                return message["Body"]
    raise AssertionError(f"no notification for {key} on the ingest queue")


@pytest.fixture(scope="module")
def deliveries(pipeline: Pipeline, short_claim_wait: None) -> Deliveries:
    pipeline.upload(KEY, synthetic_csv(400, seed=31))
    notification = queued_notification(pipeline, KEY)
    send_at_once(pipeline, notification, COPIES)
    pipeline.start_worker()
    ended = pipeline.wait_for_run(KEY)
    assert ended["status"] == "succeeded", ended
    run_id = ended["run_id"]
    send_at_once(pipeline, notification, COPIES)

    def every_delivery_handled(items: list[dict[str, Any]]) -> bool:
        handled = {s["message_id"] for s in ours(items) if s["outcome"] in ("ok", "duplicate")}
        return len(handled) == 1 + 2 * COPIES

    def ours(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [s for s in items if s["message_type"] == "data.uploaded" and s["run_id"] == run_id]

    settled = pipeline.settled.wait_for(every_delivery_handled, timeout=60)
    run = pipeline.manifest(run_id)
    assert run is not None
    return Deliveries(run, ours(settled))


def test_duplicate_deliveries_make_one_run(pipeline: Pipeline, deliveries: Deliveries) -> None:
    assert [r["run_id"] for r in pipeline.runs_of(KEY)] == [deliveries.run["run_id"]]
    listed = pipeline.clients.s3.list_objects_v2(
        Bucket=pipeline.bucket("reports"), Prefix="runs/", Delimiter="/"
    )
    assert len(listed.get("CommonPrefixes", [])) == 1


def test_duplicate_deliveries_start_one_training_job(
    pipeline: Pipeline, deliveries: Deliveries
) -> None:
    jobs = pipeline.clients.sagemaker.list_training_jobs()["TrainingJobSummaries"]
    names = sagemaker_names(DATASET, deliveries.run["run_id"])
    assert [job["TrainingJobName"] for job in jobs] == [names.training_job]


def test_duplicate_deliveries_deploy_one_endpoint(
    pipeline: Pipeline, deliveries: Deliveries
) -> None:
    """One model; after the decision the run's own endpoint (made once) is gone, and the live
    endpoint exists if the version was promoted (its model stays while it serves)."""
    sm = pipeline.clients.sagemaker
    names = sagemaker_names(DATASET, deliveries.run["run_id"])
    promoted = deliveries.run["decision"]["decision"] == "promoted"
    live = [DatasetNames.for_dataset(DATASET).live_endpoint] if promoted else []
    assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == live
    assert [m["ModelName"] for m in sm.list_models()["Models"]] == (
        [names.live_model] if promoted else []
    )
    assert deliveries.run["stages"]["deploy"]["attempts"] == 1


def test_duplicate_deliveries_write_one_report(pipeline: Pipeline, deliveries: Deliveries) -> None:
    reports = [key for key in pipeline.keys("reports", "runs/") if key.endswith("metrics.json")]
    assert reports == [f"runs/{deliveries.run['run_id']}/evaluation/metrics.json"]
    assert deliveries.run["stages"]["evaluate"]["attempts"] == 1


def test_each_copy_is_settled_as_a_duplicate_without_follow_ups(deliveries: Deliveries) -> None:
    """A copy is deleted as a duplicate, not retried and not counted as a failure (the
    messages-failed alarm pages someone): only the holder's delivery sent train.requested."""
    settled = {s["message_id"]: s for s in deliveries.summaries if s["outcome"] != "retry"}
    outcomes = sorted((s["outcome"], s["followups"]) for s in settled.values())
    assert outcomes == [("duplicate", 0)] * (2 * COPIES) + [("ok", 1)]
    assert all(s["outcome"] != "dead-lettered" for s in deliveries.summaries)


def test_the_run_still_reads_as_one_successful_run(deliveries: Deliveries) -> None:
    run = deliveries.run
    assert run["status"] == "succeeded"
    assert "current_stage" not in run
    preprocessing = run["stages"]["preprocess"]
    assert preprocessing["outcome"] == "ok"
    assert "error" not in preprocessing
    # Copies are no attempts: only the holder's delivery (and its own redeliveries) count.
    holder = [s for s in deliveries.summaries if s["outcome"] != "duplicate"]
    assert preprocessing["attempts"] == len(holder)


# -- the model artifact's notification, again ----------------------------------------------------


def model_notification(pipeline: Pipeline, key: str) -> str:
    """What S3 sends when SageMaker writes the model artifact `key` to the models bucket."""
    bucket = pipeline.bucket("models")
    head = pipeline.clients.s3.head_object(Bucket=bucket, Key=key)
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "eventName": "ObjectCreated:Put",
        "s3": {
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {
                "key": key,
                "size": head["ContentLength"],
                "eTag": head["ETag"].strip('"'),
            },
        },
    }
    return json.dumps({"Records": [record]})


@pytest.fixture(scope="module")
def model_redeliveries(pipeline: Pipeline, deliveries: Deliveries) -> list[dict[str, Any]]:
    """The worker's summaries of the run's messages once two more model.trained
    notifications, sent at once after the run ended, were settled."""
    run_id = deliveries.run["run_id"]
    keys = pipeline.keys("models", f"runs/{run_id}/")
    (model_key,) = [k for k in keys if k.endswith("/model.tar.gz")]
    send_at_once(pipeline, model_notification(pipeline, model_key), COPIES)

    def finished(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [s for s in items if s["message_type"] == "model.trained" and s["run_id"] == run_id]

    settled = pipeline.settled.wait_for(lambda items: len(finished(items)) == 1 + COPIES)
    return [s for s in settled if s["run_id"] == run_id]


def test_a_redelivered_model_deploys_nothing_new(
    pipeline: Pipeline, deliveries: Deliveries, model_redeliveries: list[dict[str, Any]]
) -> None:
    """The run was decided and cleaned up: a late model event deploys nothing again (only the
    live endpoint and the model it serves remain, if the version was promoted)."""
    sm = pipeline.clients.sagemaker
    run = pipeline.manifest(deliveries.run["run_id"])
    assert run is not None
    serving = 1 if run["decision"]["decision"] == "promoted" else 0
    assert len(sm.list_models()["Models"]) == serving
    assert len(sm.list_endpoint_configs()["EndpointConfigs"]) == serving
    assert len(sm.list_endpoints()["Endpoints"]) == serving
    deploys = [s for s in model_redeliveries if s["message_type"] == "model.trained"]
    assert [s["outcome"] for s in deploys] == ["ok"] + ["duplicate"] * COPIES


def test_a_redelivered_model_is_not_scored_again(
    pipeline: Pipeline, deliveries: Deliveries, model_redeliveries: list[dict[str, Any]]
) -> None:
    run_id = deliveries.run["run_id"]
    reports = [key for key in pipeline.keys("reports", "runs/") if key.endswith("metrics.json")]
    assert reports == [f"runs/{run_id}/evaluation/metrics.json"]
    now = datetime.now(UTC)
    points = pipeline.clients.cloudwatch.get_metric_statistics(
        Namespace=pipeline.settings.metrics_namespace,
        MetricName="AUC",
        Dimensions=[SERVICE, {"Name": "Dataset", "Value": DATASET}],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(minutes=5),
        Period=3600,
        Statistics=["SampleCount"],
    )["Datapoints"]
    assert sum(p["SampleCount"] for p in points) == 1


def test_a_redelivered_model_leaves_the_run_succeeded(
    pipeline: Pipeline, deliveries: Deliveries, model_redeliveries: list[dict[str, Any]]
) -> None:
    run = pipeline.manifest(deliveries.run["run_id"])
    assert run is not None
    assert run["status"] == "succeeded"
    assert run["stages"]["evaluate"]["outcome"] == "ok"
