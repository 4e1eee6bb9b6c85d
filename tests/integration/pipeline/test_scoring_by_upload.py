"""Scoring by upload on both AWSs of the suite: a file under score/<dataset>/ comes back in the
reports bucket with the live model's prediction for every row (the rows unchanged, the same
scores as the model on the rows the recipe encodes); a labelled file also measures the live
model; a bad file is refused naming row, column and value, with nothing predicted; a dataset
without a live model, an unknown one and an empty file each say so; a redelivery scores nothing
twice."""

from __future__ import annotations

import gzip
import io
import tarfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost as xgb
from csv_rows import as_csv, rows_of
from pipeline_harness import Pipeline, cli, synthetic_csv

from handlers.data.features import encode_features
from handlers.messages import ScoreRequested
from handlers.naming import RunPaths, ScorePaths
from handlers.recipe.reader import load_packaged
from handlers.stages import score
from service.failures import DuplicateDelivery
from service.settle import ATTR_ERROR, ATTR_MESSAGE_TYPE

DATASET = "bank-marketing"
RECIPE = load_packaged(DATASET)


@pytest.fixture(scope="module")
def live(pipeline: Pipeline) -> dict[str, Any]:
    """The dataset's first version, promoted: what the live endpoint serves."""
    key = f"data/{DATASET}/first.csv"
    pipeline.upload(key, synthetic_csv(2000, seed=31))
    run = pipeline.wait_until_quiet(pipeline.wait_for_run(key))
    assert run["decision"]["decision"] == "promoted", run
    return run


def new_rows(rows: int, seed: int, labelled: bool = False) -> bytes:
    """Rows as an application has them: no label (unless asked), columns in another order."""
    table = rows_of(synthetic_csv(rows, seed=seed))
    order = list(reversed(range(len(table[0]))))
    if not labelled:
        order.remove(table[0].index("y"))
    return as_csv([[row[i] for i in order] for row in table])


def scored(pipeline: Pipeline, key: str, body: bytes, timeout: float = 90) -> dict[str, Any]:
    """Upload `key` and wait for its summary or its error."""
    pipeline.upload(key, body)
    paths = ScorePaths.of_key(key)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for written in (paths.summary, paths.error):
            if written in pipeline.keys("reports", written):
                return pipeline.read_json("reports", written)
        time.sleep(0.3)
    raise AssertionError(f"{key} was neither scored nor refused in {timeout} s")


def model_scores(pipeline: Pipeline, run_id: str, rows: bytes) -> np.ndarray:
    """The live version's own model on the rows as the recipe encodes them."""
    with tarfile.open(
        fileobj=io.BytesIO(pipeline.read_bytes("models", RunPaths(run_id).serving_bundle))
    ) as archive:
        member = archive.extractfile("xgboost-model")
        assert member is not None
        booster = xgb.Booster(model_file=bytearray(member.read()))
    encoded = b"".join(encode_features(io.BytesIO(rows), RECIPE, file="rows"))
    matrix = np.loadtxt(io.BytesIO(encoded), delimiter=",", ndmin=2)
    scores: np.ndarray = booster.predict(xgb.DMatrix(matrix))
    return scores


def test_a_file_comes_back_with_every_rows_prediction(
    pipeline: Pipeline, live: dict[str, Any]
) -> None:
    rows = new_rows(700, seed=32)
    summary = scored(pipeline, f"score/{DATASET}/new rows.csv", rows)
    assert summary["rows"] == 700
    assert summary["model"] == {"dataset": DATASET, "version": 1, "run_id": live["run_id"]}
    assert "metrics" not in summary
    out = rows_of(pipeline.read_bytes("reports", f"predictions/{DATASET}/new rows.csv"))
    given = rows_of(rows)
    assert out[0] == [*given[0], "predicted_y", "probability_yes"]
    assert [row[: len(given[0])] for row in out[1:]] == given[1:]  # the rows, unchanged
    probabilities = np.array([float(row[-1]) for row in out[1:]])
    assert np.allclose(probabilities, model_scores(pipeline, live["run_id"], rows), atol=1e-6)
    assert {row[-2] for row in out[1:]} <= {"yes", "no"}
    assert sum(summary["summary"]["predicted"].values()) == 700


