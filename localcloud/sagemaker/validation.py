"""Request validation with SageMaker's wording.

AWS reports every broken constraint of a request at once:
"2 validation errors detected: Value 'a_b' at 'trainingJobName' failed to satisfy constraint:
Member must satisfy regular expression pattern: ...; Value null at 'roleArn' ...". Paths use the
camel-cased member names and `.N.member.` (1-based) inside lists. botocore already rejects missing
required members and values under a shape's minimum before sending, so the server-side checks that
matter are patterns, maximum lengths, maximum values and rules the model cannot express.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from localcloud.sagemaker.errors import validation

NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
MODEL_NAME_PATTERN = r"^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?"
ROLE_ARN_PATTERN = r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+"
S3_URI_PATTERN = r"^(https|s3)://([^/]+)/?(.*)"
NAME_MAX_LENGTH = 63


@dataclass
class Problems:
    """Collects constraint violations; `raise_if_any` turns them into one ValidationException."""

    items: list[str] = field(default_factory=list)

    def add(self, value: Any, path: str, constraint: str) -> None:
        shown = "null" if value is None else f"'{value}'"
        self.items.append(f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}")

    def raise_if_any(self) -> None:
        if not self.items:
            return
        count = len(self.items)
        noun = "error" if count == 1 else "errors"
        raise validation(f"{count} validation {noun} detected: " + "; ".join(self.items))


def required(problems: Problems, body: Mapping[str, Any], member: str, path: str) -> Any:
    value = body.get(member)
    if value is None:
        problems.add(None, path, "Member must not be null")
    return value


def check_string(
    problems: Problems, value: Any, path: str, pattern: str, max_length: int | None = None
) -> None:
    """Length and pattern, both reported when both fail, as AWS does."""
    if value is None:
        return
    if not isinstance(value, str):
        problems.add(value, path, "Member must be a string")
        return
    if max_length is not None and len(value) > max_length:
        problems.add(value, path, f"Member must have length less than or equal to {max_length}")
    if not re.fullmatch(pattern.lstrip("^"), value):
        problems.add(value, path, f"Member must satisfy regular expression pattern: {pattern}")


def check_name(problems: Problems, value: Any, path: str, pattern: str = NAME_PATTERN) -> None:
    check_string(problems, value, path, pattern, NAME_MAX_LENGTH)


def check_int(problems: Problems, value: Any, path: str, low: int, high: int) -> bool:
    """True when the value is an integer within [low, high]."""
    if value is None:
        return False
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(value, path, "Member must be an integer")
        return False
    if value < low:
        problems.add(value, path, f"Member must have value greater than or equal to {low}")
        return False
    if value > high:
        problems.add(value, path, f"Member must have value less than or equal to {high}")
        return False
    return True


TAG_PATTERN = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$"  # botocore's TagKey / TagValue shapes
TAG_KEY_MAX, TAG_VALUE_MAX, TAGS_MAX = 128, 256, 50
_TAG_PUNCTUATION = frozenset("_.:/=+-@")


def check_tags(problems: Problems, tags: Any, path: str = "tags") -> None:
    """TagList as the service model states it: at most 50 tags, keys of 1-128 and values of at
    most 256 characters of letters, separators, numbers and `_.:/=+-@`; no `aws:` key."""
    if not tags:
        return
    if len(tags) > TAGS_MAX:
        problems.add(tags, path, f"Member must have length less than or equal to {TAGS_MAX}")
    for index, tag in enumerate(tags):
        key, value = tag.get("Key"), tag.get("Value")
        _check_tag_text(problems, key, member_path(path, index, "key"), TAG_KEY_MAX)
        _check_tag_text(problems, value, member_path(path, index, "value"), TAG_VALUE_MAX)
        if isinstance(key, str) and key.lower().startswith("aws:"):
            problems.add(
                key, member_path(path, index, "key"), "Tag keys must not start with 'aws:'"
            )


def _check_tag_text(problems: Problems, text: Any, path: str, max_length: int) -> None:
    if not isinstance(text, str):
        return
    if len(text) > max_length:
        problems.add(text, path, f"Member must have length less than or equal to {max_length}")
    if not all(c in _TAG_PUNCTUATION or unicodedata.category(c)[0] in "LZN" for c in text):
        problems.add(text, path, f"Member must satisfy regular expression pattern: {TAG_PATTERN}")


def member_path(parent: str, index: int, child: str) -> str:
    """`productionVariants.1.member.serverlessConfig` style path of a list element's member."""
    return f"{parent}.{index + 1}.member.{child}"
