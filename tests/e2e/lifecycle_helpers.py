"""What the lifecycle tests look at: which model the live endpoint serves, the registry, the
decisions published to SNS, and the operator commands run as a user runs them."""

from __future__ import annotations

import io
import json
import tarfile
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import xgboost as xgb
from pipeline_harness import Pipeline
from pipeline_harness import cli as cli  # the operator commands, for the tests here

from handlers.naming import DatasetNames, RunPaths, champion_key, sagemaker_names


@dataclass(frozen=True)
class Rows:
    raw_csv: bytes  # what an endpoint is sent: the rows as uploaded, with the upload's header
    matrix: np.ndarray  # the same rows as the recipe encodes them (what the model reads)


def rows_of(pipeline: Pipeline, run_id: str) -> Rows:
    """A run's test rows: as uploaded, and encoded (label first, with a header)."""
    paths = RunPaths(run_id)
    text = pipeline.read_bytes("curated", paths.test).decode()
    rows = [line.split(",", 1)[1] for line in text.splitlines()[1:] if line]
    matrix = np.array([[float(v) for v in row.split(",")] for row in rows])
    return Rows(pipeline.read_bytes("curated", paths.test_rows), matrix)


def model_scores(pipeline: Pipeline, dataset: str, run_id: str, rows: Rows) -> np.ndarray:
    """The scores of run `run_id`'s own model (its artifact in S3, loaded with XGBoost)."""
    names = sagemaker_names(dataset, run_id)
    archive = pipeline.read_bytes("models", RunPaths(run_id).model_artifact(names.training_job))
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        member = tar.extractfile("xgboost-model")
        assert member is not None
        booster = xgb.Booster(model_file=bytearray(member.read()))
    scores: np.ndarray = booster.predict(xgb.DMatrix(rows.matrix))
    return scores


def live_answer(pipeline: Pipeline, dataset: str, rows: Rows) -> tuple[np.ndarray, dict[str, Any]]:
    """The live endpoint's scores for the raw rows, as a client reads them from its JSON, and
    the model the answer says gave them."""
    live = DatasetNames.for_dataset(dataset).live_endpoint
    response = pipeline.clients.sagemaker_runtime.invoke_endpoint(
        EndpointName=live, ContentType="text/csv", Body=rows.raw_csv
    )
    answer = json.loads(response["Body"].read())
    model = answer["model"]
    attributes = f"dataset={model['dataset']},version={model['version']},run_id={model['run_id']}"
    assert response["CustomAttributes"] == attributes
    return np.array([_score(p) for p in answer["predictions"]]), model


def _score(prediction: dict[str, Any]) -> Any:
    if "probabilities" in prediction:
        return list(prediction["probabilities"].values())
    return prediction.get("probability", prediction.get("value"))


def serves(pipeline: Pipeline, dataset: str, run_id: str, rows: Rows) -> bool:
    """Whether the live endpoint answers as run `run_id`'s model does, on the same rows, and
    says so: the answer names the run and the version it registered."""
    expected = model_scores(pipeline, dataset, run_id, rows)
    scores, model = live_answer(pipeline, dataset, rows)
    registered = pipeline.read_json("reports", RunPaths(run_id).registration)
    named = model == {"dataset": dataset, "version": registered["number"], "run_id": run_id}
    return named and bool(np.allclose(scores, expected, atol=1e-6))


def pointer(pipeline: Pipeline, dataset: str) -> dict[str, Any]:
    return pipeline.read_json("reports", champion_key(dataset))


def decision(pipeline: Pipeline, run_id: str) -> dict[str, Any]:
    return pipeline.read_json("reports", RunPaths(run_id).decision)


def versions(pipeline: Pipeline, dataset: str) -> list[dict[str, Any]]:
    group = DatasetNames.for_dataset(dataset).model_package_group
    listed = pipeline.clients.sagemaker.list_model_packages(
        ModelPackageGroupName=group, MaxResults=100
    )["ModelPackageSummaryList"]
    return [
        dict(
            pipeline.clients.sagemaker.describe_model_package(ModelPackageName=s["ModelPackageArn"])
        )
        for s in listed
    ]


def endpoint_names(pipeline: Pipeline) -> list[str]:
    paginator = pipeline.clients.sagemaker.get_paginator("list_endpoints")
    return sorted(e["EndpointName"] for page in paginator.paginate() for e in page["Endpoints"])


class DecisionInbox:
    """An SQS queue subscribed to the decisions topic (raw delivery): what a subscriber gets."""

    def __init__(self, pipeline: Pipeline, name: str) -> None:
        sqs = pipeline.clients.sqs
        self._sqs = sqs
        self.url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        topic = pipeline.stack.decisions_topic_arn
        sns = pipeline.clients.sns
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"RawMessageDelivery": "true"},
        )
        self.received: list[dict[str, Any]] = []

    def wait_for(self, run_id: str, decision: str, timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.received:
                if message["run_id"] == run_id and message["decision"] == decision:
                    return message
            got = self._sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", [])
            self.received += [json.loads(m["Body"]) for m in got]
        raise AssertionError(f"no {decision} of {run_id} published; got {self.received}")
