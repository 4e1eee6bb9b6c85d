"""`make demo` as a user runs it: the CLI in its own process, from upload to a copied report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


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
    result = subprocess.run(
        [sys.executable, "-m", "automlops", "local", "--demo", "--rows", "2000", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "status    succeeded" in result.stdout
    assert "roc_auc" in result.stdout
    (run_folder,) = out.iterdir()
    assert {p.name for p in run_folder.iterdir()} == {
        "metrics.json",
        "report.md",
        "confusion_matrix.png",
    }
    metrics = json.loads((run_folder / "metrics.json").read_text())["metrics"]
    assert metrics["count"] == 200  # the 10 % test part of 2,000 rows
    assert f"copied to {run_folder}" in result.stdout
    # The demo runs the worker exactly as `automlops worker` composes it, observers included:
    # each stage's EMF metric line is there, with the stage named as in the manifest.
    emf = [doc for line in result.stdout.splitlines() if (doc := _json_line(line))]
    stages = {doc["Stage"] for doc in emf if "StageDurationMs" in doc}
    assert {"preprocess", "train", "deploy", "evaluate"} <= stages
