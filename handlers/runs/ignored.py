"""What `automlops status` shows of the uploads the worker ignored: the newest records the
`upload.ignored` stage wrote under `ignored/` in the reports bucket."""

from __future__ import annotations

from typing import Any

from handlers.aws.storage import Bucket
from handlers.naming import IGNORED_PREFIX


def recent(bucket: Bucket, limit: int = 5) -> list[dict[str, Any]]:
    """The newest records, newest first."""
    found: list[tuple[Any, str]] = []
    paginator = bucket.s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket.name, Prefix=IGNORED_PREFIX):
        found += [(item["LastModified"], item["Key"]) for item in page.get("Contents", [])]
    # S3 keeps LastModified to the second: the newest few by it, then by the recorded time.
    newest = [key for _, key in sorted(found, reverse=True)[: limit * 4]]
    read = [record[0] for key in newest if (record := bucket.read_json(key)) is not None]
    read.sort(key=lambda document: str(document.get("ignored_at", "")), reverse=True)
    return read[:limit]


def describe(documents: list[dict[str, Any]]) -> str:
    if not documents:
        return ""
    lines = ["uploads the worker ignored (newest first):"]
    lines += [
        f"  {str(d.get('ignored_at', ''))[:16].replace('T', ' ')}  {d.get('input')}: "
        f"{d.get('reason')}"
        for d in documents
    ]
    return "\n".join(lines)
