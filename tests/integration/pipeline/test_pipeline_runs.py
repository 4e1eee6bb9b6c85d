"""Whole runs through the running worker: a training job that fails, an endpoint that fails, a
dataset whose recipe an operator added to the raw bucket at runtime, a key S3 announces
URL-encoded, and reading a run's status with `automlops status`.

Each fixture runs one upload to its end before the next starts, so an emulator fault set for
one run (matching every resource name) touches no other.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import pytest
from pipeline_harness import Pipeline, synthetic_csv

from handlers.naming import RunPaths, sagemaker_names
from handlers.recipe.reader import packaged_recipe_bytes, read_recipe
from handlers.runs import status
from handlers.runs.manifest import Manifest
from handlers.stages import order
from service.settle import ATTR_ERROR

DATASET = "bank-marketing"
TRAINING_FAILURE = "AlgorithmError: the job ran out of patience (injected)"
ENDPOINT_FAILURE = "The primary container for production variant AllTraffic did not pass the ping"

# -- a failing training job ---------------------------------------------------------------------


def run_with_faults(pipeline: Pipeline, name: str, seed: int, **faults: Any) -> dict[str, Any]:
    """Upload a small dataset while the emulator injects `faults`; the run's final manifest."""
    pipeline.emulator.set_faults(**faults)
    try:
        key = f"data/{DATASET}/{name}.csv"
        pipeline.upload(key, synthetic_csv(300, seed=seed))
        return pipeline.wait_for_run(key)
    finally:
        pipeline.emulator.reset_faults()


@pytest.fixture(scope="module")
def failed_training(pipeline: Pipeline) -> dict[str, Any]:
    return run_with_faults(
        pipeline, "training-fails", 41, training_failures={"aml-": TRAINING_FAILURE}
    )


def test_a_failing_training_job_fails_the_run(failed_training: dict[str, Any]) -> None:
    assert failed_training["status"] == "failed"
    assert failed_training["failed_stage"] == "training"
    assert TRAINING_FAILURE in failed_training["error"]
    assert failed_training["stages"]["training"]["outcome"] == "failed"
    assert "deploy" not in failed_training["stages"]


def test_a_failing_training_job_records_its_failure_reason(
    pipeline: Pipeline, failed_training: dict[str, Any]
) -> None:
    run_id = failed_training["run_id"]
    error = pipeline.read_json("reports", RunPaths(run_id).error)
    job_name = sagemaker_names(DATASET, run_id).training_job
    assert error["stage"] == "training"
    assert error["message_type"] == "training.watch"
    assert error["reason"] == f"training job {job_name} is Failed: {TRAINING_FAILURE}"


def test_a_failing_training_job_dead_letters_its_watch(
    pipeline: Pipeline, failed_training: dict[str, Any]
) -> None:
    (letter,) = pipeline.dead_letters_of_run(failed_training["run_id"])
    assert TRAINING_FAILURE in letter["MessageAttributes"][ATTR_ERROR]["StringValue"]


def test_a_failing_training_job_leaves_nothing_deployed(
    pipeline: Pipeline, failed_training: dict[str, Any]
) -> None:
    run_id = failed_training["run_id"]
    assert pipeline.clients.sagemaker.list_endpoints(NameContains=run_id)["Endpoints"] == []
    assert pipeline.keys("models", f"runs/{run_id}/") == []


# -- a failing endpoint -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def failed_endpoint(pipeline: Pipeline) -> dict[str, Any]:
    return run_with_faults(
        pipeline, "endpoint-fails", 42, endpoint_failures={"aml-": ENDPOINT_FAILURE}
    )


def test_a_failing_endpoint_fails_the_run_in_evaluate(failed_endpoint: dict[str, Any]) -> None:
    assert failed_endpoint["status"] == "failed"
    assert failed_endpoint["failed_stage"] == "evaluate"
    assert ENDPOINT_FAILURE in failed_endpoint["error"]
    assert failed_endpoint["stages"]["deploy"]["outcome"] == "ok"


def test_a_failing_endpoint_records_its_failure_reason(
    pipeline: Pipeline, failed_endpoint: dict[str, Any]
) -> None:
    run_id = failed_endpoint["run_id"]
    error = pipeline.read_json("reports", RunPaths(run_id).error)
    endpoint = sagemaker_names(DATASET, run_id).endpoint
    assert error["stage"] == "evaluate"
    assert error["reason"] == f"endpoint {endpoint} failed: {ENDPOINT_FAILURE}"
    described = pipeline.clients.sagemaker.describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "Failed"


def test_a_failing_endpoint_writes_no_report(
    pipeline: Pipeline, failed_endpoint: dict[str, Any]
) -> None:
    run_id = failed_endpoint["run_id"]
    assert not [k for k in pipeline.keys("reports", f"runs/{run_id}/") if "/evaluation/" in k]


