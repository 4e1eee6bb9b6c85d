"""`make demo` as a user runs it: the CLI in its own process, from upload to a copied report."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from browser import assert_renders

from handlers.data.synthetic_tasks import GENERATORS

ROOT = Path(__file__).resolve().parents[2]
COMMON_SECTIONS = {
    "section-header",
    "section-metrics",
    "section-confidence",
    "section-model",
    "figure-importance",
    "figure-training",
    "section-data",
    "section-drift",
    "section-decisions",
}
KIND_SECTIONS = {
    "binary": {
        "section-curves",
        "figure-roc",
        "figure-pr",
        "section-thresholds",
        "section-calibration",
        "figure-calibration",
        "figure-histogram",
        "section-confusion",
        "figure-confusion",
    },
    "multiclass": {"section-per-class", "section-confusion", "figure-confusion"},
    "regression": {"section-regression", "figure-predicted", "figure-residuals"},
}


def check_pages_in_a_browser(out: Path, stdout: str, kind: str, work: Path) -> None:
    """The report of the demo's last run and the runs index, rendered in headless Chromium."""
    last = next(line for line in stdout.splitlines() if "report of the last run:" in line)
    page = Path(last.split("report of the last run:", 1)[1].strip())
    assert page.parent.parent == out.resolve()
    assert_renders(page, work, COMMON_SECTIONS | KIND_SECTIONS[kind])
    index = out / "index.html"
    assert f"runs index: {index.resolve()}" in stdout
    rendered = assert_renders(index, work, {"section-header", "dataset-" + _dataset(out)})
    assert rendered.images  # the headline chart of the dataset
    html = index.read_text()
    for folder in (p for p in out.iterdir() if p.is_dir()):
        assert f'href="{folder.name}/report.html"' in html


def _dataset(out: Path) -> str:
    document = json.loads(next(out.glob("*/decision.json")).read_text())
    return str(document["dataset"])


