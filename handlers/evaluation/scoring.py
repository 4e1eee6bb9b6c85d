"""Scores a labelled test set against an endpoint in batches as large as the payload limit.

The rows are sent raw, as a client sends them (`score_raw_file`: the upload's columns, encoded at
the endpoint), with their labels read from the encoded test file row for row; `score_file` sends
a test file's encoded feature rows, for models that take those.

The test file has a header and the label first (a class index, or a regression target's
number). Each request carries as many feature rows as fit under the limit (never row by row), and
up to `concurrency` requests are in flight, which is what a serverless endpoint's MaxConcurrency
allows without throttling.
"""

from __future__ import annotations

import csv
import io
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

import numpy as np

from service.failures import PermanentError

T = TypeVar("T")

# A request body -> one score per row (shape (rows,)) or one row of class probabilities per row
# (shape (rows, classes)).
Invoke = Callable[[bytes], np.ndarray]


@dataclass(frozen=True)
class Batch:
    labels: list[float]
    body: bytes


@dataclass(frozen=True)
class Scored:
    labels: np.ndarray  # float64
    scores: np.ndarray  # (rows,) or (rows, classes)
    requests: int
    seconds: float  # invoking only: the download of the test set is not counted


def batches(lines: Iterable[bytes], limit_bytes: int, source: str) -> Iterator[Batch]:
    """Split label-first CSV lines into feature-only request bodies of at most `limit_bytes`."""
    labels: list[float] = []
    rows: list[bytes] = []
    size = 0
    for number, line in enumerate(lines, start=2):  # line 1 is the header
        label, _, features = line.rstrip(b"\r\n").partition(b",")
        if not features:
            if not label:
                continue  # a blank line (e.g. the file's last)
            raise PermanentError(f"{source} line {number}: a label without features")
        row = features + b"\n"
        if len(row) > limit_bytes:
            raise PermanentError(
                f"{source} line {number}: one row is larger than the payload limit"
            )
        if size + len(row) > limit_bytes:
            yield Batch(labels, b"".join(rows))
            labels, rows, size = [], [], 0
        labels.append(_label(label, source, number))
        rows.append(row)
        size += len(row)
    if rows:
        yield Batch(labels, b"".join(rows))


def _label(raw: bytes, source: str, number: int) -> float:
    try:
        label = float(raw)
    except ValueError:
        label = math.nan
    if not math.isfinite(label):
        raise PermanentError(f"{source} line {number}: label {raw!r} is not a finite number")
    return label


def raw_batches(
    raw: IO[bytes], test: IO[bytes], limit_bytes: int, source: str, max_rows: int
) -> Iterator[Batch]:
    """The raw test rows (CSV with the upload's header) as request bodies of at most
    `limit_bytes`, each starting with that header, and their labels from the test file (header,
    label first), row for row: what a client sends, with what the metrics compare it with."""
    records = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
    header = _csv_line(next(records, []))
    test.readline()
    labels: list[float] = []
    rows: list[bytes] = []
    size = len(header)
    for number, (record, line) in enumerate(_paired(records, test, source), start=2):
        row = _csv_line(record)
        if len(header) + len(row) > limit_bytes:
            raise PermanentError(f"{source} row {number - 1}: one row is larger than the limit")
        if size + len(row) > limit_bytes or len(rows) == max_rows:
            yield Batch(labels, header + b"".join(rows))
            labels, rows, size = [], [], len(header)
        labels.append(_label(line.split(b",", 1)[0].strip(), source, number))
        rows.append(row)
        size += len(row)
    if rows:
        yield Batch(labels, header + b"".join(rows))


def _paired(
    records: Iterator[list[str]], test: IO[bytes], source: str
) -> Iterator[tuple[list[str], bytes]]:
    lines = (line for line in test if line.strip())
    try:
        yield from zip(records, lines, strict=True)
    except UnicodeDecodeError as exc:  # a ValueError too, but not a count
        raise PermanentError(f"{source}: the raw test rows are not UTF-8: {exc}") from exc
    except ValueError:
        raise PermanentError(
            f"{source}: the raw test rows and the test file do not have the same number of rows"
        ) from None


def _csv_line(cells: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue().encode("utf-8")


def score_raw_file(
    raw: Path, test: Path, invoke: Invoke, limit_bytes: int, concurrency: int, max_rows: int
) -> Scored:
    """The raw test rows in `raw` scored, with the labels of `test` (the same rows, encoded);
    at most `max_rows` rows a request, so that the answer stays under the limit too."""
    with raw.open("rb") as raw_rows, test.open("rb") as test_rows:
        source = f"{raw.name} and {test.name}"
        batches = raw_batches(raw_rows, test_rows, limit_bytes, source, max_rows)
        return score_batches(batches, invoke, concurrency)


def score_file(path: Path, invoke: Invoke, limit_bytes: int, concurrency: int) -> Scored:
    with path.open("rb") as handle:
        _skip_header(handle)
        return score_batches(batches(handle, limit_bytes, path.name), invoke, concurrency)


def _skip_header(handle: IO[bytes]) -> None:
    handle.readline()


def score_batches(source: Iterable[Batch], invoke: Invoke, concurrency: int) -> Scored:
    """Invoke in parallel but keep at most `concurrency` requests (and batches) in memory."""
    labels: list[float] = []
    scores: list[np.ndarray] = []
    requests = 0
    started = time.monotonic()
    pending: deque[tuple[Batch, Future[np.ndarray]]] = deque()
    for batch in source:
        pending.append((batch, in_daemon_thread(invoke, batch.body)))
        if len(pending) >= concurrency:
            requests += _collect(pending.popleft(), labels, scores)
    for item in pending:
        requests += _collect(item, labels, scores)
    joined = np.concatenate(scores) if scores else np.empty(0)
    return Scored(
        np.asarray(labels, dtype=np.float64), joined, requests, time.monotonic() - started
    )


def in_daemon_thread(invoke: Callable[[bytes], T], body: bytes) -> Future[T]:
    """`invoke(body)` on a thread of its own that never holds the process open: a worker told
    to stop must exit within its shutdown budget even with a 60 s InvokeEndpoint in flight
    (ThreadPoolExecutor's threads are joined at interpreter exit)."""
    future: Future[T] = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(invoke(body))
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=run, name="invoke", daemon=True).start()
    return future


def _collect(
    item: tuple[Batch, Future[np.ndarray]], labels: list[float], scores: list[np.ndarray]
) -> int:
    batch, future = item
    result = future.result()
    if len(result) != len(batch.labels):
        raise PermanentError(
            f"endpoint returned {len(result)} scores for a batch of {len(batch.labels)} rows"
        )
    labels.extend(batch.labels)
    scores.append(result)
    return 1
