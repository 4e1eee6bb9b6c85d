"""Some rows of an upload in their raw form: the upload's columns and text, as a client sends them.

Evaluation scores the test rows the way an application calls the model: raw rows, encoded at the
endpoint. The split says which data rows are the test rows; this reads the upload again (the
same dialect: separator, `sep=` line, BOM, gzip, CR line ends) and writes those rows, every cell
as the text the upload holds, as plain CSV (comma, UTF-8, with the upload's header), in the
order of the file, a chunk at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
import pandas as pd

from handlers.data.dialect import csv_lines
from handlers.data.validation import DEFAULT_CHUNK_ROWS, CsvLayout, open_csv
from handlers.recipe.model import Recipe


def write_rows(
    source: BinaryIO,
    recipe: Recipe,
    positions: np.ndarray,
    sink: BinaryIO,
    *,
    file: str,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> int:
    """Write the data rows at `positions` (0-based, ascending) of the upload in `source` to
    `sink`, after the upload's header; returns how many were written."""
    layout, stream = open_csv(source, recipe, file=file)
    sink.write(csv_lines([layout.header]))
    written, first = 0, 0
    for frame in raw_frames(stream, layout, chunk_rows):
        start, end = np.searchsorted(positions, (first, first + len(frame)))
        chosen = positions[start:end] - first
        if len(chosen):
            text = frame.iloc[chosen].to_csv(header=False, index=False, lineterminator="\n")
            sink.write(text.encode("utf-8"))
            written += len(chosen)
        first += len(frame)
    return written


def raw_frames(
    stream: BinaryIO, layout: CsvLayout, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """The rows after the header (`open_csv`'s stream), `chunk_rows` at a time, every cell as
    its text: nothing parsed, nothing reformatted."""
    reader = pd.read_csv(
        stream,
        sep=layout.separator,
        header=None,
        skiprows=layout.lines_before_rows,
        dtype=str,
        keep_default_na=False,
        encoding="utf-8",
        chunksize=chunk_rows,
    )
    with reader:
        yield from reader
