"""Seeded, streaming train/validation/test split with exact part sizes.

The original pipeline shuffled the whole frame with seed 1729 and cut it at 70% and 90%. This
split keeps the same seed, the same ratios and the same exact sizes (floor(0.7·N) and
floor(0.9·N) as cut points); it differs only in how the random permutation is drawn, so that it
can run chunk by chunk with flat memory:

* for each chunk, `Generator(seed).multivariate_hypergeometric(remaining, len(chunk))` draws how
  many of the chunk's rows go to each part, given how many places each part still has;
* a random permutation of those part labels assigns them to the chunk's rows.

Every assignment of N rows to parts of the exact sizes is equally likely, as with a whole-frame
shuffle; rows keep their file order within a part. The result depends only on the seed, the
input and `chunk_rows`.

Outputs follow the XGBoost container's format (DESIGN.md §5): train and validation are
label-first CSV without a header; test keeps the header and the label, for evaluation.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np

from handlers.recipe import SplitSpec
from service.errors import PermanentError

PARTS = ("train", "validation", "test")
DEFAULT_CHUNK_ROWS = 100_000


@dataclass
class SplitStats:
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PARTS, 0))
    positives: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PARTS, 0))

    def to_dict(self) -> dict[str, Any]:
        return {"rows": dict(self.rows), "positives": dict(self.positives)}


def split_csv(
    source: BinaryIO,
    train: BinaryIO,
    validation: BinaryIO,
    test: BinaryIO,
    *,
    rows: int,
    spec: SplitSpec,
    file: str = "processed.csv",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> SplitStats:
    """Split the processed CSV in `source` (header, label first, `rows` data rows).

    `rows` comes from the preprocess stats; a file with a different number of rows is an error,
    because the part sizes are fixed before the first row is read.
    """
    sizes = spec.sizes(rows)
    if min(sizes) == 0:
        raise PermanentError(
            f"{file}: {rows} rows are too few to split {spec.train}/{spec.validation}/{spec.test}"
            f" (part sizes {sizes}); every part needs at least one row"
        )
    header = source.readline()
    test.write(header)
    sinks = (train, validation, test)
    rng = np.random.default_rng(spec.seed)
    remaining = np.array(sizes, dtype=np.int64)
    stats = SplitStats()
    while True:
        lines = list(itertools.islice(source, chunk_rows))
        if not lines:
            break
        if not lines[-1].endswith(b"\n"):  # the file's last line may lack its line break
            lines[-1] += b"\n"
        if len(lines) > remaining.sum():
            raise _row_count_mismatch(file, rows, more=True)
        parts = _draw_parts(rng, remaining, len(lines))
        for index, (name, sink) in enumerate(zip(PARTS, sinks, strict=True)):
            chosen = list(itertools.compress(lines, parts == index))
            sink.write(b"".join(chosen))
            stats.rows[name] += len(chosen)
            stats.positives[name] += sum(line.startswith(b"1,") for line in chosen)
    if remaining.sum():
        raise _row_count_mismatch(file, rows, more=False)
    return stats


def _draw_parts(rng: np.random.Generator, remaining: np.ndarray, count: int) -> np.ndarray:
    """Part index (0 train, 1 validation, 2 test) of each of the next `count` rows."""
    taken = rng.multivariate_hypergeometric(remaining, count)
    remaining -= taken
    labels = np.repeat(np.arange(len(PARTS)), taken)
    return rng.permutation(labels)


def _row_count_mismatch(file: str, rows: int, *, more: bool) -> PermanentError:
    relation = "more" if more else "fewer"
    return PermanentError(f"{file} has {relation} data rows than the {rows} its stats announced")
