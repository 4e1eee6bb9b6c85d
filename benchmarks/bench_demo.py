"""Upload-to-report time of the demo flow, with per-stage times from the run manifest.

    .venv/bin/python benchmarks/bench_demo.py [--rows 5000] [--repeats 3]

Each repetition is a fresh process doing what `make demo` does (automlops.demo): moto, the
SageMaker emulator (endpoint delay 2 s), the real worker in-process with the demo's settings
(training watch every 2 s, 2 s polls). The synthetic file (seed 7, as the demo) is written
before the clock starts; the clock runs from the upload to the raw bucket until the manifest
says `succeeded`:

* `observed` — as the demo sees it: it polls the manifests every 0.5 s;
* `manifest` — the manifest's `finished_at` minus the wall-clock time the upload started.

Stage rows come from the manifest: `start` is the stage's `started_at` minus the upload time,
`seconds` is `ended_at - started_at`. A stage that ran more than once (the training watch looks
again every 2 s) keeps only its last attempt's times, so its `seconds` is the last look alone;
the time between stages is queueing, SQS delays and the watch interval. Deploy starts from the
model.tar.gz S3 event, so the training watch (`training`) usually records the job's completion
after the deploy. The endpoint's InService time is its LastModifiedTime in the emulator; the
evaluate stage waits for it with back-off. `scoring` is the evaluate stage's own
`scoring_seconds` (download + InvokeEndpoint calls) from metrics.json. Medians are over the
repetitions.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from handlers.runs.manifest import Manifest
from service.hooks import Hooks

REPO_ROOT = Path(__file__).resolve().parents[1]
# What each message's summary line says about where its time went.
MESSAGE_KEYS = (
    "stage",
    "message_type",
    "outcome",
    "queued_ms",
    "duration_ms",
    "handler_ms",
    "endpoint_wait_ms",
)
QUIET = {"AUTOMLOPS_LOG_LEVEL": "WARNING"}


# -- one run, in a child process -------------------------------------------------------------


def run_once(rows: int, result_file: Path) -> None:
    """The demo's pieces with a clock around upload -> succeeded; the timings go to a file."""
    from automlops import demo
    from automlops.local import embedded_aws

    with (
        tempfile.TemporaryDirectory(prefix="bench-demo-") as scratch,
        embedded_aws("automlops-demo", endpoint_delay_seconds=2.0) as stack,
    ):
        folder = Path(scratch)
        overrides = {
            **demo.DEMO_ENV,
            **QUIET,
            "AUTOMLOPS_HEALTH_FILE": str(folder / "health"),
            "AUTOMLOPS_WORK_DIR": str(folder / "work"),
        }
        settled: list[dict[str, Any]] = []
        with demo.running_worker(stack, overrides, Hooks(on_settled=settled.append)):
            data = synthetic_file(folder, rows)
            options = demo.DemoOptions(data=data, rows=rows, out_dir=folder / "out")
            uploaded_at = datetime.now(UTC)
            started = time.perf_counter()
            key = demo._upload(stack, data, data.name, demo.DATASET)
            document = demo._follow_run(stack, key, options)
            observed = time.perf_counter() - started
        result = timings(document, uploaded_at, observed)
        result["messages"] = [
            {key: summary.get(key) for key in MESSAGE_KEYS}
            for summary in settled
            if summary.get("run_id") in (document["run_id"], "unknown")
        ]
        result["evaluation"] = evaluation_facts(stack, document["run_id"])
        assert stack.sagemaker_endpoint_url is not None
        result["in_service"] = in_service_at(stack.sagemaker_endpoint_url, document, uploaded_at)
        result_file.write_text(json.dumps(result))


def synthetic_file(folder: Path, rows: int) -> Path:
    from handlers.data.synthetic import generate

    path = folder / f"synthetic-{rows}.csv"
    with path.open("wb") as sink:
        generate(sink, rows, seed=7)
    return path


