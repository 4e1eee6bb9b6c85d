"""Small S3 helpers the stages share: JSON documents, conditional writes, streaming files."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from service.errors import PermanentError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}
_CONFLICT_CODES = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_missing(exc: ClientError) -> bool:
    return error_code(exc) in _MISSING_CODES


def is_conflict(exc: ClientError) -> bool:
    return error_code(exc) in _CONFLICT_CODES


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def read_json(s3: S3Client, bucket: str, key: str) -> tuple[dict[str, Any], str] | None:
    """The document and its ETag, or None when there is no such object."""
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if is_missing(exc):
            return None
        raise
    return json.loads(response["Body"].read()), response["ETag"]


def write_json(
    s3: S3Client,
    bucket: str,
    key: str,
    document: dict[str, Any],
    *,
    if_match: str | None = None,
    if_none_match: bool = False,
) -> str:
    """Write a JSON document; with `if_match`/`if_none_match` the write is conditional (412)."""
    extra: dict[str, Any] = {}
    if if_match is not None:
        extra["IfMatch"] = if_match
    if if_none_match:
        extra["IfNoneMatch"] = "*"
    body = json.dumps(document, indent=2, sort_keys=True, default=str).encode()
    response = s3.put_object(
        Bucket=bucket, Key=key, Body=body, ContentType="application/json", **extra
    )
    return response["ETag"]


@contextmanager
def scratch_dir(work_dir: Path) -> Iterator[Path]:
    """A private folder under the worker's work dir for one handler call, removed afterwards."""
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_dir) as scratch:
        yield Path(scratch)


def download(s3: S3Client, bucket: str, key: str, path: Path) -> Path:
    """Stream an object to a local file; a missing object is a permanent, named error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        s3.download_file(bucket, key, str(path))
    except ClientError as exc:
        if is_missing(exc):
            raise PermanentError(f"{s3_uri(bucket, key)} does not exist") from exc
        raise
    return path


def upload(s3: S3Client, path: Path, bucket: str, key: str, content_type: str) -> str:
    s3.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": content_type})
    return s3_uri(bucket, key)


def exists(s3: S3Client, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if is_missing(exc):
            return False
        raise
    return True
