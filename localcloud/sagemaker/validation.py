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


def member_path(parent: str, index: int, child: str) -> str:
    """`productionVariants.1.member.serverlessConfig` style path of a list element's member."""
    return f"{parent}.{index + 1}.member.{child}"
