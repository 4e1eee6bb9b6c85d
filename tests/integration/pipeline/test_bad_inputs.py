"""Bad uploads through the running worker: each one ends its run with a recorded error that says
what is wrong and where, is dead-lettered with its reason, and leaves the raw object alone; the
worker carries on and still processes good files.

All the uploads, and a `;`-separated file in the UCI raw format (accepted), go in at once (one
module fixture) and are processed concurrently by the worker.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from pipeline_harness import Pipeline, Uploaded, synthetic_csv

from handlers.aws.storage import s3_uri
from handlers.naming import RunPaths
from handlers.recipe.reader import load_packaged
from service.settle import ATTR_ERROR, ATTR_MESSAGE_TYPE

DATASET = "bank-marketing"
GOOD = synthetic_csv(40, seed=21)
LATIN1_E_ACUTE = b"\xe9"  # "é" saved as Latin-1: not UTF-8


def edited(body: bytes, row: int, column: str, value: str) -> bytes:
    """`body` with data row `row` (1-based, after the header) holding `value` in `column`."""
    rows = list(csv.reader(io.StringIO(body.decode())))
    rows[row][rows[0].index(column)] = value
    return _csv(rows)


def without_field(body: bytes, row: int, column: str) -> bytes:
    """`body` with one field of data row `row` left out: the row's later values shift left."""
    rows = list(csv.reader(io.StringIO(body.decode())))
    del rows[row][rows[0].index(column)]
    return _csv(rows)


def without_column(body: bytes, column: str) -> bytes:
    rows = list(csv.reader(io.StringIO(body.decode())))
    index = rows[0].index(column)
    return _csv([row[:index] + row[index + 1 :] for row in rows])


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


@dataclass(frozen=True)
class BadInput:
    body: bytes
    says: str  # in the recorded reason
    column: str | None = None
    row: int | None = None
    value: str | None = None
    dataset: str = DATASET
    key: str | None = None  # default: data/<dataset>/<name>.csv
    recipe: bytes | None = None  # put at recipes/<dataset>.toml in the raw bucket first


HEADER, _, DATA = GOOD.partition(b"\n")
BAD_INPUTS: dict[str, BadInput] = {
    "not-utf8": BadInput(GOOD.replace(b"married", b"mari" + LATIN1_E_ACUTE + b"d", 1), "not UTF-8"),
    "colon-separated": BadInput(GOOD.replace(b",", b":"), "cannot find the column separator"),
    "no-header": BadInput(DATA, "the first line is not a header"),
    "missing-column": BadInput(
        without_column(GOOD, "campaign"), "missing required column(s): campaign", "campaign"
    ),
    "empty": BadInput(b"", "the file is empty"),
    # Leaving out a field shifts the row's later values into the wrong columns: never accepted.
    "row-missing-a-field": BadInput(
        without_field(GOOD, 7, "marital"),
        "data row 7 (line 8 of the file): the row has 20 fields, the header has 21",
    ),
    "row-missing-its-last-field": BadInput(
        without_field(GOOD, 3, "y"),
        "data row 3 (line 4 of the file): the row has 20 fields, the header has 21",
    ),
    "header-only": BadInput(HEADER + b"\n", "the file has a header but no data rows"),
    "bad-target": BadInput(edited(GOOD, 4, "y", "maybe"), "the target must be", "y", 4, "maybe"),
    "not-a-number": BadInput(
        edited(GOOD, 5, "age", "forty"), "not a finite number", "age", 5, "forty"
    ),
    # bank-marketing's policy for a value outside a vocabulary is "error"
    "unknown-category": BadInput(
        edited(GOOD, 6, "job", "astronaut"), "not in the recipe's vocabulary", "job", 6, "astronaut"
    ),
    "unknown-dataset": BadInput(
        GOOD, "unknown dataset 'no-such-dataset'", dataset="no-such-dataset"
    ),
    "dataset-name-not-lower-case": BadInput(GOOD, "must be lower-case", dataset="Bank-Marketing"),
    "no-dataset-folder": BadInput(GOOD, "is not data/<dataset>/<file>", key="data/no-folder.csv"),
    "broken-operator-recipe": BadInput(
        GOOD,
        "recipes/broken-recipe.toml: target.positive: must be a non-empty string",
        dataset="broken-recipe",
        recipe=b'name = "broken-recipe"\n[target]\ncolumn = "y"\nvalues = ["no", "yes"]\n',
    ),
}


def uci_raw_format(body: bytes) -> bytes:
    """`body` the way UCI publishes bank-additional: `;`-separated, text values in quotes."""
    rows = list(csv.reader(io.StringIO(body.decode())))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    writer.writerow(rows[0])
    writer.writerows([[_number_or_text(value) for value in row] for row in rows[1:]])
    return out.getvalue().encode()


