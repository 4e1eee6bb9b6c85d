"""`make demo`: one dataset through the whole pipeline on the embedded AWS.

Starts moto and the SageMaker emulator, runs the real worker (the same composition as
`automlops worker`) in this process, uploads a CSV to the raw bucket, follows the run's manifest
until it ends, prints the metrics and copies the report to a local folder.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handlers import status
from handlers.evaluate import evaluation_keys
from handlers.synthetic import generate
from localcloud.stack import Stack, StackConfig, start_sagemaker, start_stack

DATASET = "bank-marketing"
TERMINAL = ("succeeded", "failed")
# Faster than AWS, same flow: the emulator's endpoint takes 2 s to come up, watches look often.
DEMO_ENV = {
    "AUTOMLOPS_TRAINING_WATCH_SECONDS": "2",
    "AUTOMLOPS_POLL_WAIT_SECONDS": "2",
    "AUTOMLOPS_ENDPOINT_WAIT_SECONDS": "60",
}


@dataclass(frozen=True)
class DemoOptions:
    data: Path | None
    rows: int
    out_dir: Path
    timeout_seconds: float = 600.0


def run_demo(options: DemoOptions) -> int:
    import os

    # Everything started is stopped (in reverse order) however far the start-up got.
    with contextlib.ExitStack() as started:
        scratch = Path(started.enter_context(tempfile.TemporaryDirectory(prefix="automlops-demo-")))
        stack = start_stack(StackConfig(prefix="automlops-demo"))
        started.callback(stack.stop)
        emulator = start_sagemaker(stack, endpoint_delay_seconds=2.0)
        started.callback(emulator.stop)
        os.environ.update(stack.env)
        os.environ.update(DEMO_ENV)
        os.environ.setdefault("AUTOMLOPS_HEALTH_FILE", f"{scratch}/health")
        os.environ.setdefault("AUTOMLOPS_WORK_DIR", f"{scratch}/work")
        worker, thread = _start_worker()
        started.callback(thread.join, timeout=60)
        started.callback(worker.stop)
        key = _upload(stack, options, scratch)
        document = _follow_run(stack, key, options.timeout_seconds)
        worker.stop()  # quiet now, so the run's summary is the last thing on the screen
        thread.join(timeout=60)
        return _conclude(stack, document, options.out_dir)


def _start_worker() -> tuple[Any, threading.Thread]:
    from service.__main__ import build_worker
    from service.clients import build_clients
    from service.logs import configure_logging
    from service.settings import Settings

    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    worker = build_worker(settings, build_clients(settings))
    thread = threading.Thread(target=worker.run, name="worker", daemon=True)
    thread.start()
    if not worker.wait_started(timeout=30):
        raise RuntimeError("the worker did not start within 30 s")
    return worker, thread


def _upload(stack: Stack, options: DemoOptions, scratch: Path) -> str:
    if options.data is None:
        path = scratch / "synthetic.csv"
        with path.open("wb") as sink:
            generate(sink, options.rows, seed=7)
        name = f"synthetic-{options.rows}.csv"
        _say(f"generated {options.rows:,} synthetic bank-marketing rows")
    else:
        path, name = options.data, options.data.name
    key = f"data/{DATASET}/{name}"
    stack.client("s3").upload_file(str(path), stack.buckets["raw"], key)
    _say(f"uploaded {path} to s3://{stack.buckets['raw']}/{key}")
    return key


def _follow_run(stack: Stack, key: str, timeout: float) -> dict[str, Any]:
    s3, bucket = stack.client("s3"), stack.buckets["reports"]
    deadline = time.monotonic() + timeout
    seen: dict[str, str] = {}
    while time.monotonic() < deadline:
        document = _run_of(s3, bucket, key)
        if document:
            _report_progress(document, seen)
            if document.get("status") in TERMINAL:
                return document
        time.sleep(0.5)
    raise TimeoutError(f"the run of {key} did not finish within {timeout:.0f} s")


def _run_of(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    for document in status.list_runs(s3, bucket, limit=50):
        if document.get("source", {}).get("key") == key:
            return document
    return None


def _report_progress(document: dict[str, Any], seen: dict[str, str]) -> None:
    for stage, entry in document.get("stages", {}).items():
        outcome = entry.get("outcome", "")
        if seen.get(stage) != outcome and outcome in ("ok", "failed"):
            _say(f"run {document['run_id']}: {stage} {outcome}")
        seen[stage] = outcome


def _conclude(stack: Stack, document: dict[str, Any], out_dir: Path) -> int:
    run_id = document["run_id"]
    print()
    print(status.describe_run(document))
    if document["status"] != "succeeded":
        _say(f"run {run_id} failed: {document.get('error')}")
        return 1
    s3, bucket = stack.client("s3"), stack.buckets["reports"]
    target = out_dir / run_id
    target.mkdir(parents=True, exist_ok=True)
    for key in evaluation_keys(run_id).values():
        s3.download_file(bucket, key, str(target / Path(key).name))
    metrics = json.loads((target / "metrics.json").read_text())["metrics"]
    print()
    _say("metrics on the held-out test set:")
    for name in (
        "roc_auc",
        "pr_auc",
        "accuracy",
        "precision",
        "recall",
        "f1",
        "specificity",
        "log_loss",
    ):
        value = metrics.get(name)
        print(f"  {name:<12} {'undefined' if value is None else f'{value:.4f}'}")
    print(f"  confusion    {metrics['confusion_matrix']}  ([[TN, FP], [FN, TP]])")
    _say(f"report: s3://{bucket}/runs/{run_id}/evaluation/ (copied to {target}/)")
    return 0


def _say(text: str) -> None:
    print(f"[demo] {text}", flush=True)
