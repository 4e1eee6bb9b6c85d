"""Regression metrics, all from scikit-learn, and their report section.

RMSE, MAE, R², median absolute error, and MAPE where no target is 0 (a zero target makes every
percentage error infinite). R² is undefined when every test target is the same number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from handlers.evaluation.kind import report_head
from handlers.evaluation.scoring import Scored
from handlers.recipe.model import Recipe


@dataclass(frozen=True)
class RegressionMetrics:
    count: int
    rmse: float
    mae: float
    r2: float | None
    median_absolute_error: float
    mape: float | None  # a fraction (0.12 = 12 %), as scikit-learn returns it
    target_mean: float
    target_min: float
    target_max: float
    prediction_mean: float
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["kind"] = "regression"
        document["notes"] = list(self.notes)
        return document

    def markdown(self, run: Mapping[str, Any]) -> str:
        return render_regression_markdown(self, run)


def measure(_: Recipe, scored: Scored) -> RegressionMetrics:
    return compute_regression_metrics(scored.labels, scored.scores)


def compute_regression_metrics(
    y_true: Sequence[float] | np.ndarray, predictions: Sequence[float] | np.ndarray
) -> RegressionMetrics:
    from sklearn import metrics as skm  # here, not at the top: importing it takes seconds

    actual = np.asarray(y_true, dtype=np.float64)
    predicted = np.asarray(predictions, dtype=np.float64)
    if actual.shape != predicted.shape or actual.ndim != 1:
        raise ValueError(f"{actual.shape} targets but {predicted.shape} predictions")
    if not len(actual):
        raise ValueError("no targets and no predictions: nothing to evaluate")
    if not np.isfinite(predicted).all():
        raise ValueError("predictions must be finite numbers")
    notes: list[str] = []
    return RegressionMetrics(
        count=len(actual),
        rmse=float(skm.root_mean_squared_error(actual, predicted)),
        mae=float(skm.mean_absolute_error(actual, predicted)),
        r2=_r2(actual, predicted, notes),
        median_absolute_error=float(skm.median_absolute_error(actual, predicted)),
        mape=_mape(actual, predicted, notes),
        target_mean=float(actual.mean()),
        target_min=float(actual.min()),
        target_max=float(actual.max()),
        prediction_mean=float(predicted.mean()),
        notes=tuple(notes),
    )


def _r2(actual: np.ndarray, predicted: np.ndarray, notes: list[str]) -> float | None:
    from sklearn import metrics as skm

    if actual.min() == actual.max():
        notes.append(f"R² is undefined: every test target is {actual[0]:g}")
        return None
    value = float(skm.r2_score(actual, predicted))
    return value if math.isfinite(value) else None


def _mape(actual: np.ndarray, predicted: np.ndarray, notes: list[str]) -> float | None:
    from sklearn import metrics as skm

    zeros = int(np.count_nonzero(actual == 0))
    if zeros:
        notes.append(f"MAPE is undefined: {zeros:,} test target(s) are 0")
        return None
    return float(skm.mean_absolute_percentage_error(actual, predicted))


_SUMMARY = (
    ("rmse", "RMSE"),
    ("mae", "MAE"),
    ("r2", "R²"),
    ("median_absolute_error", "median absolute error"),
    ("mape", "MAPE"),
)


def render_regression_markdown(metrics: RegressionMetrics, run: Mapping[str, Any]) -> str:
    lines = report_head(run)
    lines += [
        "",
        f"Test rows: {metrics.count:,}; target from {metrics.target_min:g} to "
        f"{metrics.target_max:g}, mean {metrics.target_mean:.4g} (predicted mean "
        f"{metrics.prediction_mean:.4g}).",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    for name, label in _SUMMARY:
        value = getattr(metrics, name)
        shown = "undefined" if value is None else f"{value:.4f}"
        if name == "mape" and value is not None:
            shown = f"{value:.4f} ({value:.1%})"
        lines.append(f"| {label} | {shown} |")
    if metrics.notes:
        lines += ["", "Notes:", *(f"- {note}" for note in metrics.notes)]
    return "\n".join(lines) + "\n"
