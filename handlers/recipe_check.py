"""`automlops recipe check PATH [--data FILE.csv]`: what the worker would say, without a run.

The recipe is loaded by the worker's own validation; a data file goes through the same
validation, encoding and trainability checks preprocessing applies (its output is discarded),
so every message is the one an upload would get.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from handlers.features import TransformStats, transform_csv
from handlers.preprocess import check_trainable, opened
from handlers.recipe import Recipe


@dataclass(frozen=True)
class Checked:
    recipe: Recipe
    stats: TransformStats | None = None

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


def check(recipe_path: Path, data: Path | None = None) -> Checked:
    """Raises the worker's own error (RecipeError, ValidationFailure, PermanentError)."""
    recipe = Recipe.from_toml_bytes(recipe_path.read_bytes(), source=str(recipe_path))
    if data is None:
        return Checked(recipe)
    file = str(data)
    with opened(data, file) as reader, open(os.devnull, "wb") as sink:
        stats = transform_csv(reader, sink, recipe, file=file)
    check_trainable(stats, recipe, file)
    return Checked(recipe, stats)
