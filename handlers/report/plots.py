"""The report's figures, drawn with matplotlib and returned as PNG bytes.

Figures are built with `matplotlib.figure.Figure` (no pyplot: no global state, safe in the
worker's threads) and saved through the Agg renderer. The challenger is drawn in blue, the
champion in orange, on the same axes wherever both were scored on the same rows.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from handlers.evaluation.measure import Measured
from handlers.evaluation.multiclass import MulticlassMetrics
from handlers.evaluation.regression import RegressionMetrics
from handlers.recipe.model import Recipe

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

CHALLENGER, CHAMPION = "#1f77b4", "#ff7f0e"
COLOURS = (CHALLENGER, CHAMPION)
DPI = 100


def _figure(
    width: float = 5.0, height: float = 4.0, *, left: float = 0.8, bottom: float = 0.6
) -> tuple[Figure, Axes]:
    """Fixed margins in inches (a layout engine would cost a third of the drawing time)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI)
    figure.subplots_adjust(
        left=left / width, right=1 - 0.2 / width, bottom=bottom / height, top=1 - 0.4 / height
    )
    return figure, figure.add_subplot()


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def roc_curves(labels: np.ndarray, models: Mapping[str, np.ndarray]) -> bytes:
    from sklearn.metrics import roc_auc_score, roc_curve

    figure, axes = _figure()
    for (name, scores), colour in zip(models.items(), COLOURS, strict=False):
        fpr, tpr, _ = roc_curve(labels, scores)
        auc = roc_auc_score(labels, scores)
        axes.plot(fpr, tpr, color=colour, label=f"{name} (AUC {auc:.3f})")
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="chance")
    axes.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC curve")
    axes.legend(loc="lower right")
    return _png(figure)


def pr_curves(labels: np.ndarray, models: Mapping[str, np.ndarray]) -> bytes:
    from sklearn.metrics import average_precision_score, precision_recall_curve

    figure, axes = _figure()
    for (name, scores), colour in zip(models.items(), COLOURS, strict=False):
        precision, recall, _ = precision_recall_curve(labels, scores)
        ap = average_precision_score(labels, scores)
        axes.step(recall, precision, where="post", color=colour, label=f"{name} (AP {ap:.3f})")
    axes.axhline(labels.mean(), color="grey", linestyle=":", linewidth=1, label="base rate")
    axes.set(xlabel="recall", ylabel="precision", title="Precision-recall curve")
    axes.set_ylim(0, 1.02)
    axes.legend(loc="upper right")
    return _png(figure)


def calibration(labels: np.ndarray, models: Mapping[str, np.ndarray], bins: int = 10) -> bytes:
    """Observed rate of the positive class against the mean score, per decile of the score."""
    figure, axes = _figure()
    for (name, scores), colour in zip(models.items(), COLOURS, strict=False):
        predicted, observed = _calibration_points(labels, scores, bins)
        axes.plot(predicted, observed, marker="o", color=colour, label=name)
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="perfect")
    axes.set(
        xlabel="mean predicted probability",
        ylabel="observed rate of the positive class",
        title="Calibration (deciles of the score)",
    )
    axes.legend(loc="upper left")
    return _png(figure)


