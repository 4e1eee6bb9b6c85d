"""The XGBoost container's training step: label-first CSV channels in, a Booster and its final
metrics out. Pure computation: no S3, no job state; failures are ContainerErrors whose reason is
the FailureReason the real container would leave."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import xgboost as xgb

from localcloud.sagemaker import hyperparameters
from localcloud.sagemaker.csvdata import CsvError, read_labelled
from localcloud.sagemaker.errors import ContainerError, algorithm_error, client_error

# Failures the container blames on the customer's data or settings (its CUSTOMER_ERRORS).
CUSTOMER_ERRORS = (
    "label must be in [0,1] for logistic regression",
    "label must be in [0, num_class)",
    "feature_names mismatch",
    "Check failed: preds.size() == info.labels_.size()",
    "Check failed: !auc_error AUC: the dataset only contains pos or neg samples",
    "base_score must be in (0,1) for logistic loss",
)
FAILURE_REASON_MAX = 1024


class Stopped(Exception):
    """StopTrainingJob arrived while boosting."""


@dataclass(frozen=True)
class Trained:
    booster: xgb.Booster
    # e.g. {"train:logloss": 0.21, "validation:logloss": 0.25}: the last round's values
    final_metrics: dict[str, float]
    history: xgb.callback.TrainingCallback.EvalsLog  # every round's values, per channel


class _StopWhenAsked(xgb.callback.TrainingCallback):
    def __init__(self, should_stop: Callable[[], bool]) -> None:
        super().__init__()
        self._should_stop = should_stop

    def after_iteration(self, model: object, epoch: int, evals_log: object) -> bool:
        return self._should_stop()


def train(
    train_parts: list[bytes],
    validation_parts: list[bytes] | None,
    hyperparameter_map: dict[str, str],
    should_stop: Callable[[], bool] = lambda: False,
) -> Trained:
    config = hyperparameters.parse(hyperparameter_map)
    evals = [(_dmatrix("train", train_parts), "train")]
    if validation_parts is not None:
        evals.append((_dmatrix("validation", validation_parts), "validation"))
    history: xgb.callback.TrainingCallback.EvalsLog = {}
    try:
        booster = xgb.train(
            config.params,
            evals[0][0],
            num_boost_round=config.num_round,
            evals=evals,
            evals_result=history,
            early_stopping_rounds=config.early_stopping_rounds,
            verbose_eval=False,
            callbacks=[_StopWhenAsked(should_stop)],
        )
    except xgb.core.XGBoostError as exc:
        raise _classify(exc) from exc
    if should_stop():
        raise Stopped
    return Trained(booster, _final_metrics(history), history)


def _dmatrix(channel: str, parts: list[bytes]) -> xgb.DMatrix:
    if not any(part.strip() for part in parts):
        raise client_error(f"No data in {channel} channel path /opt/ml/input/data/{channel}")
    try:
        features, labels = read_labelled(parts)
    except CsvError as exc:
        raise client_error(f"Failed to load csv data with exception:\n{exc}") from exc
    return xgb.DMatrix(features, label=labels)


def _classify(exc: Exception) -> ContainerError:
    # XGBoost appends a native stack trace; its first line is the message.
    message = (str(exc).splitlines() or [type(exc).__name__])[0][:FAILURE_REASON_MAX]
    if any(text in str(exc) for text in CUSTOMER_ERRORS):
        return client_error(message)
    return algorithm_error(f"XGB train call failed with exception:\n {message}")


def _final_metrics(history: xgb.callback.TrainingCallback.EvalsLog) -> dict[str, float]:
    final: dict[str, float] = {}
    for data_name, metrics in history.items():
        for metric, values in metrics.items():
            last = values[-1] if values else None
            if last is not None:
                # Cross-validation logs (mean, std) pairs; plain training logs floats.
                final[f"{data_name}:{metric}"] = float(last[0] if isinstance(last, tuple) else last)
    return final
