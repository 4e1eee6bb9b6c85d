"""One encoder: rows to score (no label, the upload's columns in any order, extra columns) are
encoded by the same code as preprocessing and give exactly the feature rows a model was trained
on, for every task kind; a bad row names its row, column and value as validation does."""

from __future__ import annotations

import io
import random
from collections.abc import Callable

import pytest
from csv_rows import as_csv, rows_of

from handlers.data.draft import draft_recipe
from handlers.data.features import encode_features, transform_csv
from handlers.data.synthetic import generate
from handlers.data.synthetic_tasks import generate_prices, generate_segments
from handlers.data.validation import ValidationFailure
from handlers.recipe.model import Recipe
from handlers.recipe.reader import load_packaged

Generator = Callable[..., object]


def for_scoring(body: bytes, target: str, seed: int) -> bytes:
    """The same rows as a client sends them: no label, columns shuffled, one extra column."""
    rows = rows_of(body)
    header = rows[0]
    kept = [i for i, name in enumerate(header) if name != target]
    random.Random(seed).shuffle(kept)
    shuffled = [[row[i] for i in kept] for row in rows]
    extra = [[*shuffled[0], "client_ref"]]
    return as_csv(extra + [[*row, f"ref-{n}"] for n, row in enumerate(shuffled[1:])])


def trained_features(body: bytes, recipe: Recipe) -> bytes:
    """What preprocessing writes, less its header and label column."""
    sink = io.BytesIO()
    transform_csv(io.BytesIO(body), sink, recipe, file="upload.csv", chunk_rows=97)
    lines = sink.getvalue().decode().splitlines()[1:]
    return "".join(line.split(",", 1)[1] + "\n" for line in lines).encode()


def bank(rows: int) -> tuple[bytes, Recipe, str]:
    sink = io.BytesIO()
    generate(sink, rows, seed=11)
    return sink.getvalue(), load_packaged("bank-marketing"), "y"


def drafted(make: Generator, target: str, rows: int) -> tuple[bytes, Recipe, str]:
    sink = io.BytesIO()
    make(sink, rows, seed=12)
    body = sink.getvalue()
    recipe = draft_recipe(io.BytesIO(body), file="d.csv", dataset="d", target=target).recipe
    return body, recipe, target


CASES = {
    "binary": lambda: bank(1000),
    "multiclass": lambda: drafted(generate_segments, "segment", 1000),
    "regression": lambda: drafted(generate_prices, "price", 1000),
}


@pytest.mark.parametrize("kind", CASES)
def test_rows_to_score_are_encoded_exactly_as_the_training_rows(kind: str) -> None:
    body, recipe, target = CASES[kind]()
    assert recipe.target.kind == kind
    scored = b"".join(
        encode_features(
            io.BytesIO(for_scoring(body, target, seed=3)), recipe, file="request", chunk_rows=53
        )
    )
    assert scored == trained_features(body, recipe)
    assert scored.count(b"\n") == 1000


def test_a_target_column_in_rows_to_score_is_ignored() -> None:
    body, recipe, _ = bank(50)
    with_label = b"".join(encode_features(io.BytesIO(body), recipe, file="request"))
    assert with_label == trained_features(body, recipe)


def test_a_bad_row_to_score_names_its_row_column_and_value() -> None:
    body, recipe, target = bank(20)
    rows = rows_of(for_scoring(body, target, seed=4))
    column = rows[0].index("marital")
    rows[7][column] = "widowed"  # outside the recipe's vocabulary, whose policy is `error`
    with pytest.raises(ValidationFailure) as raised:
        b"".join(encode_features(io.BytesIO(as_csv(rows)), recipe, file="request"))
    failure = raised.value
    assert (failure.column, failure.row, failure.value) == ("marital", 7, "widowed")
    assert failure.file == "request"


def test_a_row_to_score_without_a_feature_column_is_refused_naming_it() -> None:
    body, recipe, target = bank(20)
    rows = rows_of(for_scoring(body, target, seed=5))
    column = rows[0].index("age")
    without_age = [[cell for i, cell in enumerate(row) if i != column] for row in rows]
    with pytest.raises(ValidationFailure, match="missing required column"):
        b"".join(encode_features(io.BytesIO(as_csv(without_age)), recipe, file="request"))
