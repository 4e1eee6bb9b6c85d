"""SageMaker's XGBoost hyperparameters (a map of strings) -> xgboost.train arguments.

Mirrors the algorithm-mode container (sagemaker-xgboost 3.0): `num_round` is required, unknown
names are rejected, values are parsed by type and range-checked, with the container's messages
(which end up in FailureReason as "ClientError: ...").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from localcloud.sagemaker.errors import client_error

INF = math.inf


@dataclass(frozen=True)
class Interval:
    low: float = -INF
    high: float = INF
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def __str__(self) -> str:
        left = "(-inf" if self.low == -INF else ("(" if self.low_open else "[") + _num(self.low)
        right = "+inf)" if self.high == INF else _num(self.high) + (")" if self.high_open else "]")
        return f"{left}, {right}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


AT_LEAST_0 = Interval(0)
AT_LEAST_1 = Interval(1)
ZERO_ONE = Interval(0, 1)
FRACTION = Interval(0, 1, low_open=True)

INTEGERS: dict[str, Interval] = {
    "num_round": AT_LEAST_1,
    "csv_weights": ZERO_ONE,
    "early_stopping_rounds": AT_LEAST_1,
    "verbosity": Interval(0, 3),
    "nthread": AT_LEAST_1,
    "max_depth": AT_LEAST_0,
    "max_leaves": AT_LEAST_0,
    "max_bin": AT_LEAST_0,
    "refresh_leaf": ZERO_ONE,
    "one_drop": ZERO_ONE,
    "num_class": Interval(2),
    "num_parallel_tree": AT_LEAST_1,
    "seed": Interval(-(2**31), 2**31 - 1, low_open=True, high_open=True),
    "prob_buffer_row": Interval(1, low_open=True),
    "_kfold": Interval(2),
    "_num_cv_round": AT_LEAST_1,
}
FLOATS: dict[str, Interval] = {
    "eta": ZERO_ONE,
    "gamma": AT_LEAST_0,
    "min_child_weight": AT_LEAST_0,
    "max_delta_step": AT_LEAST_0,
    "subsample": FRACTION,
    "colsample_bytree": FRACTION,
    "colsample_bylevel": FRACTION,
    "colsample_bynode": FRACTION,
    "lambda": AT_LEAST_0,
    "alpha": AT_LEAST_0,
    "sketch_eps": Interval(0, 1, low_open=True, high_open=True),
    "scale_pos_weight": Interval(0, low_open=True),
    "rate_drop": ZERO_ONE,
    "skip_drop": ZERO_ONE,
    "lambda_bias": ZERO_ONE,
    "tweedie_variance_power": Interval(1, 2, low_open=True, high_open=True),
    "base_score": AT_LEAST_0,
    "aft_loss_distribution_scale": AT_LEAST_0,
}
OBJECTIVES = [
    "binary:logistic",
    "binary:logitraw",
    "binary:hinge",
    "count:poisson",
    "multi:softmax",
    "multi:softprob",
    "rank:pairwise",
    "rank:ndcg",
    "rank:map",
    "reg:linear",
    "reg:squarederror",
    "reg:logistic",
    "reg:gamma",
    "reg:pseudohubererror",
    "reg:squaredlogerror",
    "reg:absoluteerror",
    "reg:tweedie",
    "survival:aft",
    "survival:cox",
]
CHOICES: dict[str, list[str]] = {
    "objective": OBJECTIVES,
    "booster": ["gbtree", "gblinear", "dart"],
    "tree_method": ["auto", "exact", "approx", "hist", "gpu_hist"],
    "grow_policy": ["depthwise", "lossguide"],
    "sample_type": ["uniform", "weighted"],
    "normalize_type": ["tree", "forest"],
    "process_type": ["default", "update"],
    "dsplit": ["row", "col"],
    "predictor": ["auto", "cpu_predictor", "gpu_predictor"],
    "sampling_method": ["uniform", "gradient_based"],
    "aft_loss_distribution": ["normal", "logistic", "extreme"],
    "single_precision_histogram": ["true", "false"],
    "deterministic_histogram": ["true", "false"],
    "save_model_on_termination": ["true", "false"],
    "use_dask_gpu_training": ["true", "false"],
}
LISTS = ("eval_metric", "updater")
# Accepted as XGBoost takes them (tuples/nested lists written as strings).
VERBATIM = ("monotone_constraints", "interaction_constraints", "_tuning_objective_metric")
ALIASES = {
    "learning_rate": "eta",
    "min_split_loss": "gamma",
    "reg_lambda": "lambda",
    "reg_alpha": "alpha",
}
# Read by the container itself, never passed to xgboost.train's params.
CONTAINER_ONLY = (
    "num_round",
    "early_stopping_rounds",
    "csv_weights",
    "save_model_on_termination",
    "use_dask_gpu_training",
    "_kfold",
    "_num_cv_round",
    "_tuning_objective_metric",
    "prob_buffer_row",
    "single_precision_histogram",
)
# The container's metrics (XGB_MAXIMIZE_METRICS + XGB_MINIMIZE_METRICS); those XGBoost does not
# compute itself the container adds as custom metrics, which the emulator does not report.
CONTAINER_METRICS = (
    "accuracy", "auc", "aucpr", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "map",
    "ndcg", "precision", "r2", "recall", "precision_macro", "precision_micro", "recall_macro",
    "recall_micro", "aft-nloglik", "cox-nloglik", "error", "gamma-deviance", "gamma-nloglik",
    "interval-regression-accuracy", "logloss", "mae", "mape", "merror", "mlogloss", "mphe",
    "mse", "poisson-nloglik", "rmse", "rmsle", "tweedie-nloglik",
)  # fmt: skip
XGBOOST_METRICS = frozenset(
    {"auc", "aucpr", "map", "ndcg", "aft-nloglik", "cox-nloglik", "error", "gamma-deviance",
     "gamma-nloglik", "interval-regression-accuracy", "logloss", "mae", "mape", "merror",
     "mlogloss", "mphe", "poisson-nloglik", "rmse", "rmsle", "tweedie-nloglik"}
)  # fmt: skip


@dataclass(frozen=True)
class TrainingConfig:
    params: dict[str, Any]
    num_round: int
    early_stopping_rounds: int | None


def parse(hyperparameters: Mapping[str, str]) -> TrainingConfig:
    """Raises ContainerError("ClientError: ...") exactly where the container would refuse."""
    values = {ALIASES.get(name, name): value for name, value in hyperparameters.items()}
    if "num_round" not in values:
        raise client_error("Missing required hyperparameter: num_round")
    converted = {name: _convert(name, str(value)) for name, value in values.items()}
    _check_dependencies(converted)
    params = {k: v for k, v in converted.items() if k not in CONTAINER_ONLY}
    # Metrics XGBoost computes go to it; the container's own extra ones are not reported here.
    metrics = params.pop("eval_metric", None) or []
    native = [m for m in metrics if m.split("@")[0] in XGBOOST_METRICS]
    if native:
        params["eval_metric"] = native
    # The container leaves threading to XGBoost (all cores); the emulator shares a laptop or CI
    # runner with the worker, so it uses one thread unless told otherwise.
    params.setdefault("nthread", 1)
    early = converted.get("early_stopping_rounds")
    return TrainingConfig(
        params, int(converted["num_round"]), None if early is None else int(early)
    )


def _check_dependencies(values: Mapping[str, Any]) -> None:
    """The container's cross-parameter rules, with its messages."""
    objective = str(values.get("objective", "reg:squarederror"))
    metrics = values.get("eval_metric") or []
    if "auc" in metrics and not objective.startswith(("binary:", "rank:")):
        raise client_error(
            "Metric 'auc' can only be applied for classification and ranking problems."
        )
    if "aft-nloglik" in metrics and objective != "survival:aft":
        raise client_error("Metric 'aft-nloglik' can only be applied for 'survival:aft' objective.")
    if objective in ("multi:softmax", "multi:softprob") and "num_class" not in values:
        raise client_error("Require input for parameter 'num_class' for multi-classification")
    tree_method = values.get("tree_method")
    if "monotone_constraints" in values and tree_method not in ("exact", "hist"):
        raise client_error(
            "monotone_constraints can be used only when the tree_method parameter is set to "
            "either 'exact' or 'hist'."
        )
    if "interaction_constraints" in values and tree_method not in ("exact", "hist", "approx"):
        raise client_error(
            "interaction_constraints can be used only when the tree_method parameter is set to "
            "either 'exact', 'hist' or 'approx'."
        )


