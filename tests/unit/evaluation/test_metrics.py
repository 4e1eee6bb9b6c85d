"""Metrics against known confusion matrices, score parsing and the rendered reports."""

from __future__ import annotations

import io
import math

import pytest
from PIL import Image

from handlers.evaluation.binary import Confusion, compute_metrics, render_markdown_report
from handlers.evaluation.responses import InvalidScores, parse_scores
from handlers.report import plots as report_plots
from service.failures import PermanentError

# 3 positives, 5 negatives; at 0.5: TP 2, FN 1, FP 1, TN 4. TP != TN, so a swap shows.
Y_TRUE = [1, 1, 1, 0, 0, 0, 0, 0]
SCORES = [0.9, 0.6, 0.2, 0.7, 0.4, 0.3, 0.1, 0.05]


def test_known_confusion_matrix() -> None:
    metrics = compute_metrics(Y_TRUE, SCORES, threshold=0.5)
    assert metrics.confusion == Confusion(tn=4, fp=1, fn=1, tp=2)
    assert metrics.to_dict()["confusion_matrix"] == [[4, 1], [1, 2]]
    assert metrics.accuracy == pytest.approx(6 / 8)  # (TP + TN) / N, TN counted once
    assert metrics.precision == pytest.approx(2 / 3)
    assert metrics.recall == pytest.approx(2 / 3)
    assert metrics.f1 == pytest.approx(2 / 3)
    assert metrics.specificity == pytest.approx(4 / 5)
    assert (metrics.count, metrics.positives, metrics.predicted_positives) == (8, 3, 3)
    assert metrics.notes == ()


def test_swapped_tp_and_tn_would_be_caught() -> None:
    # 1 true positive, 6 true negatives: the original's swap would report TP 6.
    metrics = compute_metrics([1, 0, 0, 0, 0, 0, 0], [0.8, 0.1, 0.1, 0.2, 0.3, 0.1, 0.4], 0.5)
    assert (metrics.confusion.tp, metrics.confusion.tn) == (1, 6)
    assert metrics.precision == 1.0
    assert metrics.accuracy == 1.0


def test_ranking_metrics() -> None:
    metrics = compute_metrics(Y_TRUE, SCORES, threshold=0.5)
    # Of the 15 positive/negative pairs the positive scores higher in 5 + 4 + 2 = 11.
    assert metrics.roc_auc == pytest.approx(11 / 15)
    # Positives at ranks 1, 3, 6: precision there 1, 2/3, 3/6.
    assert metrics.pr_auc == pytest.approx((1 + 2 / 3 + 3 / 6) / 3)
    expected_log_loss = -sum(
        math.log(s) if y else math.log(1 - s) for y, s in zip(Y_TRUE, SCORES, strict=True)
    ) / len(Y_TRUE)
    assert metrics.log_loss == pytest.approx(expected_log_loss)


def test_every_prediction_negative() -> None:
    metrics = compute_metrics(Y_TRUE, [0.1] * 8, threshold=0.5)
    assert metrics.confusion == Confusion(tn=5, fp=0, fn=3, tp=0)
    assert (metrics.precision, metrics.recall, metrics.f1) == (0.0, 0.0, 0.0)
    assert metrics.specificity == 1.0
    assert metrics.roc_auc == 0.5


def test_every_prediction_positive() -> None:
    metrics = compute_metrics(Y_TRUE, [0.9] * 8, threshold=0.5)
    assert metrics.confusion == Confusion(tn=0, fp=5, fn=0, tp=3)
    assert metrics.specificity == 0.0
    assert metrics.recall == 1.0


def test_only_negatives_in_the_test_set() -> None:
    metrics = compute_metrics([0, 0, 0], [0.1, 0.6, 0.2], threshold=0.5)
    assert metrics.confusion == Confusion(tn=2, fp=1, fn=0, tp=0)
    assert metrics.roc_auc is None
    assert metrics.pr_auc is None
    assert metrics.log_loss is not None
    assert any("ROC AUC is undefined" in note for note in metrics.notes)