def test_a_labelled_gzip_file_also_measures_the_live_model(
    pipeline: Pipeline, live: dict[str, Any]
) -> None:
    summary = scored(
        pipeline, f"score/{DATASET}/labelled.csv.gz", gzip.compress(new_rows(800, 33, True))
    )
    assert summary["rows"] == 800
    metrics = summary["metrics"]
    assert 0.5 < metrics["roc_auc"] <= 1
    assert metrics["floors_missed"] == []
    listed = pipeline.clients.cloudwatch.list_metrics(MetricName="LiveBelowFloor")["Metrics"]
    assert any({"Name": "Dataset", "Value": DATASET} in m["Dimensions"] for m in listed)


def test_a_bad_row_refuses_the_file_naming_it_and_nothing_is_predicted(
    pipeline: Pipeline, live: dict[str, Any]
) -> None:
    table = rows_of(new_rows(50, seed=34))
    table[17][table[0].index("age")] = "forty"
    key = f"score/{DATASET}/bad.csv"
    refused = scored(pipeline, key, as_csv(table))
    assert "data row 17 (line 18 of the file), column 'age', value 'forty'" in refused["error"]
    assert pipeline.keys("reports", f"predictions/{DATASET}/bad.csv") == []
    (letter,) = pipeline.dead_letters_for(key)
    attributes = letter["MessageAttributes"]
    assert attributes[ATTR_MESSAGE_TYPE]["StringValue"] == "score.requested"
    assert "data row 17 (line 18 of the file)" in attributes[ATTR_ERROR]["StringValue"]


@pytest.mark.parametrize(
    ("key", "body", "says"),
    [
        ("score/no-such-data/rows.csv", b"a,b\n1,2\n", "unknown dataset 'no-such-data'"),
        ("score/bank-marketing/empty.csv", b"", "the file is empty"),
    ],
    ids=["unknown-dataset", "empty-file"],
)
def test_what_cannot_be_scored_says_why(
    pipeline: Pipeline, live: dict[str, Any], key: str, body: bytes, says: str
) -> None:
    refused = scored(pipeline, key, body)
    assert says in refused["error"]


def test_a_dataset_without_a_live_model_says_so(pipeline: Pipeline) -> None:
    pipeline.upload("recipes/fresh.toml", _renamed("fresh"))
    refused = scored(pipeline, "score/fresh/rows.csv", new_rows(5, seed=35))
    assert "dataset fresh has no live model yet" in refused["error"]


def _renamed(dataset: str) -> bytes:
    from handlers.recipe.reader import packaged_recipe_bytes

    text = packaged_recipe_bytes(DATASET)[0].decode()
    return text.replace(f'name = "{DATASET}"', f'name = "{dataset}"').encode()


def test_a_redelivery_scores_nothing_twice(pipeline: Pipeline, live: dict[str, Any]) -> None:
    key = f"score/{DATASET}/twice.csv"
    summary = scored(pipeline, key, new_rows(30, seed=36))
    head = pipeline.clients.s3.head_object(Bucket=pipeline.bucket("reports"), Key=summary_key(key))
    message = ScoreRequested(
        bucket=pipeline.bucket("raw"), key=key, job_id=summary["job_id"], etag="x"
    )
    with pytest.raises(DuplicateDelivery):
        score.handle(message, pipeline.context())
    again = pipeline.clients.s3.head_object(Bucket=pipeline.bucket("reports"), Key=summary_key(key))
    assert again["ETag"] == head["ETag"]
    assert again["LastModified"] == head["LastModified"]


def summary_key(key: str) -> str:
    return ScorePaths.of_key(key).summary


# -- automlops predict ----------------------------------------------------------------------------


