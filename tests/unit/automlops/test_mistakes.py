"""Mistakes made before anything reaches AWS: each one line on stderr, exit code 1, no traceback.

The command runs in its own process, as a person runs it (`make demo` passes its variables to
`automlops local --demo`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
GOOD = "a,b,y\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(60))


def one_line_error(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "automlops", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("automlops: ")
    return line.removeprefix("automlops: ")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "customers.csv"
    path.write_text(GOOD)
    return path


def test_a_missing_data_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    assert one_line_error("local", "--demo", "--data", str(missing)) == (
        f"DATA={missing}: no such file"
    )


@pytest.mark.parametrize("name", ["rows.txt", "rows.CSV.txt", "rows.xlsx"])
def test_a_data_file_the_worker_would_ignore_is_refused_at_once(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(GOOD)
    assert one_line_error("local", "--demo", "--data", str(path)) == (
        f"DATA={path}: the worker takes files ending .csv, .tsv, .csv.gz or .tsv.gz (any letter "
        "case); copy or rename it to one of those"
    )


def test_a_target_other_than_the_recipe_kept_from_an_earlier_demo(
    tmp_path: Path, data: Path
) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    drafted = subprocess.run(
        [sys.executable, "-m", "automlops", "recipe", "draft", str(data), "--target", "y",
         "--out", str(out / "customers.toml")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert drafted.returncode == 0, drafted.stderr
    kept = out / "customers.toml"
    line = one_line_error(
        "local", "--demo", "--data", str(data), "--target", "b", "--out", str(out)
    )
    assert line == (
        f"TARGET=b, but {kept} says 'y': edit the recipe, or delete it to draft a new one"
    )


def test_no_target_to_be_found(tmp_path: Path) -> None:
    path = tmp_path / "numbers.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i * 7 % 11}\n" for i in range(30)))
    assert one_line_error("recipe", "draft", str(path)) == (
        f"{path}: which column is the target? pass --target COLUMN (TARGET=COLUMN with make demo)"
    )


def test_an_out_folder_that_does_not_exist(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "nowhere" / "customers.toml"
    assert one_line_error("recipe", "draft", str(data), "--out", str(out)) == (
        f"{out}: no such file or folder"
    )


def test_a_stopped_stack(tmp_path: Path) -> None:
    """An env file from an `automlops local` that has stopped: its ports answer no more."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    env = {
        "AUTOMLOPS_REPORTS_BUCKET": "automlops-local-reports",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
    }
    line = one_line_error("status", env=env)
    assert line.startswith(f"cannot reach AWS at http://127.0.0.1:{port}: is the stack running?")


def test_what_is_said_of_each_kind_of_error() -> None:
    """The one line for what a person can fix; None (the traceback stays) for a bug of ours."""
    from botocore.exceptions import ClientError, EndpointConnectionError

    from automlops.mistakes import explained

    denied = ClientError(
        {"Error": {"Code": "AccessDenied", "Message": "not allowed to s3:ListBucket on x"}},
        "ListObjectsV2",
    )
    assert explained(denied) == (
        "AWS refused ListObjectsV2 (AccessDenied: not allowed to s3:ListBucket on x): check the "
        "credentials and their permissions"
    )
    remote = EndpointConnectionError(endpoint_url="https://s3.eu-west-1.amazonaws.com/b?x=1")
    assert explained(remote) == (
        "cannot reach AWS at https://s3.eu-west-1.amazonaws.com: check the network, AWS_REGION "
        "and any AWS_ENDPOINT_URL* setting"
    )
    own = REPO_ROOT / "handlers" / "recipe" / "packaged" / "gone.toml"
    assert explained(FileNotFoundError(2, "No such file or directory", str(own))) is None
    assert explained(FileNotFoundError("no name")) is None
    assert explained(KeyError("a bug")) is None
    assert explained(TimeoutError()) == "TimeoutError"


def test_a_ragged_file_in_recipe_draft_is_one_line_and_no_interpreter_noise(
    tmp_path: Path,
) -> None:
    """The draft's reader is closed with the file: nothing ("Exception ignored ... closed
    file") follows the line when the process ends."""
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,c\n1,2,3\n4,5\n")
    assert one_line_error("recipe", "draft", str(path)) == (
        f"{path}, data row 2 (line 3 of the file): 2 fields, the header has 3"
    )
