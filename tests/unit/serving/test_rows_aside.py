"""Bad rows set aside (`[scoring] bad_rows = "skip"`): the good rows kept exactly as read, each
bad one with its row number and the reason validation gives; a problem of the whole file still
refuses it."""

from __future__ import annotations

import io
import re

import pytest
from csv_rows import as_csv, rows_of

from handlers.data.synthetic import generate
from handlers.data.validation import ValidationFailure
from handlers.recipe.reader import load_packaged
from handlers.serving.rows_aside import SetAside, set_aside

RECIPE = load_packaged("bank-marketing")


def upload(rows: int) -> list[list[str]]:
    sink = io.BytesIO()
    generate(sink, rows, seed=51)
    return rows_of(sink.getvalue())


def split(table: list[list[str]], block_rows: int = 1000) -> tuple[bytes, bytes, SetAside]:
    good, rejected = io.BytesIO(), io.BytesIO()
    body = io.BytesIO(as_csv(table))
    outcome = set_aside(
        body, RECIPE, good, rejected, file="f.csv", chunk_rows=40, block_rows=block_rows
    )
    return good.getvalue(), rejected.getvalue(), outcome


@pytest.mark.parametrize("block_rows", [7, 1000])
def test_bad_rows_are_set_aside_with_their_reasons(block_rows: int) -> None:
    table = upload(100)
    age, marital, label = (table[0].index(c) for c in ("age", "marital", "y"))
    table[5][age] = "old"
    table[6][marital] = "widowed"
    table[77][label] = "maybe"  # the label column is there: labels are checked too
    good, rejected, outcome = split(table, block_rows)
    assert (outcome.good, outcome.rejected) == (97, 3)
    assert rows_of(good) == [table[0]] + [r for i, r in enumerate(table) if i not in (0, 5, 6, 77)]
    aside = rows_of(rejected)
    assert aside[0] == ["row", *table[0], "reason"]
    assert [row[0] for row in aside[1:]] == ["5", "6", "77"]
    assert aside[1][1:-1] == table[5]
    assert aside[1][-1].startswith("column 'age', value 'old':")
    assert aside[2][-1].startswith("column 'marital', value 'widowed':")
    assert "target" in aside[3][-1]


def test_a_problem_of_the_whole_file_still_refuses_it() -> None:
    table = upload(10)
    without_age = [[c for i, c in enumerate(r) if i != table[0].index("age")] for r in table]
    with pytest.raises(ValidationFailure, match="missing required column"):
        split(without_age)


def test_the_scoring_table_is_read_and_checked() -> None:
    from handlers.recipe.model import RecipeError
    from handlers.recipe.reader import packaged_recipe_bytes, read_recipe

    text = packaged_recipe_bytes("bank-marketing")[0].decode()
    assert RECIPE.bad_rows == "refuse"
    skipping = read_recipe((text + '\n[scoring]\nbad_rows = "skip"\n').encode(), "r.toml")
    assert skipping.bad_rows == "skip"
    with pytest.raises(
        RecipeError, match=re.escape("scoring.bad_rows: must be 'refuse' or 'skip'")
    ):
        read_recipe((text + '\n[scoring]\nbad_rows = "drop"\n').encode(), "r.toml")


def test_a_file_mostly_bad_is_refused_not_set_aside_row_by_row() -> None:
    from handlers.serving import rows_aside

    table = upload(1200)
    column = table[0].index("age")
    for row in table[1:]:
        row[column] = "unknown"
    with pytest.raises(ValidationFailure, match="is it the right file"):
        split(table)
    assert rows_aside.MOST_SET_ASIDE < 1200
