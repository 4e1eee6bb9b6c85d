"""The model registry: model package groups and their versioned model packages.

CreateModelPackageGroup, DescribeModelPackageGroup, ListModelPackageGroups; CreateModelPackage
(versioned only: with ModelPackageGroupName), DescribeModelPackage, ListModelPackages,
UpdateModelPackage, DeleteModelPackage. As SageMaker does: versions count from 1 in each group;
a ClientToken sent again returns the version it created instead of making another; a version
is named `<group>/<version>` or by its ARN; approval defaults to PendingManualApproval.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Mapping
from typing import Any

from localcloud.sagemaker import listing
from localcloud.sagemaker.errors import validation
from localcloud.sagemaker.store import ModelPackage, ModelPackageGroup, Store
from localcloud.sagemaker.validation import (
    S3_URI_PATTERN,
    Problems,
    check_int,
    check_name,
    check_string,
    check_tags,
    required,
)

APPROVAL_STATUSES = ("Approved", "Rejected", "PendingManualApproval")
DEFAULT_APPROVAL = "PendingManualApproval"
IDEMPOTENCY_KEY_PATTERN = r"^[a-zA-Z0-9-]+"
METADATA_MAX = 50
DESCRIPTION_MAX = 1024
_DESCRIPTION_CATEGORIES = frozenset(
    "LMZSNP"
)  # EntityDescription: [\p{L}\p{M}\p{Z}\p{S}\p{N}\p{P}]*
_METADATA_PUNCTUATION = frozenset("_.:/=+-@")


class Registry:
    def __init__(self, store: Store) -> None:
        self._store = store

    # -- groups ------------------------------------------------------------------------------

    def create_group(self, body: Mapping[str, Any]) -> dict[str, Any]:
        problems = Problems()
        name = required(problems, body, "ModelPackageGroupName", "modelPackageGroupName")
        check_name(problems, name, "modelPackageGroupName")
        _check_description(
            problems, body.get("ModelPackageGroupDescription"), "modelPackageGroupDescription"
        )
        check_tags(problems, body.get("Tags"))
        problems.raise_if_any()
        arn = self._store.arn("model-package-group", str(name))
        with self._store.lock:
            if self._store.model_package_groups.find(str(name)) is not None:
                raise validation(f"Model Package Group already exists: {arn}")
            group = ModelPackageGroup(str(name), arn, dict(body), time.time())
            self._store.model_package_groups.add(group.name, group)
            if body.get("Tags"):
                self._store.tags[arn] = {t["Key"]: t["Value"] for t in body["Tags"]}
        return {"ModelPackageGroupArn": arn}

    def describe_group(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._store.lock:
            group = self._group(str(body.get("ModelPackageGroupName", "")))
            return _group_summary(group) | {
                "CreatedBy": {},
            }

    def list_groups(self, body: Mapping[str, Any]) -> dict[str, Any]:
        _check_max_results(body)
        with self._store.lock:
            summaries = [_group_summary(g) for g in self._store.model_package_groups]
        summaries = listing.filtered(summaries, body, "ModelPackageGroupName")
        summaries = _created_within(summaries, body)
        fields = {"Name": "ModelPackageGroupName", "CreationTime": "CreationTime"}
        summaries = listing.sorted_by(summaries, body, fields, default_order="Ascending")
        return listing.page(summaries, body, "ModelPackageGroupSummaryList")

    # -- versions ----------------------------------------------------------------------------

    def create_package(self, body: Mapping[str, Any]) -> dict[str, Any]:
        _validate_package(body)
        if body.get("ModelPackageName"):
            raise validation(
                "Unversioned model packages are not supported here: give ModelPackageGroupName"
            )
        group_name = _name_of(str(body.get("ModelPackageGroupName") or ""))
        if not group_name:
            raise validation("Missing ARN.")
        token = body.get("ClientToken")
        with self._store.lock:
            group = self._group(group_name)
            if token and token in group.tokens:
                return {"ModelPackageArn": group.tokens[str(token)].arn}
            group.last_version += 1  # never reused, even after a version is deleted
            version = group.last_version
            now = time.time()
            package = ModelPackage(
                group=group.name,
                version=version,
                arn=self._store.arn("model-package", f"{group.name}/{version}"),
                request=dict(body),
                created=now,
                modified=now,
                approval=str(body.get("ModelApprovalStatus") or DEFAULT_APPROVAL),
                metadata=dict(body.get("CustomerMetadataProperties") or {}),
            )
            group.versions.append(package)
            if token:
                group.tokens[str(token)] = package
        return {"ModelPackageArn": package.arn}

    def describe_package(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._store.lock:
            package = self._package(str(body.get("ModelPackageName", "")))
            return _package_description(package)

    def list_packages(self, body: Mapping[str, Any]) -> dict[str, Any]:
        _check_max_results(body)
        _check_enum(body.get("ModelApprovalStatus"), "modelApprovalStatus", APPROVAL_STATUSES)
        group_name = _name_of(str(body.get("ModelPackageGroupName") or ""))
        with self._store.lock:
            if group_name:
                groups = [self._group(group_name)]
            elif body.get("ModelPackageType") in ("Versioned", "Both"):
                groups = list(self._store.model_package_groups)
            else:
                groups = []  # the default type is Unversioned, which the emulator has none of
            summaries = [_package_summary(p) for g in groups for p in g.versions]
        status = body.get("ModelApprovalStatus")
        summaries = [s for s in summaries if status is None or s["ModelApprovalStatus"] == status]
        summaries = listing.filtered(summaries, body, "ModelPackageName")
        summaries = _created_within(summaries, body)
        summaries.sort(key=lambda s: s["ModelPackageVersion"])  # the tie-break within a group
        fields = {"Name": "ModelPackageName", "CreationTime": "CreationTime"}
        summaries = listing.sorted_by(summaries, body, fields, default_order="Ascending")
        return listing.page(summaries, body, "ModelPackageSummaryList")

    def update_package(self, body: Mapping[str, Any]) -> dict[str, Any]:
        problems = Problems()
        arn = required(problems, body, "ModelPackageArn", "modelPackageArn")
        _check_enum(body.get("ModelApprovalStatus"), "modelApprovalStatus", APPROVAL_STATUSES)
        check_string(problems, body.get("ApprovalDescription"), "approvalDescription", r"^.*", 1024)
        _check_metadata(problems, body.get("CustomerMetadataProperties"))
        problems.raise_if_any()
        with self._store.lock:
            package = self._package(str(arn))
            if body.get("ModelApprovalStatus"):
                package.approval = str(body["ModelApprovalStatus"])
            if "ApprovalDescription" in body:
                package.approval_description = str(body["ApprovalDescription"])
            package.metadata.update(body.get("CustomerMetadataProperties") or {})
            for removed in body.get("CustomerMetadataPropertiesToRemove") or []:
                package.metadata.pop(str(removed), None)
            if len(package.metadata) > METADATA_MAX:
                raise validation(f"A model package can have at most {METADATA_MAX} properties.")
            package.modified = time.time()
            return {"ModelPackageArn": package.arn}

    def delete_package(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._store.lock:
            package = self._package(str(body.get("ModelPackageName", "")))
            group = self._group(package.group)
            group.versions.remove(package)
            group.tokens = {t: p for t, p in group.tokens.items() if p is not package}
        return {}

    # -- lookups -----------------------------------------------------------------------------

    def _group(self, name_or_arn: str) -> ModelPackageGroup:
        name = _name_of(name_or_arn)
        group = self._store.model_package_groups.find(name)
        if group is None:
            arn = self._store.arn("model-package-group", name)
            raise validation(f"ModelPackageGroup {arn} does not exist.")
        return group

    def _package(self, name_or_arn: str) -> ModelPackage:
        """`<group>/<version>`, or the version's ARN."""
        reference = _name_of(name_or_arn)
        group_name, _, number = reference.partition("/")
        group = self._store.model_package_groups.find(group_name)
        found = [p for p in group.versions if str(p.version) == number] if group else []
        if not found:
            arn = self._store.arn("model-package", reference)
            raise validation(f"ModelPackage {arn} does not exist.")
        return found[0]


