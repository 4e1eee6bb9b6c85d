"""Task kinds: what a recipe's `[target] kind` means for training, scoring and promotion.

    binary      two values, one of them positive; `binary:logistic` gives P(positive), cut at
                the recipe's threshold
    multiclass  `values` lists the classes, their order is the label index; `multi:softprob`
                gives a row of class probabilities, `num_class` is derived from `values`
    regression  a numeric target; any regression objective of the 3.0-5 container

Each kind names the objectives it accepts, the metrics it reports with whether larger is better,
and its default promotion metric. One table, read by the recipe loader, the metrics, the gate and
the report, so a kind is never half-supported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["binary", "multiclass", "regression"]
KINDS: tuple[Kind, ...] = ("binary", "multiclass", "regression")
# (low, high, low included); None = unbounded on that side.
LabelRange = tuple[float | None, float | None, bool]


@dataclass(frozen=True)
class TaskKind:
    name: Kind
    objectives: tuple[str, ...]  # the first is the default
    metrics: Mapping[str, bool]  # metric -> larger is better; in report order
    default_metric: str
    bounded: frozenset[str]  # metrics that cannot exceed 1 (a floor above 1 is never met)
    cloudwatch: Mapping[str, str]  # metric -> CloudWatch metric name
    # The label range an objective needs: XGBoost refuses other labels, but only at training.
    label_ranges: Mapping[str, LabelRange] = field(default_factory=dict)

    @property
    def classification(self) -> bool:
        return self.name != "regression"

    @property
    def default_objective(self) -> str:
        return self.objectives[0]


_BINARY_METRICS = {
    "roc_auc": True,
    "pr_auc": True,
    "f1": True,
    "accuracy": True,
    "precision": True,
    "recall": True,
    "specificity": True,
    "log_loss": False,
}
_MULTICLASS_METRICS = {
    "f1_macro": True,
    "accuracy": True,
    "balanced_accuracy": True,
    "precision_macro": True,
    "recall_macro": True,
    "f1_weighted": True,
    "precision_weighted": True,
    "recall_weighted": True,
    "roc_auc_ovr": True,
    "log_loss": False,
}
_REGRESSION_METRICS = {
    "rmse": False,
    "mae": False,
    "r2": True,
    "median_absolute_error": False,
    "mape": False,
}

BINARY = TaskKind(
    name="binary",
    # binary:logitraw gives margins and binary:hinge 0/1: neither can be cut at a threshold.
    objectives=("binary:logistic",),
    metrics=_BINARY_METRICS,
    default_metric="roc_auc",
    bounded=frozenset(_BINARY_METRICS) - {"log_loss"},
    cloudwatch={
        "roc_auc": "AUC",
        "pr_auc": "PRAUC",
        "f1": "F1",
        "accuracy": "Accuracy",
        "precision": "Precision",
        "recall": "Recall",
        "log_loss": "LogLoss",
    },
)
MULTICLASS = TaskKind(
    name="multiclass",
    # multi:softmax gives the class only: no log loss, no AUC, nothing to compare champions on.
    objectives=("multi:softprob",),
    metrics=_MULTICLASS_METRICS,
    default_metric="f1_macro",
    bounded=frozenset(_MULTICLASS_METRICS) - {"log_loss"},
    cloudwatch={
        "f1_macro": "F1Macro",
        "accuracy": "Accuracy",
        "balanced_accuracy": "BalancedAccuracy",
        "roc_auc_ovr": "AUCOvR",
        "log_loss": "LogLoss",
    },
)
REGRESSION = TaskKind(
    name="regression",
    objectives=(
        "reg:squarederror",
        "reg:absoluteerror",
        "reg:pseudohubererror",
        "reg:squaredlogerror",
        "reg:gamma",
        "reg:tweedie",
        "reg:logistic",
        "count:poisson",
    ),
    metrics=_REGRESSION_METRICS,
    default_metric="rmse",
    bounded=frozenset({"r2"}),
    cloudwatch={"rmse": "RMSE", "mae": "MAE", "r2": "R2", "mape": "MAPE"},
    label_ranges={
        "reg:squaredlogerror": (-1.0, None, False),
        "reg:gamma": (0.0, None, False),
        "reg:tweedie": (0.0, None, True),
        "count:poisson": (0.0, None, True),
        "reg:logistic": (0.0, 1.0, True),
    },
)
TASK_KINDS: Mapping[Kind, TaskKind] = {k.name: k for k in (BINARY, MULTICLASS, REGRESSION)}

# Every metric any kind reports, with its direction (a name means the same thing in every kind).
HIGHER_IS_BETTER: Mapping[str, bool] = {
    name: better for kind in TASK_KINDS.values() for name, better in kind.metrics.items()
}
