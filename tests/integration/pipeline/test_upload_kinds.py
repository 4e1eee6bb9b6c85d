"""What users really upload: `.CSV` from Windows tools, gzip-compressed `.csv.gz`, tab- and
pipe-separated files, and objects under data/ that are no upload at all, which are logged with the
reason instead of vanishing."""

from __future__ import annotations

import gzip
import time
from typing import Any

import pytest
from pipeline_harness import Pipeline, cli, synthetic_csv

from handlers.naming import RunPaths, ignored_key

DATASET = "bank-marketing"


@pytest.fixture(scope="module")
def runs(pipeline: Pipeline) -> dict[str, dict[str, Any]]:
    body = synthetic_csv(300, seed=61)
    uploads = {
        f"data/{DATASET}/EXPORT.CSV": body,
        f"data/{DATASET}/packed.csv.gz": gzip.compress(body),
        f"data/{DATASET}/Packed-Too.CSV.GZ": gzip.compress(synthetic_csv(300, seed=62)),
        f"data/{DATASET}/broken.csv.gz": b"\x1f\x8b" + b"this is no deflate stream" * 10,
        f"data/{DATASET}/export.tsv": body.replace(b",", b"\t"),
        f"data/{DATASET}/piped.csv": body.replace(b",", b"|"),
    }
    for key, data in uploads.items():
        pipeline.upload(key, data)
    return {key: pipeline.wait_for_run(key) for key in uploads}


@pytest.mark.parametrize(
    "name", ["EXPORT.CSV", "packed.csv.gz", "Packed-Too.CSV.GZ", "export.tsv", "piped.csv"]
)
def test_csv_in_any_case_gzip_tsv_and_pipes_run_to_the_end(
    runs: dict[str, dict[str, Any]], name: str
) -> None:
    run = runs[f"data/{DATASET}/{name}"]
    assert run["status"] == "succeeded", run
    assert run["stages"]["preprocess"]["stats"]["rows_out"] == 300


def test_a_tab_separated_upload_is_encoded_as_its_comma_twin(
    pipeline: Pipeline, runs: dict[str, dict[str, Any]]
) -> None:
    processed = {
        name: pipeline.read_bytes(
            "curated", RunPaths(runs[f"data/{DATASET}/{name}"]["run_id"]).processed
        )
        for name in ("EXPORT.CSV", "export.tsv")
    }
    assert processed["export.tsv"] == processed["EXPORT.CSV"]


def test_a_gzip_upload_that_does_not_decompress_fails_with_the_reason(
    runs: dict[str, dict[str, Any]],
) -> None:
    run = runs[f"data/{DATASET}/broken.csv.gz"]
    assert (run["status"], run["failed_stage"]) == ("failed", "preprocess")
    assert "not a readable gzip file" in run["error"]


@pytest.mark.parametrize("name", ["README.txt", "export.CSV.txt"])
def test_an_object_under_data_that_is_no_upload_is_recorded_and_shown_by_status(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    key = f"data/{DATASET}/{name}"
    pipeline.upload(key, b"notes about the data\n")
    record_key = ignored_key(pipeline.bucket("raw"), key)
    deadline = time.monotonic() + 30
    while not pipeline.keys("reports", record_key) and time.monotonic() < deadline:
        time.sleep(0.2)
    reason = (
        "the worker reads files ending .csv, .csv.gz, .tsv or .tsv.gz (any letter case); upload "
        "it again under such a name"
    )
    record = pipeline.read_json("reports", record_key)
    assert (record["input"], record["reason"]) == (f"s3://{pipeline.bucket('raw')}/{key}", reason)
    assert "upload.ignored" in capsys.readouterr().out  # a warning in the worker's log too
    assert pipeline.runs_of(key) == []
    shown = cli(pipeline, "status")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    start = lines.index("uploads the worker ignored (newest first):")
    assert any(
        line.endswith(f"s3://{pipeline.bucket('raw')}/{key}: {reason}") for line in lines[start:]
    )
