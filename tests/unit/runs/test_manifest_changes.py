"""The run manifest's change functions, applied to plain documents (no S3)."""

from __future__ import annotations

import pytest

from handlers.runs import manifest
from handlers.runs.manifest import Manifest as Document


def new_run() -> Document:
    return {"run_id": "20261126-3f9a1c0b2e", "status": "running", "created_at": "t0", "stages": {}}


def ended_run(status: manifest.RunStatus) -> Document:
    document = new_run()
    manifest.stage_started("train", {})(document)
    manifest.stage_ended("train", "ok")(document)
    manifest.run_finished(status)(document)
    return document


# -- stage_started ------------------------------------------------------------------------------


def test_a_start_marks_the_stage_running_and_current() -> None:
    document = new_run()
    manifest.stage_started("preprocess", {"dataset": "bank-marketing"})(document)
    entry = document["stages"]["preprocess"]
    assert entry["outcome"] == "running"
    assert entry["attempts"] == 1
    assert "started_at" in entry
    assert "ended_at" not in entry
    assert document["current_stage"] == "preprocess"
    assert document["dataset"] == "bank-marketing"
    assert document["status"] == "running"


def test_attempts_count_up_and_a_restart_clears_the_end() -> None:
    document = new_run()
    for _ in range(3):
        manifest.stage_started("training", {})(document)
        manifest.stage_ended("training", "waiting")(document)
    manifest.stage_started("training", {})(document)
    entry = document["stages"]["training"]
    assert entry["attempts"] == 4
    assert entry["outcome"] == "running"
    assert "ended_at" not in entry


def test_details_never_overwrite_what_the_run_already_knows() -> None:
    document = new_run()
    manifest.stage_started("preprocess", {"dataset": "bank-marketing"})(document)
    manifest.stage_started("train", {"dataset": "other"})(document)
    assert document["dataset"] == "bank-marketing"


@pytest.mark.parametrize("status", ["succeeded", "failed"])
def test_a_start_after_the_run_ended_is_counted_but_never_reopens_it(
    status: manifest.RunStatus,
) -> None:
    document = ended_run(status)
    before = manifest.StageEntry(**document["stages"]["train"])
    manifest.stage_started("train", {"dataset": "late"})(document)
    entry = document["stages"]["train"]
    assert document["status"] == status
    assert entry["attempts"] == before["attempts"] + 1
    assert entry["outcome"] == before["outcome"]
    assert entry["ended_at"] == before["ended_at"]
    assert "current_stage" not in document
    assert "dataset" not in document


# -- stage_ended --------------------------------------------------------------------------------


def test_an_end_records_outcome_time_and_artifacts() -> None:
    document = new_run()
    manifest.stage_started("train", {})(document)
    manifest.stage_ended("train", "ok", artifacts={"train": "s3://c/train.csv"})(document)
    manifest.stage_ended("train", "ok", artifacts={"test": "s3://c/test.csv"})(document)
    entry = document["stages"]["train"]
    assert entry["outcome"] == "ok"
    assert "ended_at" in entry
    assert entry["artifacts"] == {"train": "s3://c/train.csv", "test": "s3://c/test.csv"}
    assert document["status"] == "running"


def test_a_later_success_clears_the_error_of_a_retried_attempt() -> None:
    document = new_run()
    manifest.stage_started("evaluate", {})(document)
    manifest.stage_ended("evaluate", "waiting", error="endpoint is still Creating")(document)
    assert document["stages"]["evaluate"]["error"] == "endpoint is still Creating"
    manifest.stage_started("evaluate", {})(document)
    manifest.stage_ended("evaluate", "ok")(document)
    assert "error" not in document["stages"]["evaluate"]
    assert document["status"] == "running"


def test_a_failure_sets_status_failed_stage_and_error() -> None:
    document = new_run()
    manifest.stage_started("preprocess", {})(document)
    manifest.stage_ended("preprocess", "failed", error="raw.csv row 7: age is 'x'")(document)
    assert document["status"] == "failed"
    assert document["failed_stage"] == "preprocess"
    assert document["error"] == "raw.csv row 7: age is 'x'"
    entry = document["stages"]["preprocess"]
    assert entry["outcome"] == "failed"
    assert entry["error"] == "raw.csv row 7: age is 'x'"


def test_a_failure_of_a_stage_never_started_still_counts_one_attempt() -> None:
    document = new_run()
    manifest.stage_ended("deploy", "failed", error="no model")(document)
    assert document["stages"]["deploy"]["attempts"] == 1
    assert document["status"] == "failed"


@pytest.mark.parametrize("outcome", ["ok", "waiting", "retrying"])
@pytest.mark.parametrize("status", ["succeeded", "failed"])
def test_an_end_after_the_run_ended_changes_nothing(
    status: manifest.RunStatus, outcome: manifest.Outcome
) -> None:
    document = ended_run(status)
    before = dict(document["stages"]["train"])
    manifest.stage_ended("train", outcome, error="late")(document)
    manifest.stage_ended("evaluate", outcome)(document)
    assert document["status"] == status
    assert document["stages"]["train"] == before
    assert "outcome" not in document["stages"]["evaluate"]


# -- run_finished -------------------------------------------------------------------------------


def test_finishing_a_run_ends_it() -> None:
    document = new_run()
    manifest.stage_started("evaluate", {})(document)
    manifest.stage_ended("evaluate", "ok")(document)
    manifest.run_finished("succeeded")(document)
    assert document["status"] == "succeeded"
    assert "finished_at" in document
    assert "current_stage" not in document


def test_a_failed_run_is_never_turned_into_a_success() -> None:
    document = new_run()
    manifest.stage_ended("deploy", "failed", error="boom")(document)
    manifest.run_finished("succeeded")(document)
    assert document["status"] == "failed"
    assert document["failed_stage"] == "deploy"
    assert document["error"] == "boom"


# -- artifacts and stats, written with the stage's end -----------------------------------------


def test_artifacts_merge_with_what_an_earlier_attempt_recorded() -> None:
    document = new_run()
    manifest.stage_started("evaluate", {})(document)
    manifest.stage_ended("evaluate", "waiting", {"metrics": "s3://r/metrics.json"})(document)
    manifest.stage_started("evaluate", {})(document)
    manifest.stage_ended("evaluate", "ok", {"report": "s3://r/report.md"})(document)
    entry = document["stages"]["evaluate"]
    assert entry["artifacts"] == {"metrics": "s3://r/metrics.json", "report": "s3://r/report.md"}
    assert (entry["outcome"], entry["attempts"]) == ("ok", 2)


def test_artifacts_and_stats_of_a_stage_ending_after_the_run_are_kept_status_untouched() -> None:
    document = ended_run("succeeded")
    manifest.stage_ended("training", "ok", {"job": "j"}, stats={"rows": 3})(document)
    assert document["stages"]["training"]["artifacts"] == {"job": "j"}
    assert document["stages"]["training"]["stats"] == {"rows": 3}
    assert document["status"] == "succeeded"


def test_a_later_failure_keeps_the_first_cause_of_the_run() -> None:
    document = manifest.new("20261126-3f9a1c0b2e")
    manifest.stage_ended("training", "failed", error="AlgorithmError: out of memory")(document)
    manifest.stage_ended("deploy", "failed", error="endpoint failed")(document)
    assert document["failed_stage"] == "training"
    assert document["error"] == "AlgorithmError: out of memory"
    assert document["stages"]["deploy"]["error"] == "endpoint failed"
