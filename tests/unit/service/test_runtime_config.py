"""Start-up failures (settings, route table) and the health check, without any AWS."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import boto3
import pytest

from automlops.compose import Config
from service.assembly import build_worker
from service.context import HandlerContext
from service.failures import ConfigurationError
from service.health import check, check_from_env
from service.messages import Outgoing, StageMessage
from service.ping import Ping
from service.routing import Route
from service.settings import RuntimeSettings
from service.sqs import SqsTransport
from service.worker import Worker

REPO_ROOT = Path(__file__).resolve().parents[3]
REQUIRED = {
    "AUTOMLOPS_RAW_BUCKET": "raw",
    "AUTOMLOPS_CURATED_BUCKET": "curated",
    "AUTOMLOPS_MODELS_BUCKET": "models",
    "AUTOMLOPS_REPORTS_BUCKET": "reports",
    "AUTOMLOPS_INGEST_QUEUE_URL": "http://sqs/1/ingest",
    "AUTOMLOPS_STAGES_QUEUE_URL": "http://sqs/1/stages",
    "AUTOMLOPS_SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/sm",
}


@dataclass(frozen=True, kw_only=True)
class Twice(StageMessage):
    TYPE: ClassVar[str] = "test.twice"


def first(msg: Any, ctx: HandlerContext[object]) -> list[Outgoing]:
    return []


def second(msg: Any, ctx: HandlerContext[object]) -> list[Outgoing]:
    return []


def offline_worker(routes: list[Route[Any, object]]) -> Worker:
    settings = RuntimeSettings.from_env(REQUIRED)
    session = boto3.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
    )
    return build_worker(settings, SqsTransport(session.client("sqs")), routes)


def test_settings_name_every_missing_or_invalid_variable() -> None:
    env = {**REQUIRED, "AUTOMLOPS_POLL_WAIT_SECONDS": "30", "AUTOMLOPS_WORKER_THREADS": "many"}
    del env["AUTOMLOPS_RAW_BUCKET"]
    with pytest.raises(ConfigurationError) as failure:
        Config.from_env(env)
    message = str(failure.value)
    assert "AUTOMLOPS_RAW_BUCKET is required but not set" in message
    assert "AUTOMLOPS_WORKER_THREADS='many'" in message


def test_settings_range_checks() -> None:
    with pytest.raises(ConfigurationError, match="POLL_WAIT_SECONDS=30 must be between 1 and 20"):
        Config.from_env({**REQUIRED, "AUTOMLOPS_POLL_WAIT_SECONDS": "30"})
    with pytest.raises(ConfigurationError, match="must exceed AUTOMLOPS_HEARTBEAT_SECONDS"):
        Config.from_env({**REQUIRED, "AUTOMLOPS_VISIBILITY_EXTENSION_SECONDS": "20"})


def test_a_duplicate_route_fails_when_the_worker_is_built() -> None:
    with pytest.raises(ConfigurationError, match=r"duplicate route for 'test\.twice'"):
        offline_worker([Route(Twice, first), Route(Twice, second)])


def test_the_built_in_ping_route_cannot_be_taken() -> None:
    with pytest.raises(ConfigurationError, match=r"duplicate route for 'worker\.ping'"):
        offline_worker([Route(Ping, first)])


def test_the_built_in_ping_route_is_always_there() -> None:
    assert set(offline_worker([Route(Twice, first)]).routes) == {"test.twice", "worker.ping"}


def test_health_by_age_of_the_file(tmp_path: Path) -> None:
    health = tmp_path / "health"
    assert not check(health, 90).healthy
    assert "no health file" in check(health, 90).detail
    health.touch()
    assert check(health, 90).healthy
    old = time.time() - 120
    os.utime(health, (old, old))
    status = check(health, 90)
    assert not status.healthy
    assert "last successful poll 120s ago (limit 90s)" in status.detail


def test_health_reads_only_its_own_two_settings(tmp_path: Path) -> None:
    health = tmp_path / "health"
    health.touch()
    env = {"AUTOMLOPS_HEALTH_FILE": str(health), "AUTOMLOPS_HEALTH_MAX_AGE_SECONDS": "5"}
    assert check_from_env(env).healthy
    assert not check_from_env({**env, "AUTOMLOPS_HEALTH_MAX_AGE_SECONDS": "soon"}).healthy


def healthcheck(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "automlops", "healthcheck"],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_healthcheck_command_exit_codes(tmp_path: Path) -> None:
    health = tmp_path / "health"
    env = {"AUTOMLOPS_HEALTH_FILE": str(health), "AUTOMLOPS_HEALTH_MAX_AGE_SECONDS": "60"}
    missing = healthcheck(env)
    assert missing.returncode == 1
    assert "unhealthy: no health file" in missing.stderr
    health.touch()
    fresh = healthcheck(env)
    assert (fresh.returncode, fresh.stdout.startswith("healthy")) == (0, True)
    old = time.time() - 61
    os.utime(health, (old, old))
    assert healthcheck(env).returncode == 1