def test_status_of_a_failed_run_shows_the_error(failed_endpoint: dict[str, Any]) -> None:
    lines = status.describe_run(cast(Manifest, failed_endpoint), order.STAGES).splitlines()
    assert "status    failed" in lines
    assert f"error     {failed_endpoint['error']}" in lines
    assert f"{'':<11}! {failed_endpoint['error']}" in lines


# -- the model's container answers an error ------------------------------------------------------

MODEL_REFUSAL = "feature_names mismatch (injected)"


@pytest.fixture(scope="module")
def model_error_once(pipeline: Pipeline) -> dict[str, Any]:
    """The first invoke answers 500, as a container does on a cold start or a dead worker."""
    glitch = {"aml-": {"status": 500, "message": "worker died (injected)", "times": 1}}
    return run_with_faults(pipeline, "model-error-once", 43, model_errors=glitch)


def test_a_model_error_the_container_answered_5xx_is_retried(
    model_error_once: dict[str, Any],
) -> None:
    assert model_error_once["status"] == "succeeded", model_error_once
    evaluate = model_error_once["stages"]["evaluate"]
    assert evaluate["outcome"] == "ok"
    assert evaluate["attempts"] >= 2  # the first one met the 500


@pytest.fixture(scope="module")
def model_refuses(pipeline: Pipeline) -> dict[str, Any]:
    refusal = {"aml-": {"status": 400, "message": MODEL_REFUSAL}}
    return run_with_faults(pipeline, "model-refuses", 44, model_errors=refusal)


def test_a_model_error_the_container_answered_4xx_fails_the_run_with_its_message(
    pipeline: Pipeline, model_refuses: dict[str, Any]
) -> None:
    assert (model_refuses["status"], model_refuses["failed_stage"]) == ("failed", "evaluate")
    assert MODEL_REFUSAL in model_refuses["error"]
    assert model_refuses["stages"]["evaluate"]["attempts"] == 1  # no retry could help
    error = pipeline.read_json("reports", RunPaths(model_refuses["run_id"]).error)
    assert MODEL_REFUSAL in error["reason"]


# -- a recipe added by an operator at runtime ---------------------------------------------------

SENSOR_RECIPE = b"""
name = "sensor-alarms"
description = "Does a reading call for an alarm? Added to the raw bucket, not packaged."

[target]
column = "alarm"
positive = "on"
values = ["off", "on"]

[columns]
numeric = ["temperature", "vibration"]
drop = ["sensor_id"]

[categorical]
unknown = "other"

[categorical.columns]
site = ["north", "south"]

[[derived]]
name = "hot"
column = "temperature"
op = "gt"
value = 80

[split]
train = 0.6
validation = 0.2
test = 0.2
seed = 7

[xgboost]
objective = "binary:logistic"
num_round = "7"
max_depth = "2"
eta = "0.5"

[evaluation]
threshold = 0.4
"""
SENSOR_ROWS = 300


def sensor_csv(rows: int, seed: int) -> bytes:
    """Readings where hot, shaking sensors alarm; a few come from a site the recipe does not
    list (policy "other")."""
    rng = np.random.default_rng(seed)
    temperature = rng.normal(70, 15, rows).round(1)
    vibration = rng.exponential(1.0, rows).round(3)
    site = rng.choice(["north", "south", "east"], rows, p=[0.5, 0.45, 0.05])
    alarm = np.where(temperature / 10 + vibration + rng.normal(0, 1, rows) > 9, "on", "off")
    out = io.StringIO()
    out.write("sensor_id,site,temperature,vibration,alarm\n")
    for i in range(rows):
        out.write(f"s{i},{site[i]},{temperature[i]},{vibration[i]},{alarm[i]}\n")
    return out.getvalue().encode()


@pytest.fixture(scope="module")
def operator_run(pipeline: Pipeline) -> dict[str, Any]:
    assert pipeline.worker_alive  # the recipe arrives while the worker runs
    pipeline.upload("recipes/sensor-alarms.toml", SENSOR_RECIPE)
    key = "data/sensor-alarms/readings.csv"
    pipeline.upload(key, sensor_csv(SENSOR_ROWS, seed=43))
    return pipeline.wait_for_run(key)


def test_an_operator_recipe_runs_its_dataset_to_the_end(operator_run: dict[str, Any]) -> None:
    assert operator_run["status"] == "succeeded", operator_run
    assert operator_run["dataset"] == "sensor-alarms"


def test_an_operator_recipe_decides_the_processed_columns(
    pipeline: Pipeline, operator_run: dict[str, Any]
) -> None:
    paths = RunPaths(operator_run["run_id"])
    header = pipeline.read_bytes("curated", paths.processed).split(b"\n", 1)[0]
    assert header == b"alarm,temperature,vibration,hot,site_north,site_south,site_other"
    stats = operator_run["stages"]["preprocess"]["stats"]
    assert stats["unknown_categories"]["site"] > 0
    assert stats["extra_columns"] == []  # sensor_id is a known, dropped column


