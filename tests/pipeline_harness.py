"""The whole pipeline on the embedded AWS, for the pipeline's integration and end-to-end tests.

`running_pipeline()` starts moto and the SageMaker emulator on 127.0.0.1 and, when asked, the
real worker (`automlops.compose.compose`, as `automlops worker` builds it) on a thread of this
process. Clients are built with explicit endpoint URLs, so nothing here reads or changes
`os.environ`. `Pipeline` has the helpers the tests share: upload a CSV, follow its run's
manifest to a terminal status, read S3 objects, build a `HandlerContext` for calling a stage
directly, collect dead letters.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote_plus

import structlog
from localstack_server import LocalStack
from summaries import Summaries

from automlops.aws import AwsClients
from automlops.compose import App, Config, compose, connect, pipeline_deps
from handlers.aws.storage import Bucket
from handlers.data.synthetic import generate
from handlers.deps import PipelineDeps
from handlers.runs import manifest
from handlers.runs.repository import RunRepository
from localcloud.stack import Stack, StackConfig, provision, running_sagemaker, running_stack
from service.config import PREFIX, check
from service.context import HandlerContext
from service.hooks import Hooks

if TYPE_CHECKING:
    from localcloud.sagemaker import Emulator
    from service.worker import Worker

# Quick but realistic: 1 s long polls and training watches, an endpoint up in a fraction of a
# second, back-offs of a few seconds.
FAST_PIPELINE: dict[str, Any] = {
    "poll_wait_seconds": 1,
    "training_watch_first_seconds": 1,
    "training_watch_seconds": 1,
    "heartbeat_seconds": 2,
    "visibility_extension_seconds": 10,
    "backoff_base_seconds": 1,
    "backoff_max_seconds": 4,
    "shutdown_budget_seconds": 10,
    "endpoint_wait_seconds": 30,
    "worker_threads": 4,
    "log_format": "json",
}
ENDPOINT_DELAY_SECONDS = 0.3
RUN_TIMEOUT_SECONDS = 90.0
TERMINAL = manifest.TERMINAL


@dataclass(frozen=True)
class Uploaded:
    """A raw object as S3 reports it right after the upload."""

    bucket: str
    key: str
    etag: str
    version_id: str | None


def pipeline_config(stack: Stack, work_root: Path, **overrides: Any) -> Config:
    """The worker's configuration as it reads it from its environment: the stack's, FAST_PIPELINE,
    and `overrides` (field names, e.g. invoke_payload_limit_bytes=2048)."""
    env = dict(stack.env)
    values = {
        **FAST_PIPELINE,
        "health_file": work_root / "health",
        "work_dir": work_root / "work",
        "metrics_namespace": f"automlops-test-{uuid.uuid4().hex[:6]}",
        **overrides,
    }
    env.update({PREFIX + name.upper(): str(value) for name, value in values.items()})
    return Config.from_env(env)


def pipeline_clients(stack: Stack, config: Config) -> AwsClients:
    """The worker's clients, built as the worker builds them, pointed at the stack."""
    if stack.sagemaker_endpoint_url is None:
        raise RuntimeError("start the SageMaker emulator before building the clients")
    return connect(config)


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    url: str
    body_bytes: int


