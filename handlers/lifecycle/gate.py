"""The promotion gate: may a challenger replace the champion? A pure function of the numbers.

The challenger must reach every floor of its recipe's `[promotion]` table, then beat the champion
(scored on the challenger's own test rows) on the promotion metric by more than
`min_improvement`; a tie never promotes. The first version of a dataset only has to reach the
floors. In manual mode a challenger that passes waits for an operator instead. Every verdict
carries a reason naming the metric and both values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from handlers.evaluation.bootstrap import LEVEL, Interval
from handlers.recipe.kinds import HIGHER_IS_BETTER
from handlers.recipe.promotion import Promotion
from handlers.runs.manifest import Decision

Scores = Mapping[str, float | None]


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reason: str

    @property
    def promotes(self) -> bool:
        return self.decision == "promoted"


@dataclass(frozen=True)
class Champion:
    version: int
    scores: Scores  # on the challenger's test rows
    # The bootstrap interval of challenger minus champion on those rows, when it is defined.
    difference: Interval | None = None


def decide(
    rules: Promotion,
    challenger: Scores,
    champion: Champion | None,
    unscorable: str | None = None,
    breaks: tuple[str, ...] = (),
) -> Verdict:
    """`unscorable` says why the champion could not be scored on these rows (a person decides);
    `breaks` say how promoting the challenger would break the live endpoint's clients (a
    person decides then too)."""
    metric, value = rules.metric, challenger.get(rules.metric)
    compared = _compared(rules, value, champion) if champion and not unscorable else None
    missed = missed_floors(rules, challenger)
    if value is None:
        missed.append(f"{metric} is undefined on the test rows")
    if missed:  # the comparison too, when there is one: the reason names both numbers
        return Verdict("rejected", "; ".join(missed + ([compared[1]] if compared else [])))
    if champion is None:
        return _passing(rules, f"the first version of the dataset; {_floors_met(rules)}")
    if compared is None:
        return Verdict("pending-approval", f"{unscorable}: an operator decides")
    better, reason = compared
    if not better:
        return Verdict("rejected", reason)
    if breaks:
        return Verdict(
            "pending-approval",
            f"{reason}; but {'; '.join(breaks)} (version {champion.version}): the live "
            "endpoint's clients would break, so an operator decides",
        )
    return _passing(rules, reason)


def _compared(rules: Promotion, value: float | None, champion: Champion) -> tuple[bool, str]:
    """Whether the challenger beats the champion by more than `min_improvement`, and why."""
    metric = rules.metric
    theirs = champion.scores.get(metric)
    if theirs is None:
        return True, f"the champion's {metric} is undefined on these rows"
    if value is None:
        return False, f"the champion's {metric} is {theirs:.4f} on these rows"
    gain = value - theirs if rules.higher_is_better else theirs - value
    needed = f"more than {rules.min_improvement:.4f}"
    ours_vs_theirs = (
        f"{metric} {value:.4f} vs {theirs:.4f} for the champion (version {champion.version}) "
        f"on the same test rows{_cited(champion.difference)}"
    )
    if rules.require == "confident":
        return _confident(rules, champion.difference, ours_vs_theirs)
    if gain > rules.min_improvement:
        return True, f"{ours_vs_theirs}: better by {gain:.4f}, {needed} needed"
    return False, f"{ours_vs_theirs}: not better by {needed}"


def _confident(rules: Promotion, difference: Interval | None, said: str) -> tuple[bool, str]:
    """require = "confident": the gain at the unlucky end of the interval must still exceed
    min_improvement (for a metric lower is better, the gain is minus the difference)."""
    rule = 'require = "confident"'
    if difference is None:
        return False, f"{said}: the interval of the difference is undefined, and {rule} needs it"
    low = difference.low if rules.higher_is_better else -difference.high
    bound = f"{_signed(low)} gain at the interval's unlucky end"
    if low > rules.min_improvement:
        return (
            True,
            f"{said}: better with confidence, {bound} > {rules.min_improvement:.4f} ({rule})",
        )
    return False, (
        f"{said}: the gain is within the noise, {bound} is not above "
        f"{rules.min_improvement:.4f} ({rule})"
    )


def _cited(difference: Interval | None) -> str:
    """The bootstrap interval of the difference, which says how far the point estimate goes."""
    if difference is None:
        return ""
    return (
        f" (difference {_signed(difference.low)} to {_signed(difference.high)}, "
        f"{LEVEL:.0%} bootstrap interval)"
    )


def _signed(value: float) -> str:
    """+0.0123, and +0.0000 for a value that rounds to zero (never "-0.0000")."""
    return f"{round(value, 4) + 0.0:+.4f}"


def _passing(rules: Promotion, reason: str) -> Verdict:
    if rules.mode == "manual":
        return Verdict(
            "pending-approval", f"{reason}; manual mode: awaiting an operator's approval"
        )
    return Verdict("promoted", reason)


def missed_floors(rules: Promotion, scores: Scores) -> list[str]:
    """Each floor (or ceiling) of the promotion table the scores miss, said as a reason."""
    missed = []
    for metric, floor in rules.floors.items():
        value = scores.get(metric)
        if value is None:
            missed.append(
                f"{metric} is undefined on the test rows, so its floor {floor:g} is not met"
            )
        elif HIGHER_IS_BETTER[metric] and value < floor:
            missed.append(f"{metric} {value:.4f} is below the floor {floor:g}")
        elif not HIGHER_IS_BETTER[metric] and value > floor:
            missed.append(f"{metric} {value:.4f} is above the ceiling {floor:g}")
    return missed


def _floors_met(rules: Promotion) -> str:
    if not rules.floors:
        return "no floors to meet"
    return "meets " + ", ".join(_bound(metric, floor) for metric, floor in rules.floors.items())


def _bound(metric: str, floor: float) -> str:
    """`the floor roc_auc ≥ 0.5`, or `the ceiling rmse ≤ 12` for a metric lower is better."""
    if HIGHER_IS_BETTER[metric]:
        return f"the floor {metric} ≥ {floor:g}"
    return f"the ceiling {metric} ≤ {floor:g}"
