"""Validate a raw CSV against its recipe, streaming: the file is never held in memory whole.

`open_csv` checks what can be checked from the first line (encoding so far, separator, header,
required columns) and hands back a stream positioned at the header that keeps checking UTF-8 as
it is read. `checked_chunks` then parses that stream chunk by chunk with pandas and checks every
row (target values, numbers, categories); it yields the chunk already encoded as arrays so the
transform (features.py) does not parse anything twice. `validate_csv` is the same pass without
writing anything.

Errors name a row as `data row N (line L of the file)`: N counts the rows after the header
(row 1 is the first), L is where an editor shows it (`handlers/data/lines.py`).
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from handlers.data import dialect
from handlers.data.dialect import UTF8_BOM
from handlers.data.lines import Lines, where
from handlers.recipe.model import Recipe
from service.failures import PermanentError

_PANDAS_WIDTH_ERROR = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_QUOTE, _LF, _CR = ord('"'), ord("\n"), ord("\r")
# What editors leave in a header that nobody sees: BOMs, zero-width characters, NULs, controls.
_INVISIBLE = re.compile("[\ufeff\u200b\u200c\u200d\u2060\x00-\x1f\x7f]")
DEFAULT_CHUNK_ROWS = 100_000
_HEAD_BLOCK = 64 * 1024
_HEADER_LIMIT = 1024 * 1024
_READ_BLOCK = 1024 * 1024


class ValidationFailure(PermanentError):
    """Bad input, with where it is: file, column, row (1-based data row) and the line of the
    file it is on, value."""

    def __init__(
        self,
        message: str,
        *,
        file: str,
        column: str | None = None,
        row: int | None = None,
        value: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(_describe(message, file, column, row, value, line))
        self.file = file
        self.column = column
        self.row = row
        self.line = line
        self.value = value
        self.message = message

    def to_dict(self) -> dict[str, Any]:
        """What the handler writes to the run's error.json."""
        return {
            "error": "validation",
            "file": self.file,
            "column": self.column,
            "row": self.row,
            "line": self.line,
            "value": self.value,
            "message": self.message,
            "reason": self.reason,
        }


# What a request's rows are called in errors at the endpoint (elsewhere: a file's name).
REQUEST = "request"


def _describe(
    message: str,
    file: str,
    column: str | None,
    row: int | None,
    value: str | None,
    line: int | None,
) -> str:
    parts = [f"file {file}"]
    if row is not None:
        parts.append(where(row, line, "the request" if file == REQUEST else "the file"))
    if column is not None:
        parts.append(f"column {column!r}")
    if value is not None:
        parts.append(f"value {value!r}")
    return f"{', '.join(parts)}: {message}"


@dataclass(frozen=True)
class CsvLayout:
    """What the first line told us."""

    separator: str
    header: tuple[str, ...]
    bom: bool
    extra_columns: tuple[str, ...]  # in the file, not named by the recipe: ignored
    lines_before_rows: int = 1  # the header, and Excel's `sep=;` line before it if there is one
    # Rows to train on carry the target; rows to score need not (a target there is ignored).
    labelled: bool = True
    # Where each data row is in the file, filled in as the stream is read.
    lines: Lines = field(default_factory=Lines, compare=False, repr=False)

    def key_of(self, column: str) -> str:
        """The name the parsed frames give this column."""
        return _position(self.header.index(column))


def _position(index: int) -> str:
    return f"_{index}"


@dataclass(frozen=True)
class CheckedChunk:
    """One chunk of rows, checked and reduced to arrays."""

    first_row: int
    rows: int
    # Classification: uint8 label index (binary: 1 = positive); regression: the numbers as read.
    # None for rows read without their target (to be scored).
    labels: np.ndarray | None
    numeric: Mapping[str, np.ndarray]  # int64 or float64, all finite
    codes: Mapping[str, np.ndarray]  # index in the vocabulary; len(vocab) = other; -1 = ignored
    unknown: Mapping[str, int]  # values outside the vocabulary (policy other/ignore)
    missing: Mapping[str, int] = field(default_factory=dict)  # of those, the empty ones

    def __len__(self) -> int:
        return self.rows


