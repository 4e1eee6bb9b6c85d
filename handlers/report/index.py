"""The runs index: `reports/index.html` in the reports bucket, every dataset's runs on one page.

Rewritten after each decision, from `reports/index.json` (one row per run, upserted with a
conditional write so two workers deciding at once both land): per dataset the runs in order
(date, decision, headline metric with its interval, drift flag, a link to each report) and a
chart of the headline metric over time with the live version marked.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from handlers.aws.storage import Bucket
from handlers.lifecycle.champions import Pointer
from handlers.lifecycle.standing import standing
from handlers.naming import INDEX_DATA_KEY, INDEX_PAGE_KEY
from handlers.report import plots as report_plots
from handlers.report.sources import Sources

WRITE_ATTEMPTS = 8
MAX_RUNS_PER_DATASET = 200  # the newest; older runs keep their reports, off the page


def row_of(sources: Sources) -> dict[str, Any]:
    decision = sources.decision or {}
    metric = sources.recipe.promotion.metric
    interval = sources.evaluation.get("interval") or {}
    drift = (sources.profile or {}).get("drift") or {}
    return {
        "run_id": sources.run_id,
        "created_at": sources.manifest.get("created_at"),
        "date": sources.evaluation.get("run", {}).get("evaluated_at"),
        "decision": (sources.manifest.get("decision") or decision).get("decision"),
        "decisions": [d.get("decision") for d in sources.manifest.get("decisions", [])],
        "version": decision.get("version"),
        "metric": metric,
        "value": sources.evaluation["metrics"].get(metric),
        "low": interval.get("low"),
        "high": interval.get("high"),
        "drifted": drift.get("drifted"),
        "max_psi": drift.get("max_psi"),
    }


def record(reports: Bucket, dataset: str, row: dict[str, Any], pointer: Pointer) -> dict[str, Any]:
    """Upsert the run's row (by run id), the dataset's live run and where each of its runs
    stands now (a promotion changes the standing of the run it replaces); the index document."""
    live_run = pointer.champion.run_id if pointer.champion else None
    for _ in range(WRITE_ATTEMPTS):
        found = reports.read_json(INDEX_DATA_KEY)
        document, etag = found if found else ({"datasets": {}}, None)
        entry = document["datasets"].setdefault(dataset, {"runs": []})
        runs = [r for r in entry["runs"] if r["run_id"] != row["run_id"]] + [row]
        entry["runs"] = [
            {
                **r,
                "standing": standing(
                    r["run_id"], r.get("decisions") or [r.get("decision")], pointer
                ),
            }
            for r in in_time_order(runs)[-MAX_RUNS_PER_DATASET:]
        ]
        entry["live_run"] = live_run
        if reports.write_json_if(INDEX_DATA_KEY, document, etag) is not None:
            return document
        # Another decision wrote first: read again.
    raise RuntimeError(
        f"{reports.uri(INDEX_DATA_KEY)} kept changing; the index is rewritten next time"
    )


def in_time_order(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Oldest first, by when each run was created (a run id's date is only the day, its second
    half a digest: no order within a day); rows written before the time was kept go by their
    evaluation time."""
    return sorted(runs, key=lambda r: (r.get("created_at") or r.get("date") or "", r["run_id"]))


def bucket_link(run_id: str) -> str:
    """From reports/index.html to the run's page in the same bucket."""
    return f"../runs/{run_id}/evaluation/report.html"


def merged(older: dict[str, Any], newer: dict[str, Any]) -> dict[str, Any]:
    """Two index documents as one: every run of both (the newer row of a run wins), each
    dataset's live run as the newer document says (a local index kept across demo stacks)."""
    datasets: dict[str, Any] = {}
    for name in sorted({*older.get("datasets", {}), *newer.get("datasets", {})}):
        old = older.get("datasets", {}).get(name, {})
        new = newer.get("datasets", {}).get(name, {})
        rows = {r["run_id"]: r for r in [*old.get("runs", []), *new.get("runs", [])]}
        datasets[name] = {
            "runs": in_time_order(list(rows.values()))[-MAX_RUNS_PER_DATASET:],
            "live_run": new.get("live_run") if new else old.get("live_run"),
        }
    return {"datasets": datasets}


def render(document: dict[str, Any], link: Callable[[str], str | None] = bucket_link) -> str:
    """The page; `link` gives each run's report address, or None where there is none (a local
    index lists runs whose reports were not copied)."""
    from handlers.report.templates import environment

    datasets = []
    for name, entry in sorted(document.get("datasets", {}).items()):
        runs = entry.get("runs", [])
        live = entry.get("live_run")
        metric = runs[-1]["metric"] if runs else ""
        points = [{**r, "label": i + 1} for i, r in enumerate(runs)]
        chart = report_plots.headline_history(points, metric, live) if runs else None
        datasets.append(
            {
                "name": name,
                "metric": metric,
                "live_run": live,
                "runs": [
                    {**r, "link": link(r["run_id"]), "number": i + 1} for i, r in enumerate(runs)
                ][::-1],
                "chart": None if chart is None else _data_uri(chart),
            }
        )
    template = environment().get_template("index.html.j2")
    return template.render(datasets=datasets)


def publish(reports: Bucket, document: dict[str, Any]) -> None:
    reports.put_bytes(INDEX_PAGE_KEY, render(document).encode(), "text/html; charset=utf-8")


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
