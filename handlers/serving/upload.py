"""Scoring a file of rows by upload: the live model's answer for every row, written beside it.

The file is read a chunk at a time (flat memory whatever its size). Each chunk's rows are sent
to the live endpoint raw, as a client sends them: CSV with the file's header, in requests under
the payload limit, `concurrency` at a time; the output is every input row unchanged (its cells
as read, written as plain CSV) followed by the prediction columns of the answer. When the file
has the target column, each row's label is kept for the live model's metrics on these rows.

Validation happens before (the stage validates the whole file first, so a bad row refuses the
file before any request is sent); here a bad answer is an error.
"""

from __future__ import annotations

import csv
import math
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from handlers.data.dialect import csv_lines, csv_records
from handlers.data.raw_rows import raw_frames
from handlers.data.validation import DEFAULT_CHUNK_ROWS, open_csv
from handlers.evaluation.responses import parse_answer
from handlers.evaluation.scoring import in_daemon_thread
from handlers.recipe.model import Recipe
from handlers.serving import answers
from service.failures import PermanentError

Send = Callable[[bytes], bytes]  # a request body (CSV with header) -> the CSV answer


@dataclass(frozen=True)
class UploadScores:
    rows: int
    requests: int
    seconds: float
    # A labelled file's scores (what the recipe's metrics read: (rows,) or (rows, classes)) and
    # its own labels; None for a file without the target column.
    scores: np.ndarray | None
    labels: np.ndarray | None
    summary: dict[str, Any]  # rows per predicted class, or the predicted values' range


def score_upload(
    source: BinaryIO,
    recipe: Recipe,
    send: Send,
    sink: BinaryIO,
    *,
    file: str,
    limit_bytes: int,
    concurrency: int,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> UploadScores:
    layout, stream = open_csv(source, recipe, file=file, labelled=False)
    header = csv_lines([layout.header])
    sink.write(csv_lines([[*layout.header, *recipe.target.prediction_columns()]]))
    target = recipe.target.column
    labelled = target in layout.header
    tally = _Tally(recipe, labelled)
    max_rows = answers.rows_within(recipe, limit_bytes)
    started = time.monotonic()
    for frame in raw_frames(stream, layout, chunk_rows):
        records = csv_records(frame.to_numpy(dtype=object).tolist())
        batches = _batches(header, records, limit_bytes, max_rows)
        for records_sent, answer in _answers(header, batches, send, concurrency):
            tally.requests += 1
            lines = answer.decode("utf-8").split("\n")[1:]
            lines = lines[:-1] if lines and not lines[-1] else lines
            if len(lines) != len(records_sent):
                raise PermanentError(
                    f"the endpoint answered {len(lines)} rows for a request of {len(records_sent)}"
                )
            answered = zip(records_sent, lines, strict=True)
            sink.write(b"".join(r[:-1] + b"," + a.encode("utf-8") + b"\n" for r, a in answered))
            tally.add_answer(answer, lines)
        if labelled:
            tally.add_labels(frame.iloc[:, layout.header.index(target)])
    return tally.result(time.monotonic() - started)


def _answers(
    header: bytes, batches: Iterator[list[bytes]], send: Send, concurrency: int
) -> Iterator[tuple[list[bytes], bytes]]:
    """Each request's records with the endpoint's answer, in order, `concurrency` in flight."""
    pending: deque[tuple[list[bytes], Future[bytes]]] = deque()
    for batch in batches:
        pending.append((batch, in_daemon_thread(send, header + b"".join(batch))))
        if len(pending) >= concurrency:
            sent, future = pending.popleft()
            yield sent, future.result()
    for sent, future in pending:
        yield sent, future.result()


def _batches(
    header: bytes, records: list[bytes], limit_bytes: int, max_rows: int
) -> Iterator[list[bytes]]:
    """Requests under the payload limit whose answers (`max_rows` rows at most) are too."""
    batch: list[bytes] = []
    size = len(header)
    for record in records:
        if len(header) + len(record) > limit_bytes:
            raise PermanentError(f"a row of {len(record)} bytes is larger than the payload limit")
        if size + len(record) > limit_bytes or len(batch) == max_rows:
            yield batch
            batch, size = [], len(header)
        batch.append(record)
        size += len(record)
    if batch:
        yield batch


class _Tally:
    """What the answers and labels add up to. Every score is kept only for a labelled file (its
    metrics need them all); otherwise running counts and sums, so memory stays flat."""

    def __init__(self, recipe: Recipe, labelled: bool) -> None:
        self.recipe = recipe
        self.labelled = labelled
        self.columns = recipe.target.score_columns()
        self.rows = 0
        self.requests = 0
        self.scores: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        self.predicted: Counter[str] = Counter()
        self.total, self.low, self.high = 0.0, math.inf, -math.inf
        target = recipe.target
        self.label_of = {value: target.label_of(value) for value in target.values}

    def add_answer(self, answer: bytes, lines: list[str]) -> None:
        scores = parse_answer(answer, self.columns)
        self.rows += len(scores)
        if self.labelled:
            self.scores.append(scores)
        if self.recipe.target.kind == "regression":
            if len(scores):
                self.total += float(scores.sum())
                self.low, self.high = min(self.low, scores.min()), max(self.high, scores.max())
            return
        self.predicted.update(Counter(cells[0] for cells in csv.reader(lines)))

    def add_labels(self, values: pd.Series) -> None:
        if self.recipe.target.kind == "regression":
            labels = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
        else:
            labels = values.map(self.label_of).to_numpy(dtype=np.float64)
        if not np.isfinite(labels).all():  # validation passed them: never measure on garbage
            raise PermanentError(
                f"a value of the label column {self.recipe.target.column!r} could not be read "
                "again after validation: no metrics measured"
            )
        self.labels.append(labels)

    def summary(self) -> dict[str, Any]:
        if self.recipe.target.kind != "regression":
            return {"predicted": dict(sorted(self.predicted.items()))}
        if not self.rows:
            return {}
        return {"mean": self.total / self.rows, "min": float(self.low), "max": float(self.high)}

    def result(self, seconds: float) -> UploadScores:
        kept = self.labelled and self.scores
        return UploadScores(
            rows=self.rows,
            requests=self.requests,
            seconds=seconds,
            scores=np.concatenate(self.scores) if kept else None,
            labels=np.concatenate(self.labels) if kept and self.labels else None,
            summary=self.summary(),
        )