@dataclass
class ValidationReport:
    """The outcome of a full pass over a valid file."""

    file: str
    separator: str
    bom: bool
    extra_columns: tuple[str, ...]
    rows: int = 0
    label_counts: list[int] = field(default_factory=list)  # classification: rows per label
    target: TargetRange | None = None  # regression
    unknown_categories: dict[str, int] = field(default_factory=dict)
    missing_values: dict[str, int] = field(default_factory=dict)  # empty, of the unknown ones
    header: tuple[str, ...] = ()  # the file's columns, in its order

    def add(self, chunk: CheckedChunk) -> None:
        self.rows += len(chunk)
        labels = chunk.labels
        if labels is None:  # rows to score
            pass
        elif labels.dtype == np.uint8:  # a class index
            counts = np.bincount(labels, minlength=len(self.label_counts))
            counts[: len(self.label_counts)] += np.asarray(self.label_counts, dtype=np.int64)
            self.label_counts = counts.tolist()
        elif len(labels):
            seen = TargetRange.of(labels)
            self.target = seen if self.target is None else self.target.merged(seen)
        for column, count in chunk.unknown.items():
            self.unknown_categories[column] = self.unknown_categories.get(column, 0) + count
        for column, count in chunk.missing.items():
            self.missing_values[column] = self.missing_values.get(column, 0) + count

    @property
    def positives(self) -> int:
        """Rows of label 1: the positive class of a binary target."""
        return self.label_counts[1] if len(self.label_counts) > 1 else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "separator": self.separator,
            "bom": self.bom,
            "extra_columns": list(self.extra_columns),
            "rows": self.rows,
            "positives": self.positives,
            "label_counts": list(self.label_counts),
            "target": None if self.target is None else self.target.to_dict(),
            "unknown_categories": dict(self.unknown_categories),
            "missing_values": dict(self.missing_values),
            "header": list(self.header),
        }


@dataclass(frozen=True)
class TargetRange:
    """What preprocessing needs to know of a numeric target: its range and whether any is 0."""

    minimum: float
    maximum: float
    zeros: int

    @classmethod
    def of(cls, values: np.ndarray) -> TargetRange:
        return cls(float(values.min()), float(values.max()), int(np.count_nonzero(values == 0)))

    def merged(self, other: TargetRange) -> TargetRange:
        return TargetRange(
            min(self.minimum, other.minimum),
            max(self.maximum, other.maximum),
            self.zeros + other.zeros,
        )

    def to_dict(self) -> dict[str, float]:
        return {"min": self.minimum, "max": self.maximum, "zeros": self.zeros}


def validate_csv(
    source: BinaryIO, recipe: Recipe, *, file: str, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> ValidationReport:
    """Check a whole raw CSV; raises `ValidationFailure` at the first problem."""
    layout, stream = open_csv(source, recipe, file=file)
    report = ValidationReport(
        file, layout.separator, layout.bom, layout.extra_columns, header=layout.header
    )
    for chunk in checked_chunks(stream, layout, recipe, file=file, chunk_rows=chunk_rows):
        report.add(chunk)
    return report


# --- the first line ---------------------------------------------------------------------------


def open_csv(
    source: BinaryIO, recipe: Recipe, *, file: str, labelled: bool = True
) -> tuple[CsvLayout, BinaryIO]:
    """Read and check the header; return the layout and a UTF-8-checking stream at the header.
    Unless `labelled`, the target column is not required, and ignored when it is there."""
    head = _read_head(source, file)
    if _cr_only(head):
        # Classic Mac line endings: the same bytes with LF for CR (offsets are unchanged).
        source = io.BufferedReader(_CrToLf(source), buffer_size=_READ_BLOCK)
        head = head.replace(b"\r", b"\n")
    bom = head.startswith(UTF8_BOM)
    offset = len(UTF8_BOM) if bom else 0
    body = head[offset:]
    if not body.strip():
        raise ValidationFailure("the file is empty", file=file)
    header_bytes, _, rest = body.partition(b"\n")
    header_line = _decode(header_bytes, offset, file).rstrip("\r")
    hinted = dialect.excel_separator(header_line)
    skipped = 0
    if hinted is not None:  # Excel's `sep=;` line: the header is the next line
        skipped = len(header_bytes) + 1
        header_bytes, _, rest = rest.partition(b"\n")
        header_line = _decode(header_bytes, offset + skipped, file).rstrip("\r")
    separator, header = _sniff_header(header_line, recipe, file, hinted)
    required = recipe.input_columns() if labelled else recipe.feature_input_columns()
    _check_header(header, recipe, file, required)
    before = 2 if hinted is not None else 1
    _check_first_row(
        rest, offset + skipped + len(header_bytes) + 1, separator, header, file, before
    )
    named = {*required, *recipe.drop}
    layout = CsvLayout(
        separator=separator,
        header=header,
        bom=bom,
        extra_columns=tuple(c for c in header if c not in named and c),
        lines_before_rows=before,
        labelled=labelled,
        lines=Lines(before),
    )
    widths = FieldCounter(separator, len(header), layout.lines, file)
    checked = _CheckedReader(body, source, offset, file, widths)
    return layout, io.BufferedReader(checked, buffer_size=_READ_BLOCK)


def _cr_only(head: bytes) -> bool:
    """Lines end in CR alone (old Mac exports): CRs, and no LF in what was read."""
    return b"\r" in head and b"\n" not in head


class _CrToLf(io.RawIOBase):
    """A stream of `source` with every CR turned into LF."""

    def __init__(self, source: BinaryIO) -> None:
        self._source = source

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._source.read(size).replace(b"\r", b"\n")

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(memoryview(buffer)))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)


