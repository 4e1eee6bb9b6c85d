"""SageMaker's own rules for request members, read from botocore's service model.

botocore checks types, required members and minimums before sending; what only the service
enforces (enums, maximum lengths and counts) is checked here against the same model, so the
emulator refuses what AWS refuses with the wording AWS uses.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore.session

from localcloud.sagemaker.validation import Problems


@cache
def _shapes() -> dict[str, Any]:
    model = botocore.session.get_session().get_service_model("sagemaker")
    return {name: model.shape_for(name) for name in model.shape_names}


def enum(shape: str) -> tuple[str, ...]:
    return tuple(_shapes()[shape].enum)


def maximum(shape: str) -> int | None:
    value = _shapes()[shape].metadata.get("max")
    return None if value is None else int(value)


def check_enum(problems: Problems, value: Any, path: str, shape: str) -> None:
    allowed = enum(shape)
    if value is not None and value not in allowed:
        problems.add(value, path, f"Member must satisfy enum value set: [{', '.join(allowed)}]")


def check_max_length(problems: Problems, value: Any, path: str, shape: str) -> None:
    limit = maximum(shape)
    if isinstance(value, str) and limit is not None and len(value) > limit:
        problems.add(value, path, f"Member must have length less than or equal to {limit}")


def check_map(problems: Problems, value: Any, path: str, shape: str) -> None:
    """A map's entry count, and each key's and value's length, as its shapes state them."""
    if not isinstance(value, dict):
        return
    map_shape = _shapes()[shape]
    limit = maximum(shape)
    if limit is not None and len(value) > limit:
        problems.add("{...}", path, f"Map must have length less than or equal to {limit}")
    key_shape, value_shape = map_shape.key.name, map_shape.value.name
    for key, item in value.items():
        check_max_length(problems, key, f"{path}.{key}(key)", key_shape)
        check_max_length(problems, item, f"{path}.{key}", value_shape)