def demo(*arguments: str) -> subprocess.CompletedProcess[str]:
    """`automlops local --demo ARGUMENTS` in its own process, as `make demo` runs it; it must
    succeed."""
    result = subprocess.run(
        [sys.executable, "-m", "automlops", "local", "--demo", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def _json_line(line: str) -> dict[str, Any] | None:
    """An EMF document on a line of its own (threads may share a line with other output)."""
    if not line.startswith("{") or '"_aws"' not in line:
        return None
    try:
        doc = json.loads(line)
    except json.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) else None


def test_local_demo_prints_the_metrics_and_copies_the_report(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    result = demo("--rows", "2000", "--out", str(out))
    assert result.stdout.count("status    succeeded") == 2  # two versions of the data
    assert "roc_auc" in result.stdout
    folders = sorted((p for p in out.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    assert len(folders) == 2
    for run_folder in folders:
        assert {
            "metrics.json",
            "report.md",
            "report.html",
            "scores.csv",
            "confusion_matrix.png",
            "decision.json",
        } <= {p.name for p in run_folder.iterdir()}
        assert f"copied to {run_folder}" in result.stdout
    # The second run was compared with the first on its rows: the champion's scores are there,
    # the gate cites the bootstrap interval of the difference, drift is measured against v1.
    second = folders[-1]
    assert (second / "champion-v1-scores.csv").exists()
    decision = json.loads((second / "decision.json").read_text())
    assert "95% bootstrap interval" in decision["reason"]
    assert "Against version 1: largest PSI" in (second / "report.md").read_text()
    assert "against version 1 (threshold 0.25)" in result.stdout  # status shows the drift
    check_pages_in_a_browser(out, result.stdout, "binary", tmp_path / "browser")
    counts = [json.loads((f / "metrics.json").read_text())["metrics"]["count"] for f in folders]
    assert sorted(counts) == [200, 400]  # the 10 % test parts of 2,000 and 4,000 rows
    # Both decisions, the live endpoint and `automlops models` are printed.
    decisions = [json.loads((f / "decision.json").read_text()) for f in folders]
    for made in decisions:
        assert f"version {made['version']} {made['decision']}: {made['reason']}" in result.stdout
    live_version = decisions[-1]["live_version"]
    assert f"live      aml-bank-marketing-live serves version {live_version}" in result.stdout
    # It ends by scoring new rows (no label) by upload, through the live endpoint.
    assert f"20 new rows scored by the live endpoint (version {live_version})" in result.stdout
    predictions = tmp_path / "predictions" / "bank-marketing" / "new-rows.csv"
    assert f"predictions: {predictions.resolve()}" in result.stdout
    lines = predictions.read_text().splitlines()
    assert lines[0].endswith(",predicted_y,probability_yes")
    assert len(lines) == 21
    assert "$ automlops models bank-marketing" in result.stdout
    # The demo runs the worker exactly as `automlops worker` composes it, observers included:
    # each stage's EMF metric line is there, with the stage named as in the manifest. They go
    # to a file next to the reports, not to the screen (VERBOSE=1 shows them).
    log = out / "worker.log"
    assert f"the worker's log lines go to {log} (VERBOSE=1 shows them here)" in result.stdout
    assert not [line for line in result.stdout.splitlines() if _json_line(line)]
    assert not [line for line in result.stdout.splitlines() if "report" in line and "s3://" in line]
    emf = [doc for line in log.read_text().splitlines() if (doc := _json_line(line))]
    stages = {doc["Stage"] for doc in emf if "StageDurationMs" in doc}
    assert {"preprocess", "train", "deploy", "evaluate", "promote", "cleanup"} <= stages


def test_local_demo_drafts_a_recipe_for_a_file_of_its_own(tmp_path: Path) -> None:
    """`make demo DATA=file.csv` for a file that is no bank-marketing data: a recipe is drafted,
    written next to the reports, uploaded as the operator's, and the file runs through."""
    data = tmp_path / "Churn Export.csv"
    draw = random.Random(5)
    rows = ["customer_id,tenure,monthly,plan,churned"]
    for i in range(1500):
        tenure, monthly = draw.randint(1, 72), round(draw.uniform(10, 120), 2)
        plan = draw.choice(("basic", "plus", "pro"))
        churn = draw.random() < 0.6 - tenure / 120 + (0.15 if plan == "basic" else 0)
        rows.append(f"C{i:05d},{tenure},{monthly},{plan},{'yes' if churn else 'no'}")
    data.write_text("\n".join(rows) + "\n")
    out = tmp_path / "reports"
    result = demo("--data", str(data), "--out", str(out))
    recipe = out / "churn-export.toml"
    assert (
        f"no recipe for churn-export: drafted {recipe} (binary target 'churned')" in result.stdout
    )
    assert "# customer_id: dropped, it looks like an identifier" in recipe.read_text()
    assert "data/churn-export/Churn Export.csv" in result.stdout
    assert result.stdout.count("status    succeeded") == 1
    assert "$ automlops models churn-export" in result.stdout
    # Run again after editing the recipe (README's own-data step 3, TARGET= as before): the
    # edit is used, the file is not drafted over.
    edited = recipe.read_text().replace('drop = ["customer_id"]', 'drop = ["customer_id", "plan"]')
    edited = edited.replace('"plan" = ["basic", "plus", "pro"]\n', "")
    recipe.write_text(edited)
    again = demo("--data", str(data), "--target", "churned", "--out", str(out))
    assert f"recipe for churn-export: {recipe} (yours: edit it and run again" in again.stdout
    assert "drafted" not in again.stdout
    assert recipe.read_text() == edited
    assert again.stdout.count("status    succeeded") == 1
    # The first model used the plan, the second never saw it.
    # The local index lists the runs of both demos (two stacks), each linked to its copy.
    index = (out / "index.html").read_text()
    for run_id in (last_report(result.stdout).parent.name, last_report(again.stdout).parent.name):
        assert f'href="{run_id}/report.html"' in index
    used = "<td>plan</td><td>categorical</td>"
    assert used in last_report(result.stdout).read_text()
    assert used not in last_report(again.stdout).read_text()


def last_report(stdout: str) -> Path:
    line = next(line for line in stdout.splitlines() if "report of the last run:" in line)
    return Path(line.split("report of the last run:", 1)[1].strip())


@pytest.mark.parametrize(
    ("kind", "target", "shown"),
    [
        ("multiclass", "segment", ("f1_macro", "roc_auc_ovr", "confusion (rows actual bronze")),
        ("regression", "price", ("rmse", "r2", "mape")),
    ],
)
def test_local_demo_runs_each_task_kind_from_a_file_with_no_recipe(
    tmp_path: Path, kind: str, target: str, shown: tuple[str, ...]
) -> None:
    """`make demo DATA=file.csv TARGET=col` for a multiclass and a regression file: the drafted
    recipe has the kind its values say, and the kind's metrics are printed."""
    data = tmp_path / f"{kind}.csv"
    with data.open("wb") as sink:
        GENERATORS[kind](sink, 1500, seed=21)
    out = tmp_path / "reports"
    result = demo("--data", str(data), "--target", target, "--out", str(out))
    recipe = out / f"{kind}.toml"
    assert f"drafted {recipe} ({kind} target '{target}')" in result.stdout
    assert f"{kind} metrics on its held-out test set:" in result.stdout
    for name in shown:
        assert f"  {name}" in result.stdout
    assert result.stdout.count("status    succeeded") == 1
    assert "version 1 promoted: the first version of the dataset" in result.stdout
    check_pages_in_a_browser(out, result.stdout, kind, tmp_path / "browser")


def test_a_run_that_does_not_end_in_time_is_one_line(tmp_path: Path) -> None:
    """The demo's wait for a run is bounded: past it, one line and exit code 1."""
    done = subprocess.run(
        [sys.executable, "-m", "automlops", "local", "--demo", "--rows", "2000", "--timeout",
         "0.5", "--out", str(tmp_path / "reports")],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    log = tmp_path / "reports" / "worker.log"
    assert line == (
        "automlops: the run of data/bank-marketing/synthetic-v1-2000.csv did not end within "
        f"0.5 s: the worker's log lines in {log} say where it stopped"
    )
