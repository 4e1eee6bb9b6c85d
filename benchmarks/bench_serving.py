"""Serving: the cost of encoding at the endpoint, and scoring a file by upload at scale.

    .venv/bin/python benchmarks/bench_serving.py [--sizes 100000 1000000] [--requests 30]
        [--repeats 1]

moto and the SageMaker emulator run in a child process (bench_evaluate's `StackProcess`). One
model is trained here with xgboost on synthetic bank-marketing rows (the packaged recipe's
hyperparameters) and deployed twice, side by side: as the pipeline deploys it (the serving
bundle in the container's script mode: raw rows in) and as the container's algorithm mode serves
a bare `model.tar.gz` (rows the recipe already encoded in).

1. **Per request.** The same rows, 1 and 1,000 of them, sent to each endpoint in turn
   (interleaved, `--requests` times): raw CSV with the upload's header to the bundle, the
   encoded feature rows to the bare model. Medians of wall milliseconds per request, and their
   ratio: what encoding at the endpoint costs a client. Both must give the same scores.
2. **Scoring by upload.** A file of `--sizes` rows (no label) scored through the bundle endpoint
   by `handlers.serving.upload.score_upload` (the stage's code: chunked), beside a naive
   whole-file peer (pandas reads the whole file, the requests are built from it, the output is
   written at the end), each in a child process of its own so that its peak RSS is its own.
   Rows per second, CPU seconds of the child and the server, peak RSS. Flat memory shows as the
   same peak RSS for every size. Both must write the same predictions.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from bench_evaluate import IMAGE, StackProcess, create_endpoint

from handlers.data.features import transform_csv
from handlers.data.synthetic import generate
from handlers.recipe.reader import load_packaged, packaged_recipe_bytes, parse_toml
from handlers.serving import bundle
from localcloud.sagemaker import artifacts

DATASET = "bank-marketing"
RECIPE = load_packaged(DATASET)
PAYLOAD_LIMIT = 4_000_000
CONCURRENCY = 2
TRAIN_ROWS = 20_000


# -- the model, deployed twice ---------------------------------------------------------------


def client(service: str, url: str) -> Any:
    from localcloud.stack import CREDENTIALS, REGION

    return boto3.client(service, endpoint_url=url, region_name=REGION, **CREDENTIALS)  # type: ignore[call-overload]


def trained_archive() -> tuple[bytes, list[str]]:
    """A model.tar.gz as a training job writes it, and the upload's header."""
    import numpy as np
    import xgboost as xgb

    raw = io.BytesIO()
    generate(raw, TRAIN_ROWS, seed=41)
    header = raw.getvalue().split(b"\n", 1)[0].decode().split(",")
    processed = io.BytesIO()
    raw.seek(0)
    transform_csv(raw, processed, RECIPE, file="train.csv")
    table = np.loadtxt(io.BytesIO(processed.getvalue()), delimiter=",", skiprows=1)
    params = {k: v for k, v in RECIPE.hyperparameter_dict().items() if k != "num_round"}
    rounds = int(RECIPE.hyperparameter_dict()["num_round"])
    booster = xgb.train(params, xgb.DMatrix(table[:, 1:], label=table[:, 0]), rounds)
    return artifacts.pack(booster), header


def deploy_both(stack: StackProcess, archive: bytes, header: list[str]) -> None:
    from handlers.aws.endpoint_wait import wait_in_service

    env = stack.env
    s3 = client("s3", env["AWS_ENDPOINT_URL"])
    sm = client("sagemaker", stack.url)
    models = env["AUTOMLOPS_MODELS_BUCKET"]
    text, source = packaged_recipe_bytes(DATASET)
    served = bundle.Served(
        DATASET, "20261207-0000000000", source, parse_toml(text, source),
        [c for c in header if c != RECIPE.target.column],
    )  # fmt: skip
    artifacts = {
        "bench-raw": (bundle.build(archive, served), bundle.environment()),
        "bench-encoded": (archive, {}),
    }
    for name, (data, environment) in artifacts.items():
        key = f"runs/bench/{name}.tar.gz"
        s3.put_object(Bucket=models, Key=key, Body=data)
        container: dict[str, Any] = {"Image": IMAGE, "ModelDataUrl": f"s3://{models}/{key}"}
        if environment:
            container["Environment"] = environment
        create_endpoint(sm, name, container, env["AUTOMLOPS_SAGEMAKER_ROLE_ARN"], CONCURRENCY)
    for name in artifacts:
        wait_in_service(sm, name, bound_seconds=120, first_wait=0.25)


