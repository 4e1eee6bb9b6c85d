"""Settings read once from the environment into frozen dataclasses.

A settings class is a frozen dataclass whose field `x` comes from `AUTOMLOPS_X`; fields without
a default are required. `read_settings` parses every field, collects every problem (unset,
unparsable, out of range) and raises one ConfigurationError naming them all, so an operator
fixes a task definition once, not once per variable. The runtime and the pipeline each declare
their own class; the composition root reads both from the same mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, fields
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from service.failures import ConfigurationError

PREFIX = "AUTOMLOPS_"


class Checked(Protocol):
    """A settings class: a frozen dataclass that can list what is wrong with its values."""

    def problems(self) -> list[str]: ...


S = TypeVar("S", bound=Checked)


def read_settings(cls: type[S], env: Mapping[str, str]) -> S:
    values: dict[str, Any] = {}
    problems: list[str] = []
    for field in fields(cast(Any, cls)):
        name = env_name(field.name)
        raw = env.get(name)
        if raw is None or raw == "":
            if is_required(field):
                problems.append(f"{name} is required but not set")
            continue
        try:
            values[field.name] = _PARSERS[_kind(field.type)](raw)
        except ValueError as exc:
            problems.append(f"{name}={raw!r}: {exc}")
    if problems:
        raise ConfigurationError("invalid settings: " + "; ".join(problems))
    settings = cls(**values)
    check(settings)
    return settings


def check(settings: Checked) -> None:
    problems = settings.problems()
    if problems:
        raise ConfigurationError("invalid settings: " + "; ".join(problems))


def env_name(field_name: str) -> str:
    return PREFIX + field_name.upper()


def names(cls: type[Any]) -> list[str]:
    """Every environment variable `cls` reads, required ones first."""
    ordered = sorted(fields(cls), key=lambda f: not is_required(f))  # stable sort
    return [env_name(f.name) for f in ordered]


def required_names(cls: type[Any]) -> list[str]:
    return [env_name(f.name) for f in fields(cls) if is_required(f)]


def default_of(cls: type[Any], field_name: str) -> Any:
    return next(f.default for f in fields(cls) if f.name == field_name)


def is_required(field: Field[Any]) -> bool:
    return field.default is MISSING and field.default_factory is MISSING


def in_range(name: str, value: int, low: int, high: int) -> list[str]:
    if low <= value <= high:
        return []
    return [f"{env_name(name)}={value} must be between {low} and {high}"]


def _kind(annotation: Any) -> str:
    return str(annotation).replace("'", "")


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a positive whole number")
    return value


_PARSERS: dict[str, Callable[[str], Any]] = {
    "str": str,
    "int": _positive_int,
    # A setting whose default follows other settings (the class computes it when unset).
    "int | None": _positive_int,
    "Path": Path,
}
