"""CreateTrainingJob, DescribeTrainingJob, ListTrainingJobs, StopTrainingJob."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from typing import Any

from localcloud.sagemaker import listing
from localcloud.sagemaker.errors import resource_in_use, validation
from localcloud.sagemaker.model_rules import check_enum, check_map, check_max_length
from localcloud.sagemaker.s3io import S3, S3Error, split_uri
from localcloud.sagemaker.store import Store, TrainingJob
from localcloud.sagemaker.training_runner import TrainingRunner
from localcloud.sagemaker.validation import (
    ROLE_ARN_PATTERN,
    S3_URI_PATTERN,
    Problems,
    check_name,
    check_string,
    check_tags,
    member_path,
    required,
)

# Request members DescribeTrainingJob echoes back unchanged.
ECHOED = (
    "HyperParameters",
    "AlgorithmSpecification",
    "RoleArn",
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "VpcConfig",
    "StoppingCondition",
    "CheckpointConfig",
    "DebugHookConfig",
    "ExperimentConfig",
    "TensorBoardOutputConfig",
    "ProfilerConfig",
    "Environment",
    "RetryStrategy",
)
NOT_FOUND = "Requested resource not found."
# registry/repository[:tag] or registry/repository[@digest], as CreateTrainingJob documents.
IMAGE_URI = re.compile(r"[^\s/:@]+(:\d+)?(/[^\s/:@]+)+(:[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})?")


class TrainingJobs:
    def __init__(self, store: Store, s3: S3, runner: TrainingRunner) -> None:
        self._store = store
        self._s3 = s3
        self._runner = runner

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        _validate(body)
        name = str(body["TrainingJobName"])
        arn = self._store.arn("training-job", name)
        self._refuse_duplicate(name, arn)
        self._require_input_objects(body)
        now = time.time()
        job = TrainingJob(name=name, arn=arn, request=dict(body), created=now, modified=now)
        job.transitions.append(
            {
                "Status": "Starting",
                "StartTime": now,
                "StatusMessage": "Preparing the instances for training",
            }
        )
        with self._store.lock:
            self._refuse_duplicate(name, arn)
            self._store.training_jobs.add(name, job)
            if body.get("Tags"):
                self._store.tags[arn] = {t["Key"]: t["Value"] for t in body["Tags"]}
        self._runner.start(job)
        return {"TrainingJobArn": arn}

    def describe(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._store.lock:
            job = self._store.training_jobs.find(str(body.get("TrainingJobName", "")))
            if job is None:
                raise validation(NOT_FOUND)
            return _description(job)

    def list(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._store.lock:
            summaries = [_summary(job) for job in self._store.training_jobs]
        summaries = listing.filtered(summaries, body, "TrainingJobName", "TrainingJobStatus")
        fields = {
            "Name": "TrainingJobName",
            "CreationTime": "CreationTime",
            "Status": "TrainingJobStatus",
        }
        summaries = listing.sorted_by(summaries, body, fields, default_order="Ascending")
        return listing.page(summaries, body, "TrainingJobSummaries")

    def stop(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._store.lock:
            job = self._store.training_jobs.find(str(body.get("TrainingJobName", "")))
            if job is None:
                raise validation(NOT_FOUND)
            if job.status != "InProgress":
                raise validation(
                    f"The request was rejected because the training job is in status {job.status}."
                )
            job.status = "Stopping"
            job.secondary = "Stopping"
            job.modified = time.time()
            job.stop_requested.set()
        return {}

    def _refuse_duplicate(self, name: str, arn: str) -> None:
        with self._store.lock:
            if self._store.training_jobs.find(name) is not None:
                raise resource_in_use(
                    "Training job names must be unique within an AWS account and region, and a "
                    f"training job with this name already exists ({arn})"
                )

    def _require_input_objects(self, body: Mapping[str, Any]) -> None:
        """SageMaker lists every S3Prefix channel before accepting the job."""
        for channel in body.get("InputDataConfig") or []:
            uri = str(channel["DataSource"]["S3DataSource"]["S3Uri"])
            try:
                found = bool(self._s3.list_objects(uri))
            except S3Error:
                found = False
            if not found:
                bucket = split_uri(uri)[0]
                raise validation(
                    f'No S3 objects found under S3 URL "{uri}" given in input data source. Please '
                    f"ensure that the bucket exists in the selected region "
                    f"({self._store.account.region}), that objects exist under that S3 prefix, and "
                    f'that the role "{body["RoleArn"]}" has "s3:ListBucket" permissions on bucket '
                    f'"{bucket}".'
                )


def _validate(body: Mapping[str, Any]) -> None:
    problems = Problems()
    check_name(
        problems, required(problems, body, "TrainingJobName", "trainingJobName"), "trainingJobName"
    )
    role = required(problems, body, "RoleArn", "roleArn")
    check_string(problems, role, "roleArn", ROLE_ARN_PATTERN, 2048)
    _validate_algorithm(
        problems, required(problems, body, "AlgorithmSpecification", "algorithmSpecification")
    )
    check_map(problems, body.get("HyperParameters"), "hyperParameters", "HyperParameters")
    resources = body.get("ResourceConfig") or {}
    check_enum(
        problems,
        resources.get("InstanceType"),
        "resourceConfig.instanceType",
        "TrainingInstanceType",
    )
    output = required(problems, body, "OutputDataConfig", "outputDataConfig") or {}
    path = required(problems, output, "S3OutputPath", "outputDataConfig.s3OutputPath")
    check_string(problems, path, "outputDataConfig.s3OutputPath", S3_URI_PATTERN, 1024)
    # Optional in the service model since serverless jobs, still needed for a container job.
    required(problems, body, "ResourceConfig", "resourceConfig")
    required(problems, body, "StoppingCondition", "stoppingCondition")
    channels = body.get("InputDataConfig") or []
    for index, channel in enumerate(channels):
        _validate_channel(problems, index, channel)
    names = [channel.get("ChannelName") for channel in channels]
    repeated = sorted({str(n) for n in names if names.count(n) > 1})
    check_tags(problems, body.get("Tags"))
    problems.raise_if_any()
    if repeated:
        raise validation(f"Channel names must be unique: {', '.join(repeated)} appear twice.")
    _validate_supported(body)


def _validate_algorithm(problems: Problems, spec: Mapping[str, Any] | None) -> None:
    if spec is None:
        return
    if not spec.get("TrainingImage") and not spec.get("AlgorithmName"):
        problems.add(None, "algorithmSpecification.trainingImage", "Member must not be null")
    image = spec.get("TrainingImage")
    check_max_length(problems, image, "algorithmSpecification.trainingImage", "AlgorithmImage")
    if isinstance(image, str) and not IMAGE_URI.fullmatch(image):
        problems.add(
            image, "algorithmSpecification.trainingImage", "Member must be a registry path"
        )
    check_enum(
        problems,
        spec.get("TrainingInputMode"),
        "algorithmSpecification.trainingInputMode",
        "TrainingInputMode",
    )


def _validate_channel(problems: Problems, index: int, channel: Mapping[str, Any]) -> None:
    check_string(
        problems,
        channel.get("ChannelName"),
        member_path("inputDataConfig", index, "channelName"),
        r"^[A-Za-z0-9\.\-_]+",
        64,
    )
    source = (channel.get("DataSource") or {}).get("S3DataSource") or {}

    def path(member: str) -> str:
        return member_path("inputDataConfig", index, member)

    check_max_length(problems, channel.get("ContentType"), path("contentType"), "ContentType")
    check_enum(problems, channel.get("InputMode"), path("inputMode"), "TrainingInputMode")
    check_enum(problems, channel.get("CompressionType"), path("compressionType"), "CompressionType")
    check_enum(
        problems,
        source.get("S3DataDistributionType"),
        path("dataSource.s3DataSource.s3DataDistributionType"),
        "S3DataDistribution",
    )
    check_enum(
        problems, source.get("S3DataType"), path("dataSource.s3DataSource.s3DataType"), "S3DataType"
    )
    uri_path = member_path("inputDataConfig", index, "dataSource.s3DataSource.s3Uri")
    check_string(
        problems, required(problems, source, "S3Uri", uri_path), uri_path, S3_URI_PATTERN, 1024
    )


def _validate_supported(body: Mapping[str, Any]) -> None:
    for channel in body.get("InputDataConfig") or []:
        source = channel["DataSource"]["S3DataSource"]
        if source.get("S3DataType", "S3Prefix") != "S3Prefix" or not str(
            source["S3Uri"]
        ).startswith("s3://"):
            raise validation(
                "The SageMaker emulator reads only S3Prefix data sources with s3:// URIs."
            )
    if not str(body["OutputDataConfig"]["S3OutputPath"]).startswith("s3://"):
        raise validation("The SageMaker emulator writes only to s3:// output paths.")


def _summary(job: TrainingJob) -> dict[str, Any]:
    summary = {
        "TrainingJobName": job.name,
        "TrainingJobArn": job.arn,
        "CreationTime": job.created,
        "LastModifiedTime": job.modified,
        "TrainingJobStatus": job.status,
        "SecondaryStatus": job.secondary,
    }
    if job.ended is not None:
        summary["TrainingEndTime"] = job.ended
    return summary


def _description(job: TrainingJob) -> dict[str, Any]:
    """Built under the store lock; lists are copied so the response never sees a later change."""
    result: dict[str, Any] = {key: job.request[key] for key in ECHOED if key in job.request}
    result.update(_summary(job))
    result.update(
        {
            "SecondaryStatusTransitions": [dict(t) for t in job.transitions],
            "FinalMetricDataList": [dict(m) for m in job.metrics],
            "EnableNetworkIsolation": bool(job.request.get("EnableNetworkIsolation", False)),
            "EnableInterContainerTrafficEncryption": bool(
                job.request.get("EnableInterContainerTrafficEncryption", False)
            ),
            "EnableManagedSpotTraining": bool(job.request.get("EnableManagedSpotTraining", False)),
        }
    )
    if job.failure_reason:
        result["FailureReason"] = job.failure_reason
    if job.artifact_uri:
        result["ModelArtifacts"] = {"S3ModelArtifacts": job.artifact_uri}
    if job.started is not None:
        result["TrainingStartTime"] = job.started
    if job.started is not None and job.ended is not None:
        seconds = max(1, math.ceil(job.ended - job.started))
        result["TrainingTimeInSeconds"] = seconds
        result["BillableTimeInSeconds"] = seconds
    return result
