"""The rules a file must pass before any training, and `automlops recipe check`, which applies them.

`check_trainable` (preprocess) and `check_split` (train) are the stages' own rules; `check` runs the
recipe's validation, the file's validation and encoding, and both rules, in the worker's order,
with the same functions (its files are discarded), so every message is the one an upload would
get, and says which rule failed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from handlers.data.dialect import opened
from handlers.data.features import TransformStats, transform_csv
from handlers.data.split import SplitStats, split_csv
from handlers.recipe.model import Recipe
from handlers.recipe.reader import read_recipe
from service.failures import PermanentError


@dataclass(frozen=True)
class Checked:
    recipe: Recipe
    stats: TransformStats | None = None
    split: SplitStats | None = None

    def summary(self) -> str:
        recipe = self.recipe
        lines = [
            f"{recipe.source}: ok: {recipe.target.kind} target {recipe.target.column!r}"
            f"{_classes(recipe)}; {len(recipe.numeric)} numeric and {len(recipe.categorical)} "
            f"categorical columns, {len(recipe.derived)} derived -> "
            f"{len(recipe.feature_columns())} features; promotion on {recipe.promotion.metric} "
            f"({recipe.promotion.mode})"
        ]
        if self.stats is not None:
            stats = self.stats
            lines.append(
                f"data: ok: {stats.rows_out:,} rows, {_target_summary(recipe, stats)}"
                + (
                    f"; values outside a vocabulary: {dict(stats.unknown_categories)}"
                    if stats.unknown_categories
                    else ""
                )
            )
        if self.split is not None:
            rows = " / ".join(f"{part} {n:,}" for part, n in self.split.rows.items())
            lines.append(
                f"split: ok: {rows} rows; {self.split.test_overlap:.0%} of the test rows are "
                "copies of training rows"
            )
        return "\n".join(lines)


def _classes(recipe: Recipe) -> str:
    target = recipe.target
    if target.kind == "binary":
        return f" ({' / '.join(target.values)}, positive {target.positive!r})"
    if target.kind == "multiclass":
        return f" (classes {' / '.join(target.values)})"
    return ""


def _target_summary(recipe: Recipe, stats: TransformStats) -> str:
    if stats.target is not None:
        seen = stats.target
        return f"target from {seen.minimum:g} to {seen.maximum:g}"
    if recipe.target.kind == "binary":
        return f"positive rate {stats.positive_rate:.4f}"
    names = recipe.target.class_names()
    counts = ", ".join(f"{names[i]} {n:,}" for i, n in enumerate(stats.label_counts))
    return f"rows per class: {counts}"


class RuleFailed(PermanentError):
    """A file that breaks one of the pre-training rules; `rule` says which."""

    def __init__(self, rule: str, cause: PermanentError) -> None:
        super().__init__(f"{rule} rule: {cause.reason}")
        self.rule = rule


@contextmanager
def _rule(name: str) -> Iterator[None]:
    try:
        yield
    except PermanentError as exc:
        raise RuleFailed(name, exc) from exc


def check(recipe_path: Path, data: Path | None = None) -> Checked:
    """Every rule the worker applies before training, in its order: the recipe; the file's
    validation and encoding (preprocess); enough rows and classes (`check_trainable`); the
    split (`check_split`, as train applies it). A broken recipe raises its RecipeError (which
    names the recipe's file and field); a file that breaks a rule, RuleFailed naming the rule."""
    recipe = read_recipe(recipe_path.read_bytes(), source=str(recipe_path))  # names the recipe
    if data is None:
        return Checked(recipe)
    file = str(data)
    with tempfile.TemporaryDirectory(prefix="automlops-check-") as folder:
        processed = Path(folder) / "processed.csv"
        with _rule("validation"), opened(data, file) as reader, processed.open("wb") as sink:
            stats = transform_csv(reader, sink, recipe, file=file)
        with _rule("trainable"):
            check_trainable(stats, recipe, file)
        with _rule("split"):
            split = split_file(processed, Path(folder), stats.rows_out, recipe, file)
            check_split(split, recipe, file)
    return Checked(recipe, stats, split)


def split_file(processed: Path, folder: Path, rows: int, recipe: Recipe, file: str) -> SplitStats:
    """The processed file split as train splits it, the parts written into `folder`."""
    parts = [folder / f"{part}.csv" for part in ("train", "validation", "test")]
    with (
        processed.open("rb") as source,
        parts[0].open("wb") as train,
        parts[1].open("wb") as validation,
        parts[2].open("wb") as test,
    ):
        return split_csv(source, train, validation, test, rows=rows, spec=recipe.split, file=file)


def check_trainable(stats: TransformStats, recipe: Recipe, file: str) -> None:
    """Data that cannot give a meaningful model fails here, before any training: too few rows
    for every part of the split to get one, a target with a single class or a single value, or
    target values the objective cannot train on."""
    sizes = recipe.split.sizes(stats.rows_out)
    if min(sizes) == 0:
        raise PermanentError(
            f"file {file}: {stats.rows_out} rows are too few to split {recipe.split.ratios} "
            f"(the recipe's [split]; part sizes {sizes}): every part needs at least one row"
        )
    if recipe.target.kind == "regression":
        _check_numeric_target(stats, recipe, file)
        return
    present = [label for label, rows in enumerate(stats.label_counts) if rows]
    if len(present) < 2:
        target = recipe.target
        only = target.class_names()[present[0]] if present else "empty"
        raise PermanentError(
            f"file {file}: column {target.column!r} is {only!r} in all {stats.rows_out} rows: "
            "a model needs examples of at least two classes"
        )


def _check_numeric_target(stats: TransformStats, recipe: Recipe, file: str) -> None:
    column, seen = recipe.target.column, stats.target
    if seen is None:
        return
    if seen.minimum == seen.maximum:
        raise PermanentError(
            f"file {file}: column {column!r} is {seen.minimum:g} in all {stats.rows_out} rows: "
            "a constant target leaves nothing to learn"
        )
    objective = recipe.hyperparameter_dict()["objective"]
    allowed = recipe.target.task.label_ranges.get(objective)
    if allowed is None:
        return
    low, high, low_included = allowed
    too_low = low is not None and (seen.minimum < low or (seen.minimum == low and not low_included))
    too_high = high is not None and seen.maximum > high
    if too_low or too_high:
        raise PermanentError(
            f"file {file}: column {column!r} ranges from {seen.minimum:g} to {seen.maximum:g}, "
            f"but objective {objective!r} (the recipe's xgboost.objective) needs "
            f"{_range_text(allowed)}: choose another objective, e.g. reg:squarederror"
        )


def _range_text(allowed: tuple[float | None, float | None, bool]) -> str:
    low, high, low_included = allowed
    lower = f"{'≥' if low_included else '>'} {low:g}" if low is not None else ""
    upper = f"≤ {high:g}" if high is not None else ""
    return "values " + " and ".join(part for part in (lower, upper) if part)


def check_split(stats: SplitStats, recipe: Recipe, file: str) -> None:
    """A split that cannot train or test a model fails before the job: the train or test part
    lacking a class, or a test part that is largely copies of training rows."""
    every = set().union(*stats.labels.values())
    for part in ("train", "test"):
        missing = sorted(every - set(stats.labels[part]))
        if missing:
            raise PermanentError(
                f"{file}: the {part} part of the split ({recipe.split.ratios}) has no row of "
                f"label(s) {_named(missing, recipe)} (labels per part: {stats.labels}); use more "
                "rows or [split] stratify = true"
            )
    limit = recipe.split.max_test_overlap
    if stats.test_overlap > limit:
        raise PermanentError(
            f"{file}: {stats.test_rows_in_train} of the {stats.rows['test']} test rows "
            f"({stats.test_overlap:.0%}) are copies of training rows, above the recipe's "
            f"[split] max_test_overlap = {limit:g}: the test scores would measure memory, not "
            "generalisation; remove the duplicates or raise the limit"
        )


def _named(labels: list[str], recipe: Recipe) -> str:
    """Label indices with their class names: `1 ('yes')`."""
    names = recipe.target.class_names()
    return ", ".join(
        f"{label} ({names[int(label)]!r})" if label.isdigit() and int(label) < len(names) else label
        for label in labels
    )
