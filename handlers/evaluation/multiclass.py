"""Multiclass metrics, all from scikit-learn, and their report section.

Labels are class indices (the order of the recipe's `target.values`); scores are one row of class
probabilities per test row, as `multi:softprob` returns them. Every metric stays defined when a
class is missing from the test rows or the predictions: ratios with a zero denominator are 0, and
the one-vs-rest ROC AUC averages the classes it can be computed for, saying which it left out.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from handlers.evaluation.kind import LOG_LOSS_EPSILON, report_head
from handlers.evaluation.scoring import Scored
from handlers.recipe.model import Recipe


@dataclass(frozen=True)
class ClassScores:
    name: str
    support: int  # test rows of this class
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class MulticlassMetrics:
    count: int
    classes: tuple[str, ...]
    accuracy: float
    balanced_accuracy: float
    precision_macro: float
    recall_macro: float
    f1_macro: float
    precision_weighted: float
    recall_weighted: float
    f1_weighted: float
    log_loss: float | None
    roc_auc_ovr: float | None  # macro average of one-vs-rest AUCs
    confusion_matrix: tuple[tuple[int, ...], ...]  # rows actual, columns predicted
    per_class: tuple[ClassScores, ...]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["kind"] = "multiclass"
        document["classes"] = list(self.classes)
        document["confusion_matrix"] = [list(row) for row in self.confusion_matrix]
        document["per_class"] = [asdict(scores) for scores in self.per_class]
        document["notes"] = list(self.notes)
        return document

    def markdown(self, run: Mapping[str, Any]) -> str:
        return render_multiclass_markdown(self, run)


def measure(recipe: Recipe, scored: Scored) -> MulticlassMetrics:
    return compute_multiclass_metrics(scored.labels, scored.scores, recipe.target.values)


def compute_multiclass_metrics(
    y_true: Sequence[float] | np.ndarray, probabilities: np.ndarray, classes: Sequence[str]
) -> MulticlassMetrics:
    """Metrics of `probabilities` (rows by classes) against class indices `y_true`; a row
    predicts its most probable class (the first on a tie, as numpy's argmax)."""
    from sklearn import metrics as skm  # here, not at the top: importing it takes seconds

    actual, proba = _checked(y_true, probabilities, len(classes))
    predicted = proba.argmax(axis=1)
    labels = list(range(len(classes)))
    notes: list[str] = []
    with warnings.catch_warnings():  # classes absent from a side are handled as documented
        warnings.simplefilter("ignore")
        averaged = {
            f"{name}_{average}": float(value)
            for average in ("macro", "weighted")
            for name, value in zip(
                ("precision", "recall", "f1"),
                skm.precision_recall_fscore_support(
                    actual, predicted, labels=labels, average=average, zero_division=0
                )[:3],
                strict=True,
            )
        }
        per_class = skm.precision_recall_fscore_support(
            actual, predicted, labels=labels, average=None, zero_division=0
        )
        balanced = float(skm.balanced_accuracy_score(actual, predicted))
    return MulticlassMetrics(
        count=len(actual),
        classes=tuple(classes),
        accuracy=float(skm.accuracy_score(actual, predicted)),
        balanced_accuracy=balanced,
        log_loss=float(
            skm.log_loss(
                actual, np.clip(proba, LOG_LOSS_EPSILON, 1 - LOG_LOSS_EPSILON), labels=labels
            )
        ),
        roc_auc_ovr=_roc_auc_ovr(actual, proba, classes, notes),
        confusion_matrix=tuple(
            tuple(int(n) for n in row)
            for row in skm.confusion_matrix(actual, predicted, labels=labels)
        ),
        per_class=tuple(
            ClassScores(name, int(support), float(p), float(r), float(f))
            for name, p, r, f, support in zip(classes, *per_class, strict=True)
        ),
        notes=tuple(notes),
        **averaged,
    )


def _checked(
    y_true: Sequence[float] | np.ndarray, probabilities: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray]:
    actual = np.asarray(y_true, dtype=np.float64)
    proba = np.asarray(probabilities, dtype=np.float64)
    if proba.ndim != 2 or proba.shape != (len(actual), width):
        raise ValueError(
            f"{len(actual)} labels but scores of shape {proba.shape}, not "
            f"({len(actual)}, {width}): one probability per class per row"
        )
    if not len(actual):
        raise ValueError("no labels and no scores: nothing to evaluate")
    if not np.isfinite(proba).all() or proba.min() < 0 or proba.max() > 1:
        raise ValueError("class probabilities must be finite numbers in [0, 1]")
    if not np.isin(actual, np.arange(width)).all():
        raise ValueError(f"labels must be class indices 0 to {width - 1}")
    # float32 probabilities add up to 1 within ~1e-7: made exact so log loss does not warn.
    return actual.astype(np.int64), proba / proba.sum(axis=1, keepdims=True)


def _roc_auc_ovr(
    actual: np.ndarray, proba: np.ndarray, classes: Sequence[str], notes: list[str]
) -> float | None:
    """The macro average of each class's one-vs-rest ROC AUC (sklearn's multi_class="ovr"),
    over the classes that have both positive and negative test rows."""
    from sklearn import metrics as skm

    aucs, skipped = [], []
    for index, name in enumerate(classes):
        is_class = actual == index
        if is_class.all() or not is_class.any():
            skipped.append(name)
            continue
        aucs.append(float(skm.roc_auc_score(is_class, proba[:, index])))
    if skipped:
        notes.append(
            f"one-vs-rest ROC AUC leaves out {', '.join(skipped)}: no test row of the class"
            if aucs
            else "one-vs-rest ROC AUC is undefined: the test rows hold one class"
        )
    return float(np.mean(aucs)) if aucs else None


# --- report -----------------------------------------------------------------------------------

_SUMMARY = (
    ("accuracy", "accuracy"),
    ("balanced_accuracy", "balanced accuracy"),
    ("f1_macro", "F1 (macro)"),
    ("precision_macro", "precision (macro)"),
    ("recall_macro", "recall (macro)"),
    ("f1_weighted", "F1 (weighted)"),
    ("precision_weighted", "precision (weighted)"),
    ("recall_weighted", "recall (weighted)"),
    ("roc_auc_ovr", "ROC AUC (one-vs-rest, macro)"),
    ("log_loss", "log loss"),
)
# A confusion matrix wider than this is unreadable as a table; the PNG and metrics.json have it.
MAX_TABLE_CLASSES = 12


def render_multiclass_markdown(metrics: MulticlassMetrics, run: Mapping[str, Any]) -> str:
    lines = report_head(run)
    lines += [
        "",
        f"Test rows: {metrics.count:,}, {len(metrics.classes)} classes. A row predicts "
        "its most probable class.",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    for name, label in _SUMMARY:
        value = getattr(metrics, name)
        lines.append(f"| {label} | {'undefined' if value is None else f'{value:.4f}'} |")
    lines += ["", "| class | test rows | precision | recall | F1 |", "|---|---|---|---|---|"]
    lines += [
        f"| {c.name} | {c.support:,} | {c.precision:.4f} | {c.recall:.4f} | {c.f1:.4f} |"
        for c in metrics.per_class
    ]
    if len(metrics.classes) <= MAX_TABLE_CLASSES:
        lines += ["", "| actual \\ predicted | " + " | ".join(metrics.classes) + " |"]
        lines += ["|---|" + "---|" * len(metrics.classes)]
        lines += [
            f"| {name} | " + " | ".join(f"{n:,}" for n in row) + " |"
            for name, row in zip(metrics.classes, metrics.confusion_matrix, strict=True)
        ]
    if metrics.notes:
        lines += ["", "Notes:", *(f"- {note}" for note in metrics.notes)]
    return "\n".join(lines) + "\n"
