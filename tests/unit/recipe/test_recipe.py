"""Recipes: the packaged bank-marketing recipe and the errors of a bad recipe file."""

from __future__ import annotations

from fractions import Fraction
from importlib import resources

import pytest
from recipe_texts import SMALL

from handlers.recipe.model import Recipe, RecipeError
from handlers.recipe.reader import load_packaged, packaged_recipe_bytes, read_recipe


def small(text: str = SMALL) -> Recipe:
    return read_recipe(text.encode(), source="recipes/small.toml")


def test_bank_marketing_is_faithful_to_the_original() -> None:
    recipe = load_packaged("bank-marketing")
    assert recipe.target.column == "y"
    assert recipe.target.positive == "yes"
    assert recipe.target.values == ("no", "yes")
    assert set(recipe.drop) == {
        "duration", "emp.var.rate", "cons.price.idx", "cons.conf.idx", "euribor3m", "nr.employed",
    }  # fmt: skip
    assert recipe.numeric == ("age", "campaign", "pdays", "previous")
    derived = {d.name: (d.column, d.op, d.value) for d in recipe.derived}
    assert derived == {
        "no_previous_contact": ("pdays", "eq", 999.0),
        "not_working": ("job", "in", ("student", "retired", "unemployed")),
    }
    assert (recipe.split.train, recipe.split.validation, recipe.split.test) == (
        Fraction(7, 10), Fraction(2, 10), Fraction(1, 10),
    )  # fmt: skip
    assert recipe.split.seed == 1729
    assert recipe.hyperparameter_dict() == {
        "max_depth": "5", "eta": "0.2", "gamma": "4", "min_child_weight": "6",
        "subsample": "0.8", "objective": "binary:logistic", "num_round": "100",
    }  # fmt: skip
    assert recipe.threshold == 0.5
    assert recipe.unknown_policy == "error"


def test_bank_marketing_vocabularies_cover_the_documented_categories() -> None:
    recipe = load_packaged("bank-marketing")
    vocabularies = {spec.column: spec.vocabulary for spec in recipe.categorical}
    assert list(vocabularies) == [
        "job", "marital", "education", "default", "housing", "loan", "contact", "month",
        "day_of_week", "poutcome",
    ]  # fmt: skip
    assert "illiterate" in vocabularies["education"]
    assert set(vocabularies["month"]) == {
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    }  # fmt: skip
    assert "unknown" in vocabularies["job"]
    assert vocabularies["poutcome"] == ("failure", "nonexistent", "success")
    for values in vocabularies.values():
        assert list(values) == sorted(values), "listed in pandas.get_dummies order"


def test_bank_marketing_feature_columns_are_fixed() -> None:
    recipe = load_packaged("bank-marketing")
    columns = recipe.feature_columns()
    assert columns[:6] == (
        "age", "campaign", "pdays", "previous", "no_previous_contact", "not_working",
    )  # fmt: skip
    assert columns[6:9] == ("job_admin.", "job_blue-collar", "job_entrepreneur")
    assert columns[-3:] == ("poutcome_failure", "poutcome_nonexistent", "poutcome_success")
    assert len(columns) == 4 + 2 + 12 + 4 + 8 + 3 + 3 + 3 + 2 + 12 + 5 + 3
    assert recipe.output_columns() == ("y", *columns)


def test_packaged_recipe_file_is_package_data() -> None:
    resource = resources.files("handlers.recipe").joinpath("packaged", "bank-marketing.toml")
    assert resource.is_file()


def test_split_sizes_cut_like_the_original() -> None:
    spec = load_packaged("bank-marketing").split
    for rows in (10, 11, 4119, 41188, 999_999):
        train, validation, test = spec.sizes(rows)
        assert train == int(0.7 * rows)
        assert train + validation == int(0.9 * rows)
        assert train + validation + test == rows


def test_small_recipe_columns() -> None:
    recipe = small()
    assert recipe.input_columns() == ("label", "n", "colour")
    assert recipe.output_columns() == (
        "label", "n", "big", "colour_red", "colour_green", "colour_other",
    )  # fmt: skip
    assert recipe.hyperparameter_dict() == {
        "objective": "binary:logistic", "num_round": "10", "eta": "0.3",
    }  # fmt: skip


