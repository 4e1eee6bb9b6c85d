"""The runtime's settings: which queues to poll and how the consumer behaves.

Nothing here is about the pipeline (buckets, SageMaker): the pipeline reads its own settings
(`handlers/settings.py`) from the same environment. AWS endpoints and credentials are not
settings of ours either: the composition root reads the standard `AWS_*` variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from service.config import PREFIX, in_range, read_settings
from service.messages import QueueRole


@dataclass(frozen=True)
class RuntimeSettings:
    """Field `x` comes from `AUTOMLOPS_X`."""

    ingest_queue_url: str
    stages_queue_url: str
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

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RuntimeSettings:
        return read_settings(cls, env)

    def queue_url(self, role: QueueRole) -> str:
        return {"ingest": self.ingest_queue_url, "stages": self.stages_queue_url}[role]

    def problems(self) -> list[str]:
        problems = in_range("poll_wait_seconds", self.poll_wait_seconds, 1, 20)
        problems += in_range("max_messages", self.max_messages, 1, 10)
        problems += in_range("worker_threads", self.worker_threads, 1, 64)
        problems += in_range("backoff_max_seconds", self.backoff_max_seconds, 1, 43_200)
        problems += in_range("shutdown_budget_seconds", self.shutdown_budget_seconds, 1, 115)
        if self.visibility_extension_seconds <= self.heartbeat_seconds:
            problems.append(
                f"{PREFIX}VISIBILITY_EXTENSION_SECONDS ({self.visibility_extension_seconds}) "
                f"must exceed {PREFIX}HEARTBEAT_SECONDS ({self.heartbeat_seconds}), "
                "or a message reappears between beats"
            )
        if self.log_format not in ("auto", "json", "console"):
            problems.append(f"{PREFIX}LOG_FORMAT={self.log_format!r} must be auto, json or console")
        return problems
