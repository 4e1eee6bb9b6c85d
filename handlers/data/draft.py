"""`automlops recipe draft FILE.csv`: a recipe inferred from a file, read once, as a stream.

Each column is numeric (every cell a finite number), categorical (at most `MAX_VOCABULARY`
distinct values, listed sorted), or dropped with a comment saying why: an identifier (a value
per row), the same value everywhere, a numeric column with empty cells, a name the output CSV
cannot carry. The target is `--target`, else a column named like one (`y`, `target`, `label`,
`class`, `outcome`), else the last two-valued column. Its kind comes from its values (or
`--kind`): two values are binary; numbers with fractions or more than `MAX_INTEGER_CLASSES`
distinct values are a regression target; otherwise the values are classes (multiclass). Memory
stays bounded: at most `MAX_VOCABULARY + 1` distinct values are kept per column.

The draft is checked with the worker's own recipe validation before it is returned.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from handlers.data import dialect
from handlers.data.lines import where
from handlers.recipe.kinds import TASK_KINDS, Kind
from handlers.recipe.model import MAX_CLASSES, Recipe
from handlers.recipe.reader import read_recipe
from service.failures import PermanentError

MAX_VOCABULARY = 100
# Whole numbers with at most this many distinct values are taken as classes (ratings, codes);
# more are amounts, a regression target.
MAX_INTEGER_CLASSES = 20
# At least this many rows before "a value per row" marks an identifier rather than a tiny file.
IDENTIFIER_MIN_ROWS = 50
TARGET_NAMES = ("y", "target", "label", "class", "outcome")
POSITIVE_NAMES = ("yes", "1", "true", "y", "positive", "1.0")
_UNSAFE = re.compile(r'[,"\r\n]')
# Dates as exports write them: 2024-03-01, 2024/03/01, 01/03/2024, 1.3.24 (a time may follow).
_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")
TARGET_HINT = "pass --target COLUMN (TARGET=COLUMN with make demo)"


class DraftError(PermanentError):
    """The file cannot be drafted as asked (the message says what to pass or change)."""


@dataclass
class ColumnStats:
    name: str
    filled: int = 0
    empty: int = 0
    numeric: bool = True
    integral: bool = True
    values: Counter[str] = field(default_factory=Counter)
    overflowed: bool = False  # more distinct values than are kept
    sequential: bool = True  # whole numbers, each one more than the one before (a row number)
    dates: bool = True  # every value starts like a date
    unsafe_value: str | None = None  # a value the processed CSV's column names cannot carry
    _last: float | None = None

    def add(self, cell: str) -> None:
        text = cell.strip()
        if not text:
            self.empty += 1
            return
        self.filled += 1
        self.dates = self.dates and _DATE.match(text) is not None
        if self.unsafe_value is None and _UNSAFE.search(cell):
            self.unsafe_value = cell
        if self.numeric:
            number = _number(text)
            if number is None:
                self.numeric = False
            elif not number.is_integer():
                self.integral = False
            self.sequential = self.sequential and (
                number is not None and (self._last is None or number == self._last + 1)
            )
            self._last = number
        if not self.overflowed:
            self.values[cell] += 1
            self.overflowed = len(self.values) > MAX_VOCABULARY

    @property
    def distinct(self) -> int:
        return len(self.values)

    def looks_like_identifier(self) -> bool:
        one_per_row = not self.overflowed and self.distinct == self.filled
        many = self.filled >= IDENTIFIER_MIN_ROWS
        if self.numeric:  # a number is an identifier if named like one (`id`, `user_id`), or
            # if it counts the rows (1, 2, 3...: it says where a row is, nothing about it)
            named = bool(re.search(r"id$", self.name, re.I))
            counts_rows = self.sequential and not self.empty
            return (
                many
                and self.integral
                and (counts_rows or (named and (one_per_row or self.overflowed)))
            )
        return self.overflowed or (many and one_per_row)


@dataclass(frozen=True)
class Draft:
    text: str
    recipe: Recipe
    rows: int
    # What a person must know before running it (a guessed target, a date left out...): said
    # in the output, not only in the recipe's comments.
    notes: tuple[str, ...] = ()


def draft_recipe(
    source: BinaryIO, *, file: str, dataset: str, target: str | None, kind: Kind | None = None
) -> Draft:
    columns, rows = profile(source, file)
    chosen = _target(columns, target, file)
    notes = [] if target is not None else [_guessed(chosen, columns)]
    task = kind or infer_kind(chosen)
    _check_target(chosen, task, file)
    others = [c for c in columns if c is not chosen]
    text = _render(dataset, file, rows, _TargetDraft(chosen, task), others)
    recipe = read_recipe(text.encode(), source=f"draft of {file}")
    notes += [note for column in others if (note := _left_out(column))]
    return Draft(text, recipe, rows, tuple(notes))


def _guessed(chosen: ColumnStats, columns: list[ColumnStats]) -> str:
    """The guessed target, why, and the other columns it could have been."""
    if chosen.name.lower() in TARGET_NAMES:
        why = "its name says so"
        others = [c.name for c in columns if c.name.lower() in TARGET_NAMES and c is not chosen]
    else:
        why = "the last column with two values"
        others = [c.name for c in columns if c.distinct == 2 and not c.empty and c is not chosen]
    also = f"; other candidates: {', '.join(others)}" if others else ""
    return f"target guessed: {chosen.name!r} ({why}{also}); if it is not, {TARGET_HINT}"


def _left_out(column: ColumnStats) -> str | None:
    """What a person would not expect to lose, said out loud."""
    why = _why_dropped(column)
    if why is None:
        return None
    if column.dates and column.filled:
        return (
            f"{column.name!r} looks like a date and is left out ({why}): derive what matters "
            "(month, weekday) in the file"
        )
    if column.numeric and column.sequential and column.looks_like_identifier():
        return f"{column.name!r} counts the rows (1, 2, 3...) and is left out as an identifier"
    if column.unsafe_value is not None and not column.numeric:
        return f"{column.name!r} is left out: {why}"
    return None


def profile(source: BinaryIO, file: str) -> tuple[list[ColumnStats], int]:
    """One pass over the file: each column's statistics and the number of rows."""
    reader = _rows(source, file)
    _, header = next(reader, (0, []))
    if not header:
        raise DraftError(f"{file}: no header row")
    names = [name.strip().lstrip("\ufeff") for name in header]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DraftError(f"{file}: the header names {repeated} more than once")
    columns = [ColumnStats(name) for name in names]
    rows = 0
    for line, row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            raise DraftError(
                f"{file}, {where(rows + 1, line)}: {len(row)} fields, the header has {len(columns)}"
            )
        rows += 1
        for column, cell in zip(columns, row, strict=True):
            column.add(cell)
    if rows == 0:
        raise DraftError(f"{file}: a header but no rows")
    return columns, rows


