"""`[target] kind`: each kind's objective, classes, threshold, split and promotion metric are
checked when the recipe loads, naming the key."""

from __future__ import annotations

import pytest
from recipe_texts import MULTICLASS_TARGET, REGRESSION_TARGET, recipe

from handlers.recipe.kinds import HIGHER_IS_BETTER, TASK_KINDS
from handlers.recipe.model import RecipeError


def rejected(target: str, **sections: str) -> RecipeError:
    with pytest.raises(RecipeError) as caught:
        recipe(target, **sections)
    return caught.value


def test_a_multiclass_recipe_derives_num_class_and_labels_by_position() -> None:
    loaded = recipe(MULTICLASS_TARGET)
    assert loaded.target.kind == "multiclass"
    assert loaded.hyperparameter_dict()["objective"] == "multi:softprob"
    assert loaded.hyperparameter_dict()["num_class"] == "4"
    assert [loaded.target.label_of(v) for v in ("bronze", "platinum")] == [0, 3]
    assert loaded.threshold is None
    assert loaded.split.stratify  # classification: stratified unless the recipe says not
    assert loaded.promotion.metric == "f1_macro"


def test_a_regression_recipe_defaults_to_squared_error_and_rmse() -> None:
    loaded = recipe(REGRESSION_TARGET)
    assert loaded.target.values == ()
    assert loaded.hyperparameter_dict()["objective"] == "reg:squarederror"
    assert not loaded.split.stratify
    assert not loaded.split.classes
    assert loaded.promotion.metric == "rmse"
    assert not loaded.promotion.higher_is_better
    assert (
        recipe(REGRESSION_TARGET, xgboost='objective = "reg:tweedie"').hyperparameter_dict()[
            "objective"
        ]
        == "reg:tweedie"
    )


@pytest.mark.parametrize(
    ("target", "sections", "field", "problem"),
    [
        (MULTICLASS_TARGET, {"xgboost": 'num_class = "4"'}, "xgboost.num_class", "is derived"),
        (
            MULTICLASS_TARGET,
            {"xgboost": 'objective = "multi:softmax"'},
            "xgboost.objective",
            "does not fit target.kind = 'multiclass'",
        ),
        (
            MULTICLASS_TARGET,
            {"evaluation": "[evaluation]\nthreshold = 0.5"},
            "evaluation.threshold",
            "binary target's probabilities only",
        ),
        (
            MULTICLASS_TARGET.replace(', "gold", "platinum"', ""),
            {},
            "target.values",
            'two classes are kind = "binary"',
        ),
        (
            MULTICLASS_TARGET + 'positive = "gold"\n',
            {},
            "target.positive",
            "no positive class",
        ),
        (
            MULTICLASS_TARGET,
            {"promotion": '[promotion]\nmetric = "roc_auc"'},
            "promotion.metric",
            "not a multiclass metric",
        ),
        (
            REGRESSION_TARGET,
            {"xgboost": 'objective = "binary:logistic"'},
            "xgboost.objective",
            "does not fit target.kind = 'regression'",
        ),
        (REGRESSION_TARGET + 'values = ["1", "2"]\n', {}, "target.values", "has no classes"),
        (REGRESSION_TARGET, {"split": "stratify = true"}, "split.stratify", "has none"),
        (
            REGRESSION_TARGET,
            {"promotion": "[promotion]\nfloors = { r2 = 1.5 }"},
            "promotion.floors.r2",
            "is never met",
        ),
        (
            REGRESSION_TARGET.replace("regression", "ranking"),
            {},
            "target.kind",
            "is not one of",
        ),
    ],
)
def test_a_kind_mismatch_fails_at_load_naming_the_key(
    target: str, sections: dict[str, str], field: str, problem: str
) -> None:
    error = rejected(target, **sections)
    assert error.field == field
    assert problem in error.problem


def test_multi_softprob_on_a_binary_target_fails_at_load_not_at_evaluation() -> None:
    binary = '[target]\ncolumn = "y"\npositive = "yes"\nvalues = ["no", "yes"]\n'
    error = rejected(
        binary,
        xgboost='objective = "multi:softprob"',
        evaluation="[evaluation]\nthreshold = 0.5",
    )
    assert error.field == "xgboost.objective"
    assert "use binary:logistic" in error.problem


def test_every_kind_names_a_default_metric_it_reports_and_one_direction_per_name() -> None:
    for kind in TASK_KINDS.values():
        assert kind.default_metric in kind.metrics
        assert kind.default_objective in kind.objectives
        assert set(kind.cloudwatch) <= set(kind.metrics)
        for name, better in kind.metrics.items():
            assert HIGHER_IS_BETTER[name] is better
