"""The List* operations' shared mechanics: NameContains/StatusEquals filters, SortBy/SortOrder,
and MaxResults/NextToken paging (the token is an opaque offset)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localcloud.sagemaker.errors import validation


def filtered(
    summaries: list[dict[str, Any]],
    body: Mapping[str, Any],
    name_field: str,
    status_field: str = "",
) -> list[dict[str, Any]]:
    contains = str(body.get("NameContains", "")).lower()
    status = body.get("StatusEquals")
    return [
        item
        for item in summaries
        if contains in str(item[name_field]).lower()
        and (status is None or not status_field or item.get(status_field) == status)
    ]


def sorted_by(
    summaries: list[dict[str, Any]],
    body: Mapping[str, Any],
    fields: Mapping[str, str],
    default_order: str,
) -> list[dict[str, Any]]:
    """`fields` maps each SortBy value to the summary member it sorts on."""
    field = fields.get(str(body.get("SortBy", "CreationTime")), "CreationTime")
    descending = body.get("SortOrder", default_order) == "Descending"
    return sorted(summaries, key=lambda item: item.get(field) or 0, reverse=descending)


def page(
    summaries: list[dict[str, Any]], body: Mapping[str, Any], member: str, default_max: int = 10
) -> dict[str, Any]:
    limit = int(body.get("MaxResults") or default_max)
    try:
        start = int(body.get("NextToken") or 0)
    except ValueError as exc:
        raise validation("Invalid pagination token.") from exc
    result: dict[str, Any] = {member: summaries[start : start + limit]}
    if start + limit < len(summaries):
        result["NextToken"] = str(start + limit)
    return result