def test_predict_uploads_waits_and_downloads_the_predictions(
    pipeline: Pipeline, live: dict[str, Any], tmp_path: Path
) -> None:
    rows = tmp_path / "customers.csv"
    rows.write_bytes(new_rows(40, seed=37))
    done = cli(pipeline, "predict", DATASET, str(rows), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip())
    assert path == tmp_path / "out" / DATASET / "customers.csv"
    table = rows_of(path.read_bytes())
    assert table[0][-2:] == ["predicted_y", "probability_yes"]
    assert len(table) == 41
    assert f"40 rows scored by version 1 of {DATASET} (run {live['run_id']})" in done.stderr


def test_predict_says_which_row_is_wrong_and_exits_1(
    pipeline: Pipeline, live: dict[str, Any], tmp_path: Path
) -> None:
    table = rows_of(new_rows(10, seed=38))
    table[4][table[0].index("marital")] = "widowed"
    rows = tmp_path / "wrong.csv"
    rows.write_bytes(as_csv(table))
    done = cli(pipeline, "predict", DATASET, str(rows), "--out", str(tmp_path))
    assert done.returncode == 1
    assert "wrong.csv was not scored" in done.stderr
    assert "data row 4 (line 5 of the file), column 'marital', value 'widowed'" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("name", "says"),
    [("notes.txt", "the worker scores .csv"), ("missing.csv", "is not a file")],
)
def test_predict_refuses_at_once_what_the_worker_would_not_take(
    pipeline: Pipeline, tmp_path: Path, name: str, says: str
) -> None:
    if name != "missing.csv":
        (tmp_path / name).write_text("a,b\n1,2\n")
    done = cli(pipeline, "predict", DATASET, str(tmp_path / name), "--wait", "1")
    assert done.returncode == 1
    assert says in done.stderr


def test_with_bad_rows_skipped_the_good_ones_are_scored_and_the_bad_set_aside(
    pipeline: Pipeline,
) -> None:
    recipe = _renamed("skipping") + b'\n[scoring]\nbad_rows = "skip"\n'
    pipeline.upload("recipes/skipping.toml", recipe)
    first = pipeline.wait_until_quiet(
        pipeline.wait_for_run(pipeline.upload("data/skipping/v1.csv", synthetic_csv(1500, 3)).key)
    )
    assert first["decision"]["decision"] == "promoted", first
    table = rows_of(new_rows(60, seed=39))
    table[9][table[0].index("age")] = "n/a"
    table[41][table[0].index("job")] = "astronaut"
    summary = scored(pipeline, "score/skipping/mixed.csv", as_csv(table))
    assert (summary["rows"], summary["rejected"]) == (58, 2)
    out = rows_of(pipeline.read_bytes("reports", "predictions/skipping/mixed.csv"))
    assert [row[: len(table[0])] for row in out[1:]] == [
        row for i, row in enumerate(table[1:], start=1) if i not in (9, 41)
    ]
    aside = rows_of(pipeline.read_bytes("reports", "predictions/skipping/mixed.rejected.csv"))
    assert [(row[0], row[-1].split(":")[0]) for row in aside[1:]] == [
        ("9", "column 'age', value 'n/a'"),
        ("41", "column 'job', value 'astronaut'"),
    ]


def test_status_shows_the_files_scored_and_refused(
    pipeline: Pipeline, live: dict[str, Any]
) -> None:
    table = rows_of(new_rows(5, seed=40))
    table[2][table[0].index("pdays")] = "never"
    scored(pipeline, f"score/{DATASET}/status-bad.csv", as_csv(table))
    scored(pipeline, f"score/{DATASET}/status-good.csv", new_rows(5, seed=41))
    shown = cli(pipeline, "status")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    start = lines.index("files scored by upload (newest first):")
    good, bad = lines[start + 1], lines[start + 2]
    assert good.startswith("  scored    s3://")
    assert "status-good.csv: 5 rows, version 1" in good
    assert bad.startswith("  refused   s3://")
    assert "data row 2 (line 3 of the file), column 'pdays', value 'never'" in bad
