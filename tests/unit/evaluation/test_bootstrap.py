"""Bootstrap intervals: each fast per-resample metric equals the evaluation's own value on that
resample, intervals are seeded by the run, and a clearly better model's difference excludes 0."""

from __future__ import annotations

import numpy as np
import pytest
from recipe_texts import MULTICLASS_TARGET, REGRESSION_TARGET, recipe

from handlers.evaluation import bootstrap
from handlers.evaluation.bootstrap import FAST, compare, interval
from handlers.evaluation.measure import measure
from handlers.evaluation.scoring import Scored
from handlers.recipe.reader import packaged_recipe_bytes, read_recipe

BINARY = read_recipe(*packaged_recipe_bytes("bank-marketing"))
RECIPES = {
    "binary": BINARY,
    "multiclass": recipe(MULTICLASS_TARGET),
    "regression": recipe(REGRESSION_TARGET),
}


def scored_rows(kind: str, rows: int, rng: np.random.Generator, skill: float = 1.0) -> Scored:
    if kind == "binary":
        labels = rng.integers(0, 2, rows).astype(float)
        scores = 1 / (1 + np.exp(-(skill * (labels - 0.5) * 2 + rng.normal(size=rows))))
    elif kind == "multiclass":
        labels = rng.integers(0, 4, rows).astype(float)
        logits = rng.normal(size=(rows, 4))
        logits[np.arange(rows), labels.astype(int)] += skill
        scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    else:
        labels = rng.normal(100, 20, rows)
        scores = labels + rng.normal(0, 20 / max(skill, 0.1), rows)
    return Scored(labels, scores, 1, 0.0)


@pytest.mark.parametrize(("kind", "metric"), sorted(FAST))
def test_each_fast_statistic_equals_the_evaluations_metric_on_every_resample(
    kind: str, metric: str
) -> None:
    rng = np.random.default_rng(7)
    scored = scored_rows(kind, 150, rng)
    picks = rng.integers(0, 150, size=(5, 150))
    fast = FAST[(kind, metric)](scored.labels[picks], scored.scores[picks], RECIPES[kind])
    for row, pick in enumerate(picks):
        resample = Scored(scored.labels[pick], scored.scores[pick], 1, 0.0)
        expected = measure(RECIPES[kind], resample).to_dict()[metric]
        assert fast[row] == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_an_interval_is_seeded_by_the_run_and_holds_the_point_estimate() -> None:
    scored = scored_rows("binary", 400, np.random.default_rng(1))
    first = interval(BINARY, scored, "roc_auc", "run-a")
    again = interval(BINARY, scored, "roc_auc", "run-a")
    other = interval(BINARY, scored, "roc_auc", "run-b")
    assert first is not None
    assert other is not None
    assert first == again
    assert first != other
    point = measure(BINARY, scored).to_dict()["roc_auc"]
    assert first.low < point < first.high
    assert first.replicates == bootstrap.REPLICATES


def test_a_much_better_challenger_has_a_difference_above_zero_and_a_twin_straddles_it() -> None:
    for kind, metric in (("binary", "roc_auc"), ("multiclass", "f1_macro"), ("regression", "rmse")):
        strong = scored_rows(kind, 400, np.random.default_rng(5), skill=3.0)
        weak_scores = scored_rows(kind, 400, np.random.default_rng(5), skill=0.3).scores
        compared = compare(RECIPES[kind], strong.labels, strong.scores, weak_scores, metric, "r")
        assert compared.difference is not None
        difference = compared.difference
        if metric == "rmse":  # lower is better: the challenger's rmse is lower
            assert difference.high < 0
        else:
            assert difference.low > 0
        twin = compare(RECIPES[kind], strong.labels, strong.scores, strong.scores, metric, "r")
        assert twin.difference is not None
        assert (twin.difference.low, twin.difference.high) == (0.0, 0.0)


def test_a_metric_without_a_fast_path_goes_through_measure_on_fewer_resamples() -> None:
    scored = scored_rows("binary", 120, np.random.default_rng(3))
    found = interval(BINARY, scored, "pr_auc", "run")
    assert found is not None
    assert found.replicates == bootstrap.SLOW_REPLICATES
    assert 0 < found.low < found.high <= 1


def test_a_metric_undefined_on_most_resamples_has_no_interval() -> None:
    labels = np.zeros(50)
    labels[0] = 1  # one positive: most resamples hold none, so their AUC is undefined
    scored = Scored(labels, np.linspace(0, 1, 50), 1, 0.0)
    assert interval(BINARY, scored, "roc_auc", "run") is None


@pytest.mark.parametrize("kind", sorted(RECIPES))
def test_a_test_part_too_small_to_trust_is_said_so_in_the_metrics(kind: str) -> None:
    """iris: 15 test rows, a perfect score and an interval of [1, 1] that says nothing."""
    from handlers.stages.evaluate import Evaluation

    rng = np.random.default_rng(3)
    the_recipe = RECIPES[kind]
    for rows, noted in ((15, True), (bootstrap.SMALL_TEST_ROWS, False)):
        scored = scored_rows(kind, rows, rng)
        document = Evaluation(the_recipe, measure(the_recipe, scored), {}, None).document()
        notes = document["metrics"].get("notes", [])
        said = f"the test part has only {rows} rows: a few rows decide these metrics"
        assert any(note.startswith(said) for note in notes) is noted
