"""A file's good rows kept and its bad ones set aside, each with the reason validation gives.

For scoring by upload with `[scoring] bad_rows = "skip"`: the good rows go to a plain CSV (the
file's header, every cell as read) that is then scored; the bad ones to `<name>.rejected.csv`
with their row number in the file and the reason. A problem of the whole file (no header, a
missing column, a ragged row, bytes that are not UTF-8) still refuses it.

Rows are checked a block at a time with the one encoder (or, for a labelled file, validation
with its labels); when a block fails, the row validation names is set aside and the rest of
the block checked again, so a file with few bad rows costs little more than one pass.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import BinaryIO

from handlers.data.dialect import csv_lines
from handlers.data.features import encode_features
from handlers.data.raw_rows import raw_frames
from handlers.data.validation import (
    DEFAULT_CHUNK_ROWS,
    ValidationFailure,
    open_csv,
    validate_csv,
)
from handlers.recipe.model import Recipe

BLOCK_ROWS = 1_000
MOST_SET_ASIDE = 1_000
MOST_SET_ASIDE_SHARE = 0.1


@dataclass(frozen=True)
class SetAside:
    good: int
    rejected: int
    labelled: bool  # the file has the label column (its labels were checked too)


def set_aside(
    source: BinaryIO,
    recipe: Recipe,
    good: BinaryIO,
    rejected: BinaryIO,
    *,
    file: str,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    block_rows: int = BLOCK_ROWS,
) -> SetAside:
    layout, stream = open_csv(source, recipe, file=file, labelled=False)
    header = list(layout.header)
    labelled = recipe.target.column in header
    good.write(csv_lines([header]))
    rejected.write(csv_lines([["row", *header, "reason"]]))
    kept = refused = 0
    first = 1
    for frame in raw_frames(stream, layout, chunk_rows):
        rows: list[list[str]] = frame.to_numpy(dtype=object).tolist()
        for start in range(0, len(rows), block_rows):
            block = rows[start : start + block_rows]
            reasons = _bad_rows(header, block, recipe, labelled, file)
            good.write(csv_lines(row for i, row in enumerate(block) if i not in reasons))
            rejected.write(
                csv_lines(
                    [str(first + start + i), *block[i], reason]
                    for i, reason in sorted(reasons.items())
                )
            )
            kept += len(block) - len(reasons)
            refused += len(reasons)
            _check_share(kept, refused, file)
        first += len(rows)
    return SetAside(kept, refused, labelled)


def _check_share(kept: int, refused: int, file: str) -> None:
    """Setting rows aside is for a few bad rows; a file mostly bad is likely the wrong file (and
    checking it row by row would take long): it is refused."""
    if refused > MOST_SET_ASIDE and refused > (kept + refused) * MOST_SET_ASIDE_SHARE:
        raise ValidationFailure(
            f"{refused} of its first {kept + refused} rows are bad: more than "
            f"{MOST_SET_ASIDE_SHARE:.0%} of them, so the file is refused (is it the right file?)",
            file=file,
        )


def _bad_rows(
    header: list[str], block: list[list[str]], recipe: Recipe, labelled: bool, file: str
) -> dict[int, str]:
    """{index in block: reason} for every row validation refuses."""
    reasons: dict[int, str] = {}
    while True:
        remaining = [i for i in range(len(block)) if i not in reasons]
        if not remaining:
            return reasons
        body = csv_lines([header, *(block[i] for i in remaining)])
        try:
            _check(body, recipe, labelled, file)
        except ValidationFailure as bad:
            if bad.row is None:
                raise  # about the whole file, not a row
            reasons[remaining[bad.row - 1]] = _reason(bad)
        else:
            return reasons


def _check(body: bytes, recipe: Recipe, labelled: bool, file: str) -> None:
    if labelled:
        validate_csv(io.BytesIO(body), recipe, file=file)
    else:
        for _ in encode_features(io.BytesIO(body), recipe, file=file):
            pass


def _reason(bad: ValidationFailure) -> str:
    where = [f"column {bad.column!r}"] if bad.column else []
    if bad.value is not None:
        where.append(f"value {bad.value!r}")
    return f"{', '.join(where)}: {bad.message}" if where else bad.message
