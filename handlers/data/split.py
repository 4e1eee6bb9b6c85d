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

Outputs follow the XGBoost container's format (docs/architecture.md §5): train and validation are
label-first CSV without a header; test keeps the header and the label, for evaluation. The
split also says where the test rows are, so that their raw form (raw_rows.py) can be kept beside.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np

from handlers.recipe.model import SplitSpec
from service.failures import PermanentError

PARTS = ("train", "validation", "test")
DEFAULT_CHUNK_ROWS = 100_000


@dataclass
class SplitStats:
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PARTS, 0))
    # part -> label (as written in the processed file) -> rows
    labels: dict[str, dict[str, int]] = field(default_factory=lambda: {p: {} for p in PARTS})
    test_rows_in_train: int = 0  # test rows whose features are also a train row's
    # Where the test rows are in the file (0-based data rows, ascending): to find their raw form.
    test_positions: np.ndarray = field(
        default_factory=lambda: np.empty(0, dtype=np.int64), compare=False, repr=False
    )

    @property
    def positives(self) -> dict[str, int]:
        return {part: self.labels[part].get("1", 0) for part in PARTS}

    @property
    def test_overlap(self) -> float:
        return self.test_rows_in_train / self.rows["test"] if self.rows["test"] else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": dict(self.rows),
            "labels": {part: dict(sorted(counts.items())) for part, counts in self.labels.items()},
            "test_rows_in_train": self.test_rows_in_train,
            "test_overlap": round(self.test_overlap, 4),
        }


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
    because the part sizes are fixed before the first row is read. A stratified split reads the
    labels in a first pass (`source` must then be seekable) and gives each class its exact sizes.
    """
    sizes = spec.sizes(rows)
    if min(sizes) == 0:
        raise PermanentError(
            f"{file}: {rows} rows are too few to split {spec.ratios} (part sizes {sizes}); "
            "every part needs at least one row"
        )
    header = source.readline()
    test.write(header)
    draw = _Stratified(spec, _label_counts(source)) if spec.stratify else _Plain(spec, sizes)
    sinks = (train, validation, test)
    stats = SplitStats()
    features: dict[str, list[np.ndarray]] = {"train": [], "test": []}
    test_positions: list[np.ndarray] = []
    first = 0
    for lines in _chunks(source, chunk_rows):
        if len(lines) > draw.left():
            raise _row_count_mismatch(file, rows, more=True)
        parts = draw.parts(lines)
        test_positions.append(first + np.flatnonzero(parts == PARTS.index("test")))
        first += len(lines)
        for index, (name, sink) in enumerate(zip(PARTS, sinks, strict=True)):
            chosen = list(itertools.compress(lines, parts == index))
            sink.write(b"".join(chosen))
            _count(stats, name, chosen, spec.classes)
            if name in features:
                features[name].append(_feature_hashes(chosen))
    if draw.left():
        raise _row_count_mismatch(file, rows, more=False)
    stats.test_rows_in_train = _overlap(features["train"], features["test"])
    stats.test_positions = np.concatenate(test_positions).astype(np.int64)
    return stats


def _chunks(source: BinaryIO, chunk_rows: int) -> Iterator[list[bytes]]:
    while lines := list(itertools.islice(source, chunk_rows)):
        if not lines[-1].endswith(b"\n"):  # the file's last line may lack its line break
            lines[-1] += b"\n"
        yield lines


def _label(line: bytes) -> bytes:
    return line.split(b",", 1)[0]


def _label_counts(source: BinaryIO) -> dict[bytes, int]:
    """How many rows each label has (a pass over the rows), leaving `source` where it was."""
    start = source.tell()
    counts: dict[bytes, int] = {}
    for line in source:
        if line.strip():
            label = _label(line)
            counts[label] = counts.get(label, 0) + 1
    source.seek(start)
    return counts


def _count(stats: SplitStats, part: str, lines: list[bytes], classes: bool) -> None:
    stats.rows[part] += len(lines)
    if not classes:
        return
    counts = stats.labels[part]
    for line in lines:
        label = _label(line).decode()
        counts[label] = counts.get(label, 0) + 1


def _feature_hashes(lines: list[bytes]) -> np.ndarray:
    """A hash of each row's features (all but the label): equal rows, equal hashes."""
    return np.fromiter(
        (hash(line[line.find(b",") + 1 :].rstrip(b"\r\n")) for line in lines),
        dtype=np.int64,
        count=len(lines),
    )


def _overlap(train: list[np.ndarray], test: list[np.ndarray]) -> int:
    """Test rows whose features are also some train row's."""
    if not train or not test:
        return 0
    return int(np.isin(np.concatenate(test), np.unique(np.concatenate(train))).sum())


class _Plain:
    """Every assignment of the rows to parts of the exact sizes is equally likely."""

    def __init__(self, spec: SplitSpec, sizes: tuple[int, int, int]) -> None:
        self._rng = np.random.default_rng(spec.seed)
        self._remaining = np.array(sizes, dtype=np.int64)

    def left(self) -> int:
        return int(self._remaining.sum())

    def parts(self, lines: list[bytes]) -> np.ndarray:
        return _draw_parts(self._rng, self._remaining, len(lines))


class _Stratified:
    """Each label's rows are split as a plain split of their own, with that label's sizes."""

    def __init__(self, spec: SplitSpec, counts: dict[bytes, int]) -> None:
        self._rng = np.random.default_rng(spec.seed)
        self._remaining = {
            label: np.array(spec.sizes(count), dtype=np.int64)
            for label, count in sorted(counts.items())
        }

    def left(self) -> int:
        return int(sum(r.sum() for r in self._remaining.values()))

    def parts(self, lines: list[bytes]) -> np.ndarray:
        labels = np.array([_label(line) for line in lines], dtype=object)
        parts = np.empty(len(lines), dtype=np.int64)
        for label, remaining in self._remaining.items():
            rows = np.flatnonzero(labels == label)
            if len(rows) > remaining.sum():
                raise PermanentError(f"label {label.decode()!r} has more rows than counted")
            parts[rows] = _draw_parts(self._rng, remaining, len(rows))
        return parts


def _draw_parts(rng: np.random.Generator, remaining: np.ndarray, count: int) -> np.ndarray:
    """Part index (0 train, 1 validation, 2 test) of each of the next `count` rows."""
    taken = rng.multivariate_hypergeometric(remaining, count)
    remaining -= taken
    labels = np.repeat(np.arange(len(PARTS)), taken)
    return rng.permutation(labels)


def _row_count_mismatch(file: str, rows: int, *, more: bool) -> PermanentError:
    relation = "more" if more else "fewer"
    return PermanentError(f"{file} has {relation} data rows than the {rows} its stats announced")
