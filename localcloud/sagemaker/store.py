"""The emulator's state: every resource, its tags, and one lock around all of it.

Request threads and the background training/deployment threads share these objects. Anything that
reads or changes them holds `Store.lock`; slow work (S3, XGBoost) happens outside it, and the
result is written back under the lock only if the resource is still the one the work began for.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import xgboost as xgb

from localcloud.sagemaker.arns import Account, key

if TYPE_CHECKING:
    from localcloud.sagemaker.script_mode import ScriptHost


@dataclass
class TrainingJob:
    name: str
    arn: str
    request: dict[str, Any]
    created: float
    modified: float
    status: str = "InProgress"
    secondary: str = "Starting"
    failure_reason: str | None = None
    started: float | None = None
    ended: float | None = None
    transitions: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    artifact_uri: str | None = None
    stop_requested: threading.Event = field(default_factory=threading.Event)


@dataclass
class Model:
    name: str
    arn: str
    request: dict[str, Any]
    created: float


@dataclass
class EndpointConfig:
    name: str
    arn: str
    request: dict[str, Any]
    created: float


@dataclass(frozen=True)
class Deployment:
    """What an endpoint serves once a config has been deployed to it."""

    config_name: str
    variant: dict[str, Any]
    image: str
    boosters: tuple[xgb.Booster, ...]  # algorithm mode: the models the container loaded
    script: ScriptHost | None = None  # script mode: the model's own serving process

    def close(self) -> None:
        """Stop what serves this deployment (an endpoint deleted, or updated to another)."""
        if self.script is not None:
            self.script.close()

    @property
    def variant_name(self) -> str:
        return str(self.variant["VariantName"])

    @property
    def serverless(self) -> bool:
        return "ServerlessConfig" in self.variant


@dataclass
class Endpoint:
    name: str
    arn: str
    config_name: str
    created: float
    modified: float
    status: str = "Creating"
    failure_reason: str | None = None
    serving: Deployment | None = None
    pending_config: str | None = None
    pending_since: float | None = None
    # Bumped by every create/update/delete so a deployment thread can tell it has been superseded.
    generation: int = 0


@dataclass
class ModelPackage:
    """One version of a model package group."""

    group: str
    version: int
    arn: str
    request: dict[str, Any]
    created: float
    modified: float
    approval: str
    approval_description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class ModelPackageGroup:
    name: str
    arn: str
    request: dict[str, Any]
    created: float
    versions: list[ModelPackage] = field(default_factory=list)
    last_version: int = 0
    # ClientToken -> the version it created: CreateModelPackage sent twice makes one version.
    tokens: dict[str, ModelPackage] = field(default_factory=dict)


T = TypeVar("T")


class Table(Generic[T]):
    """Resources of one kind by case-insensitive name, in creation order."""

    def __init__(self) -> None:
        self._items: dict[str, T] = {}

    def find(self, name: str) -> T | None:
        return self._items.get(key(name))

    def add(self, name: str, item: T) -> None:
        self._items[key(name)] = item

    def remove(self, name: str) -> T | None:
        return self._items.pop(key(name), None)

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._items.values()))


class Store:
    def __init__(self, account: Account) -> None:
        self.account = account
        self.lock = threading.RLock()
        self.training_jobs: Table[TrainingJob] = Table()
        self.models: Table[Model] = Table()
        self.endpoint_configs: Table[EndpointConfig] = Table()
        self.endpoints: Table[Endpoint] = Table()
        self.model_package_groups: Table[ModelPackageGroup] = Table()
        self.tags: dict[str, dict[str, str]] = {}

    def arn(self, kind: str, name: str) -> str:
        return self.account.arn(kind, name)

    def exists(self, arn: str) -> bool:
        parsed = self.account.parse(arn)
        if parsed is None:
            return False
        kind, name = parsed
        tables: dict[str, Table[Any]] = {
            "training-job": self.training_jobs,
            "model": self.models,
            "endpoint-config": self.endpoint_configs,
            "endpoint": self.endpoints,
            "model-package-group": self.model_package_groups,
        }
        return tables[kind].find(name) is not None
