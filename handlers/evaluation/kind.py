"""What every task kind's metrics module provides (`binary`, `multiclass`, `regression`), and
what they share.

Each module has a `measure(recipe, scored)` returning its metrics, which satisfy `KindMetrics`;
`handlers/evaluation/measure.py` is the one place that picks the module for a recipe's kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

# Probabilities are clipped to [eps, 1 - eps] before the log loss, as scikit-learn did.
LOG_LOSS_EPSILON = 1e-15


class KindMetrics(Protocol):
    """A kind's metrics of one scored test set."""

    @property
    def count(self) -> int: ...

    def to_dict(self) -> dict[str, Any]:
        """metrics.json's `metrics`, with `kind`."""
        ...

    def markdown(self, run: Mapping[str, Any]) -> str:
        """The Markdown report: the run's facts, then the kind's section."""
        ...


def report_head(run: Mapping[str, Any]) -> list[str]:
    """The report's title and the table of the run's facts, the same for every kind."""
    lines = ["# Evaluation report", "", "| run | |", "|---|---|"]
    return lines + [f"| {key} | {value} |" for key, value in run.items()]