def _metrics(name: str, text: str) -> list[str]:
    metrics = [m.strip() for m in text.split(",")]
    for metric in metrics:
        base, at, _ = metric.partition("@")
        if at and base.strip() not in ("error", "ndcg", "map"):
            raise client_error(
                f"Metric '{metric}' is not supported. Parameter 'eval_metric' with customized "
                "threshold should be one of these options: 'error', 'ndcg', 'map'."
            )
        if not at and metric not in CONTAINER_METRICS:
            raise client_error(
                f"Hyperparameter {name}: {metric} is not in {list(CONTAINER_METRICS)}"
            )
    return metrics


def _convert(name: str, value: str) -> Any:
    parsers: list[tuple[Callable[[str], bool], Callable[[str, str], Any]]] = [
        (INTEGERS.__contains__, _integer),
        (FLOATS.__contains__, _float),
        (CHOICES.__contains__, _choice),
        ((lambda n: n == "eval_metric"), _metrics),
        (LISTS.__contains__, lambda _name, text: text.split(",")),
        (VERBATIM.__contains__, lambda _name, text: text),
    ]
    for known, parse_value in parsers:
        if known(name):
            return parse_value(name, value)
    raise client_error(f"Extraneous hyperparameter found: {name}")


def _integer(name: str, text: str) -> int:
    number = _parsed(name, text, int)
    _check_range(name, number, INTEGERS[name])
    return int(number)


def _float(name: str, text: str) -> float:
    number = _parsed(name, text, float)
    _check_range(name, number, FLOATS[name])
    return float(number)


def _parsed(name: str, text: str, kind: type[int] | type[float]) -> float:
    try:
        return kind(text)
    except ValueError as exc:
        raise client_error(
            f"Hyperparameter {name}: could not parse value (caused by ValueError)"
        ) from exc


def _check_range(name: str, number: float, interval: Interval) -> None:
    if number not in interval:
        raise client_error(f"Hyperparameter {name}: value {_num(number)} not in range {interval}")


def _choice(name: str, text: str) -> str:
    if text not in CHOICES[name]:
        raise client_error(f"Hyperparameter {name}: {text} is not in {CHOICES[name]}")
    return text
