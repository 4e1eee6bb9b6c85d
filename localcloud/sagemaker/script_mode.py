"""Script-mode models: each served by its own process (`script_host`), as each SageMaker model
runs in its own container.

`start` lays the model out as the container finds it: the model data extracted into a model
folder (the container's /opt/ml/model), the code from `SAGEMAKER_SUBMIT_DIRECTORY` (an `s3://`
tar.gz, or a folder under /opt/ml/model such as the bundle's `/opt/ml/model/code`) copied into a
code folder (/opt/ml/code); then it starts the host with the model's environment and pings it,
which imports the module and calls `model_fn`. A host that does not answer the ping with 200 is
stopped and the deployment fails its health check, as SageMaker reports it.

The container also `pip install`s the code folder (and its requirements.txt, from the network);
the host only puts the folder on the import path, which is what the bundle's modules need.
"""

from __future__ import annotations

import http.client
import io
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from localcloud.sagemaker.s3io import S3, S3Error

log = logging.getLogger("localcloud.sagemaker")

MODEL_DIR = "/opt/ml/model"
START_SECONDS = 60.0
INVOKE_SECONDS = 60.0  # a serverless invocation's limit
HOST_PROGRAM = Path(__file__).with_name("script_host.py")
# serving.py sets one OpenMP thread per server worker unless the model's environment says more.
CONTAINER_DEFAULTS = {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}


class ScriptModeFailure(Exception):
    """The container would not become healthy: the reason goes to the emulator's log."""


def is_script_mode(environment: Mapping[str, str]) -> bool:
    # The container tests `SAGEMAKER_PROGRAM is None`: an empty value is script mode, and fails.
    return "SAGEMAKER_PROGRAM" in environment


@dataclass(frozen=True)
class HostAnswer:
    status: int
    content_type: str
    body: bytes
    custom_attributes: str | None


@dataclass
class ScriptHost:
    process: subprocess.Popen[bytes]
    port: int
    folder: Path
    _closed: threading.Event = field(default_factory=threading.Event)

    def request(
        self, method: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> HostAnswer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=INVOKE_SECONDS)
        try:
            connection.request(method, path, body=body, headers=dict(headers))
            response = connection.getresponse()
            return HostAnswer(
                response.status,
                response.getheader("Content-Type") or "",
                response.read(),
                response.getheader("X-Amzn-SageMaker-Custom-Attributes"),
            )
        finally:
            connection.close()

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self.process.kill()
        self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


class ScriptHosts:
    """Every host started, so that stopping the emulator stops them all."""

    def __init__(self, s3: S3) -> None:
        self._s3 = s3
        self._lock = threading.Lock()
        self._hosts: list[ScriptHost] = []

    def start(self, model_data: bytes, environment: Mapping[str, str]) -> ScriptHost:
        folder = Path(tempfile.mkdtemp(prefix="sagemaker-model-"))
        try:
            model_dir, code_dir = folder / "model", folder / "code"
            _extract(model_data, model_dir)
            self._place_code(environment.get("SAGEMAKER_SUBMIT_DIRECTORY"), model_dir, code_dir)
            host = _spawn(folder, model_dir, code_dir, environment)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        with self._lock:
            self._hosts.append(host)
        try:
            ping = host.request("GET", "/ping", b"", {})
        except OSError as exc:  # model_fn slower than the limit, or the process died
            host.close()
            raise ScriptModeFailure(f"/ping did not answer: {exc}") from exc
        if ping.status != 200:
            host.close()
            raise ScriptModeFailure(f"/ping answered {ping.status}: {ping.body[:200]!r}")
        return host

    def close_all(self) -> None:
        with self._lock:
            hosts, self._hosts = self._hosts, []
        for host in hosts:
            host.close()

    def _place_code(self, submit: str | None, model_dir: Path, code_dir: Path) -> None:
        code_dir.mkdir()
        if not submit:
            return  # /opt/ml/code stays empty: importing the module fails, as in the container
        if submit.startswith("s3://"):
            try:
                _extract(self._s3.read_uri(submit), code_dir)
            except S3Error as exc:
                raise ScriptModeFailure(f"cannot download {submit}: {exc}") from exc
            return
        if submit == MODEL_DIR or submit.startswith(f"{MODEL_DIR}/"):
            source = (model_dir / submit.removeprefix(MODEL_DIR).lstrip("/")).resolve()
            if source.is_relative_to(model_dir.resolve()) and source.is_dir():
                shutil.copytree(source, code_dir, dirs_exist_ok=True)
                return
        raise ScriptModeFailure(f"SAGEMAKER_SUBMIT_DIRECTORY {submit} is not in the container")


def _extract(data: bytes, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            archive.extractall(folder, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ScriptModeFailure(f"model data is not a readable tar.gz archive: {exc}") from exc


def _spawn(
    folder: Path, model_dir: Path, code_dir: Path, environment: Mapping[str, str]
) -> ScriptHost:
    # Run as a file, isolated: the host imports only the standard library, so the model's
    # modules come from its code folder alone, never from this project's own packages.
    command = [sys.executable, "-I", str(HOST_PROGRAM), str(model_dir), str(code_dir)]
    log_file = (folder / "container.log").open("wb")
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=log_file,
        env={**_inherited(), **CONTAINER_DEFAULTS, **environment},
        cwd=folder,
    )
    log_file.close()
    assert process.stdout is not None
    timer = threading.Timer(START_SECONDS, process.kill)
    timer.start()
    try:
        line = process.stdout.readline()
    finally:
        timer.cancel()
    if not line.strip().isdigit():
        process.kill()
        process.wait(timeout=10)
        raise ScriptModeFailure(f"the model's server did not start: {_tail(folder)}")
    return ScriptHost(process, int(line), folder)


def _inherited() -> dict[str, str]:
    """What the host process needs of ours: where Python finds numpy, pandas and xgboost."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")
    return {name: os.environ[name] for name in keep if name in os.environ}


def _tail(folder: Path) -> str:
    text = (folder / "container.log").read_text(errors="replace")
    return text.strip().splitlines()[-1] if text.strip() else "(no output)"