def read_header(source: BinaryIO, file: str) -> list[str]:
    """The header's column names, as `profile` reads them."""
    _, header = next(_rows(source, file), (0, []))
    if not header:
        raise DraftError(f"{file}: no header row")
    return [name.strip().lstrip("\ufeff") for name in header]


def _rows(source: BinaryIO, file: str) -> Iterator[tuple[int, list[str]]]:
    """Each record with the line of the file it starts on (a quoted field may span lines)."""
    text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
    try:
        first = text.readline()
        hinted = dialect.excel_separator(first)
        lines_before = 0
        if hinted is not None:  # Excel's `sep=;` line: the header is the next line
            first, lines_before = text.readline(), 1
        separator, _ = dialect.sniff(first.rstrip("\r\n"), hinted=hinted)
        reader = csv.reader(_chain(first, text), delimiter=separator)
        ended = 0
        for row in reader:
            yield lines_before + ended + 1, row
            ended = reader.line_num
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DraftError(f"{file}: not a readable CSV file: {exc}") from exc
    finally:
        # The caller may close the source before it closes this generator: then there is
        # nothing left to hand back.
        with contextlib.suppress(ValueError):
            text.detach()


def _chain(first: str, rest: io.TextIOWrapper) -> Iterator[str]:
    yield first
    yield from rest


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _target(columns: list[ColumnStats], wanted: str | None, file: str) -> ColumnStats:
    by_name = {c.name: c for c in columns}
    if wanted is not None:
        if wanted not in by_name:
            raise DraftError(f"{file}: no column {wanted!r} (columns: {list(by_name)})")
        chosen = by_name[wanted]
    else:
        named = [c for c in columns if c.name.lower() in TARGET_NAMES]
        two_valued = [c for c in columns if c.distinct == 2 and not c.empty]
        if not (named or two_valued):
            raise DraftError(f"{file}: which column is the target? {TARGET_HINT}")
        chosen = (named or two_valued)[-1]
    if chosen.empty:
        raise DraftError(f"{file}: the target {chosen.name!r} is empty in {chosen.empty} rows")
    return chosen


