"""The model registry: one SageMaker model package group per dataset, one version per run.

A version records what serves it (image, the serving bundle's `ModelDataUrl` and the script-mode
environment, raw CSV or JSON rows), where its metrics are (`ModelMetrics`), and which run made it
(customer metadata: run id, source object, recipe digest, headline metric, the raw columns a
request needs). Its approval status is the gate's decision: `Approved` once it serves on the
live endpoint, `Rejected` with the reason, `PendingManualApproval` while it waits for the gate or
for an operator.

Registering is idempotent: the version a run registered is remembered next to the run
(`runs/<run_id>/registry.json`), and the create call carries the run id as its ClientToken, so a
redelivery that died between the two still finds one version.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from handlers.aws.sagemaker import create_once, describe_or_none
from handlers.aws.storage import Bucket
from handlers.naming import TAG_VALUE_MAX, RunPaths, is_run_id, tag_text
from service.failures import PermanentError

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

Status = Literal["Approved", "Rejected", "PendingManualApproval"]
PENDING: Status = "PendingManualApproval"
# How a version rolled back from is marked (`Rejected`, this reason): it served once, so an
# operator may bring it back (approve it again, or roll back to it).
ROLLED_BACK = "rolled back: "


def may_serve_again(status: str, reason: str) -> bool:
    """A version an operator may put back on the live endpoint: one rolled back from."""
    return status == "Rejected" and reason.startswith(ROLLED_BACK)


DESCRIPTION_LIMIT = 1024
_RUN_IN_DESCRIPTION = re.compile(r"^run (\d{8}-[0-9a-f]{10}) ")

GROUP_DESCRIPTION = "automlops: the versions of dataset "  # then the dataset's name


@dataclass(frozen=True)
class Version:
    """One registered version, as `ListModelPackages` summarises it."""

    number: int
    arn: str
    status: Status
    run_id: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "arn": self.arn,
            "status": self.status,
            "run_id": self.run_id,
        }


@dataclass(frozen=True)
class Registration:
    """What a run registers."""

    run_id: str
    dataset: str
    image: str
    model_data_url: str
    environment: dict[str, str]  # what the container reads to serve it (script mode)
    input_columns: tuple[str, ...]  # the raw columns a request must have
    metrics_uri: str
    source_uri: str
    recipe_digest: str
    headline: str  # e.g. "roc_auc=0.7381"


@dataclass(frozen=True)
class Container:
    model_data_url: str
    environment: dict[str, str]


class ModelRegistry:
    def __init__(self, sagemaker: SageMakerClient, reports: Bucket) -> None:
        self._sm = sagemaker
        self._reports = reports

    def ensure_group(self, group: str, dataset: str) -> None:
        if describe_or_none(
            lambda: self._sm.describe_model_package_group(ModelPackageGroupName=group)
        ):
            return
        create_once(
            lambda: self._sm.create_model_package_group(
                ModelPackageGroupName=group,
                ModelPackageGroupDescription=f"{GROUP_DESCRIPTION}{dataset}",
            )
        )

    def register(self, group: str, entry: Registration) -> Version:
        """The run's version, registered once (pending until the gate decides)."""
        known = self.registered(entry.run_id)
        if known is not None:
            return known
        arn = self._sm.create_model_package(
            ModelPackageGroupName=group,
            ModelPackageDescription=f"run {entry.run_id} of dataset {entry.dataset}",
            InferenceSpecification={
                "Containers": [
                    {
                        "Image": entry.image,
                        "ModelDataUrl": entry.model_data_url,
                        "Environment": entry.environment,
                    }
                ],
                "SupportedContentTypes": ["text/csv", "application/json"],
                "SupportedResponseMIMETypes": ["application/json", "text/csv"],
            },
            ModelMetrics={
                "ModelQuality": {
                    "Statistics": {"ContentType": "application/json", "S3Uri": entry.metrics_uri}
                }
            },
            CustomerMetadataProperties={
                key: tag_text(value, TAG_VALUE_MAX)
                for key, value in (
                    ("run_id", entry.run_id),
                    ("source", entry.source_uri),
                    ("recipe_sha256", entry.recipe_digest),
                    ("headline_metric", entry.headline),
                    # Space-separated: metadata values admit no comma.
                    ("input_columns", " ".join(entry.input_columns)),
                )
            },
            ModelApprovalStatus=PENDING,
            ClientToken=entry.run_id,
        )["ModelPackageArn"]
        version = Version(_number_of(arn), arn, PENDING, entry.run_id)
        self._reports.write_json(RunPaths(entry.run_id).registration, version.to_dict())
        return version

    def registered(self, run_id: str) -> Version | None:
        found = self._reports.read_json(RunPaths(run_id).registration)
        if found is None:
            return None
        document = found[0]
        return Version(int(document["number"]), str(document["arn"]), document["status"], run_id)

    def set_status(self, version: Version, status: Status, reason: str) -> None:
        self._sm.update_model_package(
            ModelPackageArn=version.arn,
            ModelApprovalStatus=status,
            ApprovalDescription=_clip(reason),
        )

    def versions(self, group: str) -> list[Version]:
        """Every version of the group, oldest first (an empty list for a group not made yet)."""
        return list(self._iterate(group))

    def _iterate(self, group: str) -> Iterator[Version]:
        if (
            describe_or_none(
                lambda: self._sm.describe_model_package_group(ModelPackageGroupName=group)
            )
            is None
        ):
            return
        paginator = self._sm.get_paginator("list_model_packages")
        pages = paginator.paginate(
            ModelPackageGroupName=group, SortBy="CreationTime", SortOrder="Ascending"
        )
        for page in pages:
            for summary in page["ModelPackageSummaryList"]:
                match = _RUN_IN_DESCRIPTION.match(str(summary.get("ModelPackageDescription", "")))
                if match is None:
                    continue  # not registered by this pipeline
                yield Version(
                    int(summary.get("ModelPackageVersion", 0)),
                    summary["ModelPackageArn"],
                    summary.get("ModelApprovalStatus", PENDING),
                    match.group(1),
                )

    def version(self, group: str, number: int) -> Version:
        """One version by number; PermanentError naming the group when there is none."""
        found = describe_or_none(
            lambda: self._sm.describe_model_package(ModelPackageName=f"{group}/{number}")
        )
        if found is None:
            raise PermanentError(f"model package group {group} has no version {number}")
        described: dict[str, Any] = dict(found)  # type: ignore[call-overload]
        run_id = str(described.get("CustomerMetadataProperties", {}).get("run_id", ""))
        if not is_run_id(run_id):
            raise PermanentError(f"{group}/{number} was not registered by this pipeline")
        status = described.get("ModelApprovalStatus", PENDING)
        return Version(number, str(described["ModelPackageArn"]), status, run_id)

    def describe(self, version: Version) -> dict[str, Any]:
        return dict(self._sm.describe_model_package(ModelPackageName=version.arn))

    def container(self, package_arn: str) -> Container:
        """Where a version's model is and how it is served (to deploy it again after clean-up
        deleted its model)."""
        described = self._sm.describe_model_package(ModelPackageName=package_arn)
        first = described["InferenceSpecification"]["Containers"][0]
        return Container(str(first["ModelDataUrl"]), dict(first.get("Environment") or {}))


def _number_of(arn: str) -> int:
    return int(arn.rsplit("/", 1)[-1])


def _clip(text: str) -> str:
    return text if len(text) <= DESCRIPTION_LIMIT else text[: DESCRIPTION_LIMIT - 1] + "…"
