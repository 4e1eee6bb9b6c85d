"""Small S3 helpers the stages share: JSON documents, conditional writes, streaming files."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from service.failures import PermanentError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}
COPY_CHUNK_BYTES = 1 << 20
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
    document: Mapping[str, object],
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


def download(s3: S3Client, bucket: str, key: str, path: Path, pinned: Pinned | None = None) -> Path:
    """Stream an object to a local file in one GET; a missing object is a permanent, named error.
    `pinned`: exactly that version of the object (its version id, else its ETag); another one
    is a permanent error.

    (boto3's download_file adds a HeadObject per file and ranged GETs that only pay off for
    objects far larger than the pipeline's CSVs.)"""
    path.parent.mkdir(parents=True, exist_ok=True)
    extra: dict[str, str] = {}
    if pinned is not None and pinned.version_id:
        extra["VersionId"] = pinned.version_id
    elif pinned is not None and pinned.etag:
        extra["IfMatch"] = pinned.etag
    try:
        body = s3.get_object(Bucket=bucket, Key=key, **extra)["Body"]  # type: ignore[arg-type]
    except ClientError as exc:
        if is_missing(exc):
            raise PermanentError(f"{s3_uri(bucket, key)} does not exist") from exc
        if error_code(exc) == "PreconditionFailed":
            raise PermanentError(
                f"{s3_uri(bucket, key)} was replaced after this run read it (ETag "
                f"{extra['IfMatch']}): the run cannot read the rows it split again"
            ) from exc
        raise
    with body, path.open("wb") as sink:
        shutil.copyfileobj(body, sink, COPY_CHUNK_BYTES)
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


@dataclass(frozen=True)
class Pinned:
    """One version of an object: by version id where the bucket keeps versions, else by ETag."""

    version_id: str | None
    etag: str | None


@dataclass(frozen=True)
class Bucket:
    """One of the pipeline's buckets: the helpers above, bound to its client and name."""

    s3: S3Client
    name: str

    def uri(self, key: str) -> str:
        return s3_uri(self.name, key)

    def read_json(self, key: str) -> tuple[dict[str, Any], str] | None:
        return read_json(self.s3, self.name, key)

    def write_json(
        self,
        key: str,
        document: Mapping[str, object],
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        return write_json(
            self.s3, self.name, key, document, if_match=if_match, if_none_match=if_none_match
        )

    def write_json_if(
        self, key: str, document: Mapping[str, object], etag: str | None
    ) -> str | None:
        """Write `document` only if the object is still the one read with `etag` (None: only
        if there is no object yet). The new ETag, or None when another writer came first (S3's
        412, or 409 for a conditional write racing another): read again and decide again."""
        try:
            return self.write_json(key, document, if_match=etag, if_none_match=etag is None)
        except ClientError as exc:
            if is_conflict(exc):
                return None
            raise

    def read_bytes(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such object."""
        try:
            return self.s3.get_object(Bucket=self.name, Key=key)["Body"].read()
        except ClientError as exc:
            if is_missing(exc):
                return None
            raise

    def put_bytes(self, key: str, body: bytes, content_type: str) -> None:
        self.s3.put_object(Bucket=self.name, Key=key, Body=body, ContentType=content_type)

    def download(self, key: str, path: Path, pinned: Pinned | None = None) -> Path:
        return download(self.s3, self.name, key, path, pinned)

    def upload(self, path: Path, key: str, content_type: str) -> str:
        return upload(self.s3, path, self.name, key, content_type)

    def exists(self, key: str) -> bool:
        return exists(self.s3, self.name, key)