def _calibration_points(
    labels: np.ndarray, scores: np.ndarray, bins: int
) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's calibration_curve(strategy="quantile") without importing
    sklearn.calibration (a fifth of a second): equal-count bins, empty ones dropped."""
    edges = np.quantile(scores, np.linspace(0, 1, bins + 1))
    index = np.searchsorted(edges[1:-1], scores)
    counts = np.bincount(index, minlength=bins)
    filled = counts > 0
    predicted = np.bincount(index, weights=scores, minlength=bins)[filled] / counts[filled]
    observed = np.bincount(index, weights=labels, minlength=bins)[filled] / counts[filled]
    return predicted, observed


def score_histogram(labels: np.ndarray, scores: np.ndarray, classes: Sequence[str]) -> bytes:
    figure, axes = _figure(5.5, 3.6, bottom=0.7)
    edges = np.linspace(0, 1, 26)
    for index, colour in ((0, "#7f7f7f"), (1, CHALLENGER)):
        # stairs: one artist per class, where hist would make a patch per bar
        counts, _ = np.histogram(scores[labels == index], bins=edges)
        axes.stairs(
            counts, edges, fill=True, alpha=0.6, color=colour, label=f"actual {classes[index]}"
        )
    axes.set(xlabel="score (probability of the positive class)", ylabel="test rows")
    axes.set_title("Scores by actual class")
    axes.legend()
    return _png(figure)


def confusion(matrix: Sequence[Sequence[int]], classes: Sequence[str]) -> bytes:
    """Rows actual, columns predicted; a 2-by-2 matrix names its cells TN, FP, FN, TP."""
    size = len(classes)
    side = min(9.0, 2.2 + 0.55 * size)
    figure, axes = _figure(side + 0.8, side, left=1.2, bottom=1.0)
    counts = np.asarray(matrix, dtype=np.int64)
    image = axes.imshow(counts, cmap="Blues")
    figure.colorbar(image, ax=axes, shrink=0.8)
    tags = {(0, 0): "TN", (0, 1): "FP", (1, 0): "FN", (1, 1): "TP"} if size == 2 else {}
    threshold = counts.max() / 2 if counts.size else 0
    for (row, column), count in np.ndenumerate(counts):
        tag = tags.get((row, column))
        text = f"{count:,}" + (f"\n{tag}" if tag else "")
        colour = "white" if count > threshold else "black"
        axes.text(column, row, text, ha="center", va="center", color=colour, fontsize=9)
    shown = [name if len(name) <= 12 else name[:11] + "…" for name in classes]
    axes.set_xticks(range(size), shown, rotation=45 if size > 4 else 0, ha="right")
    axes.set_yticks(range(size), shown)
    axes.set(xlabel="predicted", ylabel="actual", title="Confusion matrix")
    return _png(figure)


def predicted_vs_actual(actual: np.ndarray, models: Mapping[str, np.ndarray]) -> bytes:
    figure, axes = _figure()
    for (name, predicted), colour in zip(models.items(), COLOURS, strict=False):
        axes.scatter(actual, predicted, s=10, alpha=0.5, color=colour, label=name)
    low, high = float(actual.min()), float(actual.max())
    axes.plot([low, high], [low, high], color="grey", linestyle=":", label="perfect")
    axes.set(xlabel="actual", ylabel="predicted", title="Predicted vs actual")
    axes.legend(loc="upper left")
    return _png(figure)


def residuals(actual: np.ndarray, predicted: np.ndarray) -> bytes:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8.0, 3.6), dpi=DPI)
    figure.subplots_adjust(left=0.1, right=0.97, bottom=0.17, top=0.89, wspace=0.3)
    left, right = figure.subplots(1, 2)
    error = predicted - actual
    left.scatter(predicted, error, s=10, alpha=0.5, color=CHALLENGER)
    left.axhline(0, color="grey", linestyle=":")
    left.set(xlabel="predicted", ylabel="predicted - actual", title="Residuals")
    counts, edges = np.histogram(error, bins=30)
    right.stairs(counts, edges, fill=True, color=CHALLENGER, alpha=0.8)
    right.set(xlabel="predicted - actual", ylabel="test rows", title="Residual distribution")
    return _png(figure)


def importance(features: Sequence[tuple[str, float]]) -> bytes:
    names = [name for name, _ in features][::-1]
    gains = [gain for _, gain in features][::-1]
    figure, axes = _figure(6.5, max(2.5, 0.28 * len(names) + 1), left=1.9)
    axes.barh(names, gains, color=CHALLENGER)
    axes.set(xlabel="mean gain per split", title="Feature importance (gain)")
    axes.tick_params(axis="y", labelsize=8)
    return _png(figure)


def training_curves(curves: Mapping[str, Mapping[str, Sequence[float]]]) -> bytes:
    """`{metric: {"train": [...], "validation": [...]}}`, one panel per metric."""
    from matplotlib.figure import Figure

    metrics = list(curves)
    figure = Figure(figsize=(5.0 * len(metrics), 3.6), dpi=DPI)
    figure.subplots_adjust(left=0.8 / (5.0 * len(metrics)), right=0.97, bottom=0.17, top=0.89)
    panels: Any = figure.subplots(1, len(metrics), squeeze=False)[0]
    for axes, metric in zip(panels, metrics, strict=True):
        for (channel, values), colour in zip(curves[metric].items(), COLOURS, strict=False):
            axes.plot(range(len(values)), values, color=colour, label=channel)
        axes.set(xlabel="boosting round", ylabel=metric, title=f"Training curve: {metric}")
        axes.legend()
    return _png(figure)


def headline_history(
    points: Sequence[Mapping[str, Any]], metric: str, champion_run: str | None
) -> bytes:
    """A dataset's runs in order: the headline metric with its interval; the champion starred."""
    figure, axes = _figure(6.0, 2.6, bottom=0.7)
    xs = list(range(len(points)))
    values = [p.get("value") for p in points]
    shown = [(x, v) for x, v in zip(xs, values, strict=True) if v is not None]
    if shown:
        axes.plot(*zip(*shown, strict=True), marker="o", color=CHALLENGER, label=metric)
    for x, point in zip(xs, points, strict=True):
        low, high = point.get("low"), point.get("high")
        if low is not None and high is not None:
            axes.vlines(x, low, high, color=CHALLENGER, alpha=0.4)
        if point.get("run_id") == champion_run and point.get("value") is not None:
            axes.plot(x, point["value"], marker="*", markersize=16, color=CHAMPION, label="live")
    axes.set_xticks(xs, [str(p.get("label", x)) for x, p in zip(xs, points, strict=True)])
    axes.set(xlabel="run (oldest first)", ylabel=metric)
    axes.legend(loc="best", fontsize=8)
    return _png(figure)


def confusion_png(measured: Measured, recipe: Recipe) -> bytes | None:
    """The confusion matrix picture of a classification run; None for regression."""
    if isinstance(measured, RegressionMetrics):
        return None
    if isinstance(measured, MulticlassMetrics):
        return confusion(measured.confusion_matrix, measured.classes)
    return confusion(measured.confusion.as_matrix(), recipe.target.class_names())
