"""Finds a dataset's recipe: an operator's `recipes/<dataset>.toml` in the raw bucket first
(added without redeploying), else the recipe packaged with the worker."""

from __future__ import annotations

from botocore.exceptions import ClientError

from handlers.naming import recipe_key
from handlers.recipe import Recipe, RecipeError
from handlers.storage import is_missing, s3_uri
from service.context import HandlerContext
from service.errors import PermanentError


def recipe_for(dataset: str, ctx: HandlerContext) -> Recipe:
    bucket = ctx.settings.raw_bucket
    key = recipe_key(dataset, ctx.settings.recipes_prefix)
    try:
        body = ctx.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if not is_missing(exc):
            raise
    else:
        return Recipe.from_toml_bytes(body, source=s3_uri(bucket, key))
    try:
        return Recipe.load_packaged(dataset)
    except RecipeError as exc:
        raise PermanentError(
            f"unknown dataset {dataset!r}: no recipe at {s3_uri(bucket, key)} and none packaged "
            "(add one to the raw bucket, or upload under a known dataset folder)"
        ) from exc
