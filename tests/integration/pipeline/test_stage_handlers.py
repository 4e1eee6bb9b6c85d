"""Each stage handler called directly, as the runtime calls it, against moto and the SageMaker
emulator over HTTP; the assertions look at S3 objects, SageMaker resources and CloudWatch.

One run goes through every stage (fixtures chain preprocess -> train -> job completed -> deploy
-> evaluate); two more runs have a training job that is still running and one that fails.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import socket
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError
from pipeline_harness import CallLog, Pipeline, synthetic_csv

from automlops.aws import AwsClients
from handlers.aws.storage import s3_uri
from handlers.messages import (
    DataUploaded,
    EndpointCleanup,
    EvaluateRequested,
    ModelEvaluated,
    ModelTrained,
    TrainingWatch,
    TrainRequested,
)
from handlers.naming import RunPaths, sagemaker_names
from handlers.recipe.model import Recipe
from handlers.recipe.reader import load_packaged
from handlers.runs import claims, status
from handlers.runs.manifest import Manifest
from handlers.stages import cleanup, deploy, evaluate, order, preprocess, train, watch
from handlers.stages.evaluate import evaluation_keys
from handlers.stages.promote import handle as promote
from localcloud.stack import CREDENTIALS, REGION
from service.failures import DuplicateDelivery, PermanentError
from service.messages import Outgoing

ROWS = 800
DATASET = "bank-marketing"
MEMORY_MB = 2048  # not the default 4096: shows the settings reach the endpoint config
MAX_CONCURRENCY = 2
PAYLOAD_LIMIT = 1024  # the smallest allowed: a few test rows per request
TRAINING_FAILURE = "AlgorithmError: injected failure for this run"

SERVICE: Any = {"Name": "Service", "Value": "automlops"}


@pytest.fixture(scope="module")
def pipeline_options() -> dict[str, Any]:
    return {
        "worker": False,
        "endpoint_memory_mb": MEMORY_MB,
        "endpoint_max_concurrency": MAX_CONCURRENCY,
        # evaluate() must find the endpoint still Creating and wait for it
        "faults": {"endpoint_delay_seconds": 2.0},
    }


@pytest.fixture(scope="module")
def recipe() -> Recipe:
    return load_packaged(DATASET)


def upload_event(pipeline: Pipeline, key: str, body: bytes) -> DataUploaded:
    """Upload to the raw bucket and decode what S3 would announce, as the runtime would."""
    uploaded = pipeline.upload(key, body)
    fields = {
        "bucket": uploaded.bucket,
        "key": uploaded.key,
        "size": len(body),
        "etag": uploaded.etag.strip('"'),
        "version_id": uploaded.version_id,
        "event_time": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
    return DataUploaded.from_event(fields, "test")


def only(outgoing: list[Outgoing]) -> Outgoing:
    assert len(outgoing) == 1, outgoing
    return outgoing[0]


def wait_for_job(pipeline: Pipeline, job_name: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = dict(pipeline.clients.sagemaker.describe_training_job(TrainingJobName=job_name))
        if job["TrainingJobStatus"] not in watch.RUNNING:
            return job
        time.sleep(0.2)
    raise AssertionError(f"training job {job_name} still running after {timeout} s")


def wait_until_no_job_runs(pipeline: Pipeline, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while pipeline.clients.sagemaker.list_training_jobs(StatusEquals="InProgress")[
        "TrainingJobSummaries"
    ]:
        assert time.monotonic() < deadline, "training jobs still running"
        time.sleep(0.2)


def split_rows(pipeline: Pipeline, key: str) -> list[list[str]]:
    text = pipeline.read_bytes("curated", key).decode()
    return list(csv.reader(io.StringIO(text)))


# -- the main run, stage by stage -------------------------------------------------------------


@pytest.fixture(scope="module")
def uploaded(pipeline: Pipeline) -> DataUploaded:
    return upload_event(pipeline, f"data/{DATASET}/stages.csv", synthetic_csv(ROWS, seed=11))


@pytest.fixture(scope="module")
def preprocessed(pipeline: Pipeline, uploaded: DataUploaded) -> list[Outgoing]:
    return preprocess.handle(uploaded, pipeline.context())


@pytest.fixture(scope="module")
def train_request(preprocessed: list[Outgoing]) -> TrainRequested:
    message = only(preprocessed).message
    assert isinstance(message, TrainRequested)
    return message


@dataclass(frozen=True)
class Trained:
    first: list[Outgoing]
    again: list[Outgoing]
    again_calls: list[str]


@pytest.fixture(scope="module")
def trained(pipeline: Pipeline, train_request: TrainRequested) -> Trained:
    first = train.handle(train_request, pipeline.context())
    clients, calls = pipeline.recording_clients()
    again = train.handle(train_request, pipeline.context(clients=clients))
    return Trained(first, again, calls.operations())


@pytest.fixture(scope="module")
def job_name(train_request: TrainRequested) -> str:
    return sagemaker_names(DATASET, train_request.run_id).training_job


@pytest.fixture(scope="module")
def completed_job(pipeline: Pipeline, trained: Trained, job_name: str) -> dict[str, Any]:
    return wait_for_job(pipeline, job_name)


@pytest.fixture(scope="module")
def watched_completed(
    pipeline: Pipeline, train_request: TrainRequested, completed_job: dict[str, Any], job_name: str
) -> list[Outgoing]:
    message = TrainingWatch(run_id=train_request.run_id, dataset=DATASET, job_name=job_name)
    return watch.handle(message, pipeline.context())


@pytest.fixture(scope="module")
def model_trained(pipeline: Pipeline, completed_job: dict[str, Any]) -> ModelTrained:
    uri = completed_job["ModelArtifacts"]["S3ModelArtifacts"]
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    head = pipeline.clients.s3.head_object(Bucket=bucket, Key=key)
    fields = {"bucket": bucket, "key": key, "etag": head["ETag"].strip('"')}
    return ModelTrained.from_event(fields, "test")


@dataclass(frozen=True)
class Deployed:
    first: list[Outgoing]
    again: list[Outgoing]
    again_calls: list[str]
    status_after: str


@pytest.fixture(scope="module")
def deployed(pipeline: Pipeline, model_trained: ModelTrained) -> Deployed:
    first = deploy.handle(model_trained, pipeline.context())
    request = only(first).message
    assert isinstance(request, EvaluateRequested)
    described = pipeline.clients.sagemaker.describe_endpoint(EndpointName=request.endpoint_name)
    clients, calls = pipeline.recording_clients()
    again = deploy.handle(model_trained, pipeline.context(clients=clients))
    return Deployed(first, again, calls.operations(), described["EndpointStatus"])


@dataclass(frozen=True)
class Evaluated:
    outgoing: list[Outgoing]
    calls: CallLog
    again: list[Outgoing]
    again_calls: CallLog


@pytest.fixture(scope="module")
def evaluated(pipeline: Pipeline, deployed: Deployed) -> Evaluated:
    request = only(deployed.first).message
    assert isinstance(request, EvaluateRequested)
    clients, calls = pipeline.recording_clients()
    context = pipeline.context(clients=clients, invoke_payload_limit_bytes=PAYLOAD_LIMIT)
    outgoing = evaluate.handle(request, context)
    clients_again, calls_again = pipeline.recording_clients()
    again = evaluate.handle(request, pipeline.context(clients=clients_again))
    return Evaluated(outgoing, calls, again, calls_again)


@pytest.fixture(scope="module")
def evaluation(pipeline: Pipeline, train_request: TrainRequested, evaluated: Evaluated) -> Any:
    return pipeline.read_json("reports", evaluation_keys(train_request.run_id)["metrics"])


# -- preprocess ---------------------------------------------------------------------------------


def test_preprocess_writes_the_processed_file_with_the_recipes_fixed_header(
    pipeline: Pipeline, train_request: TrainRequested, recipe: Recipe
) -> None:
    paths = RunPaths(train_request.run_id)
    assert train_request.processed_key == paths.processed == f"runs/{paths.run_id}/processed.csv"
    rows = split_rows(pipeline, paths.processed)
    assert tuple(rows[0]) == recipe.output_columns()
    assert len(rows) == ROWS + 1
    assert {row[0] for row in rows[1:]} == {"0", "1"}
    assert all(len(row) == len(recipe.output_columns()) for row in rows[1:])


def test_preprocess_emits_train_requested_with_the_row_count(
    uploaded: DataUploaded, train_request: TrainRequested
) -> None:
    assert train_request.run_id == uploaded.run_id
    assert train_request.rows == ROWS
    assert train_request.dataset == DATASET
    assert (train_request.raw_bucket, train_request.raw_key) == (uploaded.bucket, uploaded.key)


def test_preprocess_records_its_stage_and_the_source_in_the_manifest(
    pipeline: Pipeline, uploaded: DataUploaded, train_request: TrainRequested
) -> None:
    document = pipeline.manifest(uploaded.run_id)
    assert document is not None
    assert document["dataset"] == DATASET
    assert document["source"]["key"] == uploaded.key
    stage = document["stages"]["preprocess"]
    assert stage["outcome"] == "ok"
    assert stage["artifacts"]["rows"] == str(ROWS)


def test_preprocess_of_a_second_delivery_does_nothing(
    pipeline: Pipeline, uploaded: DataUploaded, trained: Trained
) -> None:
    processed = RunPaths(uploaded.run_id).processed
    before = pipeline.clients.s3.head_object(Bucket=pipeline.bucket("curated"), Key=processed)
    with pytest.raises(DuplicateDelivery, match="preprocess is done"):
        preprocess.handle(uploaded, pipeline.context(message_id="another-delivery"))
    after = pipeline.clients.s3.head_object(Bucket=pipeline.bucket("curated"), Key=processed)
    assert after["ETag"] == before["ETag"]
    assert after["LastModified"] == before["LastModified"]


def test_a_second_delivery_leaves_the_run_record_as_it_was(
    pipeline: Pipeline, uploaded: DataUploaded, trained: Trained
) -> None:
    """A duplicate is no attempt: it changes neither the manifest nor run.json."""
    paths = RunPaths(uploaded.run_id)
    before = pipeline.manifest(uploaded.run_id)
    facts = pipeline.read_json("reports", paths.run)
    with pytest.raises(DuplicateDelivery):
        preprocess.handle(uploaded, pipeline.context(message_id="yet-another-delivery"))
    assert pipeline.manifest(uploaded.run_id) == before
    assert pipeline.read_json("reports", paths.run) == facts


def test_preprocess_leaves_the_raw_object_as_it_was(
    pipeline: Pipeline, uploaded: DataUploaded, train_request: TrainRequested
) -> None:
    versions = pipeline.versions("raw", uploaded.key)
    assert len(versions) == 1
    assert versions[0]["ETag"].strip('"') == uploaded.etag


# -- train --------------------------------------------------------------------------------------


def test_train_writes_label_first_train_and_validation_without_a_header(
    pipeline: Pipeline, trained: Trained, train_request: TrainRequested, recipe: Recipe
) -> None:
    paths = RunPaths(train_request.run_id)
    train_rows = split_rows(pipeline, paths.train)
    validation_rows = split_rows(pipeline, paths.validation)
    assert (len(train_rows), len(validation_rows)) == (560, 160)  # 70 % and 20 % of 800
    for rows in (train_rows, validation_rows):
        assert {row[0] for row in rows} == {"0", "1"}  # the label first; no header line
        assert all(len(row) == len(recipe.output_columns()) for row in rows)


def test_train_writes_the_test_part_with_its_header(
    pipeline: Pipeline, trained: Trained, train_request: TrainRequested, recipe: Recipe
) -> None:
    rows = split_rows(pipeline, RunPaths(train_request.run_id).test)
    assert tuple(rows[0]) == recipe.output_columns()
    assert len(rows) == 80 + 1


def test_train_starts_exactly_one_job_with_the_recipes_hyperparameters(
    pipeline: Pipeline, trained: Trained, job_name: str, recipe: Recipe
) -> None:
    jobs = pipeline.clients.sagemaker.list_training_jobs(NameContains=job_name)
    assert [j["TrainingJobName"] for j in jobs["TrainingJobSummaries"]] == [job_name]
    job = pipeline.clients.sagemaker.describe_training_job(TrainingJobName=job_name)
    assert job["HyperParameters"] == recipe.hyperparameter_dict()
    assert job["HyperParameters"]["max_depth"] == "5"
    channels = {c["ChannelName"]: c for c in job["InputDataConfig"]}
    assert set(channels) == {"train", "validation"}
    assert all(c["ContentType"] == "text/csv" for c in channels.values())


def test_train_tags_the_job_with_its_run_dataset_and_data(
    pipeline: Pipeline, trained: Trained, job_name: str, train_request: TrainRequested
) -> None:
    sm = pipeline.clients.sagemaker
    arn = sm.describe_training_job(TrainingJobName=job_name)["TrainingJobArn"]
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}
    assert tags["automlops:run_id"] == train_request.run_id
    assert tags["automlops:dataset"] == DATASET
    paths = RunPaths(train_request.run_id)
    assert tags["automlops:test_data"] == s3_uri(pipeline.bucket("curated"), paths.test)
    assert tags["automlops:source"] == s3_uri(train_request.raw_bucket, train_request.raw_key)


def test_train_emits_a_delayed_training_watch(
    pipeline: Pipeline, trained: Trained, job_name: str
) -> None:
    out = only(trained.first)
    assert isinstance(out.message, TrainingWatch)
    assert out.message.job_name == job_name
    assert out.delay_seconds == pipeline.settings.first_watch_seconds > 0


def test_train_a_second_time_creates_no_second_job(trained: Trained) -> None:
    assert "CreateTrainingJob" not in trained.again_calls
    assert "DescribeTrainingJob" in trained.again_calls
    assert [type(o.message) for o in trained.again] == [TrainingWatch]


# -- training.watch -----------------------------------------------------------------------------


def test_watch_of_a_completed_job_sends_nothing_and_records_the_model(
    pipeline: Pipeline,
    watched_completed: list[Outgoing],
    completed_job: dict[str, Any],
    train_request: TrainRequested,
) -> None:
    assert watched_completed == []
    assert completed_job["TrainingJobStatus"] == "Completed"
    document = pipeline.manifest(train_request.run_id)
    assert document is not None
    artifacts = document["stages"]["training"]["artifacts"]
    assert artifacts["model"] == completed_job["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifacts["model"].endswith("/output/model.tar.gz")
    assert document["stages"]["training"]["outcome"] == "ok"


@pytest.fixture
def slow_training(pipeline: Pipeline) -> Iterator[None]:
    """Jobs that reach the training step while this is active train for a minute."""
    wait_until_no_job_runs(pipeline)  # no other test's job may be slowed down
    pipeline.emulator.set_faults(training_seconds=60)
    try:
        yield
    finally:
        pipeline.emulator.reset_faults()


def test_watch_of_a_running_job_sends_itself_again_later(
    pipeline: Pipeline, slow_training: None
) -> None:
    event = upload_event(pipeline, f"data/{DATASET}/slow.csv", synthetic_csv(300, seed=12))
    request = only(preprocess.handle(event, pipeline.context())).message
    assert isinstance(request, TrainRequested)
    watching = only(train.handle(request, pipeline.context())).message
    assert isinstance(watching, TrainingWatch)
    try:
        again = only(watch.handle(watching, pipeline.context()))
        assert again.message == dataclasses.replace(watching, looks=1)
        assert again.delay_seconds == pipeline.settings.watch_delay(1)
        later = only(watch.handle(again.message, pipeline.context()))
        assert later.message == dataclasses.replace(watching, looks=2)
        document = pipeline.manifest(request.run_id)
        assert document is not None
        assert document["stages"]["training"]["outcome"] == "waiting"
        assert document["status"] == "running"
    finally:
        pipeline.clients.sagemaker.stop_training_job(TrainingJobName=watching.job_name)


def test_watch_of_a_failed_job_fails_the_run_with_the_jobs_reason(pipeline: Pipeline) -> None:
    event = upload_event(pipeline, f"data/{DATASET}/failing.csv", synthetic_csv(300, seed=13))
    pipeline.emulator.set_faults(training_failures={event.run_id: TRAINING_FAILURE})
    request = only(preprocess.handle(event, pipeline.context())).message
    assert isinstance(request, TrainRequested)
    watching = only(train.handle(request, pipeline.context())).message
    assert isinstance(watching, TrainingWatch)
    assert wait_for_job(pipeline, watching.job_name)["TrainingJobStatus"] == "Failed"

    with pytest.raises(PermanentError, match=TRAINING_FAILURE):
        watch.handle(watching, pipeline.context())

    error = pipeline.read_json("reports", RunPaths(event.run_id).error)
    assert error["stage"] == "training"
    assert TRAINING_FAILURE in error["reason"]
    document = pipeline.manifest(event.run_id)
    assert document is not None
    assert document["status"] == "failed"
    assert document["failed_stage"] == "training"
    assert TRAINING_FAILURE in document["error"]


# -- deploy -------------------------------------------------------------------------------------


def test_deploy_creates_the_model_from_the_serving_bundle_in_script_mode(
    pipeline: Pipeline, deployed: Deployed, model_trained: ModelTrained
) -> None:
    names = sagemaker_names(DATASET, model_trained.run_id)
    model = pipeline.clients.sagemaker.describe_model(ModelName=names.model)
    container = model["PrimaryContainer"]
    bundle_key = RunPaths(model_trained.run_id).serving_bundle
    assert container["ModelDataUrl"] == s3_uri(model_trained.bucket, bundle_key)
    assert container["Environment"] == {
        "SAGEMAKER_PROGRAM": "serve.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
    }
    assert "sagemaker-xgboost" in container["Image"]
    archive = pipeline.read_bytes("models", bundle_key)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as bundle:
        trained = pipeline.read_bytes("models", model_trained.key)
        with tarfile.open(fileobj=io.BytesIO(trained), mode="r:gz") as model_archive:
            original = model_archive.extractfile("xgboost-model")
            assert original is not None
            shipped = bundle.extractfile("xgboost-model")
            assert shipped is not None
            assert shipped.read() == original.read()
        assert "code/handlers/data/features.py" in bundle.getnames()


def test_deploy_creates_a_serverless_config_sized_by_the_settings(
    pipeline: Pipeline, deployed: Deployed, model_trained: ModelTrained
) -> None:
    names = sagemaker_names(DATASET, model_trained.run_id)
    config = pipeline.clients.sagemaker.describe_endpoint_config(
        EndpointConfigName=names.endpoint_config
    )
    (variant,) = config["ProductionVariants"]
    assert variant["ModelName"] == names.model
    assert variant["ServerlessConfig"] == {
        "MemorySizeInMB": MEMORY_MB,
        "MaxConcurrency": MAX_CONCURRENCY,
    }


def test_deploy_creates_the_endpoint_and_asks_for_its_evaluation(
    pipeline: Pipeline, deployed: Deployed, model_trained: ModelTrained
) -> None:
    names = sagemaker_names(DATASET, model_trained.run_id)
    endpoint = pipeline.clients.sagemaker.describe_endpoint(EndpointName=names.endpoint)
    assert endpoint["EndpointConfigName"] == names.endpoint_config
    request = only(deployed.first).message
    assert request == EvaluateRequested(
        run_id=model_trained.run_id,
        dataset=DATASET,
        endpoint_name=names.endpoint,
        model_key=model_trained.key,
    )


def test_deploy_a_second_time_creates_nothing_new(
    pipeline: Pipeline, deployed: Deployed, model_trained: ModelTrained
) -> None:
    assert not [call for call in deployed.again_calls if call.startswith("Create")]
    assert [o.message for o in deployed.again] == [o.message for o in deployed.first]
    sm = pipeline.clients.sagemaker
    run_id = model_trained.run_id
    assert len(sm.list_models(NameContains=run_id)["Models"]) == 1
    assert len(sm.list_endpoint_configs(NameContains=run_id)["EndpointConfigs"]) == 1
    assert len(sm.list_endpoints(NameContains=run_id)["Endpoints"]) == 1


# -- evaluate -----------------------------------------------------------------------------------


def test_evaluate_waits_for_the_endpoint_to_be_in_service(
    deployed: Deployed, evaluated: Evaluated
) -> None:
    assert deployed.status_after == "Creating"
    assert evaluated.calls.count("DescribeEndpoint") >= 2
    assert [type(o.message) for o in evaluated.outgoing] == [ModelEvaluated]


def test_evaluate_sends_the_test_set_in_batches_under_the_payload_limit(
    evaluated: Evaluated, evaluation: Any
) -> None:
    sizes = [call.body_bytes for call in evaluated.calls.of("InvokeEndpoint")]
    test_rows = evaluation["metrics"]["count"]
    assert test_rows == 80
    assert 1 < len(sizes) < test_rows  # several requests, never one per row
    assert max(sizes) <= PAYLOAD_LIMIT
    assert evaluation["run"]["requests"] == len(sizes)


def test_evaluate_writes_metrics_report_and_confusion_matrix(
    pipeline: Pipeline, evaluated: Evaluated, evaluation: Any, train_request: TrainRequested
) -> None:
    keys = evaluation_keys(train_request.run_id)
    assert set(keys.values()) <= set(pipeline.keys("reports", f"runs/{train_request.run_id}/"))
    assert all(key.startswith(f"runs/{train_request.run_id}/evaluation/") for key in keys.values())
    metrics = evaluation["metrics"]
    assert sum(sum(row) for row in metrics["confusion_matrix"]) == metrics["count"]
    assert 0.5 < metrics["roc_auc"] <= 1
    report = pipeline.read_bytes("reports", keys["report"]).decode()
    assert report.startswith("# Evaluation report")
    assert f"{metrics['roc_auc']:.4f}" in report
    png = pipeline.read_bytes("reports", keys["confusion_matrix"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def _dimensions(dimensions: Any) -> frozenset[tuple[str, str]]:
    return frozenset((d["Name"], d["Value"]) for d in dimensions)


def test_evaluate_puts_the_headline_metrics_to_cloudwatch(
    pipeline: Pipeline, evaluated: Evaluated, evaluation: Any
) -> None:
    cloudwatch = pipeline.clients.cloudwatch
    namespace = pipeline.settings.metrics_namespace
    listed = cloudwatch.list_metrics(Namespace=namespace)["Metrics"]
    assert {m["MetricName"] for m in listed} >= {"AUC", "F1", "Accuracy", "Precision", "Recall"}
    # by service (the dashboard's view) and by service and dataset
    by_dataset = [SERVICE, {"Name": "Dataset", "Value": DATASET}]
    # CloudWatch promises no order of a metric's dimensions (LocalStack sorts them by name).
    assert {_dimensions(m["Dimensions"]) for m in listed} == {
        _dimensions([SERVICE]),
        _dimensions(by_dataset),
    }
    now = datetime.now(UTC)
    statistics = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName="AUC",
        Dimensions=[SERVICE, {"Name": "Dataset", "Value": DATASET}],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(minutes=5),
        Period=60,
        Statistics=["Maximum", "SampleCount"],
    )["Datapoints"]
    assert sum(point["SampleCount"] for point in statistics) == 1
    assert statistics[0]["Maximum"] == pytest.approx(evaluation["metrics"]["roc_auc"])


def test_evaluate_records_the_report_in_the_manifest(
    pipeline: Pipeline, evaluated: Evaluated, train_request: TrainRequested
) -> None:
    document = pipeline.manifest(train_request.run_id)
    assert document is not None
    stage = document["stages"]["evaluate"]
    assert stage["outcome"] == "ok"
    reports = pipeline.bucket("reports")
    metrics_key = evaluation_keys(train_request.run_id)["metrics"]
    assert stage["artifacts"]["metrics"] == s3_uri(reports, metrics_key)


def test_evaluate_emits_model_evaluated(
    evaluated: Evaluated, train_request: TrainRequested
) -> None:
    message = only(evaluated.outgoing).message
    assert message == ModelEvaluated(
        run_id=train_request.run_id,
        dataset=DATASET,
        endpoint_name=sagemaker_names(DATASET, train_request.run_id).endpoint,
        metrics_key=evaluation_keys(train_request.run_id)["metrics"],
    )


def test_evaluate_a_second_time_only_sends_the_follow_up_again(evaluated: Evaluated) -> None:
    assert [o.message for o in evaluated.again] == [o.message for o in evaluated.outgoing]
    operations = evaluated.again_calls.operations()
    assert "InvokeEndpoint" not in operations
    assert "PutMetricData" not in operations
    # Nothing is written: the record of the evaluation is the first delivery's.
    assert evaluated.again_calls.of("PutObject") == []


@pytest.fixture(scope="module")
def another_evaluation(pipeline: Pipeline) -> EvaluateRequested:
    """A second run, trained and deployed, waiting for its evaluation."""
    return deployed_run(pipeline, "evaluated-twice", seed=14)


@pytest.fixture(scope="module")
def twin_evaluation(pipeline: Pipeline) -> EvaluateRequested:
    """A third run, for two deliveries of its evaluation at once."""
    return deployed_run(pipeline, "evaluated-by-twins", seed=15)


def deployed_run(pipeline: Pipeline, name: str, seed: int) -> EvaluateRequested:
    event = upload_event(pipeline, f"data/{DATASET}/{name}.csv", synthetic_csv(300, seed))
    request = only(preprocess.handle(event, pipeline.context())).message
    assert isinstance(request, TrainRequested)
    watching = only(train.handle(request, pipeline.context())).message
    assert isinstance(watching, TrainingWatch)
    job = wait_for_job(pipeline, watching.job_name)
    bucket, _, key = job["ModelArtifacts"]["S3ModelArtifacts"].removeprefix("s3://").partition("/")
    trained = ModelTrained.from_event({"bucket": bucket, "key": key}, "test")
    evaluation = only(deploy.handle(trained, pipeline.context()))
    assert isinstance(evaluation.message, EvaluateRequested)
    return evaluation.message


def unreachable_cloudwatch(pipeline: Pipeline) -> AwsClients:
    """The pipeline's clients, but CloudWatch is a port nobody listens on (and no retries)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cloudwatch = boto3.Session(
        aws_access_key_id=CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=CREDENTIALS["aws_secret_access_key"],
        region_name=REGION,
    ).client(
        "cloudwatch",
        endpoint_url=f"http://127.0.0.1:{port}",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )
    return dataclasses.replace(pipeline.clients, cloudwatch=cloudwatch)