def timings(document: Manifest, uploaded_at: datetime, observed: float) -> dict[str, Any]:
    def since_upload(stamp: str) -> float:
        return (datetime.fromisoformat(stamp) - uploaded_at).total_seconds()

    stages: dict[str, dict[str, Any]] = {}
    for name, entry in document["stages"].items():
        if "started_at" not in entry or "ended_at" not in entry:
            continue
        start, end = since_upload(entry["started_at"]), since_upload(entry["ended_at"])
        stages[name] = {"start": start, "seconds": end - start, "attempts": entry["attempts"]}
    return {
        "status": document["status"],
        "observed": observed,
        "manifest": since_upload(document["finished_at"]),
        "stages": stages,
    }


def evaluation_facts(stack: Any, run_id: str) -> dict[str, Any]:
    from handlers.stages.evaluate import evaluation_keys

    body = stack.client("s3").get_object(
        Bucket=stack.buckets["reports"], Key=evaluation_keys(run_id)["metrics"]
    )["Body"]
    document = json.loads(body.read())
    return {
        "scoring_seconds": document["run"]["scoring_seconds"],
        "requests": document["run"]["requests"],
        "rows": document["metrics"]["count"],
    }


def in_service_at(url: str, document: Manifest, uploaded_at: datetime) -> float:
    """Seconds from the upload until the live endpoint served the run's model (its
    LastModifiedTime; the run, first of its stack, is promoted). The run's own endpoint is
    deleted by clean-up once the decision is made."""
    import boto3

    from handlers.naming import DatasetNames
    from localcloud.stack import CREDENTIALS, REGION

    session = boto3.Session(
        aws_access_key_id=CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=CREDENTIALS["aws_secret_access_key"],
        region_name=REGION,
    )
    if document.get("decision", {}).get("decision") != "promoted":
        raise RuntimeError(f"the benchmark's run was not promoted: {document.get('decision')}")
    name = DatasetNames.for_dataset(document["dataset"]).live_endpoint
    endpoint = session.client("sagemaker", endpoint_url=url).describe_endpoint(EndpointName=name)
    return float((endpoint["LastModifiedTime"] - uploaded_at).total_seconds())


# -- the parent ------------------------------------------------------------------------------


