"""A served model's CSV answer read back by column name, as evaluation and scoring read it."""

from __future__ import annotations

import numpy as np
import pytest

from handlers.evaluation.responses import InvalidScores, parse_answer


def test_columns_are_read_by_name_in_the_order_asked() -> None:
    body = b"predicted_s,probability_b,probability_a\nb,0.75,0.25\na,0.125,0.875\n"
    scores = parse_answer(body, ("probability_a", "probability_b"))
    assert scores.tolist() == [[0.25, 0.75], [0.875, 0.125]]
    one = parse_answer(body, ("probability_a",))
    assert one.shape == (2,)


def test_a_quoted_label_with_a_comma_does_not_shift_the_columns() -> None:
    body = b'predicted_city,probability_yes\n"Boston, MA",0.5\n'
    assert parse_answer(body, ("probability_yes",)).tolist() == [0.5]


def test_an_empty_answer_has_no_rows() -> None:
    assert parse_answer(b"predicted_y,probability_yes\n", ("probability_yes",)).shape == (0,)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"predicted_y,p\nno,0.1\n", "no column probability_yes"),
        (b"predicted_y,probability_yes\nno,0.1\nno,high\n", "score 1 is 'high'"),
        (b"predicted_y,probability_yes\nno,nan\n", "not a finite number"),
        (b"", "empty"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_a_wrong_answer_says_what_is_wrong(body: bytes, says: str) -> None:
    with pytest.raises(InvalidScores, match=says):
        parse_answer(body, ("probability_yes",))


def test_exact_values_survive_the_round_trip() -> None:
    value = float(np.float32(0.14439980685710907))
    body = f"predicted_y,probability_yes\nno,{value!r}\n".encode()
    assert parse_answer(body, ("probability_yes",))[0] == value
