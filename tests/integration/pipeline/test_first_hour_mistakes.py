"""Mistakes made against a running stack, each one line on stderr, exit code 1, no traceback:
a run id mistyped, the report of a run that failed first, a dataset name mistyped, the buckets
of an earlier stack (a stale env file)."""

from __future__ import annotations

from typing import Any

import pytest
from pipeline_harness import Pipeline, cli

from handlers.lifecycle.registry import GROUP_DESCRIPTION
from handlers.naming import DatasetNames


def one_line_error(pipeline: Pipeline, *args: str) -> str:
    done = cli(pipeline, *args)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("automlops: ")
    return line.removeprefix("automlops: ")


@pytest.fixture(scope="module")
def failed_run(pipeline: Pipeline) -> dict[str, Any]:
    key = "data/bank-marketing/first-hour-colons.csv"
    pipeline.upload(key, b"age:job:y\n41:admin.:no\n")
    run = pipeline.wait_for_run(key)
    assert run["status"] == "failed"
    return run


@pytest.mark.parametrize("typed", ["20261208", "bad/../id", "20261208-XYZ"])
def test_a_mistyped_run_id(pipeline: Pipeline, typed: str) -> None:
    for command in ("status", "report"):
        assert one_line_error(pipeline, command, typed) == (
            f"{typed!r} is not a run id: run ids read YYYYMMDD-xxxxxxxxxx, as `automlops status` "
            "lists them"
        )


def test_the_report_of_a_run_that_failed_before_it_had_one(
    pipeline: Pipeline, failed_run: dict[str, Any]
) -> None:
    run_id = failed_run["run_id"]
    line = one_line_error(pipeline, "report", run_id)
    assert line.startswith(f"run {run_id} failed before it had a report: ")
    assert "cannot find the column separator" in line
    assert line.endswith(f"(`automlops status {run_id}` shows each stage)")
    unknown = "20261208-0123456789"
    assert one_line_error(pipeline, "report", unknown) == (
        f"no run {unknown} in s3://{pipeline.bucket('reports')}/runs/ (`automlops status` lists "
        "the runs)"
    )


def test_a_mistyped_dataset_lists_the_known_ones(pipeline: Pipeline) -> None:
    for dataset in ("churn", "bank-marketing"):
        pipeline.clients.sagemaker.create_model_package_group(
            ModelPackageGroupName=DatasetNames.for_dataset(dataset).model_package_group,
            ModelPackageGroupDescription=f"{GROUP_DESCRIPTION}{dataset}",
        )
    expected = (
        "no dataset bank-marketting in the registry; the datasets with versions: "
        "bank-marketing, churn"
    )
    assert one_line_error(pipeline, "models", "bank-marketting") == expected
    assert one_line_error(pipeline, "approve", "bank-marketting", "1") == expected
    assert one_line_error(pipeline, "rollback", "bank-marketting") == expected


def test_the_buckets_of_an_earlier_stack(pipeline: Pipeline) -> None:
    done = cli(pipeline, "status", changes={"AUTOMLOPS_REPORTS_BUCKET": "earlier-reports"})
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith("automlops: the bucket")
    assert "does not exist: check the AUTOMLOPS_*_BUCKET settings" in line
