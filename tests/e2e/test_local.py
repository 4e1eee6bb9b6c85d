"""`automlops local --env-file`: the stack's environment, as a user points `aws` and
`automlops status` at the embedded AWS while the worker runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def sourced(env_file: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """`command` run by a shell that sourced `env_file`, as the README shows."""
    script = f'set -a; . "{env_file}"; set +a; exec "$@"'
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AUTOMLOPS_"))}
    return subprocess.run(
        ["bash", "-c", script, "sh", *command],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean,
        cwd=ROOT,
    )


def test_env_file_points_status_and_clients_at_the_running_stack(tmp_path: Path) -> None:
    env_file = tmp_path / "local.env"
    prefix = f"l{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen(
        [sys.executable, "-m", "automlops", "local", "--prefix", prefix, "--env-file", env_file],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "AUTOMLOPS_POLL_WAIT_SECONDS": "1"},  # a quick drain at SIGTERM
    )
    try:
        deadline = time.monotonic() + 120
        while not env_file.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        assert env_file.exists(), "no env file was written"
        text = env_file.read_text()
        assert f"AUTOMLOPS_RAW_BUCKET={prefix}-raw" in text
        for name in (
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_SAGEMAKER",
            "AUTOMLOPS_STAGES_QUEUE_URL",
        ):
            assert f"{name}=" in text
        status = sourced(env_file, sys.executable, "-m", "automlops", "status")
        assert (status.returncode, status.stdout.strip()) == (0, "no runs yet"), status.stderr
        buckets = sourced(
            env_file,
            sys.executable,
            "-c",
            "import boto3; print(sorted(b['Name'] for b in boto3.client('s3').list_buckets()"
            "['Buckets']))",
        )
        assert f"'{prefix}-reports'" in buckets.stdout, buckets.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output[-3000:]
    assert f"set -a; . {env_file}; set +a" in output
