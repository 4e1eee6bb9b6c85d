"""The promotion gate and the recipe's [promotion] table: pure rules, no AWS."""

from __future__ import annotations

import pytest
from recipe_texts import SMALL

from handlers.lifecycle.gate import Champion, decide
from handlers.recipe.model import Recipe, RecipeError
from handlers.recipe.promotion import Promotion
from handlers.recipe.reader import read_recipe


def recipe_with(promotion: str) -> Recipe:
    return read_recipe((SMALL + promotion).encode(), source="recipes/small.toml")


AUTO = Promotion(floors={"roc_auc": 0.6})


def test_the_first_version_is_promoted_when_it_reaches_the_floors() -> None:
    verdict = decide(AUTO, {"roc_auc": 0.7}, None)
    assert verdict.decision == "promoted"
    assert verdict.reason == "the first version of the dataset; meets the floor roc_auc ≥ 0.6"


def test_a_floor_missed_rejects_naming_the_metric_the_value_and_the_floor() -> None:
    verdict = decide(AUTO, {"roc_auc": 0.55}, None)
    assert (verdict.decision, verdict.reason) == (
        "rejected",
        "roc_auc 0.5500 is below the floor 0.6",
    )


def test_a_floor_missed_still_names_the_champion_comparison() -> None:
    verdict = decide(AUTO, {"roc_auc": 0.55}, Champion(3, {"roc_auc": 0.71}))
    assert verdict.decision == "rejected"
    assert verdict.reason == (
        "roc_auc 0.5500 is below the floor 0.6; roc_auc 0.5500 vs 0.7100 for the champion "
        "(version 3) on the same test rows: not better by more than 0.0000"
    )


@pytest.mark.parametrize(
    ("ours", "decision"), [(0.7101, "promoted"), (0.71, "rejected"), (0.70, "rejected")]
)
def test_the_challenger_must_beat_the_champion_and_a_tie_never_promotes(
    ours: float, decision: str
) -> None:
    assert decide(AUTO, {"roc_auc": ours}, Champion(1, {"roc_auc": 0.71})).decision == decision


def test_min_improvement_is_absolute() -> None:
    rules = Promotion(min_improvement=0.02)
    champion = Champion(1, {"roc_auc": 0.70})
    assert decide(rules, {"roc_auc": 0.719}, champion).decision == "rejected"
    assert decide(rules, {"roc_auc": 0.721}, champion).decision == "promoted"


def test_a_lower_is_better_metric_compares_the_other_way() -> None:
    rules = Promotion(metric="log_loss", floors={"log_loss": 0.5})
    champion = Champion(1, {"log_loss": 0.40})
    assert decide(rules, {"log_loss": 0.35}, champion).decision == "promoted"
    assert decide(rules, {"log_loss": 0.45}, champion).decision == "rejected"
    above = decide(rules, {"log_loss": 0.6}, None)
    assert above.reason == "log_loss 0.6000 is above the ceiling 0.5"


def test_manual_mode_makes_a_passing_challenger_wait_and_still_rejects_a_failing_one() -> None:
    rules = Promotion(mode="manual", floors={"roc_auc": 0.6})
    waiting = decide(rules, {"roc_auc": 0.8}, Champion(1, {"roc_auc": 0.7}))
    assert waiting.decision == "pending-approval"
    assert waiting.reason.endswith("manual mode: awaiting an operator's approval")
    assert decide(rules, {"roc_auc": 0.5}, None).decision == "rejected"


def test_an_undefined_metric_never_promotes() -> None:
    verdict = decide(Promotion(), {"roc_auc": None}, None)
    assert verdict.decision == "rejected"
    assert "undefined" in verdict.reason


def test_a_champion_that_cannot_be_scored_leaves_the_decision_to_an_operator() -> None:
    why = "version 2 (the champion) reads column(s) pdays, which the challenger's rows do not have"
    verdict = decide(AUTO, {"roc_auc": 0.9}, Champion(2, {}), unscorable=why)
    assert verdict.decision == "pending-approval"
    assert verdict.reason == f"{why}: an operator decides"


def test_a_better_challenger_that_needs_new_columns_waits_for_an_operator() -> None:
    champion = Champion(2, {"roc_auc": 0.7})
    needs = "it needs column(s) income, region, which the live version does not read"
    verdict = decide(AUTO, {"roc_auc": 0.9}, champion, breaks=(needs,))
    assert verdict.decision == "pending-approval"
    assert needs in verdict.reason
    assert "clients would break" in verdict.reason
    assert "better by 0.2000" in verdict.reason


def test_a_worse_challenger_that_needs_new_columns_is_simply_rejected() -> None:
    champion = Champion(2, {"roc_auc": 0.8})
    verdict = decide(AUTO, {"roc_auc": 0.75}, champion, breaks=("it needs column(s) income",))
    assert verdict.decision == "rejected"
    assert "income" not in verdict.reason


