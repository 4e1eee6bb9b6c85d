"""A request's rows, whatever their form, as the raw CSV the encoder reads (with the header).

Three forms are served, as the upload's rows: CSV with a header (columns found by name, in any
order; the label and other columns ignored), CSV without one (the upload's columns in the upload's
order, without the label: the layout the model's bundle records), and JSON
`{"instances": [{"column": value, ...}, ...]}`. Whatever the form, the rows then go through the
one encoder preprocessing uses, so a bad value is named exactly as validation names it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from handlers.data import dialect
from handlers.data.dialect import UTF8_BOM, csv_lines
from handlers.recipe.model import Recipe

CSV = "text/csv"
JSON = "application/json"


@dataclass(frozen=True)
class Refused:
    """A request the model does not score, and why: the client's to fix (a 4xx status)."""

    status: int
    message: str
    row: int | None = None
    column: str | None = None
    value: str | None = None

    def to_dict(self) -> dict[str, Any]:
        where = {"row": self.row, "column": self.column, "value": self.value}
        return {
            "error": "bad request" if self.status == 400 else "unsupported",
            "message": self.message,
            **{key: value for key, value in where.items() if value is not None},
        }


class RequestRefused(Exception):
    def __init__(self, refused: Refused) -> None:
        super().__init__(refused.message)
        self.refused = refused


def media_type(header: str | None) -> str:
    """`text/csv; charset=utf-8` -> `text/csv`."""
    return (header or "").split(";")[0].strip().lower()


def as_csv(body: str | bytes, content_type: str, recipe: Recipe, layout: Sequence[str]) -> bytes:
    """The request's rows as UTF-8 CSV with a header; `layout` names a headerless row's columns."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    media = media_type(content_type) or JSON  # the container's own default when none is sent
    if media == CSV:
        return _with_header(data, recipe, layout)
    if media == JSON:
        return _instances(data, recipe)
    raise _refuse(
        415, f"content type {content_type!r} is not served: send text/csv or application/json"
    )


def _with_header(data: bytes, recipe: Recipe, layout: Sequence[str]) -> bytes:
    """CSV whose first line names the columns, when it names any the model reads; else the
    rows are taken in `layout`'s order and that header is put before them."""
    first_line = data.removeprefix(UTF8_BOM).split(b"\n", 1)[0].rstrip(b"\r")
    wanted = frozenset(recipe.feature_input_columns())
    _, fields = dialect.sniff(first_line.decode("utf-8", "replace"), wanted)
    if wanted.intersection(fields):
        return data
    if not data.strip():
        raise _refuse(400, "the request has no rows")
    return (csv_lines([layout]) + data.removeprefix(UTF8_BOM).lstrip(b"\r\n")).strip() + b"\n"


def _instances(data: bytes, recipe: Recipe) -> bytes:
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _refuse(400, f"the request is not valid JSON: {exc}") from None
    instances = document.get("instances") if isinstance(document, dict) else None
    if not isinstance(instances, list) or not instances:
        raise _refuse(
            400, 'JSON requests are {"instances": [{"column": value, ...}, ...]}, one or more'
        )
    columns = recipe.feature_input_columns()
    lines = [csv_lines([columns])]
    for row, instance in enumerate(instances, start=1):
        if not isinstance(instance, dict):
            raise _refuse(400, "an instance must be an object of column: value", row=row)
        lines.append(csv_lines([[_cell(instance, column, row) for column in columns]]))
    return b"".join(lines)


def _cell(instance: dict[str, Any], column: str, row: int) -> str:
    if column not in instance:
        raise _refuse(400, "the instance has no such key", row=row, column=column)
    value = instance[column]
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise _refuse(400, "not a finite number", row=row, column=column, value=str(value))
        return repr(value)
    shown = json.dumps(value)[:60]
    raise _refuse(400, "a value must be a string, a number or null", row, column, shown)


def _refuse(
    status: int,
    message: str,
    row: int | None = None,
    column: str | None = None,
    value: str | None = None,
) -> RequestRefused:
    return RequestRefused(Refused(status, message, row, column, value))
