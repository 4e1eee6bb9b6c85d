"""Liveness through a file: the poll loop touches it; `automlops healthcheck` reads its age.

A container health check cannot ask the process anything, but it can look at a file. A poll loop
that stops touching it (hung, or SQS unreachable) makes the task unhealthy and ECS replaces it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from service.config import PREFIX, default_of
from service.failures import ConfigurationError
from service.settings import RuntimeSettings


@dataclass(frozen=True)
class HealthStatus:
    healthy: bool
    detail: str


class HealthFile:
    def __init__(self, path: Path) -> None:
        self._path = path

    def prepare(self) -> None:
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(
                f"{PREFIX}HEALTH_FILE={self._path}: cannot create its folder: {exc}"
            ) from exc

    def touch(self) -> None:
        # A missing tmpfs must not stop message processing; the health check will say so.
        with contextlib.suppress(OSError):
            self._path.touch()


def check(path: Path, max_age_seconds: float, now: float | None = None) -> HealthStatus:
    try:
        modified = path.stat().st_mtime
    except FileNotFoundError:
        return HealthStatus(False, f"unhealthy: no health file at {path} (no successful poll yet)")
    age = (time.time() if now is None else now) - modified
    if age > max_age_seconds:
        return HealthStatus(
            False, f"unhealthy: last successful poll {age:.0f}s ago (limit {max_age_seconds:.0f}s)"
        )
    return HealthStatus(True, f"healthy: last successful poll {max(age, 0):.0f}s ago")


def check_from_env(environ: Mapping[str, str] | None = None) -> HealthStatus:
    """Only the two health settings are read, so the check works even with other settings unset."""
    env = os.environ if environ is None else environ
    default_path = default_of(RuntimeSettings, "health_file")
    default_age = default_of(RuntimeSettings, "health_max_age_seconds")
    path = Path(env.get(PREFIX + "HEALTH_FILE") or str(default_path))
    raw_age = env.get(PREFIX + "HEALTH_MAX_AGE_SECONDS") or str(default_age)
    try:
        max_age = float(raw_age)
    except ValueError:
        problem = f"{PREFIX}HEALTH_MAX_AGE_SECONDS={raw_age!r} is not a number"
        return HealthStatus(False, f"unhealthy: {problem}")
    return check(path, max_age)
