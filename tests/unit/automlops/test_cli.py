"""The `automlops` command as a user meets it: version, help, and mistakes in its arguments."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from automlops.cli import main
from automlops.compose import required_settings
from automlops.local import write_env_file

REPO_ROOT = Path(__file__).resolve().parents[3]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "automlops", *args],
        cwd=REPO_ROOT,
        env=env if env is not None else dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_version_names_the_installed_release() -> None:
    from importlib.metadata import version

    done = run("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"automlops {version('automlops')}"


def test_worker_help_lists_every_required_setting(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["worker", "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert "required settings" in text
    for name in required_settings():
        assert f"  {name}\n" in text
    assert "AUTOMLOPS_RAW_BUCKET" in required_settings()
    assert "AUTOMLOPS_INGEST_QUEUE_URL" in required_settings()


def test_the_commands_help_speaks_of_what_they_do(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for command in ("worker", "local", "status", "healthcheck"):
        assert command in text
    assert "composition" not in text


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--data", "x.csv"], "--data needs --demo"),
        (["--rows", "10", "--out", "o"], "--rows, --out need --demo"),
        (["--demo", "--send-sample"], "--send-sample does not work with --demo"),
        (["--demo", "--target", "y"], "--target needs --data"),
        (["--demo", "--dataset", "d", "--recipe", "r.toml"], "--dataset, --recipe need --data"),
    ],
)
def test_local_refuses_options_that_would_be_ignored(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["local", *args])
    assert exited.value.code == 2
    assert says in capsys.readouterr().err


def test_worker_without_settings_says_what_is_missing_in_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOMLOPS_")}
    done = run("worker", env=env)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("automlops: configuration error:")
    for name in required_settings():
        assert f"{name} is required but not set" in line


def test_env_file_can_be_sourced_by_a_shell_and_only_its_owner_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "stack.env"
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "ODD": "it's a $HOME; rm -rf /"}
    write_env_file(path, env)
    assert path.stat().st_mode & 0o777 == 0o600
    shown = subprocess.run(
        ["bash", "-c", f'set -a; . "{path}"; set +a; printf "%s|%s" "$AWS_ENDPOINT_URL" "$ODD"'],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"]},
    )
    assert shown.stdout == "http://127.0.0.1:5000|it's a $HOME; rm -rf /"


SETTINGS_ONLY = {
    "AUTOMLOPS_RAW_BUCKET": "raw",
    "AUTOMLOPS_CURATED_BUCKET": "curated",
    "AUTOMLOPS_MODELS_BUCKET": "models",
    "AUTOMLOPS_REPORTS_BUCKET": "reports",
    "AUTOMLOPS_INGEST_QUEUE_URL": "http://127.0.0.1:9/1/ingest",
    "AUTOMLOPS_STAGES_QUEUE_URL": "http://127.0.0.1:9/1/stages",
    "AUTOMLOPS_SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/sm",
}


def bare_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No AWS_* variables and a HOME without ~/.aws: nothing to find credentials or a region in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AUTOMLOPS_"))}
    return {**env, "HOME": str(tmp_path), "AWS_EC2_METADATA_DISABLED": "true", **extra}


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}, "no AWS region: set AWS_REGION"),
        ({"AWS_REGION": "eu-west-1"}, "no AWS credentials"),
    ],
)
@pytest.mark.parametrize("command", [["worker"], ["status"]])
def test_missing_region_or_credentials_is_one_line_and_exit_2(
    tmp_path: Path, extra: dict[str, str], says: str, command: list[str]
) -> None:
    done = run(*command, env=bare_env(tmp_path, **SETTINGS_ONLY, **extra))
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("automlops: configuration error:")
    assert says in line


def test_aws_region_alone_is_enough() -> None:
    from automlops.aws import AwsTarget

    target = AwsTarget.from_env(
        {"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}
    )
    assert target.session().region_name == "eu-west-1"


def test_the_kind_choices_are_the_task_kinds() -> None:
    from automlops import cli
    from handlers.recipe.kinds import KINDS

    assert cli.KINDS == KINDS
