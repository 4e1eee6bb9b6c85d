"""How certain a test-set metric is: percentile bootstrap intervals, paired for two models.

The test rows are resampled with replacement (`REPLICATES` times, seeded by the run id, so the
same run always reports the same interval); the metric is computed on each resample, and the
2.5th and 97.5th percentiles are the 95% interval. Two models scored on the same rows are
resampled together, so the interval of their difference accounts for the rows they share.

The common metrics are computed for all resamples at once with numpy (each equal to the scikit-learn
value the evaluation reports; `tests/unit/evaluation/test_bootstrap.py` checks them against
`measure`); any other metric goes through `measure` itself on `SLOW_REPLICATES` resamples.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from handlers.evaluation.measure import measure
from handlers.evaluation.scoring import Scored
from handlers.recipe.model import Recipe

REPLICATES = 1000
SLOW_REPLICATES = 200
LEVEL = 0.95
MIN_DEFINED = 0.9  # a metric undefined on more resamples than this leaves has no interval
# Below this many test rows a handful of rows decide the metrics: said in the output and report.
SMALL_TEST_ROWS = 100


def small_test_note(rows: int) -> str | None:
    """What to say of a test part too small for its numbers to mean much (iris: 15 rows)."""
    if rows >= SMALL_TEST_ROWS:
        return None
    return (
        f"the test part has only {rows} rows: a few rows decide these metrics, so they and "
        "their 95% interval say little; more rows (or a larger test share under [split]) give "
        "numbers to trust"
    )


LOG_LOSS_EPSILON = 1e-15

# (labels (B, n), scores (B, n) or (B, n, k), recipe) -> the metric per resample (B,), NaN
# where undefined
Statistic = Callable[[np.ndarray, np.ndarray, Recipe], np.ndarray]


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    replicates: int  # resamples on which the metric was defined

    def to_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "replicates": self.replicates}

    def shown(self) -> str:
        return f"[{self.low:.4f}, {self.high:.4f}]"


@dataclass(frozen=True)
class Comparison:
    """The challenger's and the champion's intervals on the same resamples, and their
    difference's (challenger minus champion)."""

    metric: str
    ours: Interval | None
    theirs: Interval | None
    difference: Interval | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "level": LEVEL,
            "challenger": _dict(self.ours),
            "champion": _dict(self.theirs),
            "difference": _dict(self.difference),
        }


def interval(recipe: Recipe, scored: Scored, metric: str, seed_text: str) -> Interval | None:
    """The 95% interval of `metric` on the scored rows."""
    values = _replicated(recipe, scored.labels, [scored.scores], metric, seed_text)
    return _percentiles(values[0])


def compare(
    recipe: Recipe,
    labels: np.ndarray,
    ours: np.ndarray,
    theirs: np.ndarray,
    metric: str,
    seed_text: str,
) -> Comparison:
    """Both models' intervals and the interval of their difference, on shared resamples."""
    values = _replicated(recipe, labels, [ours, theirs], metric, seed_text)
    return Comparison(
        metric,
        _percentiles(values[0]),
        _percentiles(values[1]),
        _percentiles(values[0] - values[1]),
    )


def _replicated(
    recipe: Recipe, labels: np.ndarray, scores: list[np.ndarray], metric: str, seed_text: str
) -> list[np.ndarray]:
    """The metric of each model on every resample (the same resamples for all)."""
    fast = FAST.get((recipe.target.kind, metric))
    replicates = REPLICATES if fast else SLOW_REPLICATES
    rows = len(labels)
    rng = np.random.default_rng(_seed(seed_text))
    picks = rng.integers(0, rows, size=(replicates, rows))
    statistic = fast or _through_measure(metric)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return [statistic(labels[picks], s[picks], recipe) for s in scores]


def _seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _percentiles(values: np.ndarray) -> Interval | None:
    defined = values[np.isfinite(values)]
    if len(defined) < MIN_DEFINED * len(values):
        return None
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(defined, [tail, 100 - tail])
    return Interval(float(low), float(high), len(defined))


def _dict(found: Interval | None) -> dict[str, Any] | None:
    return None if found is None else found.to_dict()


# -- the metric of every resample at once -----------------------------------------------------


def _roc_auc(labels: np.ndarray, scores: np.ndarray, _: Recipe) -> np.ndarray:
    """Mann-Whitney: the mean rank of the positives, ties at their average rank (the same as
    scikit-learn's trapezoidal ROC AUC)."""
    from scipy.stats import rankdata

    positive = labels == 1
    n_pos = positive.sum(axis=1)
    n_neg = labels.shape[1] - n_pos
    ranks = rankdata(scores, axis=1)
    u = (ranks * positive).sum(axis=1) - n_pos * (n_pos + 1) / 2
    return np.where((n_pos > 0) & (n_neg > 0), u / (n_pos * n_neg), np.nan)