# -- 1. per request --------------------------------------------------------------------------


def request_bodies(rows: int) -> tuple[bytes, bytes]:
    """The same rows: raw with the upload's header (no label), and encoded (features only)."""
    raw = io.BytesIO()
    generate(raw, rows, seed=42)
    table = list(csv.reader(io.StringIO(raw.getvalue().decode())))
    label = table[0].index(RECIPE.target.column)
    unlabelled = io.StringIO()
    csv.writer(unlabelled, lineterminator="\n").writerows(
        [c for i, c in enumerate(row) if i != label] for row in table
    )
    processed = io.BytesIO()
    raw.seek(0)
    transform_csv(raw, processed, RECIPE, file="rows.csv")
    lines = processed.getvalue().decode().splitlines()[1:]
    encoded = "".join(line.split(",", 1)[1] + "\n" for line in lines)
    return unlabelled.getvalue().encode(), encoded.encode()


def per_request(stack: StackProcess, requests: int) -> list[dict[str, Any]]:
    from handlers.evaluation.responses import parse_answer, parse_scores

    runtime = client("sagemaker-runtime", stack.url)
    results = []
    for rows in (1, 1000):
        raw, encoded = request_bodies(rows)
        timings: dict[str, list[float]] = {"raw": [], "encoded": []}
        answers: dict[str, bytes] = {}
        for _ in range(requests):
            for kind, endpoint, body in (
                ("raw", "bench-raw", raw),
                ("encoded", "bench-encoded", encoded),
            ):
                started = time.perf_counter()
                answer = runtime.invoke_endpoint(
                    EndpointName=endpoint, ContentType="text/csv", Accept="text/csv", Body=body
                )["Body"].read()
                timings[kind].append(time.perf_counter() - started)
                answers[kind] = answer
        ours = parse_answer(answers["raw"], RECIPE.target.score_columns())
        theirs = parse_scores(answers["encoded"])
        if not (len(ours) == len(theirs) == rows and abs(ours - theirs).max() <= 1e-6):
            raise SystemExit(f"{rows} rows: raw and encoded scores differ")
        raw_ms = statistics.median(timings["raw"]) * 1000
        encoded_ms = statistics.median(timings["encoded"]) * 1000
        results.append({"rows": rows, "raw_ms": raw_ms, "encoded_ms": encoded_ms})
    return results


# -- 2. scoring by upload, in child processes ------------------------------------------------


@dataclass(frozen=True)
class Scored:
    method: str
    rows: int
    seconds: float
    cpu_seconds: float  # the child's and the server's
    peak_mib: float
    digest: str


def score_child(method: str, source: Path, out: Path, url: str) -> None:
    """Child process: score `source` with `method`; print what it measured."""
    runtime = client("sagemaker-runtime", url)

    def send(body: bytes) -> bytes:
        answer = runtime.invoke_endpoint(
            EndpointName="bench-raw", ContentType="text/csv", Accept="text/csv", Body=body
        )
        return bytes(answer["Body"].read())

    started = time.perf_counter()
    if method == "stage (chunked)":
        from handlers.serving.upload import score_upload

        with source.open("rb") as rows, out.open("wb") as sink:
            score_upload(
                rows, RECIPE, send, sink, file=source.name, limit_bytes=PAYLOAD_LIMIT,
                concurrency=CONCURRENCY,
            )  # fmt: skip
    else:
        whole_file(source, out, send)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime, "peak_mib": peak_mib()}
        )
    )


