"""A model's scores as the answer a client reads: one prediction per row, as JSON or CSV.

Binary: the predicted class and the positive class's probability; multiclass: the predicted class
and every class's probability; regression: the predicted value. Numbers are the model's own
float32 scores written exactly (repr of their double), so an answer parsed back gives the scores
the model computed, to the last bit.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from handlers.recipe.model import Recipe
from handlers.serving.requests import CSV, JSON


@dataclass(frozen=True)
class Identity:
    """Which model answered: shown in every JSON answer and in the response's custom attributes."""

    dataset: str
    run_id: str
    version: int | None = None  # the registry version; None on a run's own endpoint (unregistered)

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "version": self.version, "run_id": self.run_id}

    def attributes(self) -> str:
        """`X-Amzn-SageMaker-Custom-Attributes`: InvokeEndpoint hands it to the client."""
        version = "" if self.version is None else f",version={self.version}"
        return f"dataset={self.dataset}{version},run_id={self.run_id}"


# repr of a double is at most 24 characters ("-1.2345678901234567e-305")
_NUMBER_CHARS = 24


def csv_row_bytes(recipe: Recipe) -> int:
    """The most a row of the CSV answer can take: batches are cut so that the answer, not only
    the request, stays under the payload limit (a narrow row of a many-class target answers with
    far more bytes than it was sent with)."""
    target = recipe.target
    numbers = len(target.prediction_columns()) - (0 if target.kind == "regression" else 1)
    label = 0 if target.kind == "regression" else max(len(n.encode()) for n in target.class_names())
    return 2 * label + 2 + numbers * (_NUMBER_CHARS + 1) + 1  # quotes doubled at worst


def rows_within(recipe: Recipe, limit_bytes: int) -> int:
    """The most rows a request may carry for the CSV answer to fit in `limit_bytes` (one at
    least: a single row's answer is far below any limit)."""
    header = len(",".join(recipe.target.prediction_columns()).encode()) + 1
    return max(1, (limit_bytes - header) // csv_row_bytes(recipe))


def predicted(recipe: Recipe, scores: np.ndarray) -> list[tuple[Any, ...]]:
    """One tuple per row, in the order of `recipe.target.prediction_columns()`."""
    target = recipe.target
    values = scores.astype(np.float64)
    if target.kind == "regression":
        return [(float(value),) for value in values]
    names = target.class_names()
    if target.kind == "binary":
        threshold = recipe.threshold if recipe.threshold is not None else 0.5
        # A score above the threshold predicts the positive class (as evaluation counts it).
        return [(names[int(p > threshold)], float(p)) for p in values]
    picks = values.argmax(axis=1)
    return [(names[pick], *map(float, row)) for pick, row in zip(picks, values, strict=True)]


def as_json(recipe: Recipe, scores: np.ndarray, identity: Identity) -> bytes:
    target = recipe.target
    rows = predicted(recipe, scores)
    if target.kind == "regression":
        items: list[Mapping[str, Any]] = [{"value": value} for (value,) in rows]
    elif target.kind == "binary":
        items = [{"label": label, "probability": p} for label, p in rows]
    else:
        names = target.class_names()
        items = [
            {"label": label, "probabilities": dict(zip(names, ps, strict=True))}
            for label, *ps in rows
        ]
    return json.dumps({"model": identity.to_dict(), "predictions": items}).encode("utf-8")


def as_csv(recipe: Recipe, scores: np.ndarray) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(recipe.target.prediction_columns())
    writer.writerows(_cells(row) for row in predicted(recipe, scores))
    return out.getvalue().encode("utf-8")


def _cells(row: tuple[Any, ...]) -> list[str]:
    return [repr(cell) if isinstance(cell, float) else str(cell) for cell in row]


def chosen_media(accept: str | None) -> str | None:
    """The answer's media type for an Accept header: the first of JSON or CSV it lists (`*/*` or
    nothing: JSON); None when it lists neither."""
    for part in (accept or JSON).split(","):
        media = part.split(";")[0].strip().lower()
        if media in (JSON, CSV):
            return media
        if media in ("*/*", "application/*"):
            return JSON
        if media == "text/*":
            return CSV
    return None