def _name_of(name_or_arn: str) -> str:
    """The resource part of an ARN (`model-package/<group>/<n>` -> `<group>/<n>`), or the name."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn.split(":", 5)[-1].split("/", 1)[-1]
    return name_or_arn


def _group_summary(group: ModelPackageGroup) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "ModelPackageGroupName": group.name,
        "ModelPackageGroupArn": group.arn,
        "CreationTime": group.created,
        "ModelPackageGroupStatus": "Completed",
    }
    if group.request.get("ModelPackageGroupDescription"):
        summary["ModelPackageGroupDescription"] = group.request["ModelPackageGroupDescription"]
    return summary


def _package_summary(package: ModelPackage) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "ModelPackageName": package.group,
        "ModelPackageGroupName": package.group,
        "ModelPackageVersion": package.version,
        "ModelPackageArn": package.arn,
        "CreationTime": package.created,
        "ModelPackageStatus": "Completed",
        "ModelApprovalStatus": package.approval,
    }
    if package.request.get("ModelPackageDescription"):
        summary["ModelPackageDescription"] = package.request["ModelPackageDescription"]
    return summary


ECHOED = (
    "ModelPackageDescription",
    "InferenceSpecification",
    "ModelMetrics",
    "MetadataProperties",
    "Domain",
    "Task",
    "SamplePayloadUrl",
    "SourceUri",
)


def _package_description(package: ModelPackage) -> dict[str, Any]:
    result: dict[str, Any] = {k: package.request[k] for k in ECHOED if k in package.request}
    result |= _package_summary(package) | {
        "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
        "CertifyForMarketplace": bool(package.request.get("CertifyForMarketplace", False)),
        "LastModifiedTime": package.modified,
        "ModelPackageRegistrationType": "Registered",
    }
    if package.approval_description is not None:
        result["ApprovalDescription"] = package.approval_description
    if package.metadata:
        result["CustomerMetadataProperties"] = dict(package.metadata)
    return result


def _validate_package(body: Mapping[str, Any]) -> None:
    problems = Problems()
    _check_description(problems, body.get("ModelPackageDescription"), "modelPackageDescription")
    _check_enum(body.get("ModelApprovalStatus"), "modelApprovalStatus", APPROVAL_STATUSES)
    check_string(problems, body.get("ClientToken"), "clientToken", IDEMPOTENCY_KEY_PATTERN, 36)
    _check_metadata(problems, body.get("CustomerMetadataProperties"))
    spec = body.get("InferenceSpecification")
    if spec is not None:
        _check_inference(problems, spec)
    for kind, metric in (body.get("ModelMetrics") or {}).items():
        for part, source in (metric or {}).items():
            path = f"modelMetrics.{kind[0].lower()}{kind[1:]}.{part[0].lower()}{part[1:]}.s3Uri"
            check_string(problems, source.get("S3Uri"), path, S3_URI_PATTERN, 1024)
    check_tags(problems, body.get("Tags"))
    problems.raise_if_any()


def _check_inference(problems: Problems, spec: Mapping[str, Any]) -> None:
    containers = required(problems, spec, "Containers", "inferenceSpecification.containers") or []
    if len(containers) > 15:
        problems.add(
            containers,
            "inferenceSpecification.containers",
            "Member must have length less than or equal to 15",
        )
    for index, container in enumerate(containers):
        path = f"inferenceSpecification.containers.{index + 1}.member.modelDataUrl"
        check_string(problems, container.get("ModelDataUrl"), path, S3_URI_PATTERN, 1024)
    for index, mime in enumerate(spec.get("SupportedResponseMIMETypes") or []):
        path = f"inferenceSpecification.supportedResponseMIMETypes.{index + 1}.member"
        check_string(problems, mime, path, r"^[-\w]+\/.+", 1024)


def _check_description(problems: Problems, text: Any, path: str) -> None:
    if text is None:
        return
    if len(str(text)) > DESCRIPTION_MAX:
        problems.add(text, path, f"Member must have length less than or equal to {DESCRIPTION_MAX}")
    if not all(unicodedata.category(c)[0] in _DESCRIPTION_CATEGORIES for c in str(text)):
        problems.add(
            text,
            path,
            r"Member must satisfy regular expression pattern: [\p{L}\p{M}\p{Z}\p{S}\p{N}\p{P}]*",
        )


def _check_metadata(problems: Problems, metadata: Any) -> None:
    """CustomerMetadataMap: 1-50 entries; keys 1-128, values 1-256 characters of letters,
    separators, numbers and `_.:/=+-@`."""
    if metadata is None:
        return
    if len(metadata) > METADATA_MAX:
        problems.add(
            "...",
            "customerMetadataProperties",
            f"Map must have length less than or equal to {METADATA_MAX}",
        )
    for name, value in metadata.items():
        for text, limit, part in ((name, 128, "key"), (value, 256, "value")):
            path = f"customerMetadataProperties.{part}"
            if not isinstance(text, str) or not 1 <= len(text) <= limit:
                problems.add(text, path, f"Member must have length between 1 and {limit}")
            elif not all(
                c in _METADATA_PUNCTUATION or unicodedata.category(c)[0] in "LZN" for c in text
            ):
                problems.add(
                    text,
                    path,
                    r"Member must satisfy regular expression pattern: "
                    r"([\p{L}\p{Z}\p{N}_.:\/=+\-@]*)$",
                )


def _check_enum(value: Any, path: str, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise validation(
            f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{', '.join(allowed)}]"
        )


def _check_max_results(body: Mapping[str, Any]) -> None:
    problems = Problems()
    check_int(problems, body.get("MaxResults"), "maxResults", 1, 100)
    problems.raise_if_any()


def _created_within(
    summaries: list[dict[str, Any]], body: Mapping[str, Any]
) -> list[dict[str, Any]]:
    after, before = body.get("CreationTimeAfter"), body.get("CreationTimeBefore")
    return [
        s
        for s in summaries
        if (after is None or s["CreationTime"] > float(after))
        and (before is None or s["CreationTime"] < float(before))
    ]
