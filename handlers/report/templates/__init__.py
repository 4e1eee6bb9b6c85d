"""The report templates (Jinja2) and the filters they share."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2


def number(value: Any, digits: int = 4) -> str:
    """A metric as the reports show it; "—" when undefined."""
    if value is None:
        return "—"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{float(value):.{digits}f}"


def signed(value: Any, digits: int = 4) -> str:
    return "—" if value is None else f"{float(value):+.{digits}f}"


@cache
def environment() -> jinja2.Environment:
    """HTML templates (`*.html.j2`) escape what they insert; the Markdown ones do not."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("handlers.report", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = number
    env.filters["signed"] = signed
    return env
