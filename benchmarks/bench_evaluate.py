"""Evaluate-stage scoring: InvokeEndpoint calls and time to score a labelled test set.

    .venv/bin/python benchmarks/bench_evaluate.py [--rows 100000] [--sample-rows 2000]
        [--latency-ms 0 20] [--concurrency 1 4] [--train-rows 10000]

moto and the SageMaker emulator run in a child process, so that the server side does not compete
with the client for this process's GIL. A small model is trained once through the emulator
(label-first CSV in S3, CreateTrainingJob with the bank-marketing recipe's hyperparameters), then
deployed as a serverless endpoint (4096 MB, MaxConcurrency = the largest --concurrency). The test
set is synthetic bank-marketing rows encoded with the recipe (header, label first), like the
`test.csv` the train stage writes.

Methods, each scoring the same test file:

* `per-row`    — one InvokeEndpoint per row, sequential. Measured on the first --sample-rows rows
  and extrapolated linearly to the whole file (marked `*` in the table);
* `batch-500`  — fixed 500-row requests, sequential;
* `limit-c<N>` — handlers.evaluation.scoring.score_file: requests as large as the payload limit
  (4,000,000 bytes), up to N in flight. The evaluate stage sends the raw test rows to a serving
  bundle (`score_raw_file`) with the same batching; this measures the batching alone, on a bare
  model and encoded rows. What encoding at the endpoint adds is bench_serving.py's.

Each method runs once per --latency-ms value; the emulator adds that latency to every
InvokeEndpoint (its `invoke_latency_seconds` fault), as a real endpoint adds ~10-50 ms of
overhead per call. Ratios compare with `per-row` at the same latency. Besides wall seconds, the
table gives `cpu s`: user + system time of this process and of the server process during the
method, which a busy shared machine disturbs much less than wall time. Every method must return
the same scores as `per-row` on the sample, or the run stops.

The emulator runs with TCP_NODELAY and OpenMP's passive wait (localcloud/sagemaker), so its
per-call overhead (~3 ms here) stays far below a real endpoint's.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from handlers.recipe.reader import load_packaged

REPO_ROOT = Path(__file__).resolve().parents[1]
PAYLOAD_LIMIT = 4_000_000
FIXED_BATCH_ROWS = 500
RUN = "bench-evaluate"
NAME = "bench-evaluate"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"


# -- the stack, in a child process -----------------------------------------------------------


def serve_stack() -> None:
    """Child process: moto + the SageMaker emulator; print where they are, serve until stdin
    closes."""
    from localcloud.stack import StackConfig, running_sagemaker, running_stack

    with (
        running_stack(StackConfig(prefix=NAME)) as stack,
        running_sagemaker(stack, endpoint_delay_seconds=0.5) as emulator,
    ):
        print(json.dumps({"env": stack.env, "url": emulator.url}), flush=True)
        sys.stdin.read()


class StackProcess:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve-stack"],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        info = json.loads(self.process.stdout.readline())
        self.env: dict[str, str] = info["env"]
        self.url: str = info["url"]

    def cpu_seconds(self) -> float:
        """User + system time of the server process so far (Linux /proc; 0 elsewhere)."""
        stat = Path(f"/proc/{self.process.pid}/stat")
        if not stat.exists():
            return 0.0
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def set_latency(self, seconds: float) -> None:
        request = urllib.request.Request(
            f"{self.url}/_emulator/faults",
            data=json.dumps({"invoke_latency_seconds": seconds}).encode(),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(30)


# -- data ------------------------------------------------------------------------------------


def encoded_rows(path: Path, rows: int, seed: int) -> None:
    """Synthetic bank-marketing rows, encoded with the recipe: header, label first."""
    import io

    from handlers.data.features import transform_csv
    from handlers.data.synthetic import generate

    raw = io.BytesIO()
    generate(raw, rows, seed=seed)
    raw.seek(0)
    with path.open("wb") as sink:
        transform_csv(raw, sink, load_packaged("bank-marketing"), file=path.name)


def upload_training_data(s3: Any, bucket: str, processed: Path) -> None:
    """Label first, no header: 80% train, 20% validation."""
    lines = processed.read_bytes().splitlines(keepends=True)[1:]
    cut = len(lines) * 4 // 5
    s3.put_object(Bucket=bucket, Key=f"runs/{RUN}/train/train.csv", Body=b"".join(lines[:cut]))
    s3.put_object(
        Bucket=bucket, Key=f"runs/{RUN}/validation/validation.csv", Body=b"".join(lines[cut:])
    )


# -- training and deployment -----------------------------------------------------------------


def train(sm: Any, env: dict[str, str]) -> str:
    """Train once through the emulator; the model tarball's S3 URI."""

    curated, models = env["AUTOMLOPS_CURATED_BUCKET"], env["AUTOMLOPS_MODELS_BUCKET"]
    sm.create_training_job(
        TrainingJobName=NAME,
        RoleArn=env["AUTOMLOPS_SAGEMAKER_ROLE_ARN"],
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        HyperParameters=load_packaged("bank-marketing").hyperparameter_dict(),
        InputDataConfig=[
            channel("train", f"s3://{curated}/runs/{RUN}/train/"),
            channel("validation", f"s3://{curated}/runs/{RUN}/validation/"),
        ],
        OutputDataConfig={"S3OutputPath": f"s3://{models}/runs/{RUN}/model/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        job = sm.describe_training_job(TrainingJobName=NAME)
        if job["TrainingJobStatus"] == "Completed":
            return str(job["ModelArtifacts"]["S3ModelArtifacts"])
        if job["TrainingJobStatus"] in ("Failed", "Stopped"):
            raise SystemExit(f"training failed: {job.get('FailureReason')}")
        time.sleep(0.5)
    raise SystemExit("training did not complete within 300 s")


def channel(name: str, uri: str) -> dict[str, Any]:
    source = {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
    return {"ChannelName": name, "ContentType": "text/csv", "DataSource": {"S3DataSource": source}}


def deploy(sm: Any, env: dict[str, str], model_data: str, max_concurrency: int) -> None:
    from handlers.aws.endpoint_wait import wait_in_service

    container = {"Image": IMAGE, "ModelDataUrl": model_data}
    create_endpoint(sm, NAME, container, env["AUTOMLOPS_SAGEMAKER_ROLE_ARN"], max_concurrency)
    wait_in_service(sm, NAME, bound_seconds=120, first_wait=0.25)


def create_endpoint(
    sm: Any, name: str, container: dict[str, Any], role_arn: str, max_concurrency: int
) -> None:
    """A model, a serverless endpoint config and an endpoint, all called `name` (not waited)."""
    sm.create_model(ModelName=name, PrimaryContainer=container, ExecutionRoleArn=role_arn)
    serverless = {"MemorySizeInMB": 4096, "MaxConcurrency": max_concurrency}
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": name, "ServerlessConfig": serverless}
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)


# -- the methods -----------------------------------------------------------------------------


class CountingInvoke:
    """InvokeEndpoint as the evaluate stage calls it, counting the calls (thread-safe)."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, body: bytes) -> Any:
        from handlers.evaluation.responses import parse_scores

        with self._lock:
            self.calls += 1
        response = self.runtime.invoke_endpoint(
            EndpointName=NAME, ContentType="text/csv", Accept="text/csv", Body=body
        )
        return parse_scores(response["Body"].read())


@dataclass(frozen=True)
class Measurement:
    latency_ms: float
    method: str
    rows: int  # rows actually sent
    calls: int
    seconds: float
    cpu_seconds: float  # this process + the server process
    scores: list[float]

    def scaled(self, rows: int) -> Measurement:
        """Linear extrapolation to `rows` (per-row calls cost the same whatever the row)."""
        factor = rows / self.rows
        calls, seconds, cpu = round(self.calls * factor), self.seconds * factor, self.cpu_seconds
        return Measurement(self.latency_ms, self.method, rows, calls, seconds, cpu * factor, [])

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds


@dataclass(frozen=True)
class Outcome:
    calls: int
    scores: list[float]


def data_lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.readline()  # the header
        yield from handle


def features_of(line: bytes) -> bytes:
    return line.rstrip(b"\r\n").partition(b",")[2] + b"\n"


def per_row(path: Path, invoke: CountingInvoke, sample: int) -> Outcome:
    scores: list[float] = []
    for line in itertools.islice(data_lines(path), sample):
        scores += invoke(features_of(line)).tolist()
    return Outcome(invoke.calls, scores)


def fixed_batches(path: Path, invoke: CountingInvoke, size: int) -> Outcome:
    scores: list[float] = []
    lines = data_lines(path)
    while chunk := list(itertools.islice(lines, size)):
        scores += invoke(b"".join(features_of(line) for line in chunk)).tolist()
    return Outcome(invoke.calls, scores)


def payload_limit(path: Path, invoke: CountingInvoke, concurrency: int) -> Outcome:
    from handlers.evaluation.scoring import score_file

    scored = score_file(path, invoke, PAYLOAD_LIMIT, concurrency)
    assert scored.requests == invoke.calls
    return Outcome(invoke.calls, scored.scores.tolist())


def process_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def timed(
    stack: StackProcess,
    latency_ms: float,
    method: str,
    work: Callable[[], Outcome],
) -> Measurement:
    cpu = process_cpu_seconds() + stack.cpu_seconds()
    started = time.perf_counter()
    outcome = work()
    elapsed = time.perf_counter() - started
    cpu = process_cpu_seconds() + stack.cpu_seconds() - cpu
    rows = len(outcome.scores)
    result = Measurement(latency_ms, method, rows, outcome.calls, elapsed, cpu, outcome.scores)
    say(result)
    return result


def measure_latency(
    stack: StackProcess, path: Path, runtime: Any, latency_ms: float, args: argparse.Namespace
) -> list[Measurement]:
    stack.set_latency(latency_ms / 1000)
    CountingInvoke(runtime)(features_of(next(data_lines(path))))  # warm the connection
    methods: list[tuple[str, Callable[[], Outcome]]] = [
        ("per-row", partial(per_row, path, CountingInvoke(runtime), args.sample_rows)),
        (
            f"batch-{FIXED_BATCH_ROWS}",
            partial(fixed_batches, path, CountingInvoke(runtime), FIXED_BATCH_ROWS),
        ),
    ]
    methods += [
        (f"limit-c{c}", partial(payload_limit, path, CountingInvoke(runtime), c))
        for c in args.concurrency
    ]
    results = [timed(stack, latency_ms, name, work) for name, work in methods]
    check_scores(results)
    return results


def check_scores(results: list[Measurement]) -> None:
    """Every method must produce the same scores, in the same order."""
    sample = results[0].scores
    for result in results[1:]:
        head = result.scores[: len(sample)]
        worst = max(abs(a - b) for a, b in zip(sample, head, strict=True))
        if worst > 1e-6:
            raise SystemExit(f"{result.method} disagrees with per-row scores by {worst}")


def say(result: Measurement) -> None:
    print(
        f"  {result.latency_ms:>4.0f} ms {result.method:<10} {result.rows:>8,} rows "
        f"{result.calls:>6,} calls {result.seconds:>8.2f} s {result.cpu_seconds:>7.2f} cpu s",
        flush=True,
    )


# -- the report ------------------------------------------------------------------------------


HEADINGS = (
    f"{'latency':>8} {'method':<11} {'rows':>8} {'calls':>8} {'ms/call':>8} {'seconds':>9} "
    f"{'rows/s':>9} {'cpu s':>8} {'fewer calls':>12} {'x faster':>9} {'x less cpu':>11}"
)


def table_row(result: Measurement, baseline: Measurement, mark: str) -> str:
    cells = [f"{result.latency_ms:>5.0f} ms", f"{result.method + mark:<11}"]
    cells += [f"{result.rows:>8,}", f"{result.calls:>8,}"]
    cells += [f"{1000 * result.seconds / result.calls:>8.1f}", f"{result.seconds:>9.2f}"]
    cells += [f"{result.rows_per_second:>9,.0f}", f"{result.cpu_seconds:>8.2f}"]
    cells += [f"{baseline.calls / result.calls:>11,.0f}x"]
    cells += [f"{baseline.seconds / result.seconds:>9,.1f}"]
    cells += [f"{baseline.cpu_seconds / max(result.cpu_seconds, 0.01):>11,.1f}"]
    return " ".join(cells)


def print_table(results: list[Measurement], rows: int, sample: int) -> None:
    print()
    print(HEADINGS)
    for latency in dict.fromkeys(r.latency_ms for r in results):
        group = [r for r in results if r.latency_ms == latency]
        baseline = group[0].scaled(rows)
        print(table_row(baseline, baseline, "*"))
        for result in group[1:]:
            print(table_row(result, baseline, " "))
    print()
    print(
        f"* per-row measured on the first {sample:,} rows and extrapolated linearly to {rows:,}; "
        "ratios are against it at the same latency."
    )
    print(
        "cpu s: user + system time of this process and the server process (moto + emulator) "
        "during the method; unlike seconds, it does not count time spent waiting for a CPU."
    )


def auc_line(labels_path: Path, scores: list[float]) -> str:
    from handlers.evaluation.binary import compute_metrics

    labels = [int(line.partition(b",")[0]) for line in data_lines(labels_path)]
    metrics = compute_metrics(labels, scores, 0.5)
    return f"model check: ROC AUC {metrics.roc_auc:.4f}, accuracy {metrics.accuracy:.4f}"


# -- main ------------------------------------------------------------------------------------


def clients(stack: StackProcess) -> tuple[Any, Any, Any]:
    import boto3
    from botocore.config import Config

    env = stack.env
    session = boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_REGION"],
    )
    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        read_timeout=70,
        max_pool_connections=10,
    )
    s3 = session.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])
    sm = session.client("sagemaker", endpoint_url=stack.url)
    runtime = session.client("sagemaker-runtime", endpoint_url=stack.url, config=config)
    return s3, sm, runtime


def run(args: argparse.Namespace, scratch: Path) -> None:
    stack = StackProcess()
    try:
        s3, sm, runtime = clients(stack)
        started = time.perf_counter()
        train_file, test_file = scratch / "train.csv", scratch / "test.csv"
        encoded_rows(train_file, args.train_rows, seed=1)
        encoded_rows(test_file, args.rows, seed=2)
        test_mib = test_file.stat().st_size / 2**20
        print(f"data: {args.train_rows:,} training rows, {args.rows:,} test rows", end=" ")
        print(f"({test_mib:.1f} MiB)")
        upload_training_data(s3, stack.env["AUTOMLOPS_CURATED_BUCKET"], train_file)
        model_data = train(sm, stack.env)
        deploy(sm, stack.env, model_data, max(args.concurrency))
        print(f"trained and deployed in {time.perf_counter() - started:.1f} s (data included)")
        results: list[Measurement] = []
        for latency in args.latency_ms:
            results += measure_latency(stack, test_file, runtime, latency, args)
        print(auc_line(test_file, results[-1].scores))
        print_table(results, args.rows, args.sample_rows)
    finally:
        stack.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="test rows to score")
    parser.add_argument("--sample-rows", type=int, default=2_000, help="per-row baseline sample")
    parser.add_argument("--train-rows", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 20.0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--workdir", type=Path, default=None, help="where the temporary files go")
    parser.add_argument("--serve-stack", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_stack:
        serve_stack()
        return
    if not 0 < args.sample_rows <= args.rows:
        parser.error("--sample-rows must be between 1 and --rows")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-evaluate-", dir=args.workdir) as tmp:
        run(args, Path(tmp))
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