class CallLog:
    """The API requests a set of clients sent over HTTP, in order."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()

    def watch(self, clients: AwsClients) -> AwsClients:
        for client in (
            clients.s3,
            clients.sqs,
            clients.sagemaker,
            clients.sagemaker_runtime,
            clients.cloudwatch,
        ):
            client.meta.events.register("before-send", self._record)
        return clients

    def _record(self, request: Any, event_name: str, **kwargs: Any) -> None:
        _, service, operation = event_name.split(".", 2)  # before-send.<service>.<Operation>
        call = Call(service, operation, str(request.url), _size(request.body))
        with self._lock:
            self.calls.append(call)

    def of(self, operation: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.operation == operation]

    def operations(self) -> list[str]:
        with self._lock:
            return [call.operation for call in self.calls]

    def count(self, operation: str) -> int:
        return len(self.of(operation))


def _size(body: Any) -> int:
    """bytes, str, or a seekable stream (botocore streams S3 uploads)."""
    if body is None:
        return 0
    if isinstance(body, bytes | str):
        return len(body)
    position = body.tell()
    body.seek(0, io.SEEK_END)  # some of botocore's stream wrappers return None here
    size = body.tell()
    body.seek(position)
    return int(size)


class Pipeline:
    """One running embedded AWS (+ optionally the worker), and what tests do with it."""

    def __init__(self, stack: Stack, emulator: Emulator, config: Config) -> None:
        self.stack = stack
        self.emulator = emulator
        self.config = config
        self.settings = config.pipeline
        self.runtime = config.runtime
        self.clients = pipeline_clients(stack, config)
        self.runs = RunRepository(Bucket(self.clients.s3, self.settings.reports_bucket))
        self.settled = Summaries()
        self._sources: dict[str, str] = {}  # run id -> raw key, from the manifests seen so far
        self._dead: dict[str, list[dict[str, Any]]] = {"ingest": [], "stages": []}
        self._app: App | None = None
        self._thread: threading.Thread | None = None
        self._worker_errors: list[BaseException] = []

    # -- the worker ------------------------------------------------------------------------------

    def start_worker(self) -> Worker:
        self._app = compose(self.config, self.clients, hooks=Hooks(on_settled=self.settled))
        worker = self._app.worker
        self._thread = threading.Thread(
            target=self._run_worker, name="pipeline-worker", daemon=True
        )
        self._thread.start()
        if not worker.wait_started(30):
            raise AssertionError(f"the worker did not start: {self._worker_errors}")
        return worker

    def _run_worker(self) -> None:
        assert self._app is not None
        try:
            self._app.run()
        except BaseException as exc:
            self._worker_errors.append(exc)

    @property
    def worker_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._worker_errors

    def stop_worker(self) -> None:
        if self._app is None or self._thread is None:
            return
        self._app.worker.stop()
        self._thread.join(self.runtime.shutdown_budget_seconds + 15)
        if self._thread.is_alive():
            raise AssertionError("the worker did not stop within its shutdown budget")
        if self._worker_errors:
            raise AssertionError(f"the worker failed: {self._worker_errors!r}")

    # -- S3 --------------------------------------------------------------------------------------

    def bucket(self, role: str) -> str:
        return self.settings.bucket_names()[role]

    def upload(self, key: str, body: bytes, role: str = "raw") -> Uploaded:
        bucket = self.bucket(role)
        response = self.clients.s3.put_object(Bucket=bucket, Key=key, Body=body)
        return Uploaded(bucket, key, response["ETag"], response.get("VersionId"))

    def upload_file(self, key: str, path: Path) -> Uploaded:
        return self.upload(key, path.read_bytes())

    def read_bytes(self, role: str, key: str) -> bytes:
        return self.clients.s3.get_object(Bucket=self.bucket(role), Key=key)["Body"].read()

    def read_json(self, role: str, key: str) -> dict[str, Any]:
        return cast(dict[str, Any], json.loads(self.read_bytes(role, key)))

    def keys(self, role: str, prefix: str) -> list[str]:
        paginator = self.clients.s3.get_paginator("list_objects_v2")
        found: list[str] = []
        for page in paginator.paginate(Bucket=self.bucket(role), Prefix=prefix):
            found += [item["Key"] for item in page.get("Contents", [])]
        return found

    def versions(self, role: str, key: str) -> list[dict[str, Any]]:
        listed = self.clients.s3.list_object_versions(Bucket=self.bucket(role), Prefix=key)
        return [dict(v) for v in listed.get("Versions", []) if v["Key"] == key]

    # -- runs ------------------------------------------------------------------------------------

    def manifest(self, run_id: str) -> dict[str, Any] | None:
        """The run's manifest, as JSON (tests read any key of it)."""
        return cast(dict[str, Any] | None, self.runs.load(run_id))

    def runs_of(self, key: str) -> list[dict[str, Any]]:
        """The manifests of every run started by the raw object `key`."""
        self._learn_sources()
        documents = [self.manifest(run) for run, source in self._sources.items() if source == key]
        return [d for d in documents if d is not None]

    def _learn_sources(self) -> None:
        paginator = self.clients.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(
            Bucket=self.bucket("reports"), Prefix="runs/", Delimiter="/"
        ):
            for prefix in page.get("CommonPrefixes", []):
                run_id = prefix["Prefix"].split("/")[1]
                if run_id in self._sources:
                    continue
                document = self.manifest(run_id)
                source = (document or {}).get("source")
                if source:
                    self._sources[run_id] = source["key"]

    def wait_for_run(self, key: str, timeout: float = RUN_TIMEOUT_SECONDS) -> dict[str, Any]:
        """The manifest of the run of `key` once its status is terminal (succeeded or failed)."""
        deadline = time.monotonic() + timeout
        runs: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            runs = self.runs_of(key)
            for document in runs:
                if document.get("status") in TERMINAL:
                    return document
            if self._thread is not None and not self.worker_alive:
                raise AssertionError(f"the worker stopped: {self._worker_errors!r}")
            time.sleep(0.2)
        raise AssertionError(f"no run of {key} ended within {timeout:.0f} s; manifests: {runs}")

    def wait_until_quiet(self, run: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
        """`run`'s manifest once nothing has changed it for 3 s. A run succeeds on the model's
        S3 event; the training watch, a delayed message, may record its stage a moment later."""
        stable, deadline = 0, time.monotonic() + timeout
        while stable < 3 and time.monotonic() < deadline:
            time.sleep(1)
            now = self.manifest(run["run_id"])
            stable = stable + 1 if now == run else 0
            if now is not None:
                run = now
        return run

    def wait_for_runs(
        self, keys: list[str], timeout: float = RUN_TIMEOUT_SECONDS
    ) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        return {key: self.wait_for_run(key, max(1.0, deadline - time.monotonic())) for key in keys}

    # -- calling a stage directly ----------------------------------------------------------------

    def context(
        self,
        message_id: str | None = None,
        clients: AwsClients | None = None,
        *,
        last_attempt: bool = False,
        **overrides: Any,
    ) -> HandlerContext[PipelineDeps]:
        """What the runtime passes a handler; `overrides` change pipeline settings fields;
        `last_attempt` as on the last receive the queue allows."""
        settings = self.settings
        if overrides:
            settings = dataclasses.replace(settings, **overrides)
            check(settings)
        return HandlerContext(
            deps=pipeline_deps(settings, clients or self.clients),
            log=structlog.get_logger("test.handler"),
            message_id=message_id or f"test-{uuid.uuid4()}",
            last_attempt=last_attempt,
        )

    def recording_clients(self) -> tuple[AwsClients, CallLog]:
        """Fresh clients of the same kind, and the log of every request they send."""
        log = CallLog()
        return log.watch(pipeline_clients(self.stack, self.config)), log

    # -- queues ----------------------------------------------------------------------------------

    def dead_letters_for(self, key: str, role: str = "ingest", timeout: float = 15) -> list[Any]:
        """Dead letters (with their attributes) whose S3 event names the raw object `key`."""
        return self.dead_letters(role, lambda body: key in event_keys(body), timeout)

    def dead_letters_of_run(
        self, run_id: str, role: str = "stages", timeout: float = 15
    ) -> list[Any]:
        """Dead stage messages (with their attributes) of the run `run_id`."""
        return self.dead_letters(role, lambda body: _envelope_run(body) == run_id, timeout)

    def dead_letters(
        self, role: str, matches: Callable[[str], bool], timeout: float = 15
    ) -> list[Any]:
        """The messages on `role`'s DLQ whose body `matches`, once there are any (or timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            self._drain_dead_letters(role)
            found = [m for m in self._dead[role] if matches(m["Body"])]
            if found or time.monotonic() >= deadline:
                return found
            time.sleep(0.2)

    def _drain_dead_letters(self, role: str) -> None:
        """Take what is on the DLQ now; kept here so each test finds its own among them."""
        sqs, url = self.clients.sqs, self.stack.dlq_urls[role]
        while True:
            batch = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=0,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                return
            for message in batch:
                self._dead[role].append(dict(message))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _envelope_run(body: str) -> str | None:
    try:
        document = json.loads(body)
    except json.JSONDecodeError:
        return None
    return document.get("run_id") if isinstance(document, dict) else None


def event_keys(body: str) -> set[str]:
    """The object keys an S3 notification body names (decoded); none for other bodies."""
    try:
        document = json.loads(body)
    except json.JSONDecodeError:
        return set()
    records = document.get("Records") if isinstance(document, dict) else None
    return {
        unquote_plus(r["s3"]["object"]["key"])
        for r in records or []
        if isinstance(r, dict) and "s3" in r
    }


@contextmanager
def running_pipeline(
    work_root: Path,
    *,
    worker: bool = True,
    faults: Mapping[str, Any] | None = None,
    localstack: LocalStack | None = None,
    **overrides: Any,
) -> Iterator[Pipeline]:
    """moto (or, given one, a running LocalStack) + the SageMaker emulator (+ the worker) on
    127.0.0.1 until the block ends.

    `faults` are the emulator's (e.g. training_failures); `overrides` are settings fields.
    """
    config = StackConfig(prefix=f"p{uuid.uuid4().hex[:8]}", visibility_timeout=10)
    emulator_faults = {"endpoint_delay_seconds": ENDPOINT_DELAY_SECONDS, **(faults or {})}
    with (
        _aws(config, localstack) as stack,
        running_sagemaker(stack, **emulator_faults) as emulator,
    ):
        pipeline = Pipeline(stack, emulator, pipeline_config(stack, work_root, **overrides))
        try:
            if worker:
                pipeline.start_worker()
            yield pipeline
        finally:
            pipeline.stop_worker()


class _Shared:
    """A server the test session owns: the stack built on it leaves it running."""

    def stop(self) -> None:
        return None


@contextmanager
def _aws(config: StackConfig, localstack: LocalStack | None) -> Iterator[Stack]:
    """The stack's S3/SQS/CloudWatch/Logs: moto of its own, or the session's LocalStack,
    provisioned as deploy/ declares (the same `provision()` docker/compose.yaml runs)."""
    if localstack is None:
        with running_stack(config) as stack:
            yield stack
        return
    made = provision(localstack.endpoint_url, config)
    yield Stack(
        localstack.endpoint_url,
        made.buckets,
        made.queue_urls,
        made.dlq_urls,
        _Shared(),  # type: ignore[arg-type]
        made.decisions_topic_arn,
    )


@functools.cache
def synthetic_csv(rows: int, seed: int = 0, separator: str = ",") -> bytes:
    """A bank-marketing CSV (UCI schema) of `rows` synthetic rows; the same bytes for the same
    arguments."""
    sink = io.BytesIO()
    generate(sink, rows, seed=seed, separator=separator)
    return sink.getvalue()


CLI_TIMEOUT_SECONDS = 120


def cli(
    pipeline: Pipeline, *args: str, changes: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`automlops ARGS` in its own process, with the environment a worker of this stack has
    (and `changes` to it)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        **pipeline.stack.env,
        **(changes or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "automlops", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )
