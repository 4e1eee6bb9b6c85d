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
            f"{recipe.source}: ok: target {recipe.target.column!r} "
            f"({' / '.join(recipe.target.values)}, positive {recipe.target.positive!r}); "
            f"{len(recipe.numeric)} numeric and {len(recipe.categorical)} categorical columns, "
            f"{len(recipe.derived)} derived -> {len(recipe.feature_columns())} features; "
            f"promotion on {recipe.promotion.metric} ({recipe.promotion.mode})"
        ]
        if self.stats is not None:
            stats = self.stats
            lines.append(
                f"data: ok: {stats.rows_out:,} rows, positive rate {stats.positive_rate:.4f}"
                + (
                    f"; values outside a vocabulary: {dict(stats.unknown_categories)}"
                    if stats.unknown_categories
                    else ""
                )
            )
        return "\n".join(lines)


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
