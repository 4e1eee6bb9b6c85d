"""The binary task kind: metrics at the recipe's threshold, and their report section.

The original pipeline swapped TP and TN and counted TN twice in accuracy (docs/architecture.md §6).
Here the confusion matrix comes from scikit-learn with `labels=[0, 1]`, whose ravel order is tn, fp,
fn, tp, and every metric stays defined when the test set or the predictions hold only one class
(ratios with a zero denominator are 0; an undefined AUC is None, with a note).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from handlers.evaluation.kind import LOG_LOSS_EPSILON, report_head
from handlers.evaluation.scoring import Scored
from handlers.recipe.model import Recipe


@dataclass(frozen=True)
class Confusion:
    """Counts at the threshold; rows are the actual class, columns the predicted class."""

    tn: int
    fp: int
    fn: int
    tp: int

    def as_matrix(self) -> list[list[int]]:
        return [[self.tn, self.fp], [self.fn, self.tp]]


@dataclass(frozen=True)
class Metrics:
    threshold: float
    count: int
    positives: int  # actual
    predicted_positives: int
    confusion: Confusion
    accuracy: float
    precision: float
    recall: float
    f1: float
    specificity: float
    roc_auc: float | None
    pr_auc: float | None  # average precision
    log_loss: float | None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["kind"] = "binary"
        document["confusion_matrix"] = self.confusion.as_matrix()
        document["notes"] = list(self.notes)
        return document

    def markdown(self, run: Mapping[str, Any]) -> str:
        return render_markdown_report(self, run)


def measure(recipe: Recipe, scored: Scored) -> Metrics:
    if recipe.threshold is None:
        raise ValueError(f"recipe {recipe.source}: a binary target needs a threshold")
    return compute_metrics(scored.labels.astype(int), scored.scores, recipe.threshold)


def compute_metrics(
    y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, threshold: float
) -> Metrics:
    """Binary metrics of `scores` (probability of class 1) against `y_true` (0/1).

    A score above the threshold predicts 1; a tie predicts 0, as the original's rounding did at 0.5.
    """
    from sklearn import metrics as skm  # here, not at the top: importing it takes seconds

    actual, score = _checked_inputs(y_true, scores)
    predicted = (score > threshold).astype(np.int8)
    tn, fp, fn, tp = (
        int(n) for n in skm.confusion_matrix(actual, predicted, labels=[0, 1]).ravel()
    )
    notes: list[str] = []
    return Metrics(
        threshold=threshold,
        count=len(actual),
        positives=int(actual.sum()),
        predicted_positives=int(predicted.sum()),
        confusion=Confusion(tn=tn, fp=fp, fn=fn, tp=tp),
        accuracy=float(skm.accuracy_score(actual, predicted)),
        precision=float(skm.precision_score(actual, predicted, zero_division=0)),
        recall=float(skm.recall_score(actual, predicted, zero_division=0)),
        f1=float(skm.f1_score(actual, predicted, zero_division=0)),
        specificity=tn / (tn + fp) if tn + fp else 0.0,
        roc_auc=_roc_auc(actual, score, notes),
        pr_auc=_pr_auc(actual, score, notes),
        log_loss=_log_loss(actual, score, notes),
        notes=tuple(notes),
    )


def _checked_inputs(
    y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    actual = np.asarray(y_true)
    score = np.asarray(scores, dtype=np.float64)
    if actual.shape != score.shape or actual.ndim != 1:
        raise ValueError(f"{actual.shape} labels but {score.shape} scores")
    if not len(actual):
        raise ValueError("no labels and no scores: nothing to evaluate")
    if not np.isin(actual, (0, 1)).all():
        raise ValueError(f"labels must be 0 or 1, got {sorted(set(actual.tolist()) - {0, 1})[:5]}")
    if not np.isfinite(score).all():
        raise ValueError("scores must be finite numbers")
    return actual.astype(np.int8), score


def _roc_auc(actual: np.ndarray, score: np.ndarray, notes: list[str]) -> float | None:
    from sklearn import metrics as skm

    if actual.min() == actual.max():
        notes.append(f"ROC AUC is undefined: every label in the test set is {actual[0]}")
        return None
    return float(skm.roc_auc_score(actual, score))


def _pr_auc(actual: np.ndarray, score: np.ndarray, notes: list[str]) -> float | None:
    from sklearn import metrics as skm

    if not actual.any():
        notes.append("PR AUC (average precision) is undefined: the test set has no positives")
        return None
    return float(skm.average_precision_score(actual, score))


def _log_loss(actual: np.ndarray, score: np.ndarray, notes: list[str]) -> float | None:
    if score.min() < 0 or score.max() > 1:
        notes.append("log loss is undefined: some scores are outside [0, 1]")
        return None
    from sklearn import metrics as skm

    clipped = np.clip(score, LOG_LOSS_EPSILON, 1 - LOG_LOSS_EPSILON)
    return float(skm.log_loss(actual, clipped, labels=[0, 1]))


# --- reports ----------------------------------------------------------------------------------


def render_markdown_report(metrics: Metrics, run: Mapping[str, Any]) -> str:
    """A human-readable report: the run's facts, the metrics, the confusion matrix, the notes."""
    c = metrics.confusion
    lines = report_head(run)
    lines += ["", f"Test rows: {metrics.count:,} ({metrics.positives:,} positive). "]
    lines[-1] += f"Threshold: a score above {metrics.threshold} predicts 1."
    lines += ["", "| metric | value |", "|---|---|"]
    for name in ("accuracy", "precision", "recall", "f1", "specificity"):
        lines.append(f"| {name} | {getattr(metrics, name):.4f} |")
    for name, label in (("roc_auc", "ROC AUC"), ("pr_auc", "PR AUC"), ("log_loss", "log loss")):
        value = getattr(metrics, name)
        lines.append(f"| {label} | {'undefined' if value is None else f'{value:.4f}'} |")
    lines += ["", "| | predicted 0 | predicted 1 |", "|---|---|---|"]
    lines += [f"| actual 0 | {c.tn:,} (TN) | {c.fp:,} (FP) |"]
    lines += [f"| actual 1 | {c.fn:,} (FN) | {c.tp:,} (TP) |"]
    if metrics.notes:
        lines += ["", "Notes:", *(f"- {note}" for note in metrics.notes)]
    return "\n".join(lines) + "\n"
