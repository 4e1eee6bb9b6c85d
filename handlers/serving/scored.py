"""What `automlops status` shows of the files scored by upload: the newest outcomes, scored or
refused, from the documents the score stage writes under `predictions/` in the reports bucket."""

from __future__ import annotations

from typing import Any

from handlers.aws.storage import Bucket
from handlers.naming import PREDICTIONS_PREFIX


def recent(bucket: Bucket, limit: int = 5) -> list[dict[str, Any]]:
    """The newest outcome (`<name>.json` or `<name>.error.json`) of the files scored most
    recently, newest first."""
    found: list[tuple[Any, str]] = []
    paginator = bucket.s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket.name, Prefix=PREDICTIONS_PREFIX):
        found += [
            (item["LastModified"], item["Key"])
            for item in page.get("Contents", [])
            if item["Key"].endswith(".json")
        ]
    # S3 keeps LastModified to the second: the newest few by it, then ordered by the time each
    # document records (to the millisecond).
    newest = [key for _, key in sorted(found, reverse=True)[: limit * 4]]
    read = [document for key in newest if (document := _read(bucket, key)) is not None]
    read.sort(key=_written_at, reverse=True)
    documents: list[dict[str, Any]] = []
    seen: set[str] = set()
    for document in read:
        # The newest outcome of each file only: a refusal that a later upload put right is gone.
        if document.get("input") not in seen:
            seen.add(str(document.get("input")))
            documents.append(document)
    return documents[:limit]


def _read(bucket: Bucket, key: str) -> dict[str, Any] | None:
    found = bucket.read_json(key)
    return None if found is None else found[0]


def _written_at(document: dict[str, Any]) -> str:
    return str(document.get("scored_at") or document.get("failed_at") or "")


def describe(documents: list[dict[str, Any]]) -> str:
    if not documents:
        return ""
    lines = ["files scored by upload (newest first):"]
    for document in documents:
        if "error" in document:
            lines.append(f"  refused   {document['input']}: {document['error']}")
            continue
        model = document.get("model", {})
        rejected = f", {document['rejected']} set aside" if document.get("rejected") else ""
        lines.append(
            f"  scored    {document['input']}: {document['rows']} rows{rejected}, version "
            f"{model.get('version')} -> {document['predictions']}"
        )
    return "\n".join(lines)
