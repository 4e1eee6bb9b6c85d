"""What users really upload: `.CSV` from Windows tools, gzip-compressed `.csv.gz`, tab- and
pipe-separated files, and objects under data/ that are no upload at all, which are logged with the
reason instead of vanishing."""

from __future__ import annotations

import gzip
from typing import Any

import pytest
from pipeline_harness import Pipeline, synthetic_csv

from handlers.naming import RunPaths

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


def test_an_object_under_data_that_is_no_upload_is_logged_not_silently_ignored(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    key = f"data/{DATASET}/README.txt"
    pipeline.upload(key, b"notes about the data\n")
    summaries = pipeline.settled.wait_for(
        lambda items: any(
            s["outcome"] == "dropped" and s["message_type"] == "s3:ObjectCreated:Put" for s in items
        ),
        timeout=30,
    )
    assert [s for s in summaries if s["outcome"] == "dropped"]
    logged = capsys.readouterr().out
    assert "message.record_dropped" in logged
    assert (
        f"{key} is not a .csv, .csv.gz, .tsv or .tsv.gz (any letter case) object: ignored" in logged
    )
    assert pipeline.runs_of(key) == []
