"""Every task kind end to end on the embedded stack: a drafted recipe (unchanged), the file through
every stage, the kind's metrics, a second version gated against the champion on the same rows,
and parity: the pipeline's headline metric equals a direct `xgboost.train` with the recipe's
parameters on the same split, to three decimals."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost as xgb
from browser import assert_renders
from lifecycle_helpers import cli, decision, rows_of, serves
from pipeline_harness import Pipeline, running_pipeline
from sklearn import metrics as skm

from handlers.data.synthetic import generate
from handlers.data.synthetic_tasks import generate_prices, generate_segments
from handlers.naming import RunPaths
from handlers.recipe.model import Recipe
from handlers.recipe.reader import load_packaged, read_recipe

pytestmark = pytest.mark.e2e

Generator = Callable[..., int]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    with running_pipeline(tmp_path_factory.mktemp("kinds")) as running:
        yield running


def written(make: Generator, rows: int, seed: int, path: Path) -> Path:
    with path.open("wb") as sink:
        make(sink, rows, seed=seed)
    return path


def drafted(pipeline: Pipeline, data: Path, dataset: str, target: str) -> Recipe:
    made = cli(pipeline, "recipe", "draft", str(data), "--dataset", dataset, "--target", target)
    assert made.returncode == 0, made.stderr
    pipeline.upload(f"recipes/{dataset}.toml", made.stdout.encode())
    return read_recipe(made.stdout.encode(), source="draft")


def run_of(pipeline: Pipeline, key: str, data: Path) -> dict[str, Any]:
    pipeline.upload(key, data.read_bytes())
    run = pipeline.wait_until_quiet(pipeline.wait_for_run(key))
    assert run["status"] == "succeeded", run
    return run


def part(pipeline: Pipeline, key: str, header: bool) -> tuple[np.ndarray, np.ndarray]:
    lines = pipeline.read_bytes("curated", key).decode().splitlines()[1 if header else 0 :]
    table = np.array([[float(v) for v in line.split(",")] for line in lines if line])
    return table[:, 0], table[:, 1:]


def direct_headline(pipeline: Pipeline, run_id: str, recipe: Recipe) -> float:
    """The recipe's promotion metric of a model trained here with xgboost.train on the run's own
    train part (same parameters) and scored on its test part with scikit-learn."""
    paths = RunPaths(run_id)
    y_train, x_train = part(pipeline, paths.train, header=False)
    y_test, x_test = part(pipeline, paths.test, header=True)
    params: dict[str, Any] = {k: v for k, v in recipe.hyperparameters if k != "num_round"}
    rounds = int(recipe.hyperparameter_dict()["num_round"])
    booster = xgb.train(params, xgb.DMatrix(x_train, label=y_train), num_boost_round=rounds)
    predicted = booster.predict(xgb.DMatrix(x_test))
    metric = recipe.promotion.metric
    if metric == "roc_auc":
        return float(skm.roc_auc_score(y_test, predicted))
    if metric == "f1_macro":
        return float(skm.f1_score(y_test, predicted.argmax(axis=1), average="macro"))
    assert metric == "rmse"
    return float(skm.root_mean_squared_error(y_test, predicted))


def evaluation(pipeline: Pipeline, run_id: str) -> dict[str, Any]:
    metrics: dict[str, Any] = pipeline.read_json("reports", RunPaths(run_id).evaluation["metrics"])[
        "metrics"
    ]
    return metrics


def test_a_multiclass_file_runs_with_its_drafted_recipe(pipeline: Pipeline, tmp_path: Path) -> None:
    data = written(generate_segments, 3000, 11, tmp_path / "segments.csv")
    recipe = drafted(pipeline, data, "segments", "segment")
    assert recipe.target.kind == "multiclass"
    run = run_of(pipeline, "data/segments/segments.csv", data)
    metrics = evaluation(pipeline, run["run_id"])
    assert metrics["kind"] == "multiclass"
    assert metrics["classes"] == ["bronze", "gold", "platinum", "silver"]
    assert np.array(metrics["confusion_matrix"]).shape == (4, 4)
    test_rows = run["stages"]["train"]["stats"]["rows"]["test"]
    assert metrics["count"] == test_rows
    assert 290 < test_rows < 310  # stratified: each class's 10 %, rounded per class
    assert 0.5 < metrics["f1_macro"] <= 1
    assert 0.7 < metrics["roc_auc_ovr"] <= 1  # a real signal, found
    made = decision(pipeline, run["run_id"])
    assert made["decision"] == "promoted"
    assert made["metric"] == "f1_macro"
    # The live endpoint answers the raw test rows with the model's own class probabilities.
    assert serves(pipeline, "segments", run["run_id"], rows_of(pipeline, run["run_id"]))
    unknown = cli(pipeline, "report", "20991231-0123456789")
    assert unknown.returncode == 1
    assert "no run 20991231-0123456789 in s3://" in unknown.stderr
    assert cli(pipeline, "report", "../etc").returncode == 1  # not a run id: never a path
    report = pipeline.read_bytes("reports", RunPaths(run["run_id"]).evaluation["report"])
    assert b"| actual \\ predicted | bronze | gold | platinum | silver |" in report
    png = pipeline.read_bytes("reports", RunPaths(run["run_id"]).evaluation["confusion_matrix"])
    assert png.startswith(b"\x89PNG")
    direct = direct_headline(pipeline, run["run_id"], recipe)
    print(f"parity multiclass f1_macro: pipeline {metrics['f1_macro']:.6f}, direct {direct:.6f}")
    assert round(metrics["f1_macro"], 3) == round(direct, 3), (metrics["f1_macro"], direct)
    # A second version: its page shows both models' numbers, the per-class table, the k-by-k
    # matrix and the drift from version 1's training rows, in a real browser.
    again = written(generate_segments, 3000, 15, tmp_path / "segments-2.csv")
    second = run_of(pipeline, "data/segments/segments-2.csv", again)
    page = tmp_path / "report.html"
    page.write_bytes(pipeline.read_bytes("reports", RunPaths(second["run_id"]).html_report))
    html = page.read_text()
    assert "champion (version 1)" in html
    assert "Compared with version 1" in html
    sections = {"section-per-class", "section-confusion", "figure-confusion", "section-drift"}
    assert_renders(page, tmp_path / "browser", sections | {"figure-importance", "figure-training"})


def test_a_regression_file_runs_and_its_better_version_replaces_the_champion(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    first_file = written(generate_prices, 1500, 12, tmp_path / "prices-1.csv")
    recipe = drafted(pipeline, first_file, "prices", "price")
    assert recipe.target.kind == "regression"
    first = run_of(pipeline, "data/prices/prices-1.csv", first_file)
    metrics = evaluation(pipeline, first["run_id"])
    assert metrics["kind"] == "regression"
    assert 15_000 < metrics["rmse"] < 30_000  # the noise is 20,000: the signal is found
    assert metrics["r2"] > 0.8
    assert metrics["mape"] is not None
    assert "confusion_matrix" not in first["stages"]["evaluate"]["artifacts"]
    direct = direct_headline(pipeline, first["run_id"], recipe)
    print(f"parity regression rmse: pipeline {metrics['rmse']:.6f}, direct {direct:.6f}")
    assert round(metrics["rmse"], 3) == round(direct, 3), (metrics["rmse"], direct)
    assert serves(pipeline, "prices", first["run_id"], rows_of(pipeline, first["run_id"]))
    # More rows make a better model: lower RMSE wins on the challenger's own rows, when it is
    # lower at the unlucky end of the paired interval (the drafted recipe requires confidence).
    assert recipe.promotion.require == "confident"
    second_file = written(generate_prices, 6000, 13, tmp_path / "prices-2.csv")
    second = run_of(pipeline, "data/prices/prices-2.csv", second_file)
    made = decision(pipeline, second["run_id"])
    champion = made["champion"]["metrics"]["rmse"]
    challenger = evaluation(pipeline, second["run_id"])["rmse"]
    difference = made["champion"]["comparison"]["difference"]
    sure = difference is not None and difference["high"] < 0
    assert made["decision"] == ("promoted" if sure else "rejected"), made
    assert f"rmse {challenger:.4f} vs {champion:.4f} for the champion" in made["reason"]
    # The second version's page, as `automlops report` brings it: both models on the same
    # axes, drift against version 1.
    fetched = cli(pipeline, "report", second["run_id"], "--out", str(tmp_path / "out"))
    assert fetched.returncode == 0, fetched.stderr
    page = Path(fetched.stdout.strip())
    assert page == tmp_path / "out" / second["run_id"] / "report.html"
    assert f"runs index: {tmp_path / 'out' / 'index.html'}" in fetched.stderr
    assert (page.parent / "scores.csv").exists()
    assert (page.parent / "champion-v1-scores.csv").exists()
    html = page.read_text()
    assert "champion (version 1)" in html
    assert "Compared with version 1" in html
    assert "difference (this \u2212 champion)" in html
    sections = {"section-regression", "figure-predicted", "figure-residuals", "section-drift"}
    assert_renders(page, tmp_path / "browser", sections | {"figure-importance", "figure-training"})


def test_binary_parity_with_a_direct_xgboost_train(pipeline: Pipeline, tmp_path: Path) -> None:
    sink = io.BytesIO()
    generate(sink, 3000, seed=14)
    data = tmp_path / "bank.csv"
    data.write_bytes(sink.getvalue())
    run = run_of(pipeline, "data/bank-marketing/parity.csv", data)
    recipe = load_packaged("bank-marketing")
    metrics = evaluation(pipeline, run["run_id"])
    direct = direct_headline(pipeline, run["run_id"], recipe)
    print(f"parity binary roc_auc: pipeline {metrics['roc_auc']:.6f}, direct {direct:.6f}")
    assert round(metrics["roc_auc"], 3) == round(direct, 3), (metrics["roc_auc"], direct)