def _read_head(source: BinaryIO, file: str) -> bytes:
    """The header line and the first data row, or the whole file if it is shorter."""
    head = b""
    while len(head) <= _HEADER_LIMIT and not _holds_first_row(head):
        block = source.read(_HEAD_BLOCK)
        if not block:
            return head
        head += block
    if b"\n" not in head and b"\r" not in head:
        raise ValidationFailure(
            f"no line break in the first {_HEADER_LIMIT} bytes: not a CSV with a header", file=file
        )
    return head


def _holds_first_row(head: bytes) -> bool:
    if _cr_only(head):
        head = head.replace(b"\r", b"\n")
    _, newline, rest = head.partition(b"\n")
    return bool(newline) and b"\n" in rest.lstrip(b"\r\n")


def _check_first_row(
    rest: bytes, offset: int, separator: str, header: tuple[str, ...], file: str, before: int
) -> None:
    """Header-only files, and a first row wider than the header (pandas would take the extra
    field as an index and shift every column silently; later rows it rejects by itself)."""
    skipped = len(rest) - len(rest.lstrip(b"\r\n"))
    row = rest[skipped:].split(b"\n", 1)[0]
    if not row:
        raise ValidationFailure("the file has a header but no data rows", file=file)
    fields = next(csv.reader([_decode(row, offset + skipped, file)], delimiter=separator), [])
    if len(fields) > len(header):
        line = before + rest[:skipped].count(b"\n") + 1
        raise _wrong_width(file, 1, len(fields), len(header), line)


def _wrong_width(
    file: str, row: int, fields: int, expected: int, line: int | None = None
) -> ValidationFailure:
    return ValidationFailure(
        f"the row has {fields} fields, the header has {expected}", file=file, row=row, line=line
    )


