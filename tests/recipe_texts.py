"""Recipe texts the unit tests share: a small binary recipe, and a multiclass and a regression
target over one set of columns."""

from __future__ import annotations

from handlers.recipe.model import Recipe
from handlers.recipe.reader import read_recipe

SMALL = """
name = "small"

[target]
column = "label"
positive = "yes"
values = ["no", "yes"]

[columns]
numeric = ["n"]
drop = ["junk"]

[categorical]
unknown = "other"

[categorical.columns]
colour = ["red", "green"]

[[derived]]
name = "big"
column = "n"
op = "gt"
value = 10

[split]
train = 0.6
validation = 0.3
test = 0.1
seed = 7

[xgboost]
objective = "binary:logistic"
num_round = 10
eta = 0.3

[evaluation]
threshold = 0.4
"""

MULTICLASS_TARGET = """
[target]
column = "segment"
kind = "multiclass"
values = ["bronze", "silver", "gold", "platinum"]
"""
REGRESSION_TARGET = """
[target]
column = "price"
kind = "regression"
"""
REST = """
[columns]
numeric = ["area"]

[categorical.columns]
district = ["a", "b"]

[split]
train = 0.7
validation = 0.2
test = 0.1
seed = 1
{split}
[xgboost]
num_round = "10"
{xgboost}
{evaluation}
{promotion}
"""


def recipe(
    target: str, *, xgboost: str = "", split: str = "", evaluation: str = "", promotion: str = ""
) -> Recipe:
    text = (
        'name = "shop"\n'
        + target
        + REST.format(split=split, xgboost=xgboost, evaluation=evaluation, promotion=promotion)
    )
    return read_recipe(text.encode(), source="recipes/shop.toml")
