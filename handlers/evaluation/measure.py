"""A scored test set measured as its recipe's task kind says, and the report section for it.

The one place that knows which metrics module serves which kind: evaluation (the run's own
endpoint) and promotion (the champion on the challenger's rows) both measure through here, so the
numbers the gate compares are computed the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers.evaluation.binary import (
    Metrics,
    compute_metrics,
    parse_scores,
    render_markdown_report,
)
from handlers.evaluation.multiclass import (
    MulticlassMetrics,
    compute_multiclass_metrics,
    render_multiclass_markdown,
)
from handlers.evaluation.regression import (
    RegressionMetrics,
    compute_regression_metrics,
    render_regression_markdown,
)
from handlers.evaluation.scoring import Invoke, Scored
from handlers.recipe.model import Recipe

Measured = Metrics | MulticlassMetrics | RegressionMetrics


def score_columns(recipe: Recipe) -> int:
    """Values the endpoint returns per row: one per class for multiclass, else one."""
    return len(recipe.target.values) if recipe.target.kind == "multiclass" else 1


def parser(recipe: Recipe, send: Any) -> Invoke:
    """`send(body) -> bytes` turned into an Invoke that parses the scores for the recipe."""
    columns = score_columns(recipe)

    def invoke(body: bytes) -> Any:
        return parse_scores(send(body), columns)

    return invoke


def measure(recipe: Recipe, scored: Scored) -> Measured:
    target = recipe.target
    if target.kind == "regression":
        return compute_regression_metrics(scored.labels, scored.scores)
    if target.kind == "multiclass":
        return compute_multiclass_metrics(scored.labels, scored.scores, target.values)
    if recipe.threshold is None:
        raise ValueError(f"recipe {recipe.source}: a binary target needs a threshold")
    return compute_metrics(scored.labels.astype(int), scored.scores, recipe.threshold)


def markdown(measured: Measured, run: Mapping[str, Any]) -> str:
    if isinstance(measured, RegressionMetrics):
        return render_regression_markdown(measured, run)
    if isinstance(measured, MulticlassMetrics):
        return render_multiclass_markdown(measured, run)
    return render_markdown_report(measured, run)


def headline(measured: Measured, recipe: Recipe) -> dict[str, float]:
    """The CloudWatch metrics of the run (name -> value), the kind's headline ones that are
    defined."""
    values = measured.to_dict()
    return {
        name: float(values[field])
        for field, name in recipe.target.task.cloudwatch.items()
        if values.get(field) is not None
    }
