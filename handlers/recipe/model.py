"""Recipes: what to do with one dataset, declared in a TOML file (docs/architecture.md §3).
The recipe as the pipeline uses it; `handlers/recipe/reader.py` reads and checks one.

A recipe names the target, its kind (binary, multiclass, regression: `handlers/recipe/kinds.py`) and
for a binary target its positive label, the numeric columns, the categorical columns with
their FIXED vocabularies (so the output columns never depend on the categories present in one
upload), derived 0/1 indicators, the split, the XGBoost hyperparameters and the evaluation cut.
Recipes ship in `handlers/recipe/packaged/<name>.toml`; operators add more at runtime as
`recipes/<name>.toml` in the raw bucket, which the handler fetches and passes to `read_recipe`.

Every problem is reported as `RecipeError` naming the file and the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal, cast

from handlers.recipe.kinds import TASK_KINDS, Kind, TaskKind
from handlers.recipe.promotion import Promotion
from service.failures import PermanentError

# A file scored by upload with bad rows: refused whole (naming the first), or its good rows
# scored and the others written aside with a reason each.
BadRows = Literal["refuse", "skip"]
BAD_ROWS: tuple[BadRows, ...] = ("refuse", "skip")
UnknownPolicy = Literal["error", "other", "ignore"]
UNKNOWN_POLICIES: tuple[UnknownPolicy, ...] = ("error", "other", "ignore")
OTHER_CATEGORY = "other"

Operator = Literal["eq", "ne", "in", "not_in", "lt", "le", "gt", "ge"]
ORDERING_OPERATORS = frozenset({"lt", "le", "gt", "ge"})
MEMBERSHIP_OPERATORS = frozenset({"in", "not_in"})
OPERATORS = frozenset({"eq", "ne"}) | ORDERING_OPERATORS | MEMBERSHIP_OPERATORS

DEFAULT_MAX_TEST_OVERLAP = 0.2
# More classes than this is rarely a classification task (an identifier, a measurement?), and
# one probability per class per row would crowd the endpoint's payload.
MAX_CLASSES = 100

Scalar = str | float

DEFAULT_DRIFT_PSI = 0.25


class RecipeError(PermanentError):
    """A recipe that cannot be used: names the file and the field."""

    def __init__(self, source: str, field: str, problem: str) -> None:
        super().__init__(f"recipe {source}: {field}: {problem}")
        self.source = source
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class Target:
    column: str
    positive: str | None  # binary only
    # Every valid value, anything else in the column is an error; a class's position is its
    # label index (binary: the positive is 1 whatever its position). Empty for regression.
    values: tuple[str, ...]
    kind: Kind = "binary"

    @property
    def task(self) -> TaskKind:
        return TASK_KINDS[self.kind]

    def label_of(self, value: str) -> int:
        """The label a classification target's value is written as."""
        if self.kind == "binary":
            return int(value == self.positive)
        return self.values.index(value)

    def class_names(self) -> tuple[str, ...]:
        """Class names in label order (binary: negative, positive)."""
        if self.kind == "binary":
            negative = next(v for v in self.values if v != self.positive)
            return (negative, cast(str, self.positive))
        return self.values

    def prediction_columns(self) -> tuple[str, ...]:
        """The columns a model's answer adds to a row: `predicted_<target>`, then for a binary
        target the positive class's probability, for a multiclass one every class's."""
        predicted = f"predicted_{self.column}"
        if self.kind == "binary":
            return (predicted, f"probability_{self.positive}")
        if self.kind == "multiclass":
            return (predicted, *(f"probability_{name}" for name in self.values))
        return (predicted,)

    def score_columns(self) -> tuple[str, ...]:
        """The answer's columns the metrics read: the positive class's probability, every
        class's in label order, or the predicted value."""
        columns = self.prediction_columns()
        if self.kind == "multiclass":
            return tuple(f"probability_{name}" for name in self.class_names())
        return columns[-1:]


