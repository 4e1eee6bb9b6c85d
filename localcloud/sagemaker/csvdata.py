"""CSV as the XGBoost container reads it: numbers only, no header; training rows carry the label in
the first column, inference rows carry only the features. Empty fields are missing values (NaN)."""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
import pandas as pd

Matrix = npt.NDArray[np.float64]


class CsvError(ValueError):
    """The bytes are not a numeric CSV table."""


def read_matrix(data: bytes) -> Matrix:
    text = data.strip()
    if not text:
        raise CsvError("no rows")
    try:
        frame = pd.read_csv(io.BytesIO(text), header=None, dtype=np.float64, skip_blank_lines=True)
    except (ValueError, pd.errors.ParserError) as exc:
        raise CsvError(str(exc)) from exc
    return np.asarray(frame.to_numpy(dtype=np.float64), dtype=np.float64)


def read_labelled(parts: list[bytes]) -> tuple[Matrix, Matrix]:
    """(features, labels) from one or more label-first files of the same width."""
    matrices = [read_matrix(part) for part in parts if part.strip()]
    if not matrices:
        raise CsvError("no rows")
    widths = {matrix.shape[1] for matrix in matrices}
    if len(widths) != 1:
        raise CsvError(f"files have different numbers of columns: {sorted(widths)}")
    table = np.vstack(matrices)
    if table.shape[1] < 2:
        raise CsvError("need a label column and at least one feature column")
    return table[:, 1:], table[:, 0]
