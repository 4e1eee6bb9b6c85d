"""What `automlops status` shows of the files scored by upload: the newest outcomes, scored or
refused, from the documents the score stage writes under `predictions/` in the reports bucket."""

from __future__ import annotations

from typing import Any

from handlers.aws.storage import Bucket
from handlers.naming import PREDICTIONS_PREFIX


def recent(bucket: Bucket, limit: int = 5) -> list[dict[str, Any]]:
    """The newest `<name>.json` and `<name>.error.json` documents, newest first."""
    found: list[tuple[Any, str]] = []
    paginator = bucket.s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket.name, Prefix=PREDICTIONS_PREFIX):
        found += [
            (item["LastModified"], item["Key"])
            for item in page.get("Contents", [])
            if item["Key"].endswith(".json")
        ]
    documents = []
    for _, key in sorted(found, reverse=True)[:limit]:
        read = bucket.read_json(key)
        if read is not None:
            documents.append(read[0])
    return documents


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
