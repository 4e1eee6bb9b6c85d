"""LocalStack as a second, independent AWS for the pipeline's tests, run without Docker.

`make test` installs `localstack-core` into `.tools/localstack` (its own venv, on Python 3.13)
when that Python is there; the server then runs on the host, on 127.0.0.1 and a free port, with
S3, SQS, CloudWatch and Logs. Without the venv the LocalStack half of the suite skips, saying why.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".tools" / "localstack" / "bin" / "python"
MISSING = (
    "LocalStack is not installed (it needs Python 3.13: see the Makefile's localstack target); "
    "the pipeline runs on moto only"
)


def available() -> bool:
    return PYTHON.exists()


class LocalStack:
    """One LocalStack process on 127.0.0.1 until `stop()`."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.endpoint_url = f"http://127.0.0.1:{port}"
        self._data = tempfile.TemporaryDirectory(prefix="localstack-")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AUTOMLOPS_"))},
            "OVERRIDE_IN_DOCKER": "0",
            "GATEWAY_SERVER": "hypercorn",
            "GATEWAY_LISTEN": f"127.0.0.1:{port}",
            "SERVICES": "s3,sqs,cloudwatch,logs,sns",
            "LOCALSTACK_VOLUME_DIR": self._data.name,
            # Host mode keeps its state (CloudWatch's metrics database among it) under one root,
            # by default inside the LocalStack install, shared by every process, and a process
            # that stops clears it: each process gets its own.
            "FILESYSTEM_ROOT": str(Path(self._data.name) / "filesystem"),
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "DISABLE_EVENTS": "1",
        }
        self._log = open(Path(self._data.name) / "localstack.log", "wb")  # noqa: SIM115
        self._process = subprocess.Popen(
            [str(PYTHON), "-m", "localstack.runtime.main"],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready(60)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"LocalStack exited: {self._tail()}")
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/_localstack/health", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"LocalStack did not start within {timeout:.0f} s: {self._tail()}")

    def _tail(self) -> str:
        self._log.flush()
        return (Path(self._data.name) / "localstack.log").read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        """Anything the stack still references is gone with the process."""
        self._process.terminate()
        try:
            self._process.wait(15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5)
        self._log.close()
        self._data.cleanup()