def test_only_positives_in_the_test_set() -> None:
    metrics = compute_metrics([1, 1], [0.9, 0.2], threshold=0.5)
    assert metrics.roc_auc is None
    assert metrics.pr_auc == 1.0
    assert metrics.confusion == Confusion(tn=0, fp=0, fn=1, tp=1)


def test_a_score_equal_to_the_threshold_predicts_negative() -> None:
    assert compute_metrics([1, 0], [0.5, 0.5], threshold=0.5).predicted_positives == 0


def test_log_loss_clips_certain_wrong_scores() -> None:
    metrics = compute_metrics([1, 0], [0.0, 1.0], threshold=0.5)
    assert metrics.log_loss is not None
    assert math.isfinite(metrics.log_loss)


def test_scores_outside_zero_one() -> None:
    metrics = compute_metrics([1, 0], [2.5, -1.0], threshold=0.5)
    assert metrics.log_loss is None
    assert metrics.roc_auc == 1.0


@pytest.mark.parametrize(
    ("y_true", "scores", "message"),
    [
        ([1, 0], [0.5], "labels but"),
        ([], [], "nothing to evaluate"),
        ([2, 0], [0.1, 0.2], "labels must be 0 or 1"),
        ([1, 0], [math.nan, 0.2], "finite"),
    ],
)
def test_bad_inputs(y_true: list[int], scores: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_metrics(y_true, scores, threshold=0.5)


@pytest.mark.parametrize(
    "body",
    [
        b"0.25,0.5,0.75",
        b"0.25\n0.5\n0.75\n",
        b"0.25, 0.5\r\n0.75,",
        b"[0.25, 0.5, 0.75]",
        b'{"predictions": [{"score": 0.25}, {"score": 0.5}, {"score": 0.75}]}',
        b'{"predictions": [0.25, 0.5, 0.75]}',
        b"2.5e-1,5E-1,.75",
    ],
)
def test_parse_scores(body: bytes) -> None:
    assert parse_scores(body).tolist() == [0.25, 0.5, 0.75]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"  \n", "empty"),
        (b"0.1,hello", "score 1 is 'hello'"),
        (b"0.1,nan", "not a finite number"),
        (b"\xff\xfe", "not UTF-8"),
        (b"{not json", "not valid JSON"),
        (b'{"outputs": [0.1]}', "no list of predictions"),
        (b'{"predictions": [{"label": 1}]}', "score 0 is None"),
        (b"[true]", "score 0 is True"),
        (b"<html>error</html>", "not a number"),
    ],
)
def test_parse_scores_rejects_garbage(body: bytes, message: str) -> None:
    with pytest.raises(InvalidScores, match=message) as caught:
        parse_scores(body)
    assert isinstance(caught.value, PermanentError)


def test_confusion_png() -> None:
    matrix = Confusion(tn=35120, fp=1428, fn=3020, tp=1620).as_matrix()
    png = report_plots.confusion(matrix, ("no", "yes"))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(png)) as image:
        assert 300 < image.width < 800
        assert 300 < image.height < 800
        colours = image.convert("RGB").getcolors(maxcolors=100_000)
        assert colours is not None
        assert len(colours) > 20  # drawn: shaded cells and text, not a blank canvas


def test_markdown_report() -> None:
    metrics = compute_metrics([0, 0, 0], [0.1, 0.6, 0.2], threshold=0.5)
    report = render_markdown_report(metrics, {"run id": "20261126-3f9a1c0b2e", "dataset": "bank"})
    assert "| run id | 20261126-3f9a1c0b2e |" in report
    assert "| actual 0 | 2 (TN) | 1 (FP) |" in report
    assert "| actual 1 | 0 (FN) | 0 (TP) |" in report
    assert "| ROC AUC | undefined |" in report
    assert "| accuracy | 0.6667 |" in report
    assert "ROC AUC is undefined" in report
