"""A scored test set as a CSV file: the label, then the score(s) of the row.

The run's own scores (`evaluation/scores.csv`) and the champion's on the same rows
(`evaluation/champion-v<N>-scores.csv`) are kept so that the report draws both models' curves
and the bootstrap resamples the same rows for both. Numbers are written with `repr` precision,
so reading a file back gives the very floats that were measured.
"""

from __future__ import annotations

import io

import numpy as np

from service.failures import PermanentError


def to_csv(labels: np.ndarray, scores: np.ndarray) -> bytes:
    columns = 1 if scores.ndim == 1 else scores.shape[1]
    header = "label," + ("score" if scores.ndim == 1 else ",".join(f"p{i}" for i in range(columns)))
    table = np.column_stack([labels.astype(np.float64), scores.astype(np.float64)])
    buffer = io.StringIO()
    np.savetxt(buffer, table, delimiter=",", fmt="%.17g", header=header, comments="")
    return buffer.getvalue().encode()


def from_csv(body: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    """(labels, scores): scores of shape (rows,) for one score column, else (rows, columns)."""
    try:
        table = np.loadtxt(io.BytesIO(body), delimiter=",", skiprows=1, ndmin=2)
    except ValueError as exc:
        raise PermanentError(f"{source}: not a scores file ({exc})") from exc
    if table.shape[1] < 2:
        raise PermanentError(f"{source}: a scores file has a label and at least one score")
    scores = table[:, 1] if table.shape[1] == 2 else table[:, 1:]
    return table[:, 0], scores