def test_evaluate_retried_after_cloudwatch_failed_still_puts_the_metrics(
    pipeline: Pipeline, another_evaluation: EvaluateRequested
) -> None:
    namespace = "automlops-evaluated-twice"
    with pytest.raises(EndpointConnectionError):
        evaluate.handle(
            another_evaluation,
            pipeline.context(
                message_id="evaluate-1",
                clients=unreachable_cloudwatch(pipeline),
                metrics_namespace=namespace,
            ),
        )
    # SQS redelivers the same message (same id) after the failure.
    retried = evaluate.handle(
        another_evaluation, pipeline.context(message_id="evaluate-1", metrics_namespace=namespace)
    )
    assert [type(o.message) for o in retried] == [ModelEvaluated]
    listed = pipeline.clients.cloudwatch.list_metrics(Namespace=namespace)["Metrics"]
    assert "AUC" in {m["MetricName"] for m in listed}
    document = pipeline.manifest(another_evaluation.run_id)
    assert document is not None
    metrics_uri = s3_uri(
        pipeline.bucket("reports"), evaluation_keys(another_evaluation.run_id)["metrics"]
    )
    assert document["stages"]["evaluate"]["artifacts"]["metrics"] == metrics_uri


# -- model.evaluated and the run's status -------------------------------------------------------