def _decode(data: bytes, offset: int, file: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            return data[: exc.start].decode("utf-8")  # cut mid-character by the head's end
        raise _encoding_failure(file, offset + exc.start, data[exc.start : exc.end]) from exc


def _encoding_failure(file: str, offset: int, bad: bytes) -> ValidationFailure:
    return ValidationFailure(
        f"not UTF-8: undecodable byte(s) 0x{bad.hex()} at byte offset {offset} "
        "(save the file as UTF-8, with or without BOM)",
        file=file,
    )


def _sniff_header(
    line: str, recipe: Recipe, file: str, hinted: str | None = None
) -> tuple[str, tuple[str, ...]]:
    """Pick the separator that splits the header into the most of the recipe's columns (or the
    one Excel's `sep=` line named)."""
    separator, fields = dialect.sniff(line, frozenset(recipe.input_columns()), hinted)
    if len(fields) < 2:
        raise ValidationFailure(
            f"cannot find the column separator in the header: tried {dialect.separator_names()};"
            f" the header reads {line[:80]!r}",
            file=file,
        )
    return separator, fields


def _check_header(
    header: tuple[str, ...], recipe: Recipe, file: str, required: tuple[str, ...]
) -> None:
    missing = [name for name in required if name not in header]
    if len(missing) == len(required) and _looks_like_data(header, recipe):
        raise ValidationFailure(
            "the first line is not a header: it holds values, not column names "
            f"({', '.join(header[:5])}, ...); "
            f"the recipe expects {', '.join(required)}",
            file=file,
        )
    if missing:
        raise ValidationFailure(
            f"missing required column(s): {', '.join(missing)}{_odd_cells(header, missing)}",
            file=file,
            column=", ".join(missing),
        )
    # Unnamed columns (trailing commas of a spreadsheet export) are not used: never "repeated".
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        raise ValidationFailure(
            f"columns {repeated} appear more than once in the header", file=file
        )


def _odd_cells(header: tuple[str, ...], missing: list[str]) -> str:
    """Header cells that are a missing column but for characters one cannot see, quoted."""
    odd = [cell for cell in header if _INVISIBLE.sub("", cell) in missing and cell not in missing]
    if not odd:
        return ""
    quoted = ", ".join(repr(cell) for cell in odd)
    return (
        f"; the header has {quoted}: the same name with invisible characters (a byte-order "
        "mark, a zero-width space or a NUL); remove them"
    )


def _looks_like_data(header: tuple[str, ...], recipe: Recipe) -> bool:
    known_values = {v for spec in recipe.categorical for v in spec.vocabulary}
    known_values.update(recipe.target.values)
    return any(_is_number(name) or name in known_values for name in header)


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


class FieldCounter:
    """Counts the fields of every line as the bytes stream past, quote-aware and vectorised.

    pandas fills a row that is short of fields with empty values, which are indistinguishable
    from empty fields, so a row missing one field would have its values shifted into the wrong
    columns. Here every data row must have exactly the header's count. A separator or line break
    inside double quotes is data: a byte is inside quotes when an odd number of quote characters
    precede it in the file (an escaped `""` toggles twice and changes nothing). Blank lines are
    skipped, as pandas skips them, so row numbers agree with the other errors'.
    """

    def __init__(self, separator: str, width: int, lines: Lines, file: str) -> None:
        self._separator = ord(separator)
        self._width = width
        self._skip = lines.before
        self._lines = lines
        self._file = file
        self._quotes = 0  # quote characters so far (parity is what matters)
        self._fields = 1  # in the line under way: separators seen + 1
        self._filled = False  # the line under way has a byte other than CR
        self._row = 0  # data rows completed
        self._breaks = 0  # line feeds so far, quoted or not: the file's lines, as an editor's
        self._start = 1  # the file's line the line under way starts on

    def feed(self, data: bytes) -> None:
        if not data:
            return
        array = np.frombuffer(data, dtype=np.uint8)
        separator, line_break = array == self._separator, array == _LF
        every_break = None  # None: every line feed ends a line (no quotes)
        if self._quotes % 2 or b'"' in data:  # the rare path: some bytes may be inside quotes
            is_quote = array == _QUOTE
            outside = (self._quotes + np.cumsum(is_quote)) % 2 == 0
            self._quotes += int(np.count_nonzero(is_quote))
            separator &= outside
            every_break = np.flatnonzero(line_break)
            line_break &= outside
        separators, breaks = np.flatnonzero(separator), np.flatnonzero(line_break)
        starts = np.concatenate(([0], breaks + 1))
        ends = np.concatenate((breaks, [len(array)]))
        # Per line of this block (the last one may go on in the next block): fields and content.
        fields = 1 + np.searchsorted(separators, ends) - np.searchsorted(separators, starts)
        lengths = ends - starts
        lone_cr = lengths == 1
        lone_cr[lone_cr] = array[starts[lone_cr]] == _CR
        filled = (lengths > 0) & ~lone_cr
        fields[0] += self._fields - 1
        filled[0] |= self._filled
        # The file's line each of this block's lines starts on: one after the line feeds before
        # it (those inside quotes too).
        feeds_before = (
            np.arange(1, len(breaks) + 1)
            if every_break is None
            else np.searchsorted(every_break, breaks) + 1
        )
        starts_on = np.concatenate(([self._start], self._breaks + feeds_before + 1))
        self._breaks += len(breaks) if every_break is None else len(every_break)
        self._fields, self._filled = int(fields[-1]), bool(filled[-1])
        self._start = int(starts_on[-1])
        self._lines_ended(fields[:-1], filled[:-1], starts_on[:-1])

    def finish(self) -> None:
        if self._filled:
            self._lines_ended(np.array([self._fields]), np.array([True]), np.array([self._start]))

    def _lines_ended(self, fields: np.ndarray, filled: np.ndarray, starts_on: np.ndarray) -> None:
        skipped = min(self._skip, len(fields))
        self._skip -= skipped
        kept = filled[skipped:]  # blank lines are no rows
        rows, lines = fields[skipped:][kept], starts_on[skipped:][kept]
        wrong = np.flatnonzero(rows != self._width)
        if len(wrong):
            first = int(wrong[0])
            raise _wrong_width(
                self._file, self._row + first + 1, int(rows[first]), self._width, int(lines[first])
            )
        self._lines.record(self._row + 1, lines)
        self._row += len(rows)


class _CheckedReader(io.RawIOBase):
    """Passes bytes through unchanged while checking that they decode as UTF-8 and that every
    row has the header's field count.

    Failing here, rather than inside pandas, lets the error name the byte offset in the file.
    """

    def __init__(
        self, head: bytes, source: BinaryIO, offset: int, file: str, widths: FieldCounter
    ) -> None:
        self._pending = head
        self._source = source
        self._offset = offset  # bytes of the file handed out so far (a skipped BOM counts)
        self._file = file
        self._widths = widths
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._pending[: len(view)] if self._pending else self._source.read(len(view))
        self._pending = self._pending[len(data) :] if self._pending else b""
        self._check(data)
        view[: len(data)] = data
        return len(data)

    def _check(self, data: bytes) -> None:
        if self._done:
            return
        held_back = len(self._decoder.getstate()[0])  # an incomplete sequence from last time
        try:
            self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            start = self._offset - held_back + exc.start
            raise _encoding_failure(self._file, start, exc.object[exc.start : exc.end]) from exc
        self._offset += len(data)
        self._done = not data
        self._widths.feed(data)
        if self._done:
            self._widths.finish()


# --- the rows ---------------------------------------------------------------------------------


def checked_chunks(
    stream: BinaryIO,
    layout: CsvLayout,
    recipe: Recipe,
    *,
    file: str,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Iterator[CheckedChunk]:
    """Parse and check the rows after the header, `chunk_rows` at a time."""
    checker = _ChunkChecker(recipe, layout, file)
    first_row = 1
    try:
        for frame in _read_frames(stream, layout, recipe, chunk_rows):
            if len(frame):
                yield checker.check(frame, first_row)
                first_row += len(frame)
    except pd.errors.ParserError as exc:
        raise _parser_failure(exc, file) from exc
    if first_row == 1:
        raise ValidationFailure("the file has a header but no data rows", file=file)


def _parser_failure(exc: pd.errors.ParserError, file: str) -> ValidationFailure:
    wrong_width = _PANDAS_WIDTH_ERROR.search(str(exc))
    if wrong_width is None:
        return ValidationFailure(f"malformed CSV: {exc}", file=file)
    expected, line, seen = (int(group) for group in wrong_width.groups())
    return _wrong_width(file, line - 1, seen, expected)  # line 1 is the header


def _read_frames(
    stream: BinaryIO, layout: CsvLayout, recipe: Recipe, chunk_rows: int
) -> Iterator[pd.DataFrame]:
    # Columns go by position (`_<index>`): header names may be blank or odd, positions never are.
    # Every column is parsed (no `usecols`): with `usecols` pandas ignores surplus fields in a row.
    categorical = recipe.categorical_columns()
    numeric = recipe.numeric
    if layout.labelled and recipe.target.kind == "regression":
        numeric = (recipe.target.column, *numeric)
    elif layout.labelled:
        categorical = (recipe.target.column, *categorical)
    reader = pd.read_csv(
        stream,
        sep=layout.separator,
        header=None,
        skiprows=layout.lines_before_rows,
        names=[_position(i) for i in range(len(layout.header))],
        # Parsed straight into categories: no Python string per cell, raw values kept for errors.
        dtype={layout.key_of(c): "category" for c in categorical},
        keep_default_na=False,
        na_values={layout.key_of(c): [""] for c in numeric},
        encoding="utf-8",
        chunksize=chunk_rows,
    )
    with reader:
        yield from reader


class _ChunkChecker:
    """Checks one parsed chunk against the recipe and turns it into arrays."""

    def __init__(self, recipe: Recipe, layout: CsvLayout, file: str) -> None:
        self.recipe = recipe
        self.layout = layout
        self.file = file
        target = recipe.target
        self.label_of = {v: target.label_of(v) for v in target.values}
        self.vocab_index = {
            spec.column: {value: code for code, value in enumerate(spec.vocabulary)}
            for spec in recipe.categorical
        }

    def check(self, frame: pd.DataFrame, first_row: int) -> CheckedChunk:
        codes: dict[str, np.ndarray] = {}
        unknown: dict[str, int] = {}
        missing: dict[str, int] = {}
        for column, index in self.vocab_index.items():
            codes[column], count = self.categories(frame, column, index, first_row)
            if count:
                unknown[column] = count
                values = self.column(frame, column)
                empty = int((values.isna() | (values.astype(str).str.strip() == "")).sum())
                if empty:
                    missing[column] = empty
        return CheckedChunk(
            first_row=first_row,
            rows=len(frame),
            labels=self.labels(frame, first_row) if self.layout.labelled else None,
            numeric={c: self.numbers(frame, c, first_row) for c in self.recipe.numeric},
            codes=codes,
            unknown=unknown,
            missing=missing,
        )

    def column(self, frame: pd.DataFrame, column: str) -> pd.Series:
        return frame[self.layout.key_of(column)]

    def labels(self, frame: pd.DataFrame, first_row: int) -> np.ndarray:
        column = self.recipe.target.column
        if self.recipe.target.kind == "regression":
            return self.numbers(frame, column, first_row)
        values = self.column(frame, column)
        labels = _recode(values, self.label_of, missing=-1)
        bad = np.flatnonzero(labels < 0)
        if len(bad):
            allowed = " or ".join(repr(v) for v in self.recipe.target.values)
            raise self.failure(f"the target must be {allowed}", column, first_row, values, bad[0])
        return labels.astype(np.uint8)

    def numbers(self, frame: pd.DataFrame, column: str, first_row: int) -> np.ndarray:
        values = self.column(frame, column)
        kind = values.dtype.kind
        if kind == "i":
            return np.asarray(values.to_numpy(dtype=np.int64))
        if kind in "uf":  # unsigned only when some value does not fit in int64
            numbers = values.to_numpy(dtype=np.float64)
        elif kind == "b":  # pandas read True/False
            numbers = np.full(len(values), np.nan)
        else:  # pandas fell back to text: some value is not a number
            numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(numbers))
        if len(bad):
            raise self.failure(
                "the column is numeric: the value is not a finite number",
                column,
                first_row,
                values,
                bad[0],
            )
        return np.asarray(numbers)

    def categories(
        self, frame: pd.DataFrame, column: str, index: Mapping[str, int], first_row: int
    ) -> tuple[np.ndarray, int]:
        values = self.column(frame, column)
        codes = _recode(values, index, missing=-1)
        outside = np.flatnonzero(codes < 0)
        if not len(outside):
            return codes, 0
        policy = self.recipe.unknown_policy
        if policy == "error":
            raise self.failure(
                "the value is not in the recipe's vocabulary for this column (unknown policy "
                "'error': add it to the vocabulary, or use policy 'other' or 'ignore')",
                column,
                first_row,
                values,
                outside[0],
            )
        if policy == "other":
            codes[outside] = len(index)
        return codes, len(outside)

    def failure(
        self, message: str, column: str, first_row: int, values: pd.Series, position: int
    ) -> ValidationFailure:
        raw = values.iloc[position]
        value = "" if pd.isna(raw) else str(raw)
        if value == "":
            message = "the value is empty (a missing field?)"
        row = first_row + int(position)
        return ValidationFailure(
            message,
            file=self.file,
            column=column,
            row=row,
            value=value,
            line=self.layout.lines.line_of(row),
        )


def _recode(values: pd.Series, mapping: Mapping[str, int], missing: int) -> np.ndarray:
    """Map each value through `mapping` (absent -> `missing`), working on the few categories."""
    categorical = values.astype("category") if values.dtype != "category" else values
    per_category = [mapping.get(str(c), missing) for c in categorical.cat.categories]
    lookup = np.array([*per_category, missing], dtype=np.int32)  # code -1 (NaN) hits the last
    return np.asarray(lookup[categorical.cat.codes.to_numpy()])