def test_unknown_packaged_recipe() -> None:
    with pytest.raises(RecipeError, match="no packaged recipe named 'nope'"):
        load_packaged("nope")


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('[target]\ncolumn = "label"\n', "[target]\n", "target.column"),
        ('positive = "yes"', 'positive = "maybe"', "target.positive"),
        ('values = ["no", "yes"]', 'values = ["no", "yes", "perhaps"]', "target.values"),
        ('unknown = "other"', 'unknown = "skip"', "categorical.unknown"),
        ('unknown = "other"', 'unknwon = "other"', "categorical.unknwon"),
        ('colour = ["red", "green"]', 'colour = ["red", "red"]', "categorical.columns.colour"),
        ('colour = ["red", "green"]', "colour = []", "categorical.columns.colour"),
        ('column = "n"\nop = "gt"', 'column = "size"\nop = "gt"', "derived[0].column"),
        ('op = "gt"', 'op = "between"', "derived[0].op"),
        (
            'column = "n"\nop = "gt"\nvalue = 10',
            'column = "colour"\nop = "eq"\nvalue = "blue"',
            "derived[0].value",
        ),
        (
            'column = "n"\nop = "gt"\nvalue = 10',
            'column = "colour"\nop = "gt"\nvalue = "red"',
            "derived[0].op",
        ),
        ("value = 10", 'value = "ten"', "derived[0].value"),
        ("value = 10", "", "derived[0].value"),
        ("train = 0.6", "train = 0.7", "split"),
        ("train = 0.6", "train = 1.6", "split.train"),
        ("seed = 7", 'seed = "seven"', "split.seed"),
        ("num_round = 10", "rounds = 10", "xgboost.num_round"),
        ("num_round = 10", 'num_round = "ten"', "xgboost.num_round"),
        ("threshold = 0.4", "threshold = 2", "evaluation.threshold"),
        ('drop = ["junk"]', 'drop = ["n"]', "columns.drop"),
        ('numeric = ["n"]', 'numeric = ["n", "colour"]', "columns"),
        ('name = "big"', 'name = "n"', "columns"),
        ('name = "small"', 'name = "Small!"', "name"),
        ("[evaluation]", "[evaluatoin]", "evaluatoin"),
    ],
)
def test_bad_recipes_name_file_and_field(old: str, new: str, field: str) -> None:
    assert old in SMALL
    with pytest.raises(RecipeError) as caught:
        small(SMALL.replace(old, new, 1))
    assert caught.value.field == field
    assert str(caught.value).startswith(f"recipe recipes/small.toml: {field}: ")


def test_invalid_toml_names_the_file() -> None:
    with pytest.raises(RecipeError, match=r"recipe recipes/small.toml: \(file\): not valid"):
        small("name = ")


def test_non_utf8_recipe() -> None:
    with pytest.raises(RecipeError, match="UTF-8"):
        read_recipe(b'name = "\xff"', source="recipes/small.toml")


def test_one_hot_names_must_be_csv_safe() -> None:
    with pytest.raises(RecipeError, match="contain"):
        small(SMALL.replace('"green"]', '"green,blue"]'))


def test_a_recipe_splits_stratified_unless_it_says_not_to() -> None:
    assert load_packaged("bank-marketing").split.stratify is False  # faithful
    text = load_packaged("bank-marketing").source
    assert text.endswith("bank-marketing.toml")

    body, _ = packaged_recipe_bytes("bank-marketing")
    unsaid = body.replace(b"stratify = false\n", b"")
    recipe = read_recipe(unsaid, source="new.toml")
    assert recipe.split.stratify is True
    assert recipe.split.max_test_overlap == 0.2


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (b"stratify = 1\n", "split.stratify"),
        (b"max_test_overlap = 1.5\n", "split.max_test_overlap"),
        (b"stratified = true\n", "split.stratified"),
    ],
)
def test_split_options_are_checked_naming_the_key(line: bytes, field: str) -> None:
    from handlers.recipe.model import RecipeError

    body, _ = packaged_recipe_bytes("bank-marketing")
    body = body.replace(b"stratify = false\n", line)
    with pytest.raises(RecipeError, match=field.replace(".", r"\.")):
        read_recipe(body, source="x.toml")
