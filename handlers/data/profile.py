"""What an upload looks like, and how far it has moved from the champion's training rows.

Two parts, computed when the upload is split (`handlers/stages/train.py`) and kept in the run's
`runs/<run_id>/profile.json`:

- the upload's profile: rows, columns, the target's balance (rows per class, or the range of a
  numeric target), and per input column the values that were empty or outside the vocabulary
  (counted by validation; a numeric column has none: an empty or non-number cell fails the run);
- the reference histograms of the run's train part, which later uploads are compared with:
  per numeric feature the deciles' edges and the share of rows between them, per categorical
  feature (its one-hot columns) and 0/1 indicator the share of each value.

Drift is the population stability index of each feature, PSI = Σ (a - e)·ln(a / e) over the
bins, `e` the champion's train share and `a` the upload's share on the same bins (shares floored
at `FLOOR` so an empty bin counts as rare, not infinite). Conventional reading: below 0.1 stable,
0.1 to 0.25 a moderate shift, above 0.25 a large one; the recipe's `[evaluation] drift_psi`
(0.25 by default) decides what counts as drifted.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from handlers.recipe.model import Recipe

FLOOR = 1e-4
MODERATE_PSI = 0.1
LARGE_PSI = 0.25
DECILES = np.linspace(0.1, 0.9, 9)
SAMPLE_ROWS = 200_000  # larger files are profiled on a seeded sample of this many rows
TOP_DRIFTED = 10

Histogram = dict[str, Any]  # {"type": "numeric", "edges", "shares"} or categorical "values"


def profile(
    recipe: Recipe,
    processed: Path,
    train: Path,
    preprocess_stats: Mapping[str, Any],
    rows: int,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The profile document and the upload's feature columns (for `drift`)."""
    columns = recipe.output_columns()
    upload = _read(processed, columns, header=True, rows=rows)
    train_part = _read(train, columns, header=False, rows=rows)
    document = {
        "rows": rows,
        "columns": len(recipe.input_columns()),
        "target": _target_balance(recipe, upload[recipe.target.column]),
        "columns_profile": _columns_profile(recipe, preprocess_stats),
        "reference": {
            "rows": len(train_part[recipe.target.column]),
            "features": {name: _histogram(recipe, name, train_part) for name in _features(recipe)},
            "target": _histogram(recipe, recipe.target.column, train_part),
        },
    }
    return document, upload


def drift(
    recipe: Recipe,
    upload: Mapping[str, np.ndarray],
    reference: Mapping[str, Any],
    against: Mapping[str, Any],
) -> dict[str, Any]:
    """PSI of every feature the champion's reference shares with this upload, and of the target;
    `against` says which version the reference belongs to."""
    psi: dict[str, float] = {}
    for name, expected in reference["features"].items():
        found = _binned(recipe, name, expected, upload)
        if found is not None:
            psi[name] = _psi(np.asarray(expected["shares"]), found)
    target = recipe.target.column
    ours = _binned(recipe, target, reference["target"], upload)
    top = sorted(psi.items(), key=lambda item: -item[1])[:TOP_DRIFTED]
    drifted = [name for name, value in top if value > recipe.drift_psi]
    return {
        "against": dict(against),
        "threshold": recipe.drift_psi,
        "psi": {name: round(value, 6) for name, value in psi.items()},
        "top": [[name, round(value, 6)] for name, value in top],
        "max_psi": round(top[0][1], 6) if top else 0.0,
        "drifted_features": drifted,
        "drifted": bool(drifted),
        "target": _target_shift(reference["target"], ours),
    }


def _read(path: Path, columns: tuple[str, ...], *, header: bool, rows: int) -> dict[str, Any]:
    import pandas as pd

    keep = min(1.0, SAMPLE_ROWS / rows) if rows else 1.0
    parts = []
    reader = pd.read_csv(path, header=0 if header else None, names=list(columns), chunksize=100_000)
    for number, chunk in enumerate(reader):
        parts.append(chunk if keep >= 1 else chunk.sample(frac=keep, random_state=number))
    frame = pd.concat(parts) if parts else pd.DataFrame(columns=list(columns))
    return {name: frame[name].to_numpy(dtype=np.float64) for name in columns}


def _features(recipe: Recipe) -> list[str]:
    """Numeric columns, derived indicators and categorical columns (by their source name)."""
    derived = [d.name for d in recipe.derived]
    return [*recipe.numeric, *derived, *recipe.categorical_columns()]


