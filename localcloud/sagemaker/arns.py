"""ARNs as SageMaker prints them: the resource name is lower-cased, and names are unique without
regard to case, so every lookup goes through `key()`."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "123456789012"

KINDS = ("training-job", "model", "endpoint-config", "endpoint", "model-package-group")


def key(name: str) -> str:
    return name.lower()


@dataclass(frozen=True)
class Account:
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID

    def arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account_id}:{kind}/{key(name)}"

    def parse(self, arn: str) -> tuple[str, str] | None:
        """(kind, name key) of one of our ARNs, or None if it is not one."""
        prefix = f"arn:aws:sagemaker:{self.region}:{self.account_id}:"
        if not arn.startswith(prefix) or "/" not in arn:
            return None
        kind, _, name = arn[len(prefix) :].partition("/")
        return (kind, key(name)) if kind in KINDS and name else None