def _number_or_text(value: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


SEMICOLONS = uci_raw_format(synthetic_csv(300, seed=22))


@dataclass(frozen=True)
class Outcome:
    uploaded: Uploaded
    run: dict[str, Any]


@pytest.fixture(scope="module")
def outcomes(pipeline: Pipeline) -> dict[str, Outcome]:
    """Every bad input, and a `;`-separated file, uploaded at once; their runs once ended."""
    for bad in BAD_INPUTS.values():
        if bad.recipe is not None:
            pipeline.upload(f"recipes/{bad.dataset}.toml", bad.recipe)
    uploads = {
        name: pipeline.upload(bad.key or f"data/{bad.dataset}/{name}.csv", bad.body)
        for name, bad in BAD_INPUTS.items()
    }
    uploads["semicolons"] = pipeline.upload(f"data/{DATASET}/semicolons.csv", SEMICOLONS)
    runs = pipeline.wait_for_runs([u.key for u in uploads.values()])
    return {name: Outcome(u, runs[u.key]) for name, u in uploads.items()}


def error_of(pipeline: Pipeline, outcome: Outcome) -> dict[str, Any]:
    return pipeline.read_json("reports", RunPaths(outcome.run["run_id"]).error)


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_fails_its_run_in_preprocess(outcomes: dict[str, Outcome], name: str) -> None:
    run = outcomes[name].run
    assert run["status"] == "failed"
    assert run["failed_stage"] == "preprocess"
    assert BAD_INPUTS[name].says in run["error"]
    assert run["stages"]["preprocess"]["outcome"] == "failed"


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_records_what_is_wrong_and_where(
    pipeline: Pipeline, outcomes: dict[str, Outcome], name: str
) -> None:
    bad, outcome = BAD_INPUTS[name], outcomes[name]
    error = error_of(pipeline, outcome)
    assert error["run_id"] == outcome.run["run_id"]
    assert error["stage"] == "preprocess"
    assert bad.says in error["reason"]
    assert s3_uri(outcome.uploaded.bucket, outcome.uploaded.key) in error["reason"]
    details = error["details"]
    if bad.column is not None:
        assert (details["column"], details["row"], details["value"]) == (
            bad.column,
            bad.row,
            bad.value,
        )


def test_a_bad_byte_is_located_by_its_offset(
    pipeline: Pipeline, outcomes: dict[str, Outcome]
) -> None:
    offset = BAD_INPUTS["not-utf8"].body.index(LATIN1_E_ACUTE)
    error = error_of(pipeline, outcomes["not-utf8"])
    assert f"0xe9 at byte offset {offset}" in error["reason"]


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_is_dead_lettered_with_its_reason(
    pipeline: Pipeline, outcomes: dict[str, Outcome], name: str
) -> None:
    (letter,) = pipeline.dead_letters_for(outcomes[name].uploaded.key)
    attributes = letter["MessageAttributes"]
    assert attributes[ATTR_MESSAGE_TYPE]["StringValue"] == "data.uploaded"
    assert BAD_INPUTS[name].says in attributes[ATTR_ERROR]["StringValue"]


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_leaves_the_raw_object_untouched(
    pipeline: Pipeline, outcomes: dict[str, Outcome], name: str
) -> None:
    uploaded = outcomes[name].uploaded
    head = pipeline.clients.s3.head_object(Bucket=uploaded.bucket, Key=uploaded.key)
    assert head["ETag"] == uploaded.etag
    assert [v["VersionId"] for v in pipeline.versions("raw", uploaded.key)] == [uploaded.version_id]
    assert pipeline.read_bytes("raw", uploaded.key) == BAD_INPUTS[name].body


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_writes_no_processed_file(
    pipeline: Pipeline, outcomes: dict[str, Outcome], name: str
) -> None:
    paths = RunPaths(outcomes[name].run["run_id"])
    assert paths.processed not in pipeline.keys("curated", paths.prefix)


def test_semicolon_separated_file_is_accepted_as_the_uci_raw_format(
    pipeline: Pipeline, outcomes: dict[str, Outcome]
) -> None:
    run = outcomes["semicolons"].run
    assert run["status"] == "succeeded", run
    stats = run["stages"]["preprocess"]["stats"]
    assert stats["separator"] == ";"
    assert stats["rows_out"] == 300
    processed = pipeline.read_bytes("curated", RunPaths(run["run_id"]).processed)
    header = processed.split(b"\n", 1)[0].decode()
    assert header == ",".join(load_packaged(DATASET).output_columns())


def test_worker_keeps_running_and_processes_a_good_file_after_bad_ones(
    pipeline: Pipeline, outcomes: dict[str, Outcome], raw_key: Callable[..., str]
) -> None:
    assert pipeline.worker_alive
    key = raw_key()
    pipeline.upload(key, synthetic_csv(300, seed=23))
    run = pipeline.wait_for_run(key)
    assert run["status"] == "succeeded", run
    assert pipeline.worker_alive
