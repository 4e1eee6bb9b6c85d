"""Finds a dataset's recipe: an operator's `recipes/<dataset>.toml` in the raw bucket first
(added without redeploying), else the recipe packaged with the worker.

Only preprocess asks: it freezes what it found into the run's `run.json`, which later stages read.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.aws.storage import Bucket
from handlers.naming import recipe_key
from handlers.recipe.model import Recipe, RecipeError
from handlers.recipe.reader import packaged_recipe_bytes, read_recipe
from handlers.runs.repository import FrozenRecipe
from service.failures import PermanentError


@dataclass(frozen=True)
class Found:
    recipe: Recipe
    frozen: FrozenRecipe


@dataclass(frozen=True)
class RecipeSource:
    bucket: Bucket  # the raw bucket
    prefix: str

    def find(self, dataset: str) -> Found:
        key = recipe_key(dataset, self.prefix)
        body = self.bucket.read_bytes(key)
        if body is not None:
            source = self.bucket.uri(key)
            return Found(read_recipe(body, source=source), FrozenRecipe.of(body, source))
        try:
            body, source = packaged_recipe_bytes(dataset)
        except RecipeError as exc:
            raise PermanentError(
                f"unknown dataset {dataset!r}: no recipe at {self.bucket.uri(key)} and none "
                "packaged (add one to the raw bucket, or upload under a known dataset folder)"
            ) from exc
        return Found(read_recipe(body, source=source), FrozenRecipe.of(body, source))