def peak_mib() -> float:
    """This process's own peak RSS: VmHWM, not ru_maxrss, which Linux carries over an exec from
    the forked parent (a child started by a parent holding a large file would report that)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def whole_file(source: Path, out: Path, send: Any) -> None:
    """The naive peer: the whole file in memory, then requests cut from it, then the output."""
    import pandas as pd

    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    text = frame.to_csv(index=False, lineterminator="\n")
    header, *records = text.splitlines(keepends=True)
    answers: list[str] = []
    batch: list[str] = []
    size = len(header)
    for record in records:
        if size + len(record) > PAYLOAD_LIMIT:
            answers += send((header + "".join(batch)).encode()).decode().splitlines()[1:]
            batch, size = [], len(header)
        batch.append(record)
        size += len(record)
    if batch:
        answers += send((header + "".join(batch)).encode()).decode().splitlines()[1:]
    columns = ",".join(RECIPE.target.prediction_columns())
    lines = [f"{header.rstrip()},{columns}\n"]
    lines += [
        f"{record.rstrip()},{answer}\n" for record, answer in zip(records, answers, strict=True)
    ]
    out.write_text("".join(lines))


def by_upload(stack: StackProcess, sizes: list[int], repeats: int, folder: Path) -> list[Scored]:
    import hashlib

    results = []
    for rows in sizes:
        source = folder / f"rows-{rows}.csv"
        unlabelled(source, rows)
        for _ in range(repeats):
            for method in ("stage (chunked)", "whole file (naive)"):
                out = folder / "out.csv"
                server_cpu = stack.cpu_seconds()
                child = subprocess.run(
                    [sys.executable, __file__, "--score-child", method, str(source), str(out),
                     stack.url],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                measured = json.loads(child.stdout.strip().splitlines()[-1])
                digest = hashlib.sha256(out.read_bytes()).hexdigest()
                cpu = measured["cpu"] + stack.cpu_seconds() - server_cpu
                results.append(
                    Scored(method, rows, measured["seconds"], cpu, measured["peak_mib"], digest)
                )
        digests = {r.digest for r in results if r.rows == rows}
        if len(digests) != 1:
            raise SystemExit(f"{rows} rows: the methods wrote different predictions")
    return results


def unlabelled(path: Path, rows: int) -> None:
    """Synthetic rows without their label, as an application has them."""
    raw = io.BytesIO()
    generate(raw, rows, seed=43)
    table = csv.reader(io.StringIO(raw.getvalue().decode()))
    label = None
    with path.open("w", newline="") as sink:
        writer = csv.writer(sink, lineterminator="\n")
        for row in table:
            label = row.index(RECIPE.target.column) if label is None else label
            writer.writerow([c for i, c in enumerate(row) if i != label])


# -- the report ------------------------------------------------------------------------------


def print_per_request(results: list[dict[str, Any]]) -> None:
    print("\nper request: the same rows, raw (bundle, script mode) vs encoded (bare model)")
    print(f"{'rows':>6} {'raw ms':>9} {'encoded ms':>11} {'raw/encoded':>12}")
    for r in results:
        ratio = r["raw_ms"] / r["encoded_ms"]
        print(f"{r['rows']:>6} {r['raw_ms']:>9.1f} {r['encoded_ms']:>11.1f} {ratio:>11.2f}x")


def print_by_upload(results: list[Scored]) -> None:
    print("\nscoring by upload (medians over repeats)")
    print(f"{'method':<20} {'rows':>9} {'seconds':>8} {'rows/s':>9} {'cpu s':>7} {'peak MiB':>9}")
    keys = sorted({(r.rows, r.method) for r in results}, key=lambda k: (k[0], k[1]))
    for rows, method in keys:
        runs = [r for r in results if r.rows == rows and r.method == method]
        seconds = statistics.median(r.seconds for r in runs)
        cpu = statistics.median(r.cpu_seconds for r in runs)
        peak = statistics.median(r.peak_mib for r in runs)
        print(
            f"{method:<20} {rows:>9,} {seconds:>8.1f} {rows / seconds:>9,.0f} {cpu:>7.1f} "
            f"{peak:>9.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--serve-stack", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--score-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.score_child:
        method, source, out, url = args.score_child
        score_child(method, Path(source), Path(out), url)
        return
    stack = StackProcess()
    try:
        archive, header = trained_archive()
        deploy_both(stack, archive, header)
        print_per_request(per_request(stack, args.requests))
        with tempfile.TemporaryDirectory(prefix="bench-serving-") as folder:
            print_by_upload(by_upload(stack, args.sizes, args.repeats, Path(folder)))
    finally:
        stack.close()


if __name__ == "__main__":
    main()
