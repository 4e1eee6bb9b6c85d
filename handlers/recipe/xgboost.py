"""The SageMaker XGBoost 3.0-5 container's hyperparameter rules, checked when a recipe loads.

A recipe's `[xgboost]` table becomes the training job's HyperParameters; the container refuses
a bad one only once the job runs (minutes later, as a FailureReason). The same rules here make a
misspelt `max_dept` or an objective that does not fit the target fail at upload, naming the
recipe file and key. Source: aws/sagemaker-xgboost-container,
`algorithm_mode/hyperparameter_validation.py` and `constants/xgb_constants.py`; the SageMaker
emulator applies them too (localcloud/sagemaker/hyperparameters.py), and one table of cases in
the tests holds both to the container's answers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

INF = math.inf
# name -> (kind, low, high, low_open, high_open)
Numeric = tuple[str, float, float, bool, bool]
NUMERIC: dict[str, Numeric] = {
    "num_round": ("int", 1, INF, False, False),
    "csv_weights": ("int", 0, 1, False, False),
    "early_stopping_rounds": ("int", 1, INF, False, False),
    "verbosity": ("int", 0, 3, False, False),
    "nthread": ("int", 1, INF, False, False),
    "max_depth": ("int", 0, INF, False, False),
    "max_leaves": ("int", 0, INF, False, False),
    "max_bin": ("int", 0, INF, False, False),
    "refresh_leaf": ("int", 0, 1, False, False),
    "one_drop": ("int", 0, 1, False, False),
    "num_class": ("int", 2, INF, False, False),
    "num_parallel_tree": ("int", 1, INF, False, False),
    "seed": ("int", -(2**31), 2**31 - 1, True, True),
    "prob_buffer_row": ("int", 1, INF, True, False),
    "_kfold": ("int", 2, INF, False, False),
    "_num_cv_round": ("int", 1, INF, False, False),
    "eta": ("float", 0, 1, False, False),
    "gamma": ("float", 0, INF, False, False),
    "min_child_weight": ("float", 0, INF, False, False),
    "max_delta_step": ("float", 0, INF, False, False),
    "subsample": ("float", 0, 1, True, False),
    "colsample_bytree": ("float", 0, 1, True, False),
    "colsample_bylevel": ("float", 0, 1, True, False),
    "colsample_bynode": ("float", 0, 1, True, False),
    "lambda": ("float", 0, INF, False, False),
    "alpha": ("float", 0, INF, False, False),
    "sketch_eps": ("float", 0, 1, True, True),
    "scale_pos_weight": ("float", 0, INF, True, False),
    "rate_drop": ("float", 0, 1, False, False),
    "skip_drop": ("float", 0, 1, False, False),
    "lambda_bias": ("float", 0, 1, False, False),
    "tweedie_variance_power": ("float", 1, 2, True, True),
    "base_score": ("float", 0, INF, False, False),
    "aft_loss_distribution_scale": ("float", 0, INF, False, False),
}
OBJECTIVES = (
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
)
CHOICES: dict[str, tuple[str, ...]] = {
    "objective": OBJECTIVES,
    "booster": ("gbtree", "gblinear", "dart"),
    "tree_method": ("auto", "exact", "approx", "hist", "gpu_hist"),
    "grow_policy": ("depthwise", "lossguide"),
    "sample_type": ("uniform", "weighted"),
    "normalize_type": ("tree", "forest"),
    "process_type": ("default", "update"),
    "dsplit": ("row", "col"),
    "predictor": ("auto", "cpu_predictor", "gpu_predictor"),
    "sampling_method": ("uniform", "gradient_based"),
    "aft_loss_distribution": ("normal", "logistic", "extreme"),
    "single_precision_histogram": ("true", "false"),
    "deterministic_histogram": ("true", "false"),
    "save_model_on_termination": ("true", "false"),
    "use_dask_gpu_training": ("true", "false"),
}
METRICS = (
    # the container's XGB_MAXIMIZE_METRICS + XGB_MINIMIZE_METRICS
    "accuracy", "auc", "aucpr", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "map",
    "ndcg", "precision", "r2", "recall", "precision_macro", "precision_micro", "recall_macro",
    "recall_micro", "aft-nloglik", "cox-nloglik", "error", "gamma-deviance", "gamma-nloglik",
    "interval-regression-accuracy", "logloss", "mae", "mape", "merror", "mlogloss", "mphe",
    "mse", "poisson-nloglik", "rmse", "rmsle", "tweedie-nloglik",
)  # fmt: skip
OTHER = ("eval_metric", "updater", "monotone_constraints", "interaction_constraints",
         "_tuning_objective_metric")  # fmt: skip
ALIASES = {"learning_rate": "eta", "min_split_loss": "gamma", "reg_lambda": "lambda",
           "reg_alpha": "alpha"}  # fmt: skip
KNOWN = frozenset((*NUMERIC, *CHOICES, *OTHER, *ALIASES))


def problems(hyperparameters: Mapping[str, str]) -> list[tuple[str, str]]:
    """(name, problem) for every value the container would refuse, in the table's order."""
    found: list[tuple[str, str]] = []
    values = {ALIASES.get(name, name): value for name, value in hyperparameters.items()}
    for name, value in hyperparameters.items():
        problem = _value_problem(ALIASES.get(name, name), value)
        if problem:
            found.append((name, problem))
    found += _dependency_problems(values)
    return found


