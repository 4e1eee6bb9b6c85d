"""The report page renders for every kind and every shape of what a run leaves: with and
without a champion (scored or not), importance, curves, a profile and drift. Rendering is
strict (an undefined name fails), so a missing part must be handled, not hidden."""

from __future__ import annotations

import re
from typing import Any, cast

import numpy as np
import pytest
from recipe_texts import MULTICLASS_TARGET, REGRESSION_TARGET, recipe

from handlers.evaluation import bootstrap
from handlers.evaluation.measure import measure
from handlers.evaluation.scoring import Scored
from handlers.recipe.kinds import TASK_KINDS, Kind
from handlers.recipe.reader import load_packaged
from handlers.report import index as runs_index
from handlers.report import page as report_page
from handlers.report.sources import ModelScores, Sources
from handlers.runs.manifest import Manifest

RECIPES = {
    "binary": load_packaged("bank-marketing"),
    "multiclass": recipe(MULTICLASS_TARGET),
    "regression": recipe(REGRESSION_TARGET),
}


def scored(kind: str, seed: int) -> Scored:
    rng = np.random.default_rng(seed)
    if kind == "binary":
        labels = rng.integers(0, 2, 300).astype(float)
        return Scored(labels, np.clip(labels * 0.4 + rng.random(300) * 0.6, 0, 1), 1, 0.0)
    if kind == "multiclass":
        labels = rng.integers(0, 4, 300).astype(float)
        logits = rng.normal(size=(300, 4))
        logits[np.arange(300), labels.astype(int)] += 1.0
        return Scored(labels, np.exp(logits) / np.exp(logits).sum(1, keepdims=True), 1, 0.0)
    labels = rng.normal(100, 10, 300)
    return Scored(labels, labels + rng.normal(0, 5, 300), 1, 0.0)


def sources(kind: str, *, champion: str, extras: bool) -> Sources:
    the_recipe = RECIPES[kind]
    ours, theirs = scored(kind, 1), scored(kind, 2)
    metric = the_recipe.promotion.metric
    interval = bootstrap.interval(the_recipe, ours, metric, "r")
    decision = {
        "decision": "promoted",
        "reason": "because",
        "action": "gate",
        "version": 2,
        "live_version": 2,
        "decided_at": "2026-12-01T00:00:00+00:00",
    }
    champion_doc: dict[str, Any] | None = None
    if champion == "scored":
        comparison = bootstrap.compare(
            the_recipe, ours.labels, ours.scores, theirs.scores, metric, "r"
        )
        champion_doc = {
            "version": 1,
            "run_id": "20261201-0000000001",
            "metrics": measure(the_recipe, theirs).to_dict(),
            "comparison": comparison.to_dict(),
        }
    elif champion == "unscored":
        champion_doc = {"version": 1, "run_id": "20261201-0000000001", "metrics": None}
    found = Sources(
        run_id="20261201-0000000002",
        dataset="shop",
        recipe=the_recipe,
        manifest=cast(
            Manifest,
            {"source": {"bucket": "raw", "key": "data/shop/a.csv"}, "decisions": [decision]},
        ),
        evaluation={
            "run": {"evaluated_at": "2026-12-01T00:00:00+00:00", "requests": 1},
            "metrics": measure(the_recipe, ours).to_dict(),
            "interval": None if interval is None else {"metric": metric, **interval.to_dict()},
        },
        decision=decision,
        ours=ModelScores("challenger (version 2)", ours.labels, ours.scores),
        champion=champion_doc,
        theirs=None
        if champion != "scored"
        else ModelScores("champion (version 1)", theirs.labels, theirs.scores),
        profile=None,
        live_endpoint="aml-shop-live",
        unavailable={"importance": "no model", "curves": "no log"},
    )
    if extras:
        found.importance = [("area", 12.5), ("district", 3.0)]
        found.curves = {"rmse": {"train": [3.0, 2.0], "validation": [3.5, 2.5]}}
        found.unavailable = {}
        found.profile = {
            "rows": 3000,
            "columns": 3,
            "target": {"column": "y", "kind": kind, "rows": {"a": 10, "b": 20}}
            if kind != "regression"
            else {"column": "y", "kind": kind, "mean": 1.0, "min": 0.0, "max": 2.0},
            "columns_profile": [
                {"column": "area", "role": "numeric", "missing": 0, "out_of_vocabulary": 0}
            ],
            "reference": {"rows": 2100},
            "drift": {
                "against": {"version": 1, "run_id": "20261201-0000000001"},
                "threshold": 0.25,
                "psi": {"area": 0.4, "district": 0.01},
                "max_psi": 0.4,
                "drifted_features": ["area"],
                "drifted": True,
                "target": {"psi": 0.02},
            },
        }
    return found


