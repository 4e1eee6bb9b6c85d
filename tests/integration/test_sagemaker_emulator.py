"""The SageMaker emulator over real HTTP, with boto3 clients and moto's S3/SQS behind it.

One stack and one emulator for the module; each test names its own resources. Data is a tiny
synthetic, learnable binary problem, so every training job takes a fraction of a second.
"""

from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

import boto3
import numpy as np
import numpy.typing as npt
import pytest
import xgboost as xgb
from botocore.exceptions import ClientError

from localcloud.sagemaker import Emulator
from localcloud.stack import (
    CREDENTIALS,
    REGION,
    SAGEMAKER_ROLE_ARN,
    Stack,
    StackConfig,
    running_sagemaker,
    running_stack,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker.type_defs import ProductionVariantTypeDef
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient

ARN_PREFIX = "arn:aws:sagemaker:us-east-1:123456789012"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
HYPERPARAMETERS = {
    "num_round": "20",
    "max_depth": "3",
    "eta": "0.3",
    "objective": "binary:logistic",
    "eval_metric": "auc",
}
Matrix = npt.NDArray[np.float64]


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running_stack(StackConfig(prefix=f"e{uuid.uuid4().hex[:8]}")) as running:
        yield running


@pytest.fixture(scope="module")
def emulator(stack: Stack) -> Iterator[Emulator]:
    with running_sagemaker(stack, endpoint_delay_seconds=0.2) as running:
        yield running


@pytest.fixture(autouse=True)
def _clean_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").reset_faults()


@pytest.fixture(scope="module")
def session() -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=CREDENTIALS["aws_secret_access_key"],
        region_name=REGION,
    )


@pytest.fixture(scope="module")
def sm(session: boto3.Session, emulator: Emulator) -> SageMakerClient:
    return session.client("sagemaker", endpoint_url=emulator.url)


@pytest.fixture(scope="module")
def runtime(session: boto3.Session, emulator: Emulator) -> SageMakerRuntimeClient:
    return session.client("sagemaker-runtime", endpoint_url=emulator.url)


@pytest.fixture(scope="module")
def s3(session: boto3.Session, stack: Stack) -> S3Client:
    return session.client("s3", endpoint_url=stack.endpoint_url)


@pytest.fixture(scope="module")
def dataset() -> tuple[Matrix, Matrix]:
    """Features and labels of a problem a few shallow trees learn well."""
    rng = np.random.default_rng(1729)
    features = rng.normal(size=(400, 5))
    labels = (features[:, 0] + 0.5 * features[:, 1] - features[:, 2] > 0).astype(np.float64)
    return features, labels


def to_csv(rows: Matrix) -> bytes:
    return "".join(",".join(f"{value:.6g}" for value in row) + "\n" for row in rows).encode()


def upload_channels(stack: Stack, s3: S3Client, run: str, dataset: tuple[Matrix, Matrix]) -> None:
    features, labels = dataset
    table = np.column_stack([labels, features])  # label first, no header: the container's CSV
    bucket = stack.buckets["curated"]
    s3.put_object(Bucket=bucket, Key=f"runs/{run}/train/train.csv", Body=to_csv(table[:300]))
    s3.put_object(
        Bucket=bucket, Key=f"runs/{run}/validation/validation.csv", Body=to_csv(table[300:])
    )


def training_request(stack: Stack, run: str, job: str, **overrides: Any) -> dict[str, Any]:
    curated = stack.buckets["curated"]
    request: dict[str, Any] = {
        "TrainingJobName": job,
        "RoleArn": SAGEMAKER_ROLE_ARN,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "HyperParameters": HYPERPARAMETERS,
        "InputDataConfig": [
            {
                "ChannelName": channel,
                "ContentType": "text/csv",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{curated}/runs/{run}/{channel}",
                    }
                },
            }
            for channel in ("train", "validation")
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{stack.buckets['models']}/runs/{run}/model"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }
    request.update(overrides)
    return request