def infer_kind(target: ColumnStats) -> Kind:
    """binary for two values; regression for numbers that are not a few whole ones; else
    multiclass (the check that follows says when that cannot be)."""
    if target.distinct == 2 and not target.overflowed:
        return "binary"
    few_whole = target.integral and not target.overflowed
    if target.numeric and not (few_whole and target.distinct <= MAX_INTEGER_CLASSES):
        return "regression"
    return "multiclass"


def _check_target(target: ColumnStats, kind: Kind, file: str) -> None:
    name, count = target.name, f"{target.distinct}{'+' if target.overflowed else ''}"
    if kind == "regression" and not target.numeric:
        raise DraftError(f"{file}: the target {name!r} is not numeric: it cannot be regression")
    if kind == "binary" and target.distinct != 2:
        raise DraftError(f"{file}: the target {name!r} has {count} values, a binary one has 2")
    if kind == "multiclass" and not 3 <= target.distinct <= MAX_CLASSES:
        raise DraftError(
            f"{file}: the target {name!r} has {count} distinct values: a multiclass target has "
            f"3 to {MAX_CLASSES}; {TARGET_HINT} for another column"
            + (" or --kind regression" if target.numeric else "")
        )


@dataclass(frozen=True)
class _TargetDraft:
    column: ColumnStats
    kind: Kind

    def lines(self, rows: int) -> list[str]:
        column = self.column
        lines = ["[target]", f"column = {_quoted(column.name)}", f"kind = {_quoted(self.kind)}"]
        if self.kind == "regression":
            return lines
        if self.kind == "binary":
            positive = _positive(column)
            lines.append(
                f"positive = {_quoted(positive)}  # {column.values[positive]:,} of {rows:,} rows"
            )
        else:
            lines.append(
                "# The classes, in label order; rows per class: "
                + ", ".join(f"{_comment(v)} {column.values[v]:,}" for v in sorted(column.values))
            )
            if column.numeric:
                lines.append(
                    "# Whole numbers with few values, taken as classes: if they are amounts, set "
                    'kind = "regression" and remove `values`.'
                )
        lines.append(f"values = {_list(sorted(column.values))}")
        return lines


def _positive(target: ColumnStats) -> str:
    values = sorted(target.values)
    for value in values:
        if value.strip().lower() in POSITIVE_NAMES:
            return value
    return min(values, key=lambda v: (target.values[v], v))  # the rarer class


def _render(
    dataset: str, file: str, rows: int, target: _TargetDraft, others: list[ColumnStats]
) -> str:
    numeric, categorical, dropped = _roles(others)
    lines = [
        f"# Drafted from {_comment(file)} ({rows:,} rows) by `automlops recipe draft`. Check the",
        "# column roles, then put it at s3://<raw bucket>/recipes/<dataset>.toml.",
        "",
        f"name = {_quoted(dataset)}",
        f"description = {_quoted(f'Drafted from {file}')}",
        "",
        *target.lines(rows),
        "",
        "[columns]",
        f"numeric = {_list([c.name for c in numeric])}",
    ]
    for column, why in dropped:
        lines.append(f"# {_comment(column.name)}: dropped, {why}")
    lines.append(f"drop = {_list([c.name for c, _ in dropped])}")
    lines += [
        "",
        "[categorical]",
        "# A value outside a vocabulary (or an empty cell) becomes the column's `other` category.",
        'unknown = "other"',
        "",
        "[categorical.columns]",
    ]
    lines += [f"{_quoted(c.name)} = {_list(sorted(c.values))}" for c in categorical]
    lines += _fixed_sections(target.kind)
    return "\n".join(lines) + "\n"


