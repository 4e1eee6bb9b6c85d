"""What the trained model says about itself: feature importance and training curves.

- Importance: the booster in the job's `model.tar.gz` (member `xgboost-model`, XGBoost's native
  format as the 3.0-5 container saves it) loaded with the same XGBoost version, its gain per
  feature (`get_score(importance_type="gain")`: the mean loss reduction of the splits on the
  feature). The CSV channels carry no feature names, so XGBoost calls them f0, f1, …: the
  recipe's feature columns, in order. `Booster.load_model` reads only XGBoost's own formats,
  never a pickle.
- Curves: the container's EvaluationMonitor logs one line per boosting round to CloudWatch Logs
  (read by `handlers/aws/training_logs.py`), such as
  `[3]#011train-logloss:0.51#011validation-logloss:0.52`; those lines are parsed back.
"""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Sequence

MODEL_MEMBER = "xgboost-model"
MAX_MODEL_BYTES = 512 * 1024 * 1024
TOP_FEATURES = 20
_ROUND = re.compile(r"^\[(\d+)\]")
_METRIC = re.compile(r"(?:#011|\t)([A-Za-z0-9_]+)-([A-Za-z0-9_@.:-]+?):(-?[0-9.eE+-]+|nan|inf)")

Curves = dict[str, dict[str, list[float]]]  # metric -> channel -> value per round


class InsightUnavailable(Exception):
    """The report goes on without this part; the message says why."""


def gain_importance(
    model_tar_gz: bytes, features: Sequence[str], top: int = TOP_FEATURES
) -> list[tuple[str, float]]:
    """The `top` features by mean gain, largest first; a feature never split on has none."""
    import xgboost as xgb

    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(_model_file(model_tar_gz)))
    except xgb.core.XGBoostError as exc:
        first = (str(exc).splitlines() or ["unreadable"])[0]
        raise InsightUnavailable(f"{MODEL_MEMBER} is not an XGBoost model: {first}") from exc
    scores = booster.get_score(importance_type="gain")
    named = [(_feature_name(key, features), float(value)) for key, value in scores.items()]  # type: ignore[arg-type]
    return sorted(named, key=lambda item: -item[1])[:top]


def _model_file(model_tar_gz: bytes) -> bytes:
    try:
        with tarfile.open(fileobj=io.BytesIO(model_tar_gz), mode="r:gz") as archive:
            member = archive.getmember(MODEL_MEMBER)
            if not member.isfile() or member.size > MAX_MODEL_BYTES:
                raise InsightUnavailable(f"{MODEL_MEMBER} in model.tar.gz is not a model file")
            handle = archive.extractfile(member)
            assert handle is not None
            return handle.read()
    except (tarfile.TarError, KeyError, OSError, EOFError) as exc:
        raise InsightUnavailable(f"model.tar.gz holds no {MODEL_MEMBER}: {exc}") from exc


def _feature_name(key: str, features: Sequence[str]) -> str:
    if key.startswith("f") and key[1:].isdigit() and int(key[1:]) < len(features):
        return features[int(key[1:])]
    return key


def parse_curves(lines: Sequence[str]) -> Curves:
    """Each round's metrics, in round order; lines that are not round lines are skipped."""
    rounds: dict[int, list[tuple[str, str, float]]] = {}
    for line in lines:
        found = _ROUND.match(line.strip())
        if found is None:
            continue
        rounds[int(found.group(1))] = [
            (channel, metric, float(value))
            for channel, metric, value in _METRIC.findall(line.strip())
        ]
    curves: Curves = {}
    for number in sorted(rounds):
        for channel, metric, value in rounds[number]:
            curves.setdefault(metric, {}).setdefault(channel, []).append(value)
    return curves
