"""The report's parts: PSI of shifted and unshifted data, the training log's round lines parsed
back, gain importance read from a real booster's model.tar.gz, and a rendered page."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from handlers.data import profile as data_profile
from handlers.recipe.reader import load_packaged
from handlers.report import insight as model_insight
from handlers.report.insight import InsightUnavailable
from localcloud.sagemaker.training_logs import round_lines

RECIPE = load_packaged("bank-marketing")


def processed_file(path: Path, rows: int, seed: int, age_shift: float = 0.0) -> Path:
    """A processed file of the recipe's columns: label first, random features."""
    rng = np.random.default_rng(seed)
    columns = RECIPE.output_columns()
    table = np.zeros((rows, len(columns)))
    table[:, 0] = rng.integers(0, 2, rows)
    for index, name in enumerate(columns):
        if name in RECIPE.numeric:
            table[:, index] = rng.normal(40 + age_shift if name == "age" else 5, 5, rows).round()
    for spec in RECIPE.categorical:
        picks = rng.integers(0, len(spec.vocabulary), rows)
        for position, value in enumerate(spec.vocabulary):
            table[:, columns.index(f"{spec.column}_{value}")] = picks == position
    np.savetxt(path, table, delimiter=",", fmt="%g", header=",".join(columns), comments="")
    return path


def test_psi_is_near_zero_for_the_same_population_and_large_for_a_shifted_feature(
    tmp_path: Path,
) -> None:
    reference_file = processed_file(tmp_path / "ref.csv", 3000, 1)
    train = tmp_path / "train.csv"
    train.write_text("".join(reference_file.read_text().splitlines(keepends=True)[1:]))
    reference, _ = data_profile.profile(RECIPE, reference_file, train, {}, 3000)
    same_file = processed_file(tmp_path / "same.csv", 3000, 2)
    _, same = data_profile.profile(RECIPE, same_file, train, {}, 3000)
    shifted_file = processed_file(tmp_path / "shifted.csv", 3000, 3, age_shift=8)
    _, shifted = data_profile.profile(RECIPE, shifted_file, train, {}, 3000)
    against = {"version": 1, "run_id": "r"}
    calm = data_profile.drift(RECIPE, same, reference["reference"], against)
    moved = data_profile.drift(RECIPE, shifted, reference["reference"], against)
    assert calm["max_psi"] < data_profile.MODERATE_PSI
    assert not calm["drifted"]
    assert moved["top"][0][0] == "age"
    assert moved["psi"]["age"] > data_profile.LARGE_PSI
    assert moved["drifted_features"] == ["age"]
    assert moved["target"]["psi"] < data_profile.MODERATE_PSI
    assert set(reference["reference"]["features"]) >= {"age", "job", "month"}


def test_the_training_log_lines_parse_back_into_curves() -> None:
    history = {"train": {"logloss": [0.6, 0.5, 0.4]}, "validation": {"logloss": [0.65, 0.6, 0.58]}}
    lines = ["Arguments: train", *round_lines(history), "[2026-12-01 10:00:00] done"]
    assert lines[1] == "[0]#011train-logloss:0.60000#011validation-logloss:0.65000"
    curves = model_insight.parse_curves(lines)
    assert curves == {"logloss": {"train": [0.6, 0.5, 0.4], "validation": [0.65, 0.6, 0.58]}}
    tabbed = model_insight.parse_curves(["[0]\ttrain-rmse:1.5\tvalidation-rmse:2.5"])
    assert tabbed == {"rmse": {"train": [1.5], "validation": [2.5]}}


def _model_tar(booster: xgb.Booster) -> bytes:
    raw = booster.save_raw(raw_format="ubj")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(raw)
        archive.addfile(info, io.BytesIO(bytes(raw)))
    return buffer.getvalue()


def test_gain_importance_names_the_feature_the_model_splits_on() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(500, 3))
    labels = (features[:, 2] > 0).astype(int)  # only the third feature matters
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(features, label=labels), 10
    )
    ranked = model_insight.gain_importance(_model_tar(booster), ["a", "b", "signal"])
    assert ranked[0][0] == "signal"
    assert ranked[0][1] > 10 * max([gain for _, gain in ranked[1:]], default=0.0)


def test_a_model_archive_without_a_booster_is_unavailable_with_the_reason() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = b"not a model"
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    with pytest.raises(InsightUnavailable, match="not an XGBoost model"):
        model_insight.gain_importance(buffer.getvalue(), ["a"])
    with pytest.raises(InsightUnavailable, match="holds no xgboost-model"):
        model_insight.gain_importance(b"\x1f\x8b garbage", ["a"])


def test_the_calibration_points_are_scikit_learns() -> None:
    from sklearn.calibration import calibration_curve

    from handlers.report.plots import _calibration_points

    rng = np.random.default_rng(4)
    for rows in (40, 413, 1000):
        labels = rng.integers(0, 2, rows)
        scores = rng.random(rows)
        scores[:12] = 0.5  # ties across a bin edge
        observed, predicted = calibration_curve(labels, scores, n_bins=10, strategy="quantile")
        ours_predicted, ours_observed = _calibration_points(labels, scores, 10)
        np.testing.assert_allclose(ours_observed, observed)
        np.testing.assert_allclose(ours_predicted, predicted)