def _roles(
    columns: list[ColumnStats],
) -> tuple[list[ColumnStats], list[ColumnStats], list[tuple[ColumnStats, str]]]:
    numeric: list[ColumnStats] = []
    categorical: list[ColumnStats] = []
    dropped: list[tuple[ColumnStats, str]] = []
    for column in columns:
        why = _why_dropped(column)
        if why:
            dropped.append((column, why))
        elif column.numeric:
            numeric.append(column)
        else:
            categorical.append(column)
    return numeric, categorical, dropped


def _why_dropped(column: ColumnStats) -> str | None:
    if _UNSAFE.search(column.name) or not column.name:
        return "its name cannot be a column of the processed CSV (a comma, quote or newline)"
    if column.filled == 0:
        return "it is empty in every row"
    if (
        column.unsafe_value is not None
        and not column.numeric
        and not column.looks_like_identifier()
    ):
        return (
            f"a value holds a comma, quote or line break ({column.unsafe_value!r}), which the "
            "processed CSV's column names cannot carry: take them out of the values to use it"
        )
    if column.looks_like_identifier():
        shown = f"more than {MAX_VOCABULARY}" if column.overflowed else f"{column.distinct:,}"
        return f"it looks like an identifier ({shown} distinct values in {column.filled:,} rows)"
    if column.distinct == 1 and not column.empty:
        return "it has the same value in every row"
    if column.numeric and column.empty:
        return f"it is numeric but empty in {column.empty:,} rows (the model needs a number)"
    return None


# A floor any useful model reaches: better than a coin (AUC), better than the mean (R²).
_FLOORS: dict[Kind, str] = {
    "binary": "{ roc_auc = 0.5 }  # no worse than a coin",
    "multiclass": "{ roc_auc_ovr = 0.5 }  # no worse than a coin, class by class",
    "regression": "{ r2 = 0.0 }  # no worse than predicting the mean",
}


def _fixed_sections(kind: Kind) -> list[str]:
    task = TASK_KINDS[kind]
    lines = ["", "[split]", "train = 0.7", "validation = 0.2", "test = 0.1", "seed = 1729"]
    if task.classification:
        lines.append("stratify = true  # each class keeps its share in every part")
    lines += [
        "",
        "# Passed to CreateTrainingJob as HyperParameters.",
        "[xgboost]",
        'max_depth = "5"',
        'eta = "0.2"',
        'gamma = "4"',
        'min_child_weight = "6"',
        'subsample = "0.8"',
        f"objective = {_quoted(task.default_objective)}",
    ]
    if kind == "multiclass":
        lines.append("# num_class is derived from target.values.")
    lines.append('num_round = "100"')
    if kind == "binary":
        lines += ["", "[evaluation]", "threshold = 0.5"]
    direction = "higher" if task.metrics[task.default_metric] else "lower"
    lines += [
        "",
        "# Each upload must reach the floors and beat the live model on its own test rows.",
        "[promotion]",
        f"metric = {_quoted(task.default_metric)}  # {direction} is better",
        f"floors = {_FLOORS[kind]}",
        "min_improvement = 0.0",
        'mode = "auto"',
        "keep_versions = 3",
        "# Promote only when the gain holds at the low end of its 95% bootstrap interval (paired,",
        '# on the same rows): a gain inside the noise does not replace the champion. "point" lets',
        "# the point estimate decide.",
        'require = "confident"',
    ]
    return lines


def _quoted(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _list(items: list[str]) -> str:
    return "[" + ", ".join(_quoted(item) for item in items) + "]"


def _comment(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)


def dataset_name(file_name: str) -> str:
    """A dataset name from a file name: `Bank Additional (1).csv` -> `bank-additional-1`."""
    stem = file_name.rsplit("/", 1)[-1].split(".", 1)[0].lower()
    return re.sub(r"[^a-z0-9]+", "-", stem).strip("-") or "dataset"
