"""The emulator's own S3 access: what SageMaker reads (channels, model data) and writes (models).

It talks to whatever S3 it is given (moto in tests and the demo), with the same boto3 the worker
uses, so a written artifact triggers that S3's bucket notifications exactly as on AWS.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError


class S3Error(Exception):
    """S3 could not be read or written (missing bucket/object, unreachable endpoint)."""


def split_uri(uri: str) -> tuple[str, str]:
    """s3://bucket/key -> (bucket, key)."""
    if not uri.startswith("s3://"):
        raise S3Error(f"not an s3:// URI: {uri}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise S3Error(f"no bucket in {uri}")
    return bucket, key


def join_uri(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts])


def client(service: str, endpoint_url: str | None, region: str) -> Any:
    """A client of the AWS the emulator is given. Explicit credentials: without them botocore
    may probe the instance metadata service, which takes seconds to time out on a laptop. moto
    accepts any."""
    return boto3.client(
        service,  # type: ignore[call-overload]  # s3 or logs
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        aws_session_token=os.environ.get("AWS_SESSION_TOKEN"),
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
    )


class S3:
    def __init__(self, endpoint_url: str | None, region: str) -> None:
        self._client: Any = client("s3", endpoint_url, region)

    def list_objects(self, uri: str) -> list[tuple[str, str]]:
        """(bucket, key) of every object under the prefix, in key order."""
        bucket, prefix = split_uri(uri)
        found: list[tuple[str, str]] = []
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix
            )
            for page in pages:
                found.extend((bucket, item["Key"]) for item in page.get("Contents", []))
        except (ClientError, BotoCoreError) as exc:
            raise S3Error(str(exc)) from exc
        return found

    def read(self, bucket: str, key: str) -> bytes:
        try:
            body = self._client.get_object(Bucket=bucket, Key=key)["Body"]
            return bytes(body.read())
        except (ClientError, BotoCoreError) as exc:
            raise S3Error(str(exc)) from exc

    def read_uri(self, uri: str) -> bytes:
        return self.read(*split_uri(uri))

    def exists(self, uri: str) -> bool:
        bucket, key = split_uri(uri)
        try:
            self._client.head_object(Bucket=bucket, Key=key)
        except ClientError:
            return False
        except BotoCoreError as exc:
            raise S3Error(str(exc)) from exc
        return True

    def write(self, uri: str, data: bytes) -> None:
        bucket, key = split_uri(uri)
        try:
            self._client.put_object(Bucket=bucket, Key=key, Body=data)
        except (ClientError, BotoCoreError) as exc:
            raise S3Error(str(exc)) from exc