def _histogram(recipe: Recipe, name: str, frame: Mapping[str, np.ndarray]) -> Histogram:
    labels = _value_names(recipe, name)
    if labels is not None:
        counts = _category_counts(recipe, name, frame)
        return {"type": "categorical", "values": labels, "shares": _shares(counts)}
    values = frame[name]
    edges = np.unique(np.quantile(values, DECILES)) if len(values) else np.array([])
    counts = np.bincount(np.searchsorted(edges, values), minlength=len(edges) + 1)
    return {"type": "numeric", "edges": edges.tolist(), "shares": _shares(counts)}


def _binned(
    recipe: Recipe, name: str, expected: Histogram, frame: Mapping[str, np.ndarray]
) -> np.ndarray | None:
    """This upload's shares on the reference's bins; None when it has no such feature."""
    if expected["type"] == "numeric":
        if name not in frame:
            return None
        edges = np.asarray(expected["edges"])
        counts = np.bincount(np.searchsorted(edges, frame[name]), minlength=len(edges) + 1)
        return np.asarray(_shares(counts))
    ours = _value_names(recipe, name)
    if ours is None:
        return None
    found = dict(zip(ours, _category_counts(recipe, name, frame).tolist(), strict=True))
    matched = [found.pop(value, 0) for value in expected["values"]]
    matched[-1] += sum(found.values())  # values the reference lacks: its last bin (the rest)
    return np.asarray(_shares(np.asarray(matched)))


def _value_names(recipe: Recipe, name: str) -> list[str] | None:
    """A categorical feature's bins (its vocabulary and the rest); a class target's classes;
    an indicator's 0 and 1; None for a number."""
    if name == recipe.target.column:
        return list(recipe.target.class_names()) if recipe.target.task.classification else None
    if name in {d.name for d in recipe.derived}:
        return ["0", "1"]
    spec = next((c for c in recipe.categorical if c.column == name), None)
    return None if spec is None else [*spec.vocabulary, "(other)"]


def _category_counts(recipe: Recipe, name: str, frame: Mapping[str, np.ndarray]) -> np.ndarray:
    if name == recipe.target.column:
        return np.bincount(frame[name].astype(np.int64), minlength=len(recipe.target.values))
    if name in {d.name for d in recipe.derived}:
        ones = int(np.count_nonzero(frame[name] == 1))
        return np.array([len(frame[name]) - ones, ones])
    spec = next(c for c in recipe.categorical if c.column == name)
    known = [f"{name}_{value}" for value in spec.vocabulary]
    counts = [int(np.count_nonzero(frame[column] == 1)) for column in known]
    rows = len(frame[recipe.target.column])
    return np.array([*counts, rows - sum(counts)])  # the rest: "other" or ignored values


def _shares(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    return (counts / total).tolist() if total else [0.0] * len(counts)


def _psi(expected: np.ndarray, actual: np.ndarray) -> float:
    e, a = np.maximum(expected, FLOOR), np.maximum(actual, FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def _target_balance(recipe: Recipe, labels: np.ndarray) -> dict[str, Any]:
    target = recipe.target
    if target.task.classification:
        counts = np.bincount(labels.astype(np.int64), minlength=len(target.values))
        return {
            "column": target.column,
            "kind": target.kind,
            "rows": dict(zip(target.class_names(), counts.tolist(), strict=True)),
        }
    return {
        "column": target.column,
        "kind": target.kind,
        "mean": float(labels.mean()) if len(labels) else None,
        "min": float(labels.min()) if len(labels) else None,
        "max": float(labels.max()) if len(labels) else None,
    }


def _target_shift(reference: Histogram, ours: np.ndarray | None) -> dict[str, Any] | None:
    """How the target moved: the share of each class (or decile bin) then and now, and its PSI."""
    if ours is None:
        return None
    theirs = np.asarray(reference["shares"])
    shift: dict[str, Any] = {
        "psi": round(_psi(theirs, ours), 6),
        "champion": theirs.tolist(),
        "upload": ours.tolist(),
    }
    if reference["type"] == "categorical":
        shift["values"] = reference["values"]
        shift["largest_rate_change"] = float(np.max(np.abs(ours - theirs)))
    return shift


def _columns_profile(recipe: Recipe, stats: Mapping[str, Any]) -> list[dict[str, Any]]:
    unknown = stats.get("unknown_categories", {})
    missing = stats.get("missing_values", {})
    rows: list[dict[str, Any]] = [
        {"column": recipe.target.column, "role": f"target ({recipe.target.kind})"}
    ]
    rows += [{"column": name, "role": "numeric"} for name in recipe.numeric]
    rows += [{"column": name, "role": "categorical"} for name in recipe.categorical_columns()]
    for row in rows:
        empty = int(missing.get(row["column"], 0))
        row["missing"] = empty
        row["out_of_vocabulary"] = int(unknown.get(row["column"], 0)) - empty
    return rows
