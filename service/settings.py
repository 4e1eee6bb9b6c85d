"""Settings: read once from the environment into one frozen object.

Every name starts with `AUTOMLOPS_`. AWS endpoints and credentials are *not* settings of ours:
boto3 reads the standard `AWS_REGION`, `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`
variables, so the same code runs against AWS, moto, LocalStack and the SageMaker emulator.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

from service.errors import ConfigurationError

PREFIX = "AUTOMLOPS_"
SERVERLESS_MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)
_ARN_ROLE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")

T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    """Everything the worker is told by its environment. Field `x` comes from `AUTOMLOPS_X`."""

    # where things live
    raw_bucket: str
    curated_bucket: str
    models_bucket: str
    reports_bucket: str
    ingest_queue_url: str
    stages_queue_url: str
    sagemaker_role_arn: str
    # the consumer
    worker_threads: int = 4
    poll_wait_seconds: int = 20
    max_messages: int = 10
    heartbeat_seconds: int = 20
    visibility_extension_seconds: int = 60
    backoff_base_seconds: int = 5
    backoff_max_seconds: int = 900
    shutdown_budget_seconds: int = 25
    health_file: Path = Path("/tmp/automlops/health")  # noqa: S108 - a declared tmpfs volume in the container
    health_max_age_seconds: int = 90
    log_format: str = "auto"
    log_level: str = "INFO"
    metrics_namespace: str = "automlops"
    # the pipeline
    xgboost_image_uri: str = ""
    xgboost_version: str = "3.0-5"
    training_instance_type: str = "ml.m5.large"
    training_max_runtime_seconds: int = 3600
    training_watch_seconds: int = 60
    endpoint_memory_mb: int = 4096
    endpoint_max_concurrency: int = 1
    endpoint_wait_seconds: int = 300
    invoke_payload_limit_bytes: int = 4_000_000
    recipes_prefix: str = "recipes/"
    work_dir: Path = Path("/tmp/automlops/work")  # noqa: S108 - a declared tmpfs volume in the container

    def bucket(self, role: str) -> str:
        return {
            "raw": self.raw_bucket,
            "curated": self.curated_bucket,
            "models": self.models_bucket,
            "reports": self.reports_bucket,
        }[role]

    def queue_url(self, role: str) -> str:
        return {"ingest": self.ingest_queue_url, "stages": self.stages_queue_url}[role]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        problems: list[str] = []
        for field in fields(cls):
            name = PREFIX + field.name.upper()
            raw = env.get(name)
            if raw is None or raw == "":
                if _required(field):
                    problems.append(f"{name} is required but not set")
                continue
            try:
                values[field.name] = _PARSERS[_kind(field.type)](raw)
            except ValueError as exc:
                problems.append(f"{name}={raw!r}: {exc}")
        if problems:
            raise ConfigurationError("invalid settings: " + "; ".join(problems))
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        problems = [p for check in _CHECKS for p in check(self)]
        if problems:
            raise ConfigurationError("invalid settings: " + "; ".join(problems))

    @staticmethod
    def names() -> list[str]:
        """Every environment variable the worker reads, required ones first."""
        ordered = sorted(fields(Settings), key=lambda f: not _required(f))  # stable sort
        return [PREFIX + f.name.upper() for f in ordered]

    @staticmethod
    def required_names() -> list[str]:
        return [PREFIX + f.name.upper() for f in fields(Settings) if _required(f)]


def _required(field: Field[Any]) -> bool:
    return field.default is field.default_factory  # both MISSING


def _kind(annotation: Any) -> str:
    return str(annotation).replace("'", "")


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a positive whole number")
    return value


_PARSERS: dict[str, Callable[[str], Any]] = {
    "str": str,
    "int": _positive_int,
    "Path": Path,
}


def _range(name: str, value: int, low: int, high: int) -> list[str]:
    if low <= value <= high:
        return []
    return [f"{PREFIX}{name.upper()}={value} must be between {low} and {high}"]


def _check_consumer(s: Settings) -> list[str]:
    problems = _range("poll_wait_seconds", s.poll_wait_seconds, 1, 20)
    problems += _range("max_messages", s.max_messages, 1, 10)
    problems += _range("worker_threads", s.worker_threads, 1, 64)
    problems += _range("backoff_max_seconds", s.backoff_max_seconds, 1, 43_200)
    problems += _range("shutdown_budget_seconds", s.shutdown_budget_seconds, 1, 115)
    if s.visibility_extension_seconds <= s.heartbeat_seconds:
        problems.append(
            f"{PREFIX}VISIBILITY_EXTENSION_SECONDS ({s.visibility_extension_seconds}) must exceed "
            f"{PREFIX}HEARTBEAT_SECONDS ({s.heartbeat_seconds}), "
            "or a message reappears between beats"
        )
    if s.log_format not in ("auto", "json", "console"):
        problems.append(f"{PREFIX}LOG_FORMAT={s.log_format!r} must be auto, json or console")
    return problems


def _check_pipeline(s: Settings) -> list[str]:
    problems: list[str] = []
    if s.endpoint_memory_mb not in SERVERLESS_MEMORY_SIZES:
        problems.append(
            f"{PREFIX}ENDPOINT_MEMORY_MB={s.endpoint_memory_mb} must be one of "
            f"{', '.join(map(str, SERVERLESS_MEMORY_SIZES))} (serverless endpoint sizes)"
        )
    problems += _range("endpoint_max_concurrency", s.endpoint_max_concurrency, 1, 200)
    problems += _range("invoke_payload_limit_bytes", s.invoke_payload_limit_bytes, 1024, 4_194_304)
    problems += _range("training_watch_seconds", s.training_watch_seconds, 1, 900)
    if not _ARN_ROLE.match(s.sagemaker_role_arn):
        problems.append(
            f"{PREFIX}SAGEMAKER_ROLE_ARN={s.sagemaker_role_arn!r} is not an IAM role ARN "
            "(arn:aws:iam::<account>:role/<name>)"
        )
    return problems


_CHECKS: tuple[Callable[[Settings], list[str]], ...] = (_check_consumer, _check_pipeline)