@pytest.mark.parametrize(
    ("kind", "champion", "extras"),
    [
        *((kind, "scored", True) for kind in RECIPES),  # everything there, for each kind
        ("binary", "none", False),  # the first version, nothing optional
        ("multiclass", "unscored", False),  # the champion had other features
        ("regression", "scored", False),
    ],
)
def test_the_page_renders_every_shape(kind: str, champion: str, extras: bool) -> None:
    html, markdown = report_page.render(sources(kind, champion=champion, extras=extras))
    assert 'id="section-confidence"' in html
    assert 'id="section-drift"' in html
    assert "## Decision: promoted (gate, 2026-12-01T00:00:00+00:00)" in markdown
    if kind == "multiclass":
        assert "| actual \\ predicted | bronze | silver | gold | platinum |" in markdown
    figures = html.count('src="data:image/png;base64,')
    expected = {"binary": 5, "multiclass": 1, "regression": 2}[kind] + (2 if extras else 0)
    assert figures == expected
    if extras:
        assert "<strong>drifted</strong>: area" in html
        assert "DRIFTED (area)" in markdown
    else:
        assert "Not available: no model" in html
    if champion == "scored":
        assert "difference (this \u2212 champion)" in html
        assert "champion (version 1)" in html
        # each metric row says which of the two it favours
        said = re.findall(
            r"\| (?:(?:this version|champion) \((?:higher|lower)\)|equal) \|", markdown
        )
        assert len(said) == len(TASK_KINDS[cast("Kind", kind)].metrics)
    else:
        assert markdown.count("is better) |") == len(TASK_KINDS[cast("Kind", kind)].metrics)


@pytest.mark.parametrize(
    ("ours", "theirs", "higher", "said"),
    [
        (0.8, 0.7, True, "this version (higher)"),
        (0.7, 0.8, True, "champion (higher)"),
        (3.0, 4.0, False, "this version (lower)"),
        (4.0, 3.0, False, "champion (lower)"),
        (0.5, 0.5, True, "equal"),
        (0.5, None, True, "— (higher is better)"),
    ],
)
def test_the_better_column_names_the_model(
    ours: float, theirs: float | None, higher: bool, said: str
) -> None:
    assert report_page.which_is_better(ours, theirs, higher) == said


def test_html_escapes_what_it_inserts() -> None:
    found = sources("binary", champion="none", extras=False)
    found.decision = {**(found.decision or {}), "reason": "<script>alert(1)</script>"}
    html, _ = report_page.render(found)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_the_index_links_every_run_and_marks_the_live_one() -> None:
    rows = [runs_index.row_of(sources("binary", champion=c, extras=True)) for c in ("none",)]
    rows.append({**rows[0], "run_id": "20261201-0000000003", "value": None, "low": None})
    document = {"datasets": {"shop": {"runs": rows, "live_run": rows[0]["run_id"]}}}
    html = runs_index.render(document)
    for row in rows:
        assert f'href="../runs/{row["run_id"]}/evaluation/report.html"' in html
    assert f"{rows[0]['run_id']} ★" in html
    assert html.count('src="data:image/png;base64,') == 1
    local = runs_index.render(document, link=lambda run_id: f"{run_id}/report.html")
    assert f'href="{rows[0]["run_id"]}/report.html"' in local
    # A local index links only the reports copied; the others name the command that copies.
    copied = rows[0]["run_id"]
    partial = runs_index.render(
        document, link=lambda run_id: f"{run_id}/report.html" if run_id == copied else None
    )
    assert partial.count("href=") == 1
    assert f"automlops report {rows[1]['run_id']}" in partial


def test_a_local_index_keeps_the_runs_of_earlier_stacks() -> None:
    row = runs_index.row_of(sources("binary", champion="none", extras=False))
    first = {**row, "run_id": "20261201-00000000aa", "created_at": "2026-12-01T10:00:00+00:00"}
    second = {**row, "run_id": "20261202-00000000bb", "created_at": "2026-12-02T10:00:00+00:00"}
    older = {"datasets": {"shop": {"runs": [first], "live_run": first["run_id"]}}}
    newer = {
        "datasets": {
            "shop": {"runs": [{**second, "decision": "promoted"}], "live_run": second["run_id"]},
            "iris": {"runs": [first], "live_run": None},
        }
    }
    merged = runs_index.merged(older, newer)
    assert [r["run_id"] for r in merged["datasets"]["shop"]["runs"]] == [
        first["run_id"],
        second["run_id"],
    ]
    assert merged["datasets"]["shop"]["live_run"] == second["run_id"]
    assert merged["datasets"]["iris"]["runs"] == [first]
    # the same run again: the newer row wins, no duplicate
    again = runs_index.merged(merged, {"datasets": {"shop": {"runs": [{**first, "value": 0.9}]}}})
    shop = again["datasets"]["shop"]["runs"]
    assert [r["value"] for r in shop if r["run_id"] == first["run_id"]] == [0.9]
    assert len(shop) == 2


def test_the_index_orders_runs_by_when_they_were_created_not_by_their_digest() -> None:
    base = runs_index.row_of(sources("binary", champion="none", extras=False))
    made = [
        {**base, "run_id": "20261201-ffffffffff", "created_at": "2026-12-01T09:00:00.000+00:00"},
        {**base, "run_id": "20261201-0000000000", "created_at": "2026-12-01T10:00:00.000+00:00"},
        {**base, "run_id": "20261130-9999999999", "created_at": "2026-11-30T23:59:00.000+00:00"},
    ]
    ordered = [row["run_id"] for row in runs_index.in_time_order(made)]
    assert ordered == ["20261130-9999999999", "20261201-ffffffffff", "20261201-0000000000"]