def measure(rows: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-demo-result-") as tmp:
        result_file = Path(tmp) / "result.json"
        command = [sys.executable, __file__, "--child", str(rows), str(result_file)]
        child = subprocess.run(
            command, cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=900
        )
        if child.returncode != 0 or not result_file.exists():
            tail = "\n".join((child.stdout + child.stderr).splitlines()[-40:])
            raise SystemExit(f"a demo run failed (exit {child.returncode}):\n{tail}")
        result: dict[str, Any] = json.loads(result_file.read_text())
    if result["status"] != "succeeded":
        raise SystemExit(f"the run ended {result['status']}")
    return result


def stage_order(results: list[dict[str, Any]]) -> list[str]:
    first = results[0]["stages"]
    return sorted(first, key=lambda name: first[name]["start"])


def print_runs(results: list[dict[str, Any]]) -> None:
    names = stage_order(results)
    print()
    print(f"{'run':>4} {'observed s':>11} {'manifest s':>11}  " + "  ".join(names))
    for number, result in enumerate(results, start=1):
        stages = result["stages"]
        cells = [f"{stages[n]['seconds']:.2f}" for n in names]
        print(
            f"{number:>4} {result['observed']:>11.2f} {result['manifest']:>11.2f}  "
            + "  ".join(f"{c:>{len(n)}}" for c, n in zip(cells, names, strict=True))
        )


def median(values: list[float]) -> float:
    return statistics.median(values)


def print_medians(results: list[dict[str, Any]], rows: int) -> None:
    print()
    print(f"median of {len(results)} runs, {rows:,} synthetic rows, upload -> succeeded:")
    print(f"  observed (0.5 s polls) {median([r['observed'] for r in results]):>7.2f} s")
    print(f"  manifest finished_at   {median([r['manifest'] for r in results]):>7.2f} s")
    print()
    print(f"{'stage':<12} {'attempts':>8} {'start s':>8} {'seconds':>8} {'end s':>8}")
    for name in stage_order(results):
        entries = [r["stages"][name] for r in results]
        start = median([e["start"] for e in entries])
        seconds = median([e["seconds"] for e in entries])
        attempts = median([e["attempts"] for e in entries])
        end = median([e["start"] + e["seconds"] for e in entries])
        print(f"{name:<12} {attempts:>8g} {start:>8.2f} {seconds:>8.2f} {end:>8.2f}")


def print_evaluate_facts(results: list[dict[str, Any]]) -> None:
    evaluation = [r["evaluation"] for r in results]
    in_service = median([r["in_service"] for r in results])
    evaluate_end = median(
        [r["stages"]["evaluate"]["start"] + r["stages"]["evaluate"]["seconds"] for r in results]
    )
    print()
    print(
        f"evaluate ended at {evaluate_end:.2f} s, the live endpoint served the model at "
        f"{in_service:.2f} s (its LastModifiedTime): {in_service - evaluate_end:.2f} s from "
        "evaluation to live (medians)"
    )
    print(
        f"evaluate scoring (download + invoke): "
        f"{median([e['scoring_seconds'] for e in evaluation]):.3f} s median, "
        f"{median([e['requests'] for e in evaluation]):g} request(s) for "
        f"{evaluation[0]['rows']:,} test rows"
    )


def print_breakdown(results: list[dict[str, Any]]) -> None:
    """Per stage, medians over the runs: time in the queue (a watch's delay included), waiting
    for an endpoint inside the handler, and the handler's own work."""
    print()
    print("where the time goes, per stage (medians of the runs' sums, seconds):")
    print(
        f"{'stage':<12} {'messages':>8} {'in queue':>9} {'endpoint':>9} {'work':>7}  "
        "(in queue: from send to receive; endpoint: the handler waiting for InService)"
    )
    stages = list(dict.fromkeys(m["stage"] for r in results for m in r["messages"]))
    for stage in stages:
        sums = [_sums([m for m in r["messages"] if m["stage"] == stage]) for r in results]
        count, queued, endpoint, work = (median([s[i] for s in sums]) for i in range(4))
        print(f"{stage:<12} {count:>8g} {queued:>9.2f} {endpoint:>9.2f} {work:>7.2f}")
    totals = [_sums(r["messages"]) for r in results]
    print(
        f"{'all':<12} {median([t[0] for t in totals]):>8g} "
        f"{median([t[1] for t in totals]):>9.2f} {median([t[2] for t in totals]):>9.2f} "
        f"{median([t[3] for t in totals]):>7.2f}"
    )
    undelayed = [
        m["queued_ms"]
        for r in results
        for m in r["messages"]
        if m["message_type"] != "training.watch" and m["queued_ms"] is not None
    ]
    print(
        f"a message that was not delayed waited in its queue {median(undelayed):.0f} ms "
        f"(median), {max(undelayed):.0f} ms at most, over {len(undelayed)} messages"
    )


def _sums(messages: list[dict[str, Any]]) -> tuple[int, float, float, float]:
    queued = sum(m["queued_ms"] or 0 for m in messages) / 1000
    endpoint = sum(m["endpoint_wait_ms"] or 0 for m in messages) / 1000
    handler = sum(m["handler_ms"] or 0 for m in messages) / 1000
    return len(messages), queued, endpoint, handler - endpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5000, help="synthetic rows, as `make demo`")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("ROWS", "RESULT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_once(int(args.child[0]), Path(args.child[1]))
        return
    results: list[dict[str, Any]] = []
    for number in range(1, args.repeats + 1):
        started = time.perf_counter()
        results.append(measure(args.rows))
        wall = time.perf_counter() - started
        print(
            f"run {number}: upload -> succeeded {results[-1]['observed']:.2f} s "
            f"(process {wall:.1f} s)",
            flush=True,
        )
    print_runs(results)
    print_medians(results, args.rows)
    print_evaluate_facts(results)
    print_breakdown(results)


if __name__ == "__main__":
    main()