def wait_until(
    read: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while True:
        state = read()
        if done(state) or time.monotonic() > deadline:
            return state
        time.sleep(0.05)


def finished_job(sm: SageMakerClient, name: str) -> dict[str, Any]:
    return wait_until(
        lambda: dict(sm.describe_training_job(TrainingJobName=name)),
        lambda job: job["TrainingJobStatus"] not in ("InProgress", "Stopping"),
    )


def settled_endpoint(sm: SageMakerClient, name: str) -> dict[str, Any]:
    return wait_until(
        lambda: dict(sm.describe_endpoint(EndpointName=name)),
        lambda endpoint: endpoint["EndpointStatus"] not in ("Creating", "Updating"),
    )


def error_of(call: Callable[[], object]) -> tuple[str, str, dict[str, Any]]:
    with pytest.raises(ClientError) as caught:
        call()
    response: dict[str, Any] = dict(caught.value.response)
    return str(response["Error"]["Code"]), str(response["Error"]["Message"]), response


def model_in(archive: bytes) -> tuple[list[str], xgb.Booster]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        names = tar.getnames()
        member = tar.extractfile("xgboost-model")
        assert member is not None
        return names, xgb.Booster(model_file=bytearray(member.read()))


@pytest.fixture(scope="module")
def trained(
    stack: Stack, s3: S3Client, sm: SageMakerClient, dataset: tuple[Matrix, Matrix]
) -> dict[str, Any]:
    """One completed job the endpoint tests deploy from."""
    upload_channels(stack, s3, "r-trained", dataset)
    sm.create_training_job(**training_request(stack, "r-trained", "job-r-trained"))
    job = finished_job(sm, "job-r-trained")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    return job


def deploy(
    sm: SageMakerClient, name: str, model_data: str, serverless: bool = True
) -> dict[str, Any]:
    sm.create_model(
        ModelName=f"model-{name}",
        ExecutionRoleArn=SAGEMAKER_ROLE_ARN,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": model_data},
    )
    create_config(sm, f"config-{name}", f"model-{name}", serverless)
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"config-{name}")
    return settled_endpoint(sm, name)


def create_config(sm: SageMakerClient, name: str, model: str, serverless: bool = True) -> None:
    variant: ProductionVariantTypeDef = (
        {
            "VariantName": "AllTraffic",
            "ModelName": model,
            "ServerlessConfig": {"MemorySizeInMB": 4096, "MaxConcurrency": 1},
        }
        if serverless
        else {
            "VariantName": "Instances",
            "ModelName": model,
            "InstanceType": "ml.m5.large",
            "InitialInstanceCount": 1,
        }
    )
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant])


def scores_of(body: bytes) -> list[float]:
    return [float(line) for line in body.decode().splitlines()]


# --------------------------------------------------------------------------------------- training


def test_training_job_completes_with_the_real_artifact_layout(
    stack: Stack, s3: S3Client, trained: dict[str, Any], dataset: tuple[Matrix, Matrix]
) -> None:
    models = stack.buckets["models"]
    expected = f"s3://{models}/runs/r-trained/model/job-r-trained/output/model.tar.gz"
    assert trained["ModelArtifacts"]["S3ModelArtifacts"] == expected
    assert trained["SecondaryStatus"] == "Completed"
    statuses = [t["Status"] for t in trained["SecondaryStatusTransitions"]]
    assert statuses == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert trained["HyperParameters"] == HYPERPARAMETERS
    assert trained["TrainingEndTime"] >= trained["TrainingStartTime"] >= trained["CreationTime"]
    metrics = {m["MetricName"]: m["Value"] for m in trained["FinalMetricDataList"]}
    assert metrics["validation:auc"] > 0.9

    archive = s3.get_object(Bucket=models, Key=expected.split(f"{models}/", 1)[1])["Body"].read()
    names, booster = model_in(archive)
    assert names == ["xgboost-model"]
    features, labels = dataset
    predicted = booster.predict(xgb.DMatrix(features[300:])) > 0.5
    assert (predicted == labels[300:].astype(bool)).mean() > 0.85


def test_model_artifact_notifies_the_ingest_queue(stack: Stack, trained: dict[str, Any]) -> None:
    sqs = stack.client("sqs")
    wanted = "runs/r-trained/model/job-r-trained/output/model.tar.gz"
    deadline = time.monotonic() + 10
    keys: list[str] = []
    while wanted not in keys and time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=stack.queue_urls["ingest"], MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        for message in messages:
            body = json.loads(message["Body"])
            # Keys arrive URL-encoded (moto even encodes "/"); the worker's decoder unquotes them.
            keys += [unquote_plus(r["s3"]["object"]["key"]) for r in body.get("Records", [])]
    assert wanted in keys


def test_job_is_in_progress_before_it_completes(
    stack: Stack,
    s3: S3Client,
    sm: SageMakerClient,
    emulator: Emulator,
    dataset: tuple[Matrix, Matrix],
) -> None:
    emulator.set_faults(training_seconds=0.5)
    upload_channels(stack, s3, "r-slow", dataset)
    sm.create_training_job(**training_request(stack, "r-slow", "job-r-slow"))
    first = sm.describe_training_job(TrainingJobName="job-r-slow")
    assert first["TrainingJobStatus"] == "InProgress"
    assert first["SecondaryStatus"] in ("Starting", "Downloading", "Training")
    assert "ModelArtifacts" not in first
    assert finished_job(sm, "job-r-slow")["TrainingJobStatus"] == "Completed"