@pytest.fixture(scope="module")
def finished(pipeline: Pipeline, evaluated: Evaluated) -> dict[str, Any]:
    message = only(evaluated.outgoing).message
    assert isinstance(message, ModelEvaluated)
    (cleaning,) = promote.handle_evaluated(message, pipeline.context())
    assert isinstance(cleaning.message, EndpointCleanup)
    assert cleanup.handle(cleaning.message, pipeline.context()) == []
    document = pipeline.manifest(message.run_id)
    assert document is not None
    return document


def test_the_first_version_is_promoted_and_clean_up_ends_the_run(
    finished: dict[str, Any],
) -> None:
    assert finished["status"] == "succeeded"
    assert "finished_at" in finished
    assert "current_stage" not in finished
    assert {name: stage["outcome"] for name, stage in finished["stages"].items()} == dict.fromkeys(
        ("preprocess", "train", "training", "deploy", "evaluate", "promote", "cleanup"), "ok"
    )
    assert finished["decision"]["decision"] == "promoted"
    assert finished["decision"]["version"] == finished["decision"]["live_version"]


def test_status_describes_a_run_stage_by_stage(finished: dict[str, Any]) -> None:
    text = status.describe_run(cast(Manifest, finished), order.STAGES)
    lines = text.splitlines()
    assert lines[0] == f"run       {finished['run_id']}"
    assert "status    succeeded" in lines
    assert any(
        line.startswith("decision  promoted (version 1; live: version 1): ") for line in lines
    )
    assert f"source    s3://{finished['source']['bucket']}/{finished['source']['key']}" in lines
    rows = [line.split() for line in lines]  # stage, outcome, tries, started, ended
    assert [row[0] for row in rows if len(row) == 5 and row[1] == "ok"] == list(order.STAGES)