def test_the_promotion_table_is_read_and_defaults_per_binary_task() -> None:
    assert recipe_with("").promotion == Promotion()
    assert Promotion().metric == "roc_auc"
    read = recipe_with(
        '[promotion]\nmetric = "f1"\nfloors = { roc_auc = 0.7, recall = 0.2 }\n'
        'min_improvement = 0.01\nmode = "manual"\nkeep_versions = 5\n'
    ).promotion
    assert read == Promotion("f1", {"roc_auc": 0.7, "recall": 0.2}, 0.01, "manual", 5)


@pytest.mark.parametrize(
    ("table", "field", "problem"),
    [
        ('metric = "auc"', "promotion.metric", "'auc' is not a binary metric"),
        ("floors = { auc = 0.7 }", "promotion.floors.auc", "'auc' is not a binary metric"),
        ("floors = { roc_auc = 1.5 }", "promotion.floors.roc_auc", "is never met"),
        ('floors = { roc_auc = "high" }', "promotion.floors.roc_auc", "must be a number"),
        ("min_improvement = -0.1", "promotion.min_improvement", "must be 0 or more"),
        ('mode = "sometimes"', "promotion.mode", "'sometimes' is not one of"),
        ("keep_versions = 0", "promotion.keep_versions", "from 1 to 50"),
        ("keep_version = 3", "promotion.keep_version", "unknown field"),
    ],
)
def test_a_bad_promotion_table_fails_at_load_naming_the_key(
    table: str, field: str, problem: str
) -> None:
    with pytest.raises(RecipeError) as caught:
        recipe_with(f"[promotion]\n{table}\n")
    assert caught.value.field == field
    assert problem in caught.value.problem


def test_the_reason_cites_the_bootstrap_interval_of_the_difference() -> None:
    from handlers.evaluation.bootstrap import Interval

    champion = Champion(1, {"roc_auc": 0.70}, Interval(-0.012, 0.041, 1000))
    verdict = decide(AUTO, {"roc_auc": 0.715}, champion)
    assert verdict.promotes
    assert "(difference -0.0120 to +0.0410, 95% bootstrap interval)" in verdict.reason


def test_a_bound_that_rounds_to_zero_reads_plus_zero() -> None:
    from handlers.evaluation.bootstrap import Interval

    champion = Champion(1, {"roc_auc": 0.70}, Interval(-0.00001, 0.0266, 1000))
    verdict = decide(AUTO, {"roc_auc": 0.715}, champion)
    assert "(difference +0.0000 to +0.0266," in verdict.reason


CONFIDENT = Promotion(floors={"roc_auc": 0.6}, require="confident")


def test_require_confident_promotes_a_gain_that_holds_at_the_low_end_of_its_interval() -> None:
    from handlers.evaluation.bootstrap import Interval

    sure = Champion(3, {"roc_auc": 0.70}, Interval(0.02, 0.08, 1000))
    verdict = decide(CONFIDENT, {"roc_auc": 0.75}, sure)
    assert verdict.decision == "promoted"
    assert verdict.reason.endswith(
        ": better with confidence, +0.0200 gain at the interval's unlucky end > 0.0000 "
        '(require = "confident")'
    )
    # The same point estimates, with an interval that reaches below zero: within the noise.
    noisy = Champion(3, {"roc_auc": 0.70}, Interval(-0.01, 0.11, 1000))
    refused = decide(CONFIDENT, {"roc_auc": 0.75}, noisy)
    assert refused.decision == "rejected"
    assert "the gain is within the noise, -0.0100 gain" in refused.reason
    assert decide(AUTO, {"roc_auc": 0.75}, noisy).decision == "promoted"  # the point rule
    unknown = decide(CONFIDENT, {"roc_auc": 0.75}, Champion(3, {"roc_auc": 0.70}))
    assert unknown.decision == "rejected"
    assert "the interval of the difference is undefined" in unknown.reason


def test_require_confident_turns_the_interval_round_for_a_metric_lower_is_better() -> None:
    from handlers.evaluation.bootstrap import Interval

    rules = Promotion(metric="rmse", require="confident", min_improvement=1.0)
    # challenger minus champion in rmse: [-5, -2] means 2 to 5 lower, a gain of at least 2
    assert decide(
        rules, {"rmse": 10.0}, Champion(1, {"rmse": 14.0}, Interval(-5, -2, 900))
    ).promotes
    # [-5, -0.5]: at the unlucky end only 0.5 lower, not above min_improvement 1.0
    held = decide(rules, {"rmse": 10.0}, Champion(1, {"rmse": 14.0}, Interval(-5, -0.5, 900)))
    assert held.decision == "rejected"


def test_require_is_validated_naming_the_key() -> None:
    assert recipe_with('\n[promotion]\nrequire = "confident"\n').promotion.require == "confident"
    with pytest.raises(RecipeError, match=r"promotion\.require.*'sure' is not one of"):
        recipe_with('\n[promotion]\nrequire = "sure"\n')