def test_stop_training_job(
    stack: Stack,
    s3: S3Client,
    sm: SageMakerClient,
    emulator: Emulator,
    dataset: tuple[Matrix, Matrix],
) -> None:
    emulator.set_faults(training_seconds=10)
    upload_channels(stack, s3, "r-stop", dataset)
    sm.create_training_job(**training_request(stack, "r-stop", "job-r-stop"))
    sm.stop_training_job(TrainingJobName="job-r-stop")
    job = finished_job(sm, "job-r-stop")
    assert (job["TrainingJobStatus"], "ModelArtifacts" in job) == ("Stopped", False)
    code, message, _ = error_of(lambda: sm.stop_training_job(TrainingJobName="job-r-stop"))
    assert (code, message) == (
        "ValidationException",
        "The request was rejected because the training job is in status Stopped.",
    )


def test_injected_training_failure(
    stack: Stack,
    s3: S3Client,
    sm: SageMakerClient,
    emulator: Emulator,
    dataset: tuple[Matrix, Matrix],
) -> None:
    emulator.set_faults(training_failures={"doomed": "AlgorithmError: out of memory"})
    upload_channels(stack, s3, "r-doomed", dataset)
    sm.create_training_job(**training_request(stack, "r-doomed", "job-r-doomed"))
    job = finished_job(sm, "job-r-doomed")
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Failed", "Failed")
    assert job["FailureReason"] == "AlgorithmError: out of memory"
    assert "ModelArtifacts" not in job


@pytest.mark.parametrize(
    ("data", "hyperparameters", "reason"),
    [
        (b"1,0.5,abc\n0,0.1,0.2\n", HYPERPARAMETERS, "Failed to load csv data"),
        (
            b"2,0.5,0.1\n0,0.1,0.2\n0,0.3,0.3\n0,0.2,0.1\n",
            HYPERPARAMETERS,
            "label must be in [0,1] for logistic regression",
        ),
        (
            b"1,0.5,0.1\n0,0.1,0.2\n",
            {**HYPERPARAMETERS, "num_round": "0"},
            "Hyperparameter num_round: value 0 not in range [1, +inf)",
        ),
        (
            b"1,0.5,0.1\n0,0.1,0.2\n",
            {**HYPERPARAMETERS, "silent": "1"},
            "Extraneous hyperparameter found: silent",
        ),
    ],
    ids=["non-numeric", "label-range", "num-round", "unknown-hyperparameter"],
)
def test_bad_input_fails_the_job_like_the_container(
    stack: Stack,
    s3: S3Client,
    sm: SageMakerClient,
    data: bytes,
    hyperparameters: dict[str, str],
    reason: str,
    request: pytest.FixtureRequest,
) -> None:
    run = f"r-bad-{request.node.callspec.id}"
    curated = stack.buckets["curated"]
    s3.put_object(Bucket=curated, Key=f"runs/{run}/train/train.csv", Body=data)
    channel = training_request(stack, run, "x")["InputDataConfig"][:1]
    sm.create_training_job(
        **training_request(
            stack, run, f"job-{run}", HyperParameters=hyperparameters, InputDataConfig=channel
        )
    )
    job = finished_job(sm, f"job-{run}")
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: ")  # the container's UserError
    assert reason in job["FailureReason"]


