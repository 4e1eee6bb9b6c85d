"""Data that cannot give a meaningful model fails before training, with the reason, instead of a
run that "succeeds" with an AUC of None or 1.0: too few rows to split, a target with one class,
a split whose train or test part lacks a class, and a test part made of training rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from csv_rows import as_csv, rows_of
from pipeline_harness import Pipeline, synthetic_csv

from handlers.naming import RunPaths

DATASET = "bank-marketing"  # its split is plain (unstratified), as the original pipeline's


def with_labels(body: bytes, positives: int) -> bytes:
    """`body` with exactly its first `positives` rows labelled yes, the others no."""
    rows = rows_of(body)
    target = rows[0].index("y")
    for index, row in enumerate(rows[1:]):
        row[target] = "yes" if index < positives else "no"
    return as_csv(rows)


def duplicated(body: bytes, distinct: int, copies: int) -> bytes:
    rows = rows_of(body)
    return as_csv([rows[0], *rows[1 : 1 + distinct] * copies])


@dataclass(frozen=True)
class Untrainable:
    body: bytes
    stage: str  # where the run stops
    says: str


CASES = {
    "too-few-rows": Untrainable(
        synthetic_csv(3, seed=1),
        "preprocess",
        "3 rows are too few to split train 0.7, validation 0.2, test 0.1",
    ),
    "one-class": Untrainable(
        with_labels(synthetic_csv(200, seed=2), positives=0),
        "preprocess",
        "column 'y' is 'no' in all 200 rows: a model needs examples of at least two classes",
    ),
    "test-part-lacks-a-class": Untrainable(
        with_labels(synthetic_csv(200, seed=3), positives=1),
        "train",
        "has no row of label(s) 1 ('yes')",
    ),
    "test-rows-are-training-rows": Untrainable(
        duplicated(synthetic_csv(50, seed=4), distinct=50, copies=8),
        "train",
        "are copies of training rows, above the recipe's [split] max_test_overlap = 0.2",
    ),
}


@pytest.fixture(scope="module")
def runs(pipeline: Pipeline) -> dict[str, dict[str, Any]]:
    keys = {name: f"data/{DATASET}/{name}.csv" for name in CASES}
    for name, key in keys.items():
        pipeline.upload(key, CASES[name].body)
    return {name: pipeline.wait_for_run(key) for name, key in keys.items()}


@pytest.mark.parametrize("name", CASES)
def test_untrainable_data_fails_before_training_with_the_reason(
    pipeline: Pipeline, runs: dict[str, dict[str, Any]], name: str
) -> None:
    case, run = CASES[name], runs[name]
    assert run["status"] == "failed", run
    assert run["failed_stage"] == case.stage
    assert case.says in run["error"]
    error = pipeline.read_json("reports", RunPaths(run["run_id"]).error)
    assert case.says in error["reason"]
    upload = f"s3://{pipeline.bucket('raw')}/data/{DATASET}/{name}.csv"
    assert upload in error["reason"]  # the upload, even when found in the processed file
    if case.stage == "train":
        processed = RunPaths(run["run_id"]).processed
        assert f"(as s3://{pipeline.bucket('curated')}/{processed})" in error["reason"]
    assert "training" not in run["stages"]  # no job was started
    assert (
        pipeline.clients.sagemaker.list_training_jobs(NameContains=run["run_id"])[
            "TrainingJobSummaries"
        ]
        == []
    )


def test_the_overlap_is_reported_with_the_split(runs: dict[str, dict[str, Any]]) -> None:
    stats = runs["test-rows-are-training-rows"]["stages"]["train"]["stats"]
    assert stats["rows"]["test"] == 40
    assert stats["test_rows_in_train"] > 0.2 * 40
    assert stats["test_overlap"] == round(stats["test_rows_in_train"] / 40, 4)