def _counts(labels: np.ndarray, scores: np.ndarray, recipe: Recipe) -> tuple[np.ndarray, ...]:
    predicted = scores > (recipe.threshold or 0.5)
    actual = labels == 1
    tp = (predicted & actual).sum(axis=1)
    fp = (predicted & ~actual).sum(axis=1)
    fn = (~predicted & actual).sum(axis=1)
    tn = (~predicted & ~actual).sum(axis=1)
    return tp, fp, fn, tn


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """scikit-learn's zero_division=0."""
    return np.where(bottom > 0, top / np.maximum(bottom, 1), 0.0)


def _f1(labels: np.ndarray, scores: np.ndarray, recipe: Recipe) -> np.ndarray:
    tp, fp, fn, _ = _counts(labels, scores, recipe)
    return _ratio(2 * tp, 2 * tp + fp + fn)


def _precision(labels: np.ndarray, scores: np.ndarray, recipe: Recipe) -> np.ndarray:
    tp, fp, _, _ = _counts(labels, scores, recipe)
    return _ratio(tp, tp + fp)


def _recall(labels: np.ndarray, scores: np.ndarray, recipe: Recipe) -> np.ndarray:
    tp, _, fn, _ = _counts(labels, scores, recipe)
    return _ratio(tp, tp + fn)


def _accuracy(labels: np.ndarray, scores: np.ndarray, recipe: Recipe) -> np.ndarray:
    tp, _, _, tn = _counts(labels, scores, recipe)
    return np.asarray((tp + tn) / labels.shape[1], dtype=np.float64)


def _binary_log_loss(labels: np.ndarray, scores: np.ndarray, _: Recipe) -> np.ndarray:
    p = np.clip(scores, LOG_LOSS_EPSILON, 1 - LOG_LOSS_EPSILON)
    return np.asarray(-np.where(labels == 1, np.log(p), np.log(1 - p)).mean(axis=1))


def _f1_macro(labels: np.ndarray, scores: np.ndarray, recipe: Recipe) -> np.ndarray:
    predicted = scores.argmax(axis=2)
    actual = labels.astype(np.int64)
    per_class = []
    for index in range(len(recipe.target.values)):
        tp = ((predicted == index) & (actual == index)).sum(axis=1)
        fp = ((predicted == index) & (actual != index)).sum(axis=1)
        fn = ((predicted != index) & (actual == index)).sum(axis=1)
        per_class.append(_ratio(2 * tp, 2 * tp + fp + fn))
    return np.asarray(np.mean(per_class, axis=0))


def _multiclass_accuracy(labels: np.ndarray, scores: np.ndarray, _: Recipe) -> np.ndarray:
    return np.asarray((scores.argmax(axis=2) == labels.astype(np.int64)).mean(axis=1))


def _multiclass_log_loss(labels: np.ndarray, scores: np.ndarray, _: Recipe) -> np.ndarray:
    p = np.clip(scores, LOG_LOSS_EPSILON, 1 - LOG_LOSS_EPSILON)
    p = p / p.sum(axis=2, keepdims=True)  # scikit-learn normalises each row
    picked = np.take_along_axis(p, labels.astype(np.int64)[..., None], axis=2)[..., 0]
    return np.asarray(-np.log(picked).mean(axis=1))


def _rmse(labels: np.ndarray, scores: np.ndarray, _: Recipe) -> np.ndarray:
    return np.asarray(np.sqrt(((labels - scores) ** 2).mean(axis=1)))


def _mae(labels: np.ndarray, scores: np.ndarray, _: Recipe) -> np.ndarray:
    return np.asarray(np.abs(labels - scores).mean(axis=1))


def _r2(labels: np.ndarray, scores: np.ndarray, _: Recipe) -> np.ndarray:
    residual = ((labels - scores) ** 2).sum(axis=1)
    total = ((labels - labels.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    return np.where(total > 0, 1 - residual / np.where(total > 0, total, 1), np.nan)


FAST: dict[tuple[str, str], Statistic] = {
    ("binary", "roc_auc"): _roc_auc,
    ("binary", "f1"): _f1,
    ("binary", "precision"): _precision,
    ("binary", "recall"): _recall,
    ("binary", "accuracy"): _accuracy,
    ("binary", "log_loss"): _binary_log_loss,
    ("multiclass", "f1_macro"): _f1_macro,
    ("multiclass", "accuracy"): _multiclass_accuracy,
    ("multiclass", "log_loss"): _multiclass_log_loss,
    ("regression", "rmse"): _rmse,
    ("regression", "mae"): _mae,
    ("regression", "r2"): _r2,
}


def _through_measure(metric: str) -> Statistic:
    """Any other metric: the evaluation's own computation, one resample at a time."""

    def statistic(labels: np.ndarray, scores: np.ndarray, recipe: Recipe) -> np.ndarray:
        values = []
        for row_labels, row_scores in zip(labels, scores, strict=True):
            try:
                value = measure(recipe, Scored(row_labels, row_scores, 0, 0.0)).to_dict()[metric]
            except ValueError:  # e.g. a resample holding one class only
                value = None
            values.append(np.nan if value is None else float(value))
        return np.array(values)

    return statistic
