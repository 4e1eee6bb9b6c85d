"""A scored test set measured as its recipe's task kind says, and the report section for it.

The one place that knows which metrics module serves which kind: evaluation (the run's own
endpoint) and promotion (the champion on the challenger's rows) both measure through here, so the
numbers the gate compares are computed the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from handlers.evaluation import binary, multiclass, regression
from handlers.evaluation.kind import KindMetrics
from handlers.evaluation.responses import parse_answer
from handlers.evaluation.scoring import Invoke, Scored
from handlers.recipe.model import Recipe

Measured = binary.Metrics | multiclass.MulticlassMetrics | regression.RegressionMetrics
# Each kind's metrics are the protocol's (checked by the type checker here).
_KIND_METRICS: tuple[type[KindMetrics], ...] = (
    binary.Metrics,
    multiclass.MulticlassMetrics,
    regression.RegressionMetrics,
)
_BY_KIND: dict[str, Callable[[Recipe, Scored], Measured]] = {
    "binary": binary.measure,
    "multiclass": multiclass.measure,
    "regression": regression.measure,
}


def parser(recipe: Recipe, send: Any) -> Invoke:
    """`send(body) -> bytes` turned into an Invoke that reads the scores the recipe's metrics
    need from a served model's CSV answer, by column name (so a champion trained on another
    recipe for the same target answers in the same columns)."""
    columns = recipe.target.score_columns()

    def invoke(body: bytes) -> Any:
        return parse_answer(send(body), columns)

    return invoke


def measure(recipe: Recipe, scored: Scored) -> Measured:
    return _BY_KIND[recipe.target.kind](recipe, scored)


def headline(measured: Measured, recipe: Recipe) -> dict[str, float]:
    """The CloudWatch metrics of the run (name -> value), the kind's headline ones that are
    defined."""
    values = measured.to_dict()
    return {
        name: float(values[field])
        for field, name in recipe.target.task.cloudwatch.items()
        if values.get(field) is not None
    }
