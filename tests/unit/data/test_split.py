"""The streaming split: exact sizes, deterministic, disjoint and complete, container formats."""

from __future__ import annotations

import io
from fractions import Fraction

import numpy as np
import pytest

from handlers.data.split import SplitStats, split_csv
from handlers.recipe.model import SplitSpec
from service.failures import PermanentError

SPEC = SplitSpec(Fraction(7, 10), Fraction(2, 10), Fraction(1, 10), seed=1729)
HEADER = b"y,id,f\n"


def processed(rows: int) -> bytes:
    """Label-first rows whose second field identifies them; every third row is positive."""
    return HEADER + b"".join(b"%d,%d,0.5\n" % (int(i % 3 == 0), i) for i in range(rows))


def split(
    data: bytes, rows: int, spec: SplitSpec = SPEC, chunk_rows: int = 7
) -> tuple[dict[str, bytes], SplitStats]:
    sinks = {name: io.BytesIO() for name in ("train", "validation", "test")}
    stats = split_csv(
        io.BytesIO(data), *sinks.values(), rows=rows, spec=spec, file="p.csv", chunk_rows=chunk_rows
    )
    return {name: sink.getvalue() for name, sink in sinks.items()}, stats


def ids(part: bytes) -> list[int]:
    return [int(line.split(b",")[1]) for line in part.splitlines()]


@pytest.mark.parametrize("rows", [10, 11, 97, 1000])
@pytest.mark.parametrize("chunk_rows", [1, 7, 5000])
def test_exact_sizes_disjoint_and_complete(rows: int, chunk_rows: int) -> None:
    parts, stats = split(processed(rows), rows, chunk_rows=chunk_rows)
    train, validation, test = ids(parts["train"]), ids(parts["validation"]), ids(parts["test"][7:])
    assert (len(train), len(validation), len(test)) == SPEC.sizes(rows)
    assert stats.rows == dict(zip(("train", "validation", "test"), SPEC.sizes(rows), strict=True))
    everything = train + validation + test
    assert sorted(everything) == list(range(rows))
    for part in (train, validation, test):
        assert part == sorted(part), "rows keep their file order within a part"


def test_formats_for_the_xgboost_container() -> None:
    parts, _ = split(processed(50), 50)
    assert parts["test"].startswith(HEADER)
    assert not parts["train"].startswith(b"y,")
    assert not parts["validation"].startswith(b"y,")
    for line in parts["train"].splitlines() + parts["validation"].splitlines():
        assert line.split(b",")[0] in (b"0", b"1")


def test_positives_are_counted_per_part() -> None:
    parts, stats = split(processed(100), 100)
    for name in ("train", "validation", "test"):
        assert stats.positives[name] == sum(
            line.startswith(b"1,") for line in parts[name].splitlines()
        )
    assert sum(stats.positives.values()) == 34


def test_deterministic_for_a_seed() -> None:
    data = processed(500)
    assert split(data, 500) == split(data, 500)
    other_seed = SplitSpec(SPEC.train, SPEC.validation, SPEC.test, seed=1730)
    assert split(data, 500, other_seed)[0] != split(data, 500)[0]


def test_every_row_is_equally_likely_in_each_part() -> None:
    rows, runs = 20, 400
    in_train = np.zeros(rows)
    for seed in range(runs):
        spec = SplitSpec(SPEC.train, SPEC.validation, SPEC.test, seed=seed)
        parts, _ = split(processed(rows), rows, spec, chunk_rows=6)
        in_train[ids(parts["train"])] += 1
    assert np.all(np.abs(in_train / runs - 0.7) < 0.1), in_train / runs


def test_last_line_without_line_break() -> None:
    parts, stats = split(processed(10).rstrip(b"\n"), 10)
    assert sum(stats.rows.values()) == 10
    assert all(part.endswith(b"\n") for part in parts.values())


@pytest.mark.parametrize(("announced", "relation"), [(9, "more"), (11, "fewer")])
def test_row_count_must_match_the_stats(announced: int, relation: str) -> None:
    with pytest.raises(
        PermanentError, match=f"p.csv has {relation} data rows than the {announced}"
    ):
        split(processed(10), announced)


def test_too_few_rows_to_split() -> None:
    with pytest.raises(PermanentError, match="too few to split"):
        split(processed(3), 3)


# -- stratified -------------------------------------------------------------------------------

STRATIFIED = SplitSpec(Fraction(7, 10), Fraction(2, 10), Fraction(1, 10), seed=1729, stratify=True)


@pytest.mark.parametrize("rows", [30, 97, 1000])
@pytest.mark.parametrize("chunk_rows", [1, 7, 5000])
def test_a_stratified_split_gives_each_class_its_exact_sizes(rows: int, chunk_rows: int) -> None:
    parts, stats = split(processed(rows), rows, spec=STRATIFIED, chunk_rows=chunk_rows)
    positives = len(range(0, rows, 3))
    expected = {
        "1": STRATIFIED.sizes(positives),
        "0": STRATIFIED.sizes(rows - positives),
    }
    for index, part in enumerate(("train", "validation", "test")):
        assert stats.labels[part] == {label: sizes[index] for label, sizes in expected.items()}
    train, validation = ids(parts["train"]), ids(parts["validation"])
    test = ids(parts["test"][len(HEADER) :])
    assert sorted(train + validation + test) == list(range(rows))


def test_a_stratified_split_is_deterministic_and_depends_on_the_seed() -> None:
    first, _ = split(processed(200), 200, spec=STRATIFIED)
    again, _ = split(processed(200), 200, spec=STRATIFIED)
    other, _ = split(
        processed(200),
        200,
        spec=SplitSpec(
            STRATIFIED.train, STRATIFIED.validation, STRATIFIED.test, seed=1, stratify=True
        ),
    )
    assert first == again
    assert first != other


def test_test_rows_that_repeat_training_rows_are_counted() -> None:
    rows = [b"%d,%d,0.5\n" % (i % 2, i % 5) for i in range(100)]  # five distinct feature rows
    _, stats = split(HEADER + b"".join(rows), 100)
    assert stats.rows["test"] == 10
    assert stats.test_rows_in_train == 10  # every test row is some training row's copy
    assert stats.test_overlap == 1.0
    _, distinct = split(processed(100), 100)
    assert distinct.test_rows_in_train == 0


def test_the_ratios_read_as_written() -> None:
    assert SPEC.ratios == "train 0.7, validation 0.2, test 0.1"


@pytest.mark.parametrize("chunk_rows", [1, 7, 5000])
def test_the_split_says_where_its_test_rows_are(chunk_rows: int) -> None:
    parts, stats = split(processed(97), 97, chunk_rows=chunk_rows)
    assert stats.test_positions.tolist() == ids(parts["test"][len(HEADER) :])
    assert "test_positions" not in stats.to_dict()
