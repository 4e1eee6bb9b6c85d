"""Clean and encode a raw CSV into the recipe's fixed columns, chunk by chunk.

Output (with a header): the label (named as the target: 0/1 for a binary target, the class index
for a multiclass one, the number as read for regression) first, then the numeric columns as
read, the derived 0/1 indicators, and the one-hot columns in vocabulary order. The columns depend
only on the recipe, never on the categories present in one upload.

Memory stays flat as files grow: one chunk of rows is parsed, checked (validation.py), encoded and
written before the next is read. Encoding is vectorised: every 0/1 column is a single ASCII digit,
so the indicator block of a chunk is one fixed-width byte matrix whose '1's are set with numpy
indexing; only the numeric columns need formatting.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np

from handlers.data.validation import (
    DEFAULT_CHUNK_ROWS,
    CheckedChunk,
    TargetRange,
    ValidationReport,
    checked_chunks,
    open_csv,
)
from handlers.recipe.model import Derived, Recipe

_ZERO, _ONE, _COMMA = ord("0"), ord("1"), ord(",")

_COMPARISONS: Mapping[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


@dataclass
class TransformStats:
    """What a transform did; `rows_out` always equals `rows_in` (bad rows stop the run)."""

    file: str
    separator: str
    bom: bool
    extra_columns: tuple[str, ...]
    columns: tuple[str, ...]
    rows_in: int = 0
    rows_out: int = 0
    positives: int = 0
    label_counts: list[int] = field(default_factory=list)  # classification: rows per label
    target: TargetRange | None = None  # regression: the target's range
    unknown_categories: dict[str, int] = field(default_factory=dict)
    missing_values: dict[str, int] = field(default_factory=dict)
    header: tuple[str, ...] = ()  # the upload's columns, in its order

    @classmethod
    def of(cls, report: ValidationReport, columns: tuple[str, ...]) -> TransformStats:
        return cls(
            file=report.file,
            separator=report.separator,
            bom=report.bom,
            extra_columns=report.extra_columns,
            columns=columns,
            rows_in=report.rows,
            rows_out=report.rows,
            positives=report.positives,
            label_counts=list(report.label_counts),
            target=report.target,
            unknown_categories=dict(report.unknown_categories),
            missing_values=dict(report.missing_values),
            header=report.header,
        )

    @property
    def positive_rate(self) -> float:
        return self.positives / self.rows_out if self.rows_out else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "separator": self.separator,
            "bom": self.bom,
            "extra_columns": list(self.extra_columns),
            "columns": list(self.columns),
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "positives": self.positives,
            "positive_rate": self.positive_rate,
            "label_counts": list(self.label_counts),
            "target": None if self.target is None else self.target.to_dict(),
            "unknown_categories": dict(self.unknown_categories),
            "missing_values": dict(self.missing_values),
            "header": list(self.header),
        }


def transform_csv(
    source: BinaryIO,
    sink: BinaryIO,
    recipe: Recipe,
    *,
    file: str,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> TransformStats:
    """Validate and encode `source` (raw CSV bytes) into `sink` (processed CSV bytes).

    Raises `ValidationFailure` at the first bad row; `sink` then holds a partial file, so write it
    somewhere temporary and upload only on success. `file` names the input in errors.
    """
    layout, stream = open_csv(source, recipe, file=file)
    report = ValidationReport(
        file, layout.separator, layout.bom, layout.extra_columns, header=layout.header
    )
    encoder = ChunkEncoder(recipe)
    sink.write(encoder.header())
    for chunk in checked_chunks(stream, layout, recipe, file=file, chunk_rows=chunk_rows):
        sink.write(encoder.encode(chunk))
        report.add(chunk)
    return TransformStats.of(report, recipe.output_columns())


def encode_features(
    source: BinaryIO, recipe: Recipe, *, file: str, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Iterator[bytes]:
    """Rows to score (raw CSV with the upload's header, any column order; a target column is
    ignored) validated and encoded exactly as preprocessing encodes them, without the label:
    CSV feature rows, no header, a block per chunk. Raises `ValidationFailure` at the first bad
    row, naming its row, column and value."""
    layout, stream = open_csv(source, recipe, file=file, labelled=False)
    encoder = ChunkEncoder(recipe)
    for chunk in checked_chunks(stream, layout, recipe, file=file, chunk_rows=chunk_rows):
        yield encoder.encode(chunk)


class ChunkEncoder:
    """Turns checked chunks into CSV bytes in the recipe's fixed column order."""

    def __init__(self, recipe: Recipe) -> None:
        self.recipe = recipe
        self.vocabularies = {spec.column: spec.vocabulary for spec in recipe.categorical}
        # Position of each categorical column's first one-hot column among the 0/1 columns.
        self.offsets: dict[str, int] = {}
        position = len(recipe.derived)
        for spec in recipe.categorical:
            self.offsets[spec.column] = position
            position += len(recipe.one_hot_columns(spec))
        self.binary_columns = position
        self.template = np.frombuffer(b",".join([b"0"] * position), dtype=np.uint8)

    def header(self) -> bytes:
        return (",".join(self.recipe.output_columns()) + "\n").encode()

    def encode(self, chunk: CheckedChunk) -> bytes:
        """One CSV line per row: the label (when the chunk has one), numeric values, then the
        0/1 block: a chunk without labels gives the feature rows a model scores."""
        labels = chunk.labels
        fields = []
        if labels is not None:
            fields.append(_as_text(labels.astype(np.int64) if labels.dtype == np.uint8 else labels))
        fields += [_as_text(chunk.numeric[c]) for c in self.recipe.numeric]
        if self.binary_columns:
            fields.append(self.binary_block(chunk))
        return b"\n".join(map(b",".join, zip(*fields, strict=True))) + b"\n"

    def binary_block(self, chunk: CheckedChunk) -> list[bytes]:
        """The derived and one-hot columns of every row, each row as one `0,1,0,...` string."""
        rows = len(chunk)
        block = np.tile(self.template, (rows, 1))
        for position, derived in enumerate(self.recipe.derived):
            block[:, 2 * position] = _ZERO + self.indicator(derived, chunk)
        every_row = np.arange(rows)
        for column, offset in self.offsets.items():
            codes = chunk.codes[column]
            known = codes >= 0  # -1: outside the vocabulary under policy 'ignore' -> all zeros
            block[every_row[known], 2 * (offset + codes[known])] = _ONE
        width = block.shape[1]
        return block.view(f"S{width}").ravel().tolist()

    def indicator(self, derived: Derived, chunk: CheckedChunk) -> np.ndarray:
        if derived.column in chunk.codes:
            values = self.vocabularies[derived.column]
            wanted = derived.value if isinstance(derived.value, tuple) else (derived.value,)
            hit_codes = [values.index(v) for v in wanted if isinstance(v, str)]
            hits = np.isin(chunk.codes[derived.column], hit_codes)
            negate = derived.op in ("ne", "not_in")
            return np.asarray(hits != negate, dtype=np.uint8)
        numbers = chunk.numeric[derived.column]
        if isinstance(derived.value, tuple):
            hits = np.isin(numbers, derived.value)
            return np.asarray(hits != (derived.op == "not_in"), dtype=np.uint8)
        return np.asarray(_COMPARISONS[derived.op](numbers, derived.value), dtype=np.uint8)


_LOOKUP_SPAN = 1 << 16


def _as_text(values: np.ndarray) -> list[bytes]:
    """Numbers as CSV text: integers as they are, floats in shortest round-trip form."""
    if values.dtype.kind == "i" and len(values):
        low, high = int(values.min()), int(values.max())
        if high - low < _LOOKUP_SPAN:  # formatting each distinct value once is ~5x faster
            table = np.arange(low, high + 1, dtype=np.int64).astype(np.bytes_)
            looked_up: list[bytes] = table[values - low].tolist()
            return looked_up
    text: list[bytes] = values.astype(np.bytes_).tolist()
    return text