def _value_problem(name: str, value: str) -> str | None:
    if name not in KNOWN:
        return "not a hyperparameter of the SageMaker XGBoost container (a misspelling?)"
    if name in NUMERIC:
        return _numeric_problem(NUMERIC[name], value)
    if name in CHOICES and value not in CHOICES[name]:
        return f"{value!r} is not one of {', '.join(CHOICES[name])}"
    if name == "eval_metric":
        unknown = [m for m in value.split(",") if not _is_metric(m.strip())]
        if unknown:
            return f"{', '.join(unknown)} not among the container's metrics ({', '.join(METRICS)})"
    return None


def _is_metric(metric: str) -> bool:
    if "@" in metric:
        name, _, threshold = metric.partition("@")
        try:
            float(threshold)
        except ValueError:
            return False
        return name.strip() in ("error", "ndcg", "map")
    return metric in METRICS


def _numeric_problem(spec: Numeric, value: str) -> str | None:
    kind, low, high, low_open, high_open = spec
    try:
        number = int(value) if kind == "int" else float(value)
    except ValueError:
        return f"{value!r} is not {'a whole number' if kind == 'int' else 'a number'}"
    above = number > low if low_open else number >= low
    below = number < high if high_open else number <= high
    if above and below:
        return None
    left = "(" if low_open or low == -INF else "["
    right = ")" if high_open or high == INF else "]"
    return f"{value} is not in {left}{_bound(low)}, {_bound(high)}{right}"


def _bound(value: float) -> str:
    if math.isinf(value):
        return "-inf" if value < 0 else "+inf"
    return str(int(value)) if float(value).is_integer() else str(value)


def _dependency_problems(values: Mapping[str, str]) -> list[tuple[str, str]]:
    """The container's cross-parameter rules."""
    found: list[tuple[str, str]] = []
    objective = values.get("objective", "reg:squarederror")
    metrics = [m.strip() for m in values.get("eval_metric", "").split(",") if m.strip()]
    if "auc" in metrics and not objective.startswith(("binary:", "rank:")):
        found.append(("eval_metric", "'auc' applies to classification and ranking objectives"))
    if "aft-nloglik" in metrics and objective != "survival:aft":
        found.append(("eval_metric", "'aft-nloglik' applies to the survival:aft objective only"))
    if objective in ("multi:softmax", "multi:softprob") and "num_class" not in values:
        found.append(("num_class", "is required with a multi: objective"))
    tree_method = values.get("tree_method")
    if "monotone_constraints" in values and tree_method not in ("exact", "hist"):
        found.append(("monotone_constraints", "needs tree_method 'exact' or 'hist'"))
    if "interaction_constraints" in values and tree_method not in ("exact", "hist", "approx"):
        found.append(("interaction_constraints", "needs tree_method 'exact', 'hist' or 'approx'"))
    return found
