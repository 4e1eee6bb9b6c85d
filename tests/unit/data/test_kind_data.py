"""Each kind's labels through validation, encoding, the trainability checks and the split."""

from __future__ import annotations

import io

import pytest

from handlers.data.checks import check_trainable
from handlers.data.features import transform_csv
from handlers.data.split import split_csv
from handlers.data.validation import ValidationFailure
from handlers.recipe.model import Recipe
from handlers.recipe.reader import read_recipe
from service.failures import PermanentError

HEAD = """name = "shop"
[columns]
numeric = ["x"]
[categorical.columns]
c = ["p", "q"]
[split]
train = 0.5
validation = 0.25
test = 0.25
seed = 3
[xgboost]
num_round = "5"
"""
MULTICLASS = '[target]\ncolumn = "t"\nkind = "multiclass"\nvalues = ["low", "mid", "high"]\n'
REGRESSION = '[target]\ncolumn = "t"\nkind = "regression"\n'


def recipe(target: str, xgboost: str = "") -> Recipe:
    text = HEAD.replace('num_round = "5"\n', f'num_round = "5"\n{xgboost}\n') + target
    return read_recipe(text.encode(), source="recipes/shop.toml")


def transformed(loaded: Recipe, rows: list[str]) -> tuple[bytes, object]:
    sink = io.BytesIO()
    body = ("x,c,t\n" + "\n".join(rows) + "\n").encode()
    stats = transform_csv(io.BytesIO(body), sink, loaded, file="data/shop/f.csv")
    return sink.getvalue(), stats


def test_a_multiclass_label_is_the_class_index() -> None:
    processed, stats = transformed(
        recipe(MULTICLASS), ["1,p,high", "2,q,low", "3,p,mid", "4,q,high"]
    )
    assert processed.splitlines()[1:] == [b"2,1,1,0", b"0,2,0,1", b"1,3,1,0", b"2,4,0,1"]
    assert stats.label_counts == [1, 1, 2]  # type: ignore[attr-defined]


def test_a_regression_label_is_the_number_as_read_and_must_be_one() -> None:
    processed, stats = transformed(recipe(REGRESSION), ["1,p,12.5", "2,q,-3", "3,p,0"])
    assert processed.splitlines()[1:] == [b"12.5,1,1,0", b"-3.0,2,0,1", b"0.0,3,1,0"]
    assert stats.target.to_dict() == {"min": -3.0, "max": 12.5, "zeros": 1}  # type: ignore[attr-defined]
    with pytest.raises(ValidationFailure) as caught:
        transformed(recipe(REGRESSION), ["1,p,12.5", "2,q,cheap"])
    assert (caught.value.column, caught.value.row, caught.value.value) == ("t", 2, "cheap")
    with pytest.raises(ValidationFailure, match="the target must be 'low' or 'mid' or 'high'"):
        transformed(recipe(MULTICLASS), ["1,p,huge"])


def test_untrainable_targets_fail_before_training_naming_why() -> None:
    loaded = recipe(MULTICLASS)
    _, one_class = transformed(loaded, [f"{i},p,mid" for i in range(8)])
    with pytest.raises(
        PermanentError, match="'mid' in all 8 rows: a model needs examples of at least two"
    ):
        check_trainable(one_class, loaded, "f.csv")  # type: ignore[arg-type]
    regression = recipe(REGRESSION)
    _, constant = transformed(regression, [f"{i},p,7" for i in range(8)])
    with pytest.raises(PermanentError, match="is 7 in all 8 rows: a constant target"):
        check_trainable(constant, regression, "f.csv")  # type: ignore[arg-type]
    gamma = recipe(REGRESSION, 'objective = "reg:gamma"')
    _, with_zero = transformed(gamma, [f"{i},p,{i}" for i in range(8)])
    with pytest.raises(PermanentError, match=r"objective 'reg:gamma' .* needs values > 0"):
        check_trainable(with_zero, gamma, "f.csv")  # type: ignore[arg-type]
    _, positive = transformed(gamma, [f"{i},p,{i + 1}" for i in range(8)])
    check_trainable(positive, gamma, "f.csv")  # type: ignore[arg-type]


def test_a_regression_split_does_not_count_labels_and_a_multiclass_one_stratifies() -> None:
    processed, _ = transformed(recipe(REGRESSION), [f"{i},p,{i * 1.5}" for i in range(40)])
    parts = [io.BytesIO() for _ in range(3)]
    stats = split_csv(io.BytesIO(processed), *parts, rows=40, spec=recipe(REGRESSION).split)
    assert stats.rows == {"train": 20, "validation": 10, "test": 10}
    assert stats.labels == {"train": {}, "validation": {}, "test": {}}
    labels = ["low", "mid", "high"]
    processed, _ = transformed(recipe(MULTICLASS), [f"{i},q,{labels[i % 3]}" for i in range(36)])
    parts = [io.BytesIO() for _ in range(3)]
    stats = split_csv(io.BytesIO(processed), *parts, rows=36, spec=recipe(MULTICLASS).split)
    assert stats.labels["test"] == {"0": 3, "1": 3, "2": 3}
