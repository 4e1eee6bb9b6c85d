"""The wire formats botocore speaks to SageMaker.

Control plane: awsJson1_1 (POST /, X-Amz-Target: SageMaker.<Operation>, JSON both ways, times as
epoch seconds). Errors: HTTP 4xx/5xx, `{"__type": code, "message": ...}` and the same code in
x-amzn-ErrorType. Runtime: restJson1 (POST /endpoints/<name>/invocations, raw body both ways);
errors carry the code in x-amzn-ErrorType and modelled members (e.g. ModelError's
OriginalStatusCode) in the JSON body, where botocore picks them up.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from localcloud.sagemaker.errors import ApiError

AMZ_JSON = "application/x-amz-json-1.1"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]  # lower-cased names
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def json_response(
    payload: Mapping[str, Any], status: int = 200, content_type: str = AMZ_JSON
) -> Response:
    return Response(status, json.dumps(payload).encode(), {"Content-Type": content_type})


def json_error(error: ApiError) -> Response:
    payload = {"__type": error.code, "message": error.message, **error.fields}
    return Response(
        error.status,
        json.dumps(payload).encode(),
        {"Content-Type": AMZ_JSON, "x-amzn-ErrorType": error.code},
    )


def rest_error(error: ApiError) -> Response:
    payload = {"message": error.message, **error.fields}
    return Response(
        error.status,
        json.dumps(payload).encode(),
        {"Content-Type": "application/json", "x-amzn-ErrorType": error.code},
    )