@dataclass(frozen=True)
class Categorical:
    column: str
    vocabulary: tuple[str, ...]  # order is the order of the one-hot output columns


@dataclass(frozen=True)
class Derived:
    """A 0/1 indicator `name = column <op> value`, e.g. `no_previous_contact = pdays eq 999`."""

    name: str
    column: str
    op: Operator
    value: Scalar | tuple[Scalar, ...]


@dataclass(frozen=True)
class SplitSpec:
    train: Fraction
    validation: Fraction
    test: Fraction
    seed: int
    # Each class keeps its share in every part (exact sizes per class). Off for bank-marketing,
    # as the original pipeline; on when a recipe does not say.
    stratify: bool = False
    # The run fails when more of the test rows than this also appear in train (same features).
    max_test_overlap: float = DEFAULT_MAX_TEST_OVERLAP
    # The label is a class (counted per part, so a part without one fails before training);
    # a regression target's numbers are not counted.
    classes: bool = True

    @property
    def ratios(self) -> str:
        """The ratios as a recipe writes them, for messages: `train 0.7, validation 0.2, ...`."""
        parts = (("train", self.train), ("validation", self.validation), ("test", self.test))
        return ", ".join(f"{name} {float(value):g}" for name, value in parts)

    def sizes(self, rows: int) -> tuple[int, int, int]:
        """Exact part sizes for `rows`: cut at floor(train·N) and floor((train+validation)·N)."""
        first_cut = math.floor(self.train * rows)
        second_cut = math.floor((self.train + self.validation) * rows)
        return first_cut, second_cut - first_cut, rows - second_cut


@dataclass(frozen=True)
class Recipe:
    name: str
    source: str  # where it was read from, for messages
    target: Target
    numeric: tuple[str, ...]
    categorical: tuple[Categorical, ...]
    unknown_policy: UnknownPolicy
    derived: tuple[Derived, ...]
    drop: tuple[str, ...]  # known columns deliberately not used
    split: SplitSpec
    hyperparameters: tuple[tuple[str, str], ...]  # as SageMaker's CreateTrainingJob wants them
    threshold: float | None  # binary only: a probability above it predicts the positive class
    promotion: Promotion = field(default_factory=Promotion)
    # A feature whose population stability index against the champion's training rows exceeds
    # this marks the upload as drifted (0.1 is a moderate shift, 0.25 a large one).
    drift_psi: float = DEFAULT_DRIFT_PSI
    bad_rows: BadRows = "refuse"  # [scoring]: what scoring by upload does with a bad row

    def hyperparameter_dict(self) -> dict[str, str]:
        return dict(self.hyperparameters)

    def categorical_columns(self) -> tuple[str, ...]:
        return tuple(spec.column for spec in self.categorical)

    def input_columns(self) -> tuple[str, ...]:
        """The raw columns a file must have: target, numeric, categorical (derived use these)."""
        return (self.target.column, *self.feature_input_columns())

    def feature_input_columns(self) -> tuple[str, ...]:
        """The raw columns a row to score must have: numeric, then categorical."""
        return (*self.numeric, *self.categorical_columns())

    def one_hot_columns(self, spec: Categorical) -> tuple[str, ...]:
        """`<column>_<value>` like pandas.get_dummies, plus `<column>_other` under that policy."""
        values = spec.vocabulary
        if self.unknown_policy == "other":
            values = (*values, OTHER_CATEGORY)
        return tuple(f"{spec.column}_{value}" for value in values)

    def feature_columns(self) -> tuple[str, ...]:
        """The fixed column order after the label: numeric, derived, one-hot in vocabulary order."""
        one_hot = [name for spec in self.categorical for name in self.one_hot_columns(spec)]
        return (*self.numeric, *(d.name for d in self.derived), *one_hot)

    def output_columns(self) -> tuple[str, ...]:
        """The processed file's header: the label (named as the target) first, then the features."""
        return (self.target.column, *self.feature_columns())
