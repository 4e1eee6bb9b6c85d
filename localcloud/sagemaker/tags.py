"""AddTags, ListTags, DeleteTags on any of the emulator's resources, by ARN."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localcloud.sagemaker import listing
from localcloud.sagemaker.errors import validation
from localcloud.sagemaker.store import Store
from localcloud.sagemaker.validation import Problems, check_tags

MAX_TAGS = 50


class Tags:
    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, body: Mapping[str, Any]) -> dict[str, Any]:
        arn = str(body.get("ResourceArn", ""))
        problems = Problems()
        check_tags(problems, body.get("Tags"))
        problems.raise_if_any()
        new = {str(tag["Key"]): str(tag["Value"]) for tag in body.get("Tags") or []}
        with self._store.lock:
            tags = self._tags_of(arn)
            merged = {**tags, **new}
            if len(merged) > MAX_TAGS:
                raise validation(f"Resource {arn} cannot have more than {MAX_TAGS} tags.")
            self._store.tags[arn] = merged
        return {"Tags": [{"Key": k, "Value": v} for k, v in new.items()]}

    def list(self, body: Mapping[str, Any]) -> dict[str, Any]:
        arn = str(body.get("ResourceArn", ""))
        with self._store.lock:
            tags = [{"Key": k, "Value": v} for k, v in self._tags_of(arn).items()]
        return listing.page(tags, body, "Tags", default_max=50)

    def delete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        arn = str(body.get("ResourceArn", ""))
        with self._store.lock:
            tags = self._tags_of(arn)
            for key in body.get("TagKeys") or []:
                tags.pop(str(key), None)
            self._store.tags[arn] = tags
        return {}

    def _tags_of(self, arn: str) -> dict[str, str]:
        if not self._store.exists(arn):
            raise validation(f"Resource {arn} does not exist.")
        return dict(self._store.tags.get(arn, {}))
