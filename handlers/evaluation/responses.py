"""An endpoint's answer read back as scores: a served model's CSV answer (its prediction columns,
by name), or the XGBoost container's own CSV or JSON."""

from __future__ import annotations

import csv
import json
import math
import re
from typing import Any

import numpy as np

from service.failures import PermanentError

_TEXT_SEPARATORS = re.compile(r"[,\s]+")


class InvalidScores(PermanentError):
    """An endpoint response that is not a list of scores."""


def parse_scores(body: bytes, columns: int = 1) -> np.ndarray:
    """Scores from an XGBoost endpoint response: shape (rows,), or (rows, columns) when each row
    has `columns` values (multi:softprob's class probabilities).

    The container answers text/csv with numpy.savetxt: one line per row, a row's values joined
    by commas. One value per row also accepts values separated by commas alone. JSON is a list,
    or `{"predictions": [{"score": ...}, ...]}` (application/json), a score being a number or a
    list of `columns` numbers. Anything else is `InvalidScores`.
    """
    text = _text(body).strip()
    if not text:
        raise InvalidScores("endpoint response is empty: no scores")
    if text[0] in "[{":
        rows = _json_scores(text)
    elif columns == 1:
        rows = [token for token in _TEXT_SEPARATORS.split(text) if token]
    else:
        rows = [line.split(",") for line in text.splitlines() if line.strip()]
    if columns == 1:
        return np.array([_finite(value, position) for position, value in enumerate(rows)])
    return np.array([_row(row, position, columns) for position, row in enumerate(rows)])


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidScores(f"endpoint answer is not UTF-8 text: {body[:60]!r}") from exc


def _row(row: Any, position: int, columns: int) -> list[float]:
    if not isinstance(row, list) or len(row) != columns:
        size = len(row) if isinstance(row, list) else 1
        raise InvalidScores(
            f"score row {position} has {size} value(s), not {columns} (one per class)"
        )
    return [_finite(value, position) for value in row]


def _json_scores(text: str) -> list[Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidScores(f"endpoint response is not valid JSON: {exc}: {text[:60]!r}") from exc
    items = document.get("predictions") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise InvalidScores(f"endpoint JSON has no list of predictions: {text[:60]!r}")
    return [item.get("score") if isinstance(item, dict) else item for item in items]


def _finite(value: Any, position: int) -> float:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidScores(f"score {position} is {value!r}, not a number")
    try:
        number = float(value)
    except ValueError:
        raise InvalidScores(f"score {position} is {value!r}, not a number") from None
    if not math.isfinite(number):
        raise InvalidScores(f"score {position} is {value!r}, not a finite number")
    return number


def parse_answer(body: bytes, columns: tuple[str, ...]) -> np.ndarray:
    """Scores from a served model's CSV answer (a header naming the prediction columns, a line
    per row), read by name: shape (rows,) for one column, (rows, len(columns)) for several. A
    missing column or a value that is not a finite number is `InvalidScores`."""
    lines = _text(body).splitlines()
    if not lines:
        raise InvalidScores("endpoint answer is empty: no header, no scores")
    header = next(csv.reader([lines[0]]))
    missing = [name for name in columns if name not in header]
    if missing:
        raise InvalidScores(
            f"endpoint answer has no column {', '.join(missing)} (it has {', '.join(header)})"
        )
    picks = [header.index(name) for name in columns]
    cells = [[row[i] for i in picks] for row in csv.reader(lines[1:])]
    scores: np.ndarray
    try:
        scores = np.array(cells, dtype=np.float64).reshape(len(cells), len(columns))
    except ValueError:
        scores = np.empty(0)  # some cell is not a number: found and named below
    if len(scores) != len(cells) or not np.isfinite(scores).all():
        # The slow path, only for an answer that is wrong: name the first bad value.
        rows = [[_finite(value, position) for value in row] for position, row in enumerate(cells)]
        scores = np.array(rows, dtype=np.float64).reshape(len(rows), len(columns))
    return scores[:, 0] if len(columns) == 1 else scores
