"""The pipeline's settings: where its data lives and how it trains and serves.

Read once from the same `AUTOMLOPS_*` environment as the runtime's settings, by the composition
root; handlers get them through their dependencies (`ctx.deps.settings`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from handlers.naming import NAME_PREFIX_PATTERN
from service.config import PREFIX, in_range, read_settings

SERVERLESS_MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)
BUCKET_ROLES = ("raw", "curated", "models", "reports")
FIRST_WATCH_SECONDS = 5
_ARN_ROLE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")


@dataclass(frozen=True)
class PipelineSettings:
    """Field `x` comes from `AUTOMLOPS_X`."""

    raw_bucket: str
    curated_bucket: str
    models_bucket: str
    reports_bucket: str
    sagemaker_role_arn: str
    # Every SageMaker name starts `<prefix>-`: the prefix the task role's IAM policy allows.
    sagemaker_name_prefix: str = "aml"
    metrics_namespace: str = "automlops"
    xgboost_image_uri: str = ""
    xgboost_version: str = "3.0-5"
    training_instance_type: str = "ml.m5.large"
    training_max_runtime_seconds: int = 3600
    # A running job is looked at after `first`, then twice as long each time, up to `seconds`.
    # Unset, `first` follows `seconds`: the smaller of FIRST_WATCH_SECONDS and it.
    training_watch_first_seconds: int | None = None
    training_watch_seconds: int = 60
    endpoint_memory_mb: int = 4096
    endpoint_max_concurrency: int = 1
    endpoint_wait_seconds: int = 300
    invoke_payload_limit_bytes: int = 4_000_000
    recipes_prefix: str = "recipes/"
    # Where each promotion decision is published; empty: logged and recorded, not published.
    decisions_topic_arn: str = ""
    work_dir: Path = Path("/tmp/automlops/work")  # noqa: S108 - a declared tmpfs volume in the container

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PipelineSettings:
        return read_settings(cls, env)

    def bucket_names(self) -> dict[str, str]:
        """Bucket role -> name: what the S3 rules' roles mean in this deployment."""
        return {
            "raw": self.raw_bucket,
            "curated": self.curated_bucket,
            "models": self.models_bucket,
            "reports": self.reports_bucket,
        }

    @property
    def first_watch_seconds(self) -> int:
        """The first look at a running job: the operator's, else the default within the
        longest wait (so setting only the longest wait never conflicts with a default)."""
        if self.training_watch_first_seconds is not None:
            return self.training_watch_first_seconds
        return min(FIRST_WATCH_SECONDS, self.training_watch_seconds)

    def watch_delay(self, looks: int) -> int:
        """Seconds before the look that follows `looks` looks at a running job."""
        doubled = self.first_watch_seconds * 2 ** min(looks, 16)
        return int(min(doubled, self.training_watch_seconds))

    def problems(self) -> list[str]:
        problems: list[str] = []
        if self.endpoint_memory_mb not in SERVERLESS_MEMORY_SIZES:
            problems.append(
                f"{PREFIX}ENDPOINT_MEMORY_MB={self.endpoint_memory_mb} must be one of "
                f"{', '.join(map(str, SERVERLESS_MEMORY_SIZES))} (serverless endpoint sizes)"
            )
        problems += in_range("endpoint_max_concurrency", self.endpoint_max_concurrency, 1, 200)
        problems += in_range(
            "invoke_payload_limit_bytes", self.invoke_payload_limit_bytes, 1024, 4_194_304
        )
        problems += in_range("training_watch_seconds", self.training_watch_seconds, 1, 900)
        if not 1 <= self.first_watch_seconds <= self.training_watch_seconds:
            problems.append(
                f"{PREFIX}TRAINING_WATCH_FIRST_SECONDS={self.first_watch_seconds} must "
                f"be 1 to {PREFIX}TRAINING_WATCH_SECONDS ({self.training_watch_seconds})"
            )
        if not NAME_PREFIX_PATTERN.match(self.sagemaker_name_prefix):
            problems.append(
                f"{PREFIX}SAGEMAKER_NAME_PREFIX={self.sagemaker_name_prefix!r} must be 1-10 "
                "letters, digits and inner hyphens (it starts every SageMaker name)"
            )
        if not _ARN_ROLE.match(self.sagemaker_role_arn):
            problems.append(
                f"{PREFIX}SAGEMAKER_ROLE_ARN={self.sagemaker_role_arn!r} is not an IAM role ARN "
                "(arn:aws:iam::<account>:role/<name>)"
            )
        return problems
