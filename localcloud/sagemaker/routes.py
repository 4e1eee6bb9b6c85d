"""Request routing: one port serves the control plane, the runtime and the admin routes.

- POST /                                  X-Amz-Target: SageMaker.<Operation>  (control plane)
- POST /endpoints/<name>/invocations      InvokeEndpoint                       (runtime)
- GET|POST|DELETE /_emulator/faults       fault injection (see faults.py)
- GET /_emulator/health                   liveness for docker compose
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from localcloud.sagemaker.control import Operation
from localcloud.sagemaker.errors import ApiError, validation
from localcloud.sagemaker.faults import FaultState
from localcloud.sagemaker.protocol import Request, Response, json_error, json_response, rest_error
from localcloud.sagemaker.runtime import Runtime

log = logging.getLogger("localcloud.sagemaker")

INVOCATIONS = re.compile(r"/endpoints/([^/]+)/invocations")
TARGET_PREFIX = "SageMaker."


class App:
    def __init__(
        self, operations: Mapping[str, Operation], runtime: Runtime, faults: FaultState
    ) -> None:
        self._operations = operations
        self._runtime = runtime
        self._faults = faults

    def handle(self, request: Request) -> Response:
        try:
            return self._route(request)
        except Exception:
            # Answer rather than drop the connection: botocore retries a 500 like AWS's own.
            log.exception("unhandled error serving %s %s", request.method, request.path)
            return json_error(ApiError("InternalFailure", "The emulator failed internally.", 500))

    def _route(self, request: Request) -> Response:
        path = urlsplit(request.path).path
        if path.startswith("/_emulator/"):
            return self._admin(request.method, path, request.body)
        invocation = INVOCATIONS.fullmatch(path)
        if invocation and request.method == "POST":
            return self._invoke(unquote(invocation.group(1)), request)
        if path == "/" and request.method == "POST" and request.header("x-amz-target"):
            return self._control(str(request.header("x-amz-target")), request.body)
        return json_error(
            ApiError("UnknownOperationException", f"No route for {request.method} {path}", 404)
        )

    def _control(self, target: str, raw: bytes) -> Response:
        operation = self._operations.get(target.removeprefix(TARGET_PREFIX))
        if not target.startswith(TARGET_PREFIX) or operation is None:
            return json_error(ApiError("UnknownOperationException", f"Unknown operation {target}"))
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ValueError("request body must be a JSON object")
        except ValueError as exc:
            return json_error(ApiError("SerializationException", str(exc)))
        try:
            injected = self._faults.api_error(target.removeprefix(TARGET_PREFIX))
            if injected is not None:
                raise injected
            return json_response(operation(body))
        except ApiError as error:
            return json_error(error)
        except (KeyError, TypeError, AttributeError) as exc:
            # A request whose nested members have the wrong shape: reject it (not retryable).
            log.warning("malformed %s request: %r", target, exc)
            return json_error(validation(f"Malformed request: {exc!r}"))

    def _invoke(self, endpoint_name: str, request: Request) -> Response:
        try:
            injected = self._faults.api_error("InvokeEndpoint")
            if injected is not None:
                raise injected
            result = self._runtime.invoke(
                endpoint_name,
                request.body,
                request.header("content-type"),
                request.header("accept"),
            )
        except ApiError as error:
            return rest_error(error)
        headers = {
            "Content-Type": result.content_type,
            "x-Amzn-Invoked-Production-Variant": result.variant,
        }
        if result.custom_attributes:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = result.custom_attributes
        return Response(200, result.body, headers)

    def _admin(self, method: str, path: str, raw: bytes) -> Response:
        if path == "/_emulator/health" and method == "GET":
            return _plain_json({"status": "ok"})
        if path != "/_emulator/faults":
            return _plain_json({"error": f"no admin route {method} {path}"}, 404)
        if method == "GET":
            return _plain_json(self._faults.current.to_json())
        if method == "DELETE":
            return _plain_json(self._faults.reset().to_json())
        if method == "POST":
            try:
                changes = json.loads(raw or b"{}")
                if not isinstance(changes, dict):
                    raise ValueError("send a JSON object of fault fields")
                return _plain_json(self._faults.update(changes).to_json())
            except ValueError as exc:
                return _plain_json({"error": str(exc)}, 400)
        return _plain_json({"error": f"method {method} not allowed"}, 405)


def _plain_json(payload: Mapping[str, Any], status: int = 200) -> Response:
    return json_response(payload, status, content_type="application/json")
