"""Multiclass and regression metrics: scikit-learn's numbers, defined on awkward test sets, and
the endpoint's class-probability rows parsed as the container writes them."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from handlers.evaluation.multiclass import compute_multiclass_metrics, render_multiclass_markdown
from handlers.evaluation.regression import compute_regression_metrics, render_regression_markdown
from handlers.evaluation.responses import InvalidScores, parse_scores
from localcloud.sagemaker.runtime import CSV, JSON, encode

CLASSES = ("a", "b", "c", "d")


def probabilities(rng: np.random.Generator, labels: np.ndarray) -> np.ndarray:
    logits = rng.normal(size=(len(labels), len(CLASSES)))
    logits[np.arange(len(labels)), labels] += 1.5
    exp = np.exp(logits)
    normalised: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return normalised


def test_multiclass_metrics_are_sklearns() -> None:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, 500)
    proba = probabilities(rng, labels)
    predicted = proba.argmax(axis=1)
    metrics = compute_multiclass_metrics(labels.astype(float), proba, CLASSES)
    assert metrics.accuracy == pytest.approx(skm.accuracy_score(labels, predicted))
    assert metrics.f1_macro == pytest.approx(skm.f1_score(labels, predicted, average="macro"))
    assert metrics.recall_weighted == pytest.approx(
        skm.recall_score(labels, predicted, average="weighted")
    )
    assert metrics.balanced_accuracy == pytest.approx(
        skm.balanced_accuracy_score(labels, predicted)
    )
    assert metrics.roc_auc_ovr == pytest.approx(
        skm.roc_auc_score(labels, proba, multi_class="ovr", average="macro")
    )
    assert metrics.log_loss == pytest.approx(skm.log_loss(labels, proba, labels=[0, 1, 2, 3]))
    matrix = np.array(metrics.confusion_matrix)
    assert matrix.shape == (4, 4)
    assert matrix.sum() == 500
    assert matrix.trace() == (labels == predicted).sum()
    assert [c.support for c in metrics.per_class] == np.bincount(labels).tolist()
    report = render_multiclass_markdown(metrics, {"run_id": "r"})
    assert "| actual \\ predicted | a | b | c | d |" in report


def test_a_class_missing_from_the_test_rows_is_left_out_of_the_auc_with_a_note() -> None:
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 3, 200)  # class d never occurs
    proba = probabilities(rng, labels)
    metrics = compute_multiclass_metrics(labels, proba, CLASSES)
    expected = np.mean([skm.roc_auc_score(labels == c, proba[:, c]) for c in range(3)])
    assert metrics.roc_auc_ovr == pytest.approx(expected)
    assert any("leaves out d" in note for note in metrics.notes)
    assert metrics.per_class[3].support == 0
    one_class = compute_multiclass_metrics(
        np.zeros(10), probabilities(rng, np.zeros(10, int)), CLASSES
    )
    assert one_class.roc_auc_ovr is None
    assert one_class.accuracy >= 0


def test_multiclass_scores_of_the_wrong_shape_are_refused() -> None:
    with pytest.raises(ValueError, match="one probability per class per row"):
        compute_multiclass_metrics([0, 1], np.full((2, 3), 1 / 3), CLASSES)


def test_regression_metrics_are_sklearns_and_mape_needs_no_zero_target() -> None:
    rng = np.random.default_rng(5)
    actual = rng.uniform(10, 100, 300)
    predicted = actual + rng.normal(0, 5, 300)
    metrics = compute_regression_metrics(actual, predicted)
    assert metrics.rmse == pytest.approx(np.sqrt(skm.mean_squared_error(actual, predicted)))
    assert metrics.mae == pytest.approx(skm.mean_absolute_error(actual, predicted))
    assert metrics.r2 == pytest.approx(skm.r2_score(actual, predicted))
    assert metrics.median_absolute_error == pytest.approx(
        skm.median_absolute_error(actual, predicted)
    )
    assert metrics.mape == pytest.approx(skm.mean_absolute_percentage_error(actual, predicted))
    assert "| RMSE |" in render_regression_markdown(metrics, {"run_id": "r"})
    with_zero = compute_regression_metrics([0.0, 2.0, 3.0], [0.5, 2.0, 2.5])
    assert with_zero.mape is None
    assert "MAPE is undefined: 1 test target(s) are 0" in with_zero.notes
    constant = compute_regression_metrics([4.0, 4.0], [3.0, 5.0])
    assert constant.r2 is None
    assert constant.rmse == pytest.approx(1.0)


@pytest.mark.parametrize("media", [CSV, JSON])
def test_class_probability_rows_round_trip_from_the_containers_bytes(media: str) -> None:
    proba = np.array([[0.1, 0.2, 0.3, 0.4], [0.7, 0.1, 0.1, 0.1]], dtype=np.float32)
    body = encode(proba, media)
    if media == CSV:
        assert body.count(b"\n") == 2  # numpy.savetxt: one line per row, values by commas
    parsed = parse_scores(body, columns=4)
    assert parsed.shape == (2, 4)
    assert parsed.tolist() == proba.tolist()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"0.1,0.9\n0.5,0.5\n", "score row 0 has 2 value"),
        (b"0.1,0.2,0.3,0.4\n0.5\n", "score row 1 has 1 value"),
        (b'{"predictions": [{"score": 0.5}]}', "score row 0 has 1 value"),
    ],
)
def test_a_row_without_one_probability_per_class_is_invalid(body: bytes, message: str) -> None:
    with pytest.raises(InvalidScores, match=message):
        parse_scores(body, columns=4)
