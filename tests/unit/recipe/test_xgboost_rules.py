"""One table of the SageMaker XGBoost 3.0-5 container's answers, held against both places that
apply its rules: the recipe check at upload (handlers/recipe/xgboost.py) and the emulator's
training job (localcloud/sagemaker/hyperparameters.py). Each case is what the container's
hyperparameter validation accepts or refuses."""

from __future__ import annotations

import pytest

from handlers.recipe import xgboost as xgboost_params
from handlers.recipe.model import RecipeError
from handlers.recipe.reader import packaged_recipe_bytes, read_recipe
from localcloud.sagemaker import hyperparameters
from localcloud.sagemaker.errors import ContainerError

BASE = {"num_round": "10", "objective": "binary:logistic"}
CASES: dict[str, tuple[dict[str, str], bool]] = {
    "the base": ({}, True),
    "f1, a metric of the container's own": ({"eval_metric": "f1"}, True),
    "accuracy too": ({"eval_metric": "accuracy,logloss"}, True),
    "auc for a binary objective": ({"eval_metric": "auc"}, True),
    "auc for regression": ({"objective": "reg:squarederror", "eval_metric": "auc"}, False),
    "a threshold on error": ({"eval_metric": "error@0.7"}, True),
    "a threshold on rmse": ({"eval_metric": "rmse@0.7"}, False),
    "an unknown metric": ({"eval_metric": "nonsense"}, False),
    "monotone constraints without a tree method": ({"monotone_constraints": "(1,0)"}, False),
    "monotone constraints with hist": (
        {"monotone_constraints": "(1,0)", "tree_method": "hist"},
        True,
    ),
    "prob_buffer_row above 1": ({"prob_buffer_row": "5"}, True),
    "prob_buffer_row of 1 (the range is open)": ({"prob_buffer_row": "1"}, False),
    "a misspelt name": ({"max_dept": "5"}, False),
    "eta above 1": ({"eta": "1.5"}, False),
    "an alias": ({"learning_rate": "0.3"}, True),
    "multi:softprob without num_class": ({"objective": "multi:softprob"}, False),
    "multi:softprob with num_class": ({"objective": "multi:softprob", "num_class": "3"}, True),
    "max_depth not a whole number": ({"max_depth": "4.5"}, False),
}


@pytest.mark.parametrize("case", CASES)
def test_the_recipe_check_answers_as_the_container(case: str) -> None:
    changes, accepted = CASES[case]
    problems = xgboost_params.problems({**BASE, **changes})
    assert (problems == []) is accepted, problems


@pytest.mark.parametrize("case", CASES)
def test_the_emulator_answers_as_the_container(case: str) -> None:
    changes, accepted = CASES[case]
    if accepted:
        hyperparameters.parse({**BASE, **changes})
    else:
        with pytest.raises(ContainerError, match="ClientError: "):
            hyperparameters.parse({**BASE, **changes})


def test_container_metrics_xgboost_does_not_know_are_kept_from_xgboost_train() -> None:
    config = hyperparameters.parse({**BASE, "eval_metric": "f1,auc,accuracy"})
    assert config.params["eval_metric"] == ["auc"]


@pytest.mark.parametrize(
    ("line", "key", "says"),
    [
        (b'max_dept = "5"\n', "xgboost.max_dept", "a misspelling?"),
        (b'colsample_bytree = "0"\n', "xgboost.colsample_bytree", "0 is not in (0, 1]"),
        (b'eval_metric = "auc"\nbooster = "gblinearr"\n', "xgboost.booster", "not one of"),
    ],
)
def test_a_recipe_with_what_the_container_refuses_fails_at_load_naming_the_key(
    line: bytes, key: str, says: str
) -> None:
    body, _ = packaged_recipe_bytes("bank-marketing")
    broken = body.replace(b"[xgboost]\n", b"[xgboost]\n" + line)
    with pytest.raises(RecipeError) as caught:
        read_recipe(broken, source="recipes/shop.toml")
    assert caught.value.reason.startswith(f"recipe recipes/shop.toml: {key}: ")
    assert says in caught.value.reason


@pytest.mark.parametrize("objective", ["binary:logitraw", "binary:hinge", "reg:squarederror"])
def test_an_objective_that_does_not_fit_a_binary_target_fails_at_load(objective: str) -> None:
    body, _ = packaged_recipe_bytes("bank-marketing")
    broken = body.replace(b'objective = "binary:logistic"', f'objective = "{objective}"'.encode())
    with pytest.raises(
        RecipeError, match=r"xgboost\.objective: .* does not fit target\.kind = .binary."
    ):
        read_recipe(broken, source="recipes/shop.toml")
