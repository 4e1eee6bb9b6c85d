"""docker/compose.yaml, checked offline: services, the worker's settings, and the provisioning.

No Docker engine is needed: the file is parsed with PyYAML, and docker/provision.py is run
against the embedded moto server to show it creates what the worker is told to use.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from automlops.compose import Config, required_settings, setting_names
from localcloud.stack import BUCKET_ROLES, QUEUE_ROLES, start_moto
from service.config import PREFIX

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker" / "compose.yaml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict)
    return document


def service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(compose["services"][name])


def worker_env(compose: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in service(compose, "worker")["environment"].items()}


def dockerfile_stages() -> set[str]:
    text = (ROOT / "Dockerfile").read_text()
    return set(re.findall(r"^FROM \S+ AS (\S+)$", text, re.MULTILINE | re.IGNORECASE))


def test_the_services_are_there(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"localstack", "provision", "sagemaker", "worker"}


def test_worker_env_names_are_settings(compose: dict[str, Any]) -> None:
    ours = {name for name in worker_env(compose) if name.startswith(PREFIX)}
    assert ours <= set(setting_names()), sorted(ours - set(setting_names()))
    assert set(required_settings()) <= ours, sorted(set(required_settings()) - ours)


def test_worker_settings_are_valid(compose: dict[str, Any]) -> None:
    Config.from_env(worker_env(compose))  # raises ConfigurationError when a value is wrong


def test_worker_reaches_the_stand_ins_by_service_name(compose: dict[str, Any]) -> None:
    env = worker_env(compose)
    assert env["AWS_ENDPOINT_URL"] == "http://localstack:4566"
    assert env["AWS_ENDPOINT_URL_SAGEMAKER"] == "http://sagemaker:4599"
    assert env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] == "http://sagemaker:4599"
    for role in QUEUE_ROLES:
        assert env[f"AUTOMLOPS_{role.upper()}_QUEUE_URL"].startswith("http://localstack:4566/")


def test_worker_runs_like_in_ecs(compose: dict[str, Any]) -> None:
    worker = service(compose, "worker")
    assert worker["build"]["target"] == "runtime"
    assert worker["user"] == "10001:10001"
    assert worker["read_only"] is True
    assert any(mount.split(":")[0] == "/tmp" for mount in worker["tmpfs"])
    assert worker["cap_drop"] == ["ALL"]
    assert worker["depends_on"]["provision"]["condition"] == "service_completed_successfully"


def test_build_targets_exist(compose: dict[str, Any]) -> None:
    targets = {spec["build"]["target"] for spec in compose["services"].values() if "build" in spec}
    assert targets <= dockerfile_stages()


def test_sagemaker_emulator_command(compose: dict[str, Any]) -> None:
    emulator = service(compose, "sagemaker")
    assert emulator["build"]["target"] == "local"
    command = [*emulator["entrypoint"], *emulator["command"]]
    assert command[:3] == ["python", "-m", "localcloud.sagemaker"]
    options = dict(zip(command[3::2], command[4::2], strict=True))
    # 0.0.0.0: other containers must reach it; LocalStack's account, so ARNs match.
    assert options == {
        "--host": "0.0.0.0",
        "--port": "4599",
        "--s3-endpoint": "http://localstack:4566",
        "--account-id": "000000000000",
    }
    assert "_emulator/health" in " ".join(emulator["healthcheck"]["test"])


def test_every_service_the_worker_calls_is_served(compose: dict[str, Any]) -> None:
    """The clients the composition root builds are the services the worker calls; each must be
    LocalStack's or the emulator's in the compose stack (without CloudWatch there, evaluation's
    PutMetricData failed and a compose run never finished)."""
    from dataclasses import fields

    from automlops.aws import SERVICES, AwsClients

    assert {f.name.replace("_", "-") for f in fields(AwsClients)} == set(SERVICES)
    localstack = service(compose, "localstack")
    assert re.fullmatch(r"localstack/localstack:\d+\.\d+(\.\d+)?", localstack["image"])
    served = set(localstack["environment"]["SERVICES"].split(","))
    env = worker_env(compose)
    for name in SERVICES:
        own = env.get("AWS_ENDPOINT_URL_" + name.upper().replace("-", "_"), "")
        if own:
            assert own.startswith("http://sagemaker:"), (name, own)
        else:
            assert name in served, f"{name}: the worker calls it, LocalStack does not serve it"


def load_provision_script() -> ModuleType:
    path = ROOT / "docker" / "provision.py"
    spec = importlib.util.spec_from_file_location("compose_provision", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    server, endpoint_url = start_moto()
    try:
        yield endpoint_url
    finally:
        server.stop()


def test_provisioning_creates_what_the_worker_is_told_to_use(
    compose: dict[str, Any], moto_endpoint: str
) -> None:
    provision = service(compose, "provision")
    assert provision["entrypoint"] == ["python", "/opt/automlops/provision.py"]
    assert "./provision.py:/opt/automlops/provision.py:ro" in provision["volumes"]
    arguments = [a for a in provision["command"] if not a.startswith("--endpoint-url")]
    script = load_provision_script()
    assert script.main([f"--endpoint-url={moto_endpoint}", *arguments, "--wait-seconds=5"]) == 0

    import boto3

    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    s3 = session.client("s3", endpoint_url=moto_endpoint)
    sqs = session.client("sqs", endpoint_url=moto_endpoint)
    env = worker_env(compose)
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    for role in BUCKET_ROLES:
        assert env[f"AUTOMLOPS_{role.upper()}_BUCKET"] in buckets
    queues = {url.rsplit("/", 1)[-1] for url in sqs.list_queues()["QueueUrls"]}
    for role in QUEUE_ROLES:
        name = env[f"AUTOMLOPS_{role.upper()}_QUEUE_URL"].rsplit("/", 1)[-1]
        assert name in queues
        assert f"{name}-dlq" in queues
    raw = env["AUTOMLOPS_RAW_BUCKET"]
    config = s3.get_bucket_notification_configuration(Bucket=raw)["QueueConfigurations"]
    assert config[0]["QueueArn"].endswith(
        ":" + env["AUTOMLOPS_INGEST_QUEUE_URL"].rsplit("/", 1)[-1]
    )