def test_status_lists_the_runs_with_their_status(
    pipeline: Pipeline, finished: dict[str, Any]
) -> None:
    runs = status.list_runs(pipeline.runs, limit=50)
    by_id = {run["run_id"]: run for run in runs}
    assert by_id[finished["run_id"]]["status"] == "succeeded"
    table = status.describe_runs(runs)
    (line,) = [row for row in table.splitlines() if row.startswith(finished["run_id"])]
    day, minute = finished["created_at"][:16].split("T")
    assert line.split()[1:] == [day, minute, "succeeded", "-", "promoted", DATASET]


def test_a_twin_evaluation_waits_for_the_first_instead_of_scoring_again(
    pipeline: Pipeline, twin_evaluation: EvaluateRequested
) -> None:
    first = pipeline.context(message_id="evaluate-first")
    paths = RunPaths(twin_evaluation.run_id)
    spec = claims.Claim(
        bucket=first.deps.buckets.reports,
        key=paths.evaluation_claim,
        run_id=twin_evaluation.run_id,
        stage="evaluate",
        done=lambda _: False,
        lease_seconds=900,
    )
    held = claims.claim(spec, first.deps.runs, first.message_id, first.log)
    assert held == "ours"  # the first delivery is under way
    twin_clients, twin_calls = pipeline.recording_clients()
    twin = pipeline.context(message_id="evaluate-twin", clients=twin_clients)
    with pytest.raises(DuplicateDelivery, match="another delivery"):
        evaluate.handle(twin_evaluation, twin)
    assert "InvokeEndpoint" not in twin_calls.operations()
    outgoing = evaluate.handle(twin_evaluation, first)  # the first finishes
    assert [type(o.message) for o in outgoing] == [ModelEvaluated]
    again = evaluate.handle(twin_evaluation, twin)  # the twin, looking again, only follows up
    assert [o.message for o in again] == [o.message for o in outgoing]
    assert "InvokeEndpoint" not in twin_calls.operations()