def test_training_job_tags(sm: SageMakerClient, trained: dict[str, Any]) -> None:
    arn = trained["TrainingJobArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "automlops:run", "Value": "r-trained"}])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "automlops:run", "Value": "r-trained"}]


@pytest.mark.parametrize(
    ("tags", "says"),
    [
        (
            [{"Key": "automlops:source", "Value": "s3://b/data/d/x (1).csv"}],
            "'tags.1.member.value'",
        ),
        ([{"Key": "a*b", "Value": "v"}], "'tags.1.member.key' failed to satisfy constraint"),
        ([{"Key": "k" * 129, "Value": "v"}], "length less than or equal to 128"),
        ([{"Key": "k", "Value": "v" * 257}], "length less than or equal to 256"),
        ([{"Key": "aws:owner", "Value": "v"}], "must not start with 'aws:'"),
        ([{"Key": f"k{i}", "Value": "v"} for i in range(51)], "length less than or equal to 50"),
    ],
)
def test_tags_aws_refuses_are_refused(
    stack: Stack,
    sm: SageMakerClient,
    trained: dict[str, Any],
    tags: list[Any],
    says: str,
) -> None:
    """What AWS refused in the field: a browser's `x (1).csv` in a tag value failed every job."""
    request = {**training_request(stack, "r-tags", "job-r-tags"), "Tags": tags}
    code, message, _ = error_of(lambda: sm.create_training_job(**request))
    assert code == "ValidationException"
    assert says in message
    arn = trained["TrainingJobArn"]
    code, message, _ = error_of(lambda: sm.add_tags(ResourceArn=arn, Tags=tags))
    assert code == "ValidationException"
    assert says in message


def edited(request: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(request))
    change(copy)
    return copy


def _channel(index: int, **fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda r: r["InputDataConfig"][index].update(fields)


def _source(**fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda r: r["InputDataConfig"][0]["DataSource"]["S3DataSource"].update(fields)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (
            lambda r: r["AlgorithmSpecification"].update(TrainingInputMode="Stream"),
            "at 'algorithmSpecification.trainingInputMode' failed to satisfy constraint: "
            "Member must satisfy enum value set: [Pipe, File, FastFile]",
        ),
        (
            lambda r: r["ResourceConfig"].update(InstanceType="ml.m5.huge"),
            "at 'resourceConfig.instanceType' failed to satisfy constraint: Member must satisfy "
            "enum value set",
        ),
        (
            _source(S3DataDistributionType="Everywhere"),
            "s3DataDistributionType' failed to satisfy constraint: Member must satisfy enum value "
            "set: [FullyReplicated, ShardedByS3Key]",
        ),
        (_channel(0, CompressionType="Zip"), "compressionType"),
        (_channel(0, ContentType="t" * 257), "length less than or equal to 256"),
        (_channel(1, ChannelName="train"), "Channel names must be unique: train"),
        (
            lambda r: r.update(HyperParameters={f"k{i}": "1" for i in range(101)}),
            "at 'hyperParameters' failed to satisfy constraint: Map must have length less than "
            "or equal to 100",
        ),
        (
            lambda r: r["HyperParameters"].update(eta="1" * 2501),
            "length less than or equal to 2500",
        ),
        (
            lambda r: r["AlgorithmSpecification"].update(TrainingImage="not an image"),
            "at 'algorithmSpecification.trainingImage'",
        ),
    ],
)
def test_what_sagemaker_refuses_in_a_training_request_is_refused(
    stack: Stack,
    sm: SageMakerClient,
    change: Callable[[dict[str, Any]], None],
    says: str,
) -> None:
    request = edited(training_request(stack, "r-trained", "job-refused"), change)
    code, message, _ = error_of(lambda: sm.create_training_job(**request))
    assert code == "ValidationException"
    assert says in message


def test_training_api_errors(stack: Stack, sm: SageMakerClient, trained: dict[str, Any]) -> None:
    code, message, response = error_of(lambda: sm.describe_training_job(TrainingJobName="nope"))
    assert (code, message) == ("ValidationException", "Requested resource not found.")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400

    duplicate = training_request(stack, "r-trained", "job-r-trained")
    code, message, _ = error_of(lambda: sm.create_training_job(**duplicate))
    assert code == "ResourceInUse"
    assert "a training job with this name already exists" in message

    code, message, _ = error_of(
        lambda: sm.create_training_job(**training_request(stack, "r-trained", "bad_name"))
    )
    assert code == "ValidationException"
    assert "Value 'bad_name' at 'trainingJobName' failed to satisfy constraint" in message

    too_long = "j" * 64
    code, message, _ = error_of(
        lambda: sm.create_training_job(**training_request(stack, "r-trained", too_long))
    )
    assert code == "ValidationException"
    assert "Member must have length less than or equal to 63" in message

    code, message, _ = error_of(
        lambda: sm.create_training_job(**training_request(stack, "r-no-data", "job-r-no-data"))
    )
    assert code == "ValidationException"
    assert message.startswith("No S3 objects found under S3 URL")


# -------------------------------------------------------------------------------------- endpoints


def test_endpoint_serves_the_trained_model(
    sm: SageMakerClient,
    runtime: SageMakerRuntimeClient,
    s3: S3Client,
    trained: dict[str, Any],
    dataset: tuple[Matrix, Matrix],
    emulator: Emulator,
) -> None:
    emulator.set_faults(endpoint_delay_seconds=1.0)  # long enough to look while it is Creating
    model_data = trained["ModelArtifacts"]["S3ModelArtifacts"]
    sm.create_model(
        ModelName="model-ep-serve",
        ExecutionRoleArn=SAGEMAKER_ROLE_ARN,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": model_data},
    )
    create_config(sm, "config-ep-serve", "model-ep-serve")
    sm.create_endpoint(EndpointName="ep-serve", EndpointConfigName="config-ep-serve")
    assert sm.describe_endpoint(EndpointName="ep-serve")["EndpointStatus"] == "Creating"
    code, message, _ = error_of(
        lambda: runtime.invoke_endpoint(
            EndpointName="ep-serve", Body=b"1,2,3,4,5", ContentType="text/csv"
        )
    )
    assert (code, message) == (
        "ValidationError",
        "Endpoint ep-serve of account 123456789012 not found.",
    )

    endpoint = settled_endpoint(sm, "ep-serve")
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["ProductionVariants"][0]["CurrentServerlessConfig"]["MemorySizeInMB"] == 4096

    features, _ = dataset
    bucket, key = model_data.removeprefix("s3://").split("/", 1)
    _, local = model_in(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    for batch in np.array_split(features, 4):
        answer = runtime.invoke_endpoint(
            EndpointName="ep-serve", Body=to_csv(batch), ContentType="text/csv", Accept="text/csv"
        )
        assert answer["ContentType"] == "text/csv"
        assert answer["InvokedProductionVariant"] == "AllTraffic"
        scores = scores_of(answer["Body"].read())
        assert len(scores) == len(batch)
        assert all(0.0 <= score <= 1.0 for score in scores)
        # The CSV the endpoint parsed is what the client sent: same rounding, same scores.
        expected = local.predict(xgb.DMatrix(np.loadtxt(io.BytesIO(to_csv(batch)), delimiter=",")))
        assert scores == [float(value) for value in expected]

    as_json = runtime.invoke_endpoint(
        EndpointName="ep-serve",
        Body=to_csv(features[:3]),
        ContentType="text/csv",
        Accept="application/json",
    )
    predictions = json.loads(as_json["Body"].read())["predictions"]
    assert [sorted(p) for p in predictions] == [["score"]] * 3


def test_invoke_errors(
    sm: SageMakerClient, runtime: SageMakerRuntimeClient, trained: dict[str, Any]
) -> None:
    deploy(sm, "ep-errors", trained["ModelArtifacts"]["S3ModelArtifacts"])

    code, message, _ = error_of(
        lambda: runtime.invoke_endpoint(EndpointName="nope", Body=b"1", ContentType="text/csv")
    )
    assert (code, message) == (
        "ValidationError",
        "Endpoint nope of account 123456789012 not found.",
    )

    code, message, response = error_of(
        lambda: runtime.invoke_endpoint(
            EndpointName="ep-errors", Body=b"1,x,3", ContentType="text/csv"
        )
    )
    assert code == "ModelError"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert response["OriginalStatusCode"] == 415
    assert message.startswith(
        'Received client error (415) from primary with message "Loading csv data failed'
    )

    code, _, response = error_of(
        lambda: runtime.invoke_endpoint(
            EndpointName="ep-errors", Body=b"1,2,3,4,5,6,7", ContentType="text/csv"
        )
    )
    assert (code, response["OriginalStatusCode"]) == ("ModelError", 400)

    oversize = b"0.5,0.5,0.5,0.5,0.5\n" * (4 * 1024 * 1024 // 20 + 1)
    code, message, _ = error_of(
        lambda: runtime.invoke_endpoint(
            EndpointName="ep-errors", Body=oversize, ContentType="text/csv"
        )
    )
    assert code == "ValidationError"
    assert message.endswith("has oversize body.")


def test_endpoint_with_unloadable_model_fails(
    stack: Stack, sm: SageMakerClient, s3: S3Client
) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(b"not a model")
        tar.addfile(info, io.BytesIO(b"not a model"))
    bucket = stack.buckets["models"]
    s3.put_object(Bucket=bucket, Key="broken/model.tar.gz", Body=buffer.getvalue())

    endpoint = deploy(sm, "ep-broken", f"s3://{bucket}/broken/model.tar.gz")
    assert endpoint["EndpointStatus"] == "Failed"
    assert endpoint["FailureReason"] == (
        "The primary container for production variant AllTraffic did not pass the ping health "
        "check. Please check CloudWatch logs for this endpoint."
    )

    code, message, _ = error_of(
        lambda: sm.create_model(
            ModelName="model-missing-data",
            ExecutionRoleArn=SAGEMAKER_ROLE_ARN,
            PrimaryContainer={
                "Image": IMAGE,
                "ModelDataUrl": f"s3://{bucket}/nothing/model.tar.gz",
            },
        )
    )
    assert (code, message) == (
        "ValidationException",
        f"Could not find model data at s3://{bucket}/nothing/model.tar.gz.",
    )


def test_injected_endpoint_failure(
    sm: SageMakerClient, emulator: Emulator, trained: dict[str, Any]
) -> None:
    emulator.set_faults(endpoint_failures={"ep-doomed": "Injected: capacity unavailable"})
    endpoint = deploy(sm, "ep-doomed", trained["ModelArtifacts"]["S3ModelArtifacts"])
    assert (endpoint["EndpointStatus"], endpoint["FailureReason"]) == (
        "Failed",
        "Injected: capacity unavailable",
    )
    code, message, _ = error_of(
        lambda: sm.update_endpoint(EndpointName="ep-doomed", EndpointConfigName="config-ep-doomed")
    )
    assert (code, message) == (
        "ValidationException",
        f'Cannot update failed endpoint "{ARN_PREFIX}:endpoint/ep-doomed".',
    )


def test_update_then_delete_endpoint(
    sm: SageMakerClient,
    runtime: SageMakerRuntimeClient,
    emulator: Emulator,
    trained: dict[str, Any],
) -> None:
    deploy(sm, "ep-update", trained["ModelArtifacts"]["S3ModelArtifacts"])
    create_config(sm, "config-ep-update-2", "model-ep-update", serverless=False)
    emulator.set_faults(endpoint_delay_seconds=1.0)  # long enough to look while it is Updating

    sm.update_endpoint(EndpointName="ep-update", EndpointConfigName="config-ep-update-2")
    updating = sm.describe_endpoint(EndpointName="ep-update")
    assert updating["EndpointStatus"] == "Updating"
    assert updating["PendingDeploymentSummary"]["EndpointConfigName"] == "config-ep-update-2"
    during = runtime.invoke_endpoint(
        EndpointName="ep-update", Body=b"0,0,0,0,0", ContentType="text/csv"
    )
    assert during["InvokedProductionVariant"] == "AllTraffic"  # the old config keeps serving
    code, message, _ = error_of(
        lambda: sm.update_endpoint(
            EndpointName="ep-update", EndpointConfigName="config-ep-update-2"
        )
    )
    assert code == "ValidationException"
    assert message.startswith("Cannot update in-progress endpoint")

    updated = settled_endpoint(sm, "ep-update")
    assert (updated["EndpointStatus"], updated["EndpointConfigName"]) == (
        "InService",
        "config-ep-update-2",
    )
    # Real-time variants take up to 6 MB, more than a serverless one's 4 MB.
    body = b"0.5,0.5,0.5,0.5,0.5\n" * (5 * 1024 * 1024 // 20)
    after = runtime.invoke_endpoint(EndpointName="ep-update", Body=body, ContentType="text/csv")
    assert after["InvokedProductionVariant"] == "Instances"
    assert len(scores_of(after["Body"].read())) == body.count(b"\n")

    sm.delete_endpoint(EndpointName="ep-update")
    sm.delete_endpoint_config(EndpointConfigName="config-ep-update")
    sm.delete_endpoint_config(EndpointConfigName="config-ep-update-2")
    sm.delete_model(ModelName="model-ep-update")
    arn = ARN_PREFIX
    for call, text in [
        (
            lambda: sm.describe_endpoint(EndpointName="ep-update"),
            f'endpoint "{arn}:endpoint/ep-update"',
        ),
        (
            lambda: sm.delete_endpoint(EndpointName="ep-update"),
            f'endpoint "{arn}:endpoint/ep-update"',
        ),
        (
            lambda: sm.describe_endpoint_config(EndpointConfigName="config-ep-update"),
            f'endpoint configuration "{arn}:endpoint-config/config-ep-update"',
        ),
        (
            lambda: sm.describe_model(ModelName="model-ep-update"),
            f'model "{arn}:model/model-ep-update"',
        ),
    ]:
        code, message, _ = error_of(call)
        assert (code, message) == ("ValidationException", f"Could not find {text}.")
    code, _, _ = error_of(
        lambda: runtime.invoke_endpoint(EndpointName="ep-update", Body=b"1", ContentType="text/csv")
    )
    assert code == "ValidationError"


def test_hosting_api_errors(sm: SageMakerClient, trained: dict[str, Any]) -> None:
    deploy(sm, "ep-dup", trained["ModelArtifacts"]["S3ModelArtifacts"])
    code, message, _ = error_of(
        lambda: sm.create_endpoint(EndpointName="ep-dup", EndpointConfigName="config-ep-dup")
    )
    assert (code, message) == (
        "ValidationException",
        f'Cannot create already existing endpoint "{ARN_PREFIX}:endpoint/ep-dup".',
    )
    code, message, _ = error_of(lambda: create_config(sm, "config-ep-dup", "model-ep-dup"))
    assert message.startswith('Cannot create already existing endpoint configuration "')

    code, message, _ = error_of(lambda: create_config(sm, "config-no-model", "model-absent"))
    assert (code, message) == (
        "ValidationException",
        f'Could not find model "{ARN_PREFIX}:model/model-absent".',
    )
    code, message, _ = error_of(
        lambda: sm.create_endpoint(EndpointName="ep-no-config", EndpointConfigName="config-absent")
    )
    assert message.startswith('Could not find endpoint configuration "')


@pytest.fixture(scope="module")
def shared_model(sm: SageMakerClient, trained: dict[str, Any]) -> str:
    sm.create_model(
        ModelName="model-shared",
        ExecutionRoleArn=SAGEMAKER_ROLE_ARN,
        PrimaryContainer={
            "Image": IMAGE,
            "ModelDataUrl": trained["ModelArtifacts"]["S3ModelArtifacts"],
        },
    )
    return "model-shared"


@pytest.mark.parametrize(
    ("memory", "concurrency", "constraint"),
    [
        (
            3000,
            1,
            "memorySizeInMB' failed to satisfy constraint: Member must be one of [1024, 2048",
        ),
        (8192, 1, "memorySizeInMB' failed to satisfy constraint: Member must have value less than"),
        (
            2048,
            201,
            "maxConcurrency' failed to satisfy constraint: Member must have value less than",
        ),
    ],
)
def test_serverless_config_limits(
    sm: SageMakerClient, shared_model: str, memory: int, concurrency: int, constraint: str
) -> None:
    # Values under the minimums never leave botocore (ParamValidationError); these reach the server.
    variant: ProductionVariantTypeDef = {
        "VariantName": "AllTraffic",
        "ModelName": shared_model,
        "ServerlessConfig": {"MemorySizeInMB": memory, "MaxConcurrency": concurrency},
    }
    code, message, _ = error_of(
        lambda: sm.create_endpoint_config(
            EndpointConfigName="config-bad", ProductionVariants=[variant]
        )
    )
    assert code == "ValidationException"
    assert message.startswith("1 validation error detected: Value ")
    assert f"at 'productionVariants.1.member.serverlessConfig.{constraint}" in message


def test_serverless_endpoints_beyond_the_account_quota_are_refused(
    sm: SageMakerClient, emulator: Emulator, shared_model: str
) -> None:
    existing = len(sm.list_endpoints(MaxResults=100)["Endpoints"])  # all serverless here
    emulator.set_faults(serverless_endpoint_quota=existing + 2)
    create_config(sm, "config-quota", shared_model)
    created = []
    for index in range(2):
        name = f"quota-{index}"
        sm.create_endpoint(EndpointName=name, EndpointConfigName="config-quota")
        created.append(name)
    code, message, _ = error_of(
        lambda: sm.create_endpoint(EndpointName="quota-2", EndpointConfigName="config-quota")
    )
    assert code == "ResourceLimitExceeded"
    assert "'Number of serverless endpoints' is" in message
    assert f"current utilization of {existing + 2} Endpoints" in message
    sm.delete_endpoint(EndpointName=created.pop())  # a deleted one frees its place
    sm.create_endpoint(EndpointName="quota-3", EndpointConfigName="config-quota")
    for name in ("quota-0", "quota-3"):
        sm.delete_endpoint(EndpointName=name)


# ------------------------------------------------------------------------------ fault admin route


def test_fault_admin_route(emulator: Emulator) -> None:
    def call(method: str, payload: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            f"{emulator.url}/_emulator/faults", data=data, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    status, faults = call("POST", {"invoke_latency_seconds": 0.1, "training_failures": {"x": "y"}})
    assert status == 200
    assert (faults["invoke_latency_seconds"], faults["training_failures"]) == (0.1, {"x": "y"})
    assert call("GET")[1] == faults
    assert call("POST", {"no_such_fault": 1})[0] == 400
    assert call("POST", {"endpoint_delay_seconds": -1})[0] == 400
    status, faults = call("DELETE")
    assert (status, faults["invoke_latency_seconds"], faults["endpoint_delay_seconds"]) == (
        200,
        0.0,
        0.2,
    )


def test_standalone_server_for_compose(stack: Stack) -> None:
    """`python -m localcloud.sagemaker` serves until SIGTERM, then exits 0."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "localcloud.sagemaker", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--s3-endpoint", stack.endpoint_url]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        health: dict[str, Any] = {}
        while not health and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_emulator/health") as reply:
                    health = json.loads(reply.read())
            except OSError:
                time.sleep(0.2)
        assert health == {"status": "ok"}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stderr is not None
        process.stderr.close()


def test_injected_update_failure_rolls_back_to_the_old_model(
    sm: SageMakerClient,
    runtime: SageMakerRuntimeClient,
    emulator: Emulator,
    trained: dict[str, Any],
) -> None:
    deploy(sm, "ep-upfail", trained["ModelArtifacts"]["S3ModelArtifacts"])
    create_config(sm, "config-ep-upfail-2", "model-ep-upfail", serverless=False)
    emulator.set_faults(update_failures={"ep-upfail": "injected update failure"})

    sm.update_endpoint(EndpointName="ep-upfail", EndpointConfigName="config-ep-upfail-2")
    assert sm.describe_endpoint(EndpointName="ep-upfail")["EndpointStatus"] == "Updating"
    settled = settled_endpoint(sm, "ep-upfail")
    assert (settled["EndpointStatus"], settled["EndpointConfigName"]) == (
        "InService",
        "config-ep-upfail",
    )
    assert settled["FailureReason"] == "injected update failure"
    served = runtime.invoke_endpoint(
        EndpointName="ep-upfail", Body=b"0,0,0,0,0", ContentType="text/csv"
    )
    assert served["InvokedProductionVariant"] == "AllTraffic"  # still the old variant


# --------------------------------------------------------------------------------------- registry


def test_model_package_versions_count_from_one_per_group(sm: SageMakerClient) -> None:
    group = sm.create_model_package_group(
        ModelPackageGroupName="grp-a", ModelPackageGroupDescription="versions of a"
    )["ModelPackageGroupArn"]
    assert group == f"{ARN_PREFIX}:model-package-group/grp-a"
    code, message, _ = error_of(
        lambda: sm.create_model_package_group(ModelPackageGroupName="grp-a")
    )
    assert (code, message) == (
        "ValidationException",
        f"Model Package Group already exists: {group}",
    )
    spec: Any = {
        "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://b/runs/r1/model.tar.gz"}],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
    }
    arns = [
        sm.create_model_package(
            ModelPackageGroupName="grp-a",
            ModelPackageDescription=f"run r{n}",
            InferenceSpecification=spec,
            CustomerMetadataProperties={"run_id": f"r{n}"},
            ModelApprovalStatus="Approved" if n == 2 else "PendingManualApproval",
        )["ModelPackageArn"]
        for n in (1, 2, 3)
    ]
    assert arns == [f"{ARN_PREFIX}:model-package/grp-a/{n}" for n in (1, 2, 3)]
    described = sm.describe_model_package(ModelPackageName="grp-a/2")
    assert described["ModelPackageVersion"] == 2
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["CustomerMetadataProperties"] == {"run_id": "r2"}
    assert described["InferenceSpecification"]["Containers"][0]["ModelDataUrl"].endswith(
        "r1/model.tar.gz"
    )

    sm.update_model_package(
        ModelPackageArn=arns[0], ModelApprovalStatus="Rejected", ApprovalDescription="worse"
    )
    rejected = sm.describe_model_package(ModelPackageName="grp-a/1")
    assert (rejected["ModelApprovalStatus"], rejected["ApprovalDescription"]) == (
        "Rejected",
        "worse",
    )

    code, message, _ = error_of(lambda: sm.describe_model_package(ModelPackageName="grp-a/9"))
    assert (code, message) == (
        "ValidationException",
        f"ModelPackage {ARN_PREFIX}:model-package/grp-a/9 does not exist.",
    )
    code, message, _ = error_of(
        lambda: sm.create_model_package(
            ModelPackageGroupName="grp-none", InferenceSpecification=spec
        )
    )
    assert message == f"ModelPackageGroup {ARN_PREFIX}:model-package-group/grp-none does not exist."


def test_model_package_client_token_makes_one_version(sm: SageMakerClient) -> None:
    sm.create_model_package_group(ModelPackageGroupName="grp-token")
    first, again = (
        sm.create_model_package(ModelPackageGroupName="grp-token", ClientToken="run-1")
        for _ in range(2)
    )
    assert first["ModelPackageArn"] == again["ModelPackageArn"]
    described = sm.describe_model_package(ModelPackageName=first["ModelPackageArn"])
    assert described["ModelApprovalStatus"] == "PendingManualApproval"  # the default
    listed = sm.list_model_packages(ModelPackageGroupName="grp-token")["ModelPackageSummaryList"]
    assert len(listed) == 1


def test_list_model_packages_pages_sorts_and_filters(sm: SageMakerClient) -> None:
    sm.create_model_package_group(ModelPackageGroupName="grp-list")
    for n in range(1, 13):
        sm.create_model_package(
            ModelPackageGroupName="grp-list",
            ModelApprovalStatus="Approved" if n % 3 == 0 else "Rejected",
        )
    paginator = sm.get_paginator("list_model_packages")
    pages = list(
        paginator.paginate(ModelPackageGroupName="grp-list", PaginationConfig={"PageSize": 5})
    )
    assert [len(p["ModelPackageSummaryList"]) for p in pages] == [5, 5, 2]
    versions = [s["ModelPackageVersion"] for p in pages for s in p["ModelPackageSummaryList"]]
    assert versions == list(range(1, 13))  # ascending creation by default
    newest = sm.list_model_packages(
        ModelPackageGroupName="grp-list",
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=2,
    )["ModelPackageSummaryList"]
    assert [s["ModelPackageVersion"] for s in newest] == [12, 11]
    approved = sm.list_model_packages(
        ModelPackageGroupName="grp-list", ModelApprovalStatus="Approved", MaxResults=100
    )["ModelPackageSummaryList"]
    assert [s["ModelPackageVersion"] for s in approved] == [3, 6, 9, 12]
    code, message, _ = error_of(
        lambda: sm.list_model_packages(ModelPackageGroupName="grp-list", MaxResults=101)
    )
    assert code == "ValidationException"
    assert "less than or equal to 100" in message


def test_what_the_registry_refuses(sm: SageMakerClient) -> None:
    sm.create_model_package_group(ModelPackageGroupName="grp-bad")
    cases: list[dict[str, Any]] = [
        {"ModelApprovalStatus": "Maybe"},
        {"ClientToken": "has_underscore"},
        {"ModelPackageDescription": "two\nlines"},
        {"CustomerMetadataProperties": {"run id!": "x"}},
        {"CustomerMetadataProperties": {"k": "v" * 257}},
    ]
    client: Any = sm  # the cases are what the stubs' types would refuse
    for fields in cases:

        def create(fields: dict[str, Any] = fields) -> object:
            return client.create_model_package(ModelPackageGroupName="grp-bad", **fields)

        code, _, _ = error_of(create)
        assert code == "ValidationException", fields
    assert sm.list_model_packages(ModelPackageGroupName="grp-bad")["ModelPackageSummaryList"] == []
    code, _, _ = error_of(lambda: sm.create_model_package_group(ModelPackageGroupName="bad_name"))
    assert code == "ValidationException"
