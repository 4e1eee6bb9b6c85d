"""Scoring batches: within the limit, in label order, clear errors; ordered parallel calls."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from handlers.evaluation.scoring import Batch, batches, score_batches, score_file
from service.failures import PermanentError


def rows(count: int, seed: int = 7) -> list[bytes]:
    """Label-first lines of varied lengths; the first feature is the row's index."""
    rng = random.Random(seed)
    lines = []
    for index in range(count):
        padding = ",".join("1" for _ in range(rng.randint(0, 30)))
        lines.append(b"%d,%d,%s\n" % (index % 2, index, padding.encode()))
    return lines


def features(line: bytes) -> bytes:
    return line.rstrip(b"\r\n").partition(b",")[2] + b"\n"


def score_of_row(row: bytes) -> float:
    """A fake model: the score is the row's index (its first feature)."""
    return float(row.split(b",")[0])


def fake_invoke(body: bytes) -> np.ndarray:
    return np.array([score_of_row(row) for row in body.splitlines()])


# -- batches -----------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [70, 100, 257, 1000, 100_000])
def test_batches_never_exceed_the_limit_and_keep_every_row_in_order(limit: int) -> None:
    lines = rows(500)
    made = list(batches(lines, limit, "test.csv"))
    assert all(len(batch.body) <= limit for batch in made)
    assert all(len(batch.labels) == len(batch.body.splitlines()) for batch in made)
    assert [label for batch in made for label in batch.labels] == [i % 2 for i in range(500)]
    assert b"".join(batch.body for batch in made) == b"".join(features(line) for line in lines)


def test_batches_fill_up_to_the_limit_before_starting_another() -> None:
    line = b"1,123456789\n"  # 10 bytes of features
    made = list(batches([line] * 10, 30, "test.csv"))
    assert [len(batch.labels) for batch in made] == [3, 3, 3, 1]
    assert [len(batch.body) for batch in made] == [30, 30, 30, 10]


def test_a_row_exactly_the_size_of_the_limit_fits() -> None:
    made = list(batches([b"0,12345\n", b"1,67890\n"], 6, "test.csv"))
    assert [batch.body for batch in made] == [b"12345\n", b"67890\n"]
    assert [batch.labels for batch in made] == [[0], [1]]


def test_the_label_is_dropped_and_line_endings_are_normalised() -> None:
    made = list(batches([b"1,0.5,2\r\n", b"0,3,4"], 1000, "test.csv"))
    assert made == [Batch(labels=[1, 0], body=b"0.5,2\n3,4\n")]


def test_a_row_larger_than_the_limit_names_its_line() -> None:
    lines = [b"0,1,2\n", b"1,3,4\n", b"0," + b"9" * 50 + b"\n"]
    with pytest.raises(PermanentError, match=r"test\.csv line 4: one row is larger") as caught:
        list(batches(lines, 20, "test.csv"))
    assert "payload limit" in caught.value.reason


@pytest.mark.parametrize("label", [b"yes", b"", b"0x1"])
def test_a_bad_label_names_its_line_and_value(label: bytes) -> None:
    lines = [b"0,1,2\n", label + b",3,4\n"]
    with pytest.raises(PermanentError, match=r"test\.csv line 3: label") as caught:
        list(batches(lines, 1000, "test.csv"))
    assert repr(label) in caught.value.reason


def test_float_labels_are_read_as_integers() -> None:
    made = list(batches([b"1.0,5\n", b"0.0,6\n"], 1000, "test.csv"))
    assert made[0].labels == [1, 0]


def test_no_rows_make_no_batches() -> None:
    assert list(batches([], 1000, "test.csv")) == []


# -- score_batches ------------------------------------------------------------------------------


def slow_fake_invoke(body: bytes) -> np.ndarray:
    """Early batches answer last, so completion order is the reverse of submission order."""
    first = score_of_row(body.splitlines()[0])
    time.sleep(max(0.0, 0.02 - first / 3_000))
    return fake_invoke(body)


@pytest.mark.parametrize("concurrency", [1, 2, 4, 16])
def test_scores_keep_the_label_order_whatever_the_concurrency(concurrency: int) -> None:
    lines = rows(60)
    scored = score_batches(batches(lines, 120, "test.csv"), slow_fake_invoke, concurrency)
    assert scored.scores.tolist() == [float(i) for i in range(60)]
    assert scored.labels.tolist() == [i % 2 for i in range(60)]
    assert scored.requests == len(list(batches(lines, 120, "test.csv")))


def test_no_more_than_concurrency_requests_are_in_flight() -> None:
    in_flight, highest = 0, 0
    lock = threading.Lock()

    def counting_invoke(body: bytes) -> np.ndarray:
        nonlocal in_flight, highest
        with lock:
            in_flight += 1
            highest = max(highest, in_flight)
        time.sleep(0.01)
        with lock:
            in_flight -= 1
        return fake_invoke(body)

    score_batches(batches(rows(200), 100, "test.csv"), counting_invoke, 3)
    assert 1 < highest <= 3


def test_the_wrong_number_of_scores_is_a_permanent_error() -> None:
    def one_score_short(body: bytes) -> np.ndarray:
        return fake_invoke(body)[:-1]

    source = [Batch([0, 1], b"0\n1\n"), Batch([1], b"2\n")]
    with pytest.raises(PermanentError, match="returned 1 scores for a batch of 2 rows"):
        score_batches(source, one_score_short, 2)


def test_an_invoke_failure_reaches_the_caller() -> None:
    def failing(body: bytes) -> np.ndarray:
        raise RuntimeError("endpoint unavailable")

    with pytest.raises(RuntimeError, match="endpoint unavailable"):
        score_batches([Batch([0], b"0\n")], failing, 4)


# -- score_file ---------------------------------------------------------------------------------


def test_score_file_skips_the_header_and_scores_every_row(tmp_path: Path) -> None:
    path = tmp_path / "test.csv"
    path.write_bytes(b"y,id,padding\n" + b"".join(rows(50)))
    scored = score_file(path, fake_invoke, limit_bytes=64, concurrency=2)
    assert scored.scores.tolist() == [float(i) for i in range(50)]
    assert scored.labels.tolist() == [i % 2 for i in range(50)]
    assert scored.requests > 1


def test_score_file_names_the_file_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "holdout.csv"
    path.write_bytes(b"y,x\n0,1\nmaybe,2\n")
    with pytest.raises(PermanentError, match=r"holdout\.csv line 3"):
        score_file(path, fake_invoke, limit_bytes=1024, concurrency=1)