def test_an_operator_recipe_decides_the_hyperparameters(
    pipeline: Pipeline, operator_run: dict[str, Any]
) -> None:
    job_name = sagemaker_names("sensor-alarms", operator_run["run_id"]).training_job
    job = pipeline.clients.sagemaker.describe_training_job(TrainingJobName=job_name)
    recipe = read_recipe(SENSOR_RECIPE, source="test")
    assert job["HyperParameters"] == recipe.hyperparameter_dict()
    assert job["HyperParameters"]["num_round"] == "7"


def test_an_operator_recipe_decides_the_split_and_the_threshold(
    pipeline: Pipeline, operator_run: dict[str, Any]
) -> None:
    run_id = operator_run["run_id"]
    metrics = pipeline.read_json("reports", f"runs/{run_id}/evaluation/metrics.json")["metrics"]
    assert metrics["count"] == SENSOR_ROWS * 20 // 100
    assert metrics["threshold"] == 0.4


# -- a key S3 announces URL-encoded -------------------------------------------------------------

ODD_KEY = f"data/{DATASET}/Q1 report+final (v2) é.csv"  # "+" for a space, %2B for a plus


@pytest.fixture(scope="module")
def odd_key_run(pipeline: Pipeline) -> dict[str, Any]:
    pipeline.upload(ODD_KEY, synthetic_csv(300, seed=44))
    return pipeline.wait_for_run(ODD_KEY)


def test_a_key_with_spaces_plus_and_accents_runs_to_the_end(odd_key_run: dict[str, Any]) -> None:
    assert odd_key_run["status"] == "succeeded", odd_key_run
    assert odd_key_run["source"]["key"] == ODD_KEY


# -- automlops status ---------------------------------------------------------------------------


@pytest.fixture
def status_command(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> Callable[..., int]:
    """`status_command(*args)`: `automlops status ...` in this process, with the environment a
    worker on this stack has; returns the exit code."""
    from automlops.cli import main

    for name, value in pipeline.stack.env.items():
        monkeypatch.setenv(name, value)

    def run(*args: str) -> int:
        with pytest.raises(SystemExit) as exited:
            main(["status", *args])
        return int(exited.value.code or 0)

    return run


def test_status_command_prints_the_runs_manifest(
    operator_run: dict[str, Any],
    status_command: Callable[..., int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert status_command(operator_run["run_id"]) == 0
    printed = capsys.readouterr().out
    assert operator_run["run_id"] in printed
    assert "succeeded" in printed
    assert "sensor-alarms" in printed


def test_status_command_lists_the_recent_runs(
    failed_endpoint: dict[str, Any],
    operator_run: dict[str, Any],
    status_command: Callable[..., int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert status_command() == 0
    lines = capsys.readouterr().out.splitlines()
    (failed,) = [line for line in lines if line.startswith(failed_endpoint["run_id"])]
    assert "failed" in failed.split()
    (succeeded,) = [line for line in lines if line.startswith(operator_run["run_id"])]
    assert "succeeded" in succeeded.split()


def test_status_command_of_an_unknown_run_fails(
    pipeline: Pipeline, status_command: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert status_command("20260101-0000000000") != 0
    assert "20260101-0000000000" in capsys.readouterr().err


# -- the same bytes again, after the recipe was fixed --------------------------------------------


def test_re_uploading_the_same_bytes_after_fixing_the_recipe_starts_a_new_run(
    pipeline: Pipeline,
) -> None:
    """The buckets here announce no version id (moto's events carry none, and its sequencer is
    fixed): the run identity still tells the two uploads of one key and one ETag apart."""

    key = "data/fixed-later/upload.csv"
    body = synthetic_csv(300, seed=51)
    good, _ = packaged_recipe_bytes("bank-marketing")
    pipeline.upload("recipes/fixed-later.toml", good.replace(b'positive = "yes"', b'positive = ""'))
    pipeline.upload(key, body)
    [failed] = [pipeline.wait_for_run(key)]
    assert failed["status"] == "failed"
    assert "target.positive" in failed["error"]

    pipeline.upload("recipes/fixed-later.toml", good)
    pipeline.upload(key, body)  # the very same bytes
    deadline = time.monotonic() + 90
    while len(runs := pipeline.runs_of(key)) < 2 or not all(
        r["status"] in ("succeeded", "failed") for r in runs
    ):
        assert time.monotonic() < deadline, runs
        time.sleep(0.2)
    by_status = {r["status"]: r for r in runs}
    assert set(by_status) == {"failed", "succeeded"}
    assert by_status["succeeded"]["run_id"] != failed["run_id"]
    # The first run's record still tells the truth about it: failed, untouched by the second.
    assert pipeline.manifest(failed["run_id"]) == failed
