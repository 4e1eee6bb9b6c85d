"""A recipe's `[promotion]` table: what a challenger must reach to become the dataset's champion.

    [promotion]
    metric = "roc_auc"                        # compared with the champion's
    floors = { roc_auc = 0.70, recall = 0.20 } # every one must be reached, champion or not
    min_improvement = 0.0                     # over the champion, absolute; a tie never promotes
    mode = "auto"                             # or "manual": a passing challenger awaits approval
    keep_versions = 3                         # approved versions whose model stays deployable
    require = "point"                         # or "confident": the interval's lower end decides

Validated when the recipe is loaded, naming the key, like the rest of the recipe. The metrics
are the target kind's (`handlers/recipe/kinds.py`), and so is the default: roc_auc for binary,
f1_macro for multiclass, rmse (lower is better) for regression.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from handlers.recipe.kinds import BINARY, HIGHER_IS_BETTER, TaskKind

Mode = Literal["auto", "manual"]
MODES: tuple[Mode, ...] = ("auto", "manual")
# How sure the gain over the champion must be: "point", the point estimate beats it by more
# than min_improvement; "confident", the lower end of the 95% bootstrap interval of the paired
# difference (challenger minus champion, same rows) does, so a gain inside the noise waits.
Require = Literal["point", "confident"]
REQUIRES: tuple[Require, ...] = ("point", "confident")
DEFAULT_KEEP_VERSIONS = 3
KEEP_VERSIONS_MAX = 50
FIELDS = ("metric", "floors", "min_improvement", "mode", "keep_versions", "require")
DEFAULT_METRIC = BINARY.default_metric


@dataclass(frozen=True)
class Promotion:
    metric: str = DEFAULT_METRIC
    floors: Mapping[str, float] = field(default_factory=dict)
    min_improvement: float = 0.0
    mode: Mode = "auto"
    keep_versions: int = DEFAULT_KEEP_VERSIONS
    require: Require = "point"

    @property
    def higher_is_better(self) -> bool:
        return HIGHER_IS_BETTER[self.metric]


Fail = Callable[[str, str], Exception]


def read_promotion(raw: Any, fail: Fail, kind: TaskKind = BINARY) -> Promotion:
    """The `[promotion]` table (absent: the kind's defaults); `fail(field, problem)` makes the
    error."""
    if raw is None:
        return Promotion(metric=kind.default_metric)
    if not isinstance(raw, dict):
        raise fail("promotion", "must be a table ([promotion])")
    unknown = [key for key in raw if key not in FIELDS]
    if unknown:
        raise fail(f"promotion.{unknown[0]}", f"unknown field (expected one of {list(FIELDS)})")
    metric = raw.get("metric", kind.default_metric)
    if metric not in kind.metrics:
        raise fail("promotion.metric", _not_reported(metric, kind))
    mode = raw.get("mode", "auto")
    if mode not in MODES:
        raise fail("promotion.mode", f"{mode!r} is not one of {list(MODES)}")
    require = raw.get("require", "point")
    if require not in REQUIRES:
        raise fail("promotion.require", f"{require!r} is not one of {list(REQUIRES)}")
    return Promotion(
        metric=metric,
        floors=_floors(raw.get("floors", {}), fail, kind),
        min_improvement=_number(raw.get("min_improvement", 0.0), "promotion.min_improvement", fail),
        mode=mode,
        keep_versions=_keep_versions(raw.get("keep_versions", DEFAULT_KEEP_VERSIONS), fail),
        require=require,
    )


def _not_reported(metric: Any, kind: TaskKind) -> str:
    return f"{metric!r} is not a {kind.name} metric: one of {sorted(kind.metrics)}"


def _floors(raw: Any, fail: Fail, kind: TaskKind) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise fail("promotion.floors", "must be a table of metric = value, e.g. { roc_auc = 0.7 }")
    floors: dict[str, float] = {}
    for name, value in raw.items():
        where = f"promotion.floors.{name}"
        if name not in kind.metrics:
            raise fail(where, _not_reported(name, kind))
        floors[name] = _number(value, where, fail)
        if name in kind.bounded and floors[name] > 1:
            raise fail(where, f"{name} is at most 1, so a floor of {floors[name]:g} is never met")
    return floors


def _number(raw: Any, where: str, fail: Fail) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise fail(where, "must be a number")
    if raw < 0:
        raise fail(where, "must be 0 or more")
    return float(raw)


def _keep_versions(raw: Any, fail: Fail) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= KEEP_VERSIONS_MAX:
        raise fail(
            "promotion.keep_versions", f"must be a whole number from 1 to {KEEP_VERSIONS_MAX}"
        )
    return raw
