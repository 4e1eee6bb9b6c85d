"""`automlops models`, `approve` and `rollback`: what operators do with a dataset's versions.

`models` reads the registry and the champion pointer. `approve` and `rollback` check what they
can (the version exists, is in the state the action takes) and send `model.approve` /
`model.rollback` to the stages queue: the worker's promotion stage does the rest, the same code
a challenger that passes the gate goes through.
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from automlops.aws import AwsTarget
from handlers.aws.storage import Bucket
from handlers.lifecycle.catalog import Catalog, catalog
from handlers.lifecycle.champions import ChampionStore
from handlers.lifecycle.registry import (
    GROUP_DESCRIPTION,
    PENDING,
    ModelRegistry,
    may_serve_again,
)
from handlers.messages import ModelApprove, ModelRollback, VersionMessage
from handlers.naming import DATASET_PATTERN, DEFAULT_NAME_PREFIX, DatasetNames
from handlers.runs.manifest import now
from handlers.runs.repository import RunRepository
from service.failures import ConfigurationError
from service.messages import encode_envelope

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

POLL_SECONDS = 1.0


class Refused(Exception):
    """The request cannot be sent as asked (the message says why and what to do)."""


@dataclass(frozen=True)
class OperatorConfig:
    reports_bucket: str
    stages_queue_url: str
    name_prefix: str
    aws: AwsTarget

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, sending: bool) -> OperatorConfig:
        wanted = ["AUTOMLOPS_REPORTS_BUCKET"] + (["AUTOMLOPS_STAGES_QUEUE_URL"] if sending else [])
        missing = [name for name in wanted if not env.get(name)]
        if missing:
            raise ConfigurationError(f"set {' and '.join(missing)} (the worker's settings)")
        return cls(
            reports_bucket=env["AUTOMLOPS_REPORTS_BUCKET"],
            stages_queue_url=env.get("AUTOMLOPS_STAGES_QUEUE_URL", ""),
            name_prefix=env.get("AUTOMLOPS_SAGEMAKER_NAME_PREFIX") or DEFAULT_NAME_PREFIX,
            aws=AwsTarget.from_env(env),
        )


@dataclass(frozen=True)
class Sent:
    message: VersionMessage
    sent_at: str


class Operator:
    def __init__(self, config: OperatorConfig) -> None:
        session = config.aws.session()

        def client(service: str) -> Any:
            return session.client(service, endpoint_url=config.aws.endpoint_for(service))  # type: ignore[call-overload]

        self._config = config
        reports = Bucket(client("s3"), config.reports_bucket)
        self._sagemaker = client("sagemaker")
        self._registry = ModelRegistry(self._sagemaker, reports)
        self._champions = ChampionStore(reports)
        self._runs = RunRepository(reports)
        self._sqs: SQSClient = client("sqs")

    def catalog(self, dataset: str) -> Catalog:
        if not DATASET_PATTERN.match(dataset):
            raise Refused(f"{dataset!r} is not a dataset name ([a-z0-9-], as under data/)")
        names = DatasetNames.for_dataset(dataset, self._config.name_prefix)
        view = catalog(dataset, names, self._registry, self._champions, self._runs)
        if not view.rows and view.pointer.champion is None:
            try:
                known = self._datasets()
            except ClientError:  # not allowed to list groups: say what is known for sure
                raise Refused(f"{dataset} has no versions in the registry") from None
            if dataset not in known:
                raise Refused(_unknown(dataset, known))
        return view

    def _datasets(self) -> list[str]:
        """The datasets with a model package group under this deployment's name prefix (an
        operator's call: the worker's role is not allowed to list groups, nor needs to)."""
        found = []
        paginator = self._sagemaker.get_paginator("list_model_package_groups")
        for page in paginator.paginate(NameContains=f"{self._config.name_prefix}-"):
            for group in page["ModelPackageGroupSummaryList"]:
                description = group.get("ModelPackageGroupDescription", "")
                if description.startswith(GROUP_DESCRIPTION):
                    found.append(description.removeprefix(GROUP_DESCRIPTION))
        return sorted(found)

    def approve(self, dataset: str, version: int) -> Sent:
        view = self.catalog(dataset)
        row = view.row(version)
        if row is None:
            raise Refused(f"{dataset} has no version {version} (see `automlops models {dataset}`)")
        if row.live:
            raise Refused(f"version {version} of {dataset} is already live")
        if row.status != PENDING and not may_serve_again(row.status, row.reason):
            raise Refused(
                f"version {version} of {dataset} is {row.status}: only a version awaiting "
                f"approval ({PENDING}), or one rolled back from, can be approved"
            )
        return self._send(ModelApprove, dataset, version, row.run_id, "approve")

    def rollback(self, dataset: str, to: int | None = None) -> Sent:
        view = self.catalog(dataset)
        if view.live_version is None:
            raise Refused(f"{dataset} has no live version to roll back from")
        row = view.row(to) if to is not None else view.previous_approved()
        if row is None:
            raise Refused(
                f"{dataset} has no version {to}"
                if to is not None
                else f"{dataset} has no approved version older than the live one "
                f"(version {view.live_version}): name one with --to"
            )
        if row.live:
            raise Refused(f"version {row.version} of {dataset} is already live")
        if row.status != "Approved" and not may_serve_again(row.status, row.reason):
            raise Refused(
                f"version {row.version} of {dataset} is {row.status}: rollback goes back to an "
                "approved version, or one rolled back from"
            )
        return self._send(ModelRollback, dataset, row.version, row.run_id, "rollback")

    def _send(
        self, kind: type[VersionMessage], dataset: str, version: int, run_id: str, action: str
    ) -> Sent:
        message = kind(
            run_id=run_id, dataset=dataset, version=version, requested_by=_requested_by(action)
        )
        sent_at = now()
        self._sqs.send_message(
            QueueUrl=self._config.stages_queue_url, MessageBody=encode_envelope(message)
        )
        return Sent(message, sent_at)

    def wait_for(self, sent: Sent, timeout: float) -> dict[str, Any] | None:
        """The pointer's history entry for the sent request once the worker decided it."""
        deadline = time.monotonic() + timeout
        action = "approve" if isinstance(sent.message, ModelApprove) else "rollback"
        while time.monotonic() < deadline:
            history = self._champions.read(sent.message.dataset).document.get("history", [])
            for entry in history:
                if (
                    entry.get("version") == sent.message.version
                    and entry.get("action") == action
                    and str(entry.get("at", "")) >= sent.sent_at
                ):
                    return dict(entry)
            time.sleep(POLL_SECONDS)
        return None


def _unknown(dataset: str, known: list[str]) -> str:
    if not known:
        return (
            f"no dataset has versions yet, {dataset} neither: a run registers its version once "
            "it is evaluated (`automlops status` shows the runs)"
        )
    return f"no dataset {dataset} in the registry; the datasets with versions: {', '.join(known)}"


def _requested_by(action: str) -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    clean = "".join(c if c.isalnum() or c in "._-@" else "_" for c in user)[:32]
    return f"{clean} (automlops {action})"
