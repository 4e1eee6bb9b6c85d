"""One script-mode model's serving process: what sagemaker-xgboost 3.0-5 runs for a model created
with `SAGEMAKER_PROGRAM` (its serving.py on sagemaker-containers 2.8.6's Transformer and Worker).

`python -I script_host.py MODEL_DIR CODE_DIR` serves `/ping` and `/invocations`
on 127.0.0.1 (a free port, printed on the first line of stdout), with the container's rules:
- the user module (`SAGEMAKER_PROGRAM`, `.py` stripped; an empty name fails) is imported from
  CODE_DIR and `model_fn(MODEL_DIR)` is called on the first request, `/ping` included; a module
  without `model_fn`, or with `transform_fn` beside `input_fn`/`predict_fn`/`output_fn`, or a
  failing import or `model_fn`, answers every request with gunicorn's bare 500 page;
- the body reaches `input_fn` as `str` only for exactly `text/csv` or `application/json` (no
  Content-Type header counts as `application/json`), as bytes otherwise; `accept` is the raw
  header, or `SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT` (default `application/json`) when it is
  missing or `*/*`;
- any exception in the user's functions is Flask's bare 500 page, never its message;
- what `output_fn`/`transform_fn` returns is answered as Flask 1.1 does: a tuple is 200 with its
  second item as the media type (`text/*` gains `; charset=utf-8`), a WSGI application (a Flask
  response is one) with its own status and headers, a str or bytes is 200 `text/html`, a dict is
  JSON, anything else a 500.
There are no built-in defaults for input or output here: the XGBoost defaults parse only plain
CSV feature rows, which this project's bundles never rely on, so a missing `input_fn`,
`predict_fn` or `output_fn` answers 500 (stated, not emulated).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any

Answer = tuple[int, list[tuple[str, str]], bytes]

FLASK_500 = (
    b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n'
    b"<title>500 Internal Server Error</title>\n"
    b"<h1>Internal Server Error</h1>\n"
    b"<p>The server encountered an internal error and was unable to complete your request. "
    b"Either the server is overloaded or there is an error in the application.</p>\n"
)
GUNICORN_500 = (
    b"<html><head><title>Internal Server Error</title></head><body><h1><p>Internal Server Error"
    b"</p></h1></body></html>"
)
UTF8_TYPES = ("application/json", "text/csv")
FUNCTIONS = ("input_fn", "predict_fn", "output_fn")


class UserError(Exception):
    """What the container raises before serving: the module cannot be served."""


@dataclass(frozen=True)
class Handlers:
    model: Any
    transform: Callable[[Any, Any, str, str], Any]


class UserModule:
    """The user module, imported and its model loaded on the first request (as each gunicorn
    worker does), once."""

    def __init__(self, model_dir: str, code_dir: str, program: str | None) -> None:
        self._model_dir = model_dir
        self._code_dir = code_dir
        self._program = program
        self._lock = threading.Lock()
        self._handlers: Handlers | None = None

    def handlers(self) -> Handlers:
        with self._lock:
            if self._handlers is None:
                self._handlers = self._load()
            return self._handlers

    def _load(self) -> Handlers:
        if self._program is None:
            raise UserError("SAGEMAKER_PROGRAM is not set: this host serves script mode only")
        name = self._program.removesuffix(".py")
        if not name:
            raise ValueError("Empty module name")
        sys.path.insert(0, self._code_dir)  # the container puts /opt/ml/code on the path
        module = importlib.import_module(name)
        model_fn = getattr(module, "model_fn", None)
        if model_fn is None:
            raise NotImplementedError("Please provide a model_fn implementation.")
        transform = _transform_of(module)
        return Handlers(model_fn(self._model_dir), transform)


def _transform_of(module: ModuleType) -> Callable[[Any, Any, str, str], Any]:
    transform_fn = getattr(module, "transform_fn", None)
    given = {name: getattr(module, name, None) for name in FUNCTIONS}
    if transform_fn is not None and any(given.values()):
        raise UserError(
            "Cannot use transform_fn implementation with input_fn, predict_fn, and/or output_fn"
        )
    if transform_fn is not None:
        return transform_fn  # type: ignore[no-any-return]
    input_fn, predict_fn, output_fn = (_or_missing(given[name], name) for name in FUNCTIONS)

    def transform(model: Any, data: Any, content_type: str, accept: str) -> Any:
        return output_fn(predict_fn(input_fn(data, content_type), model), accept)

    return transform


def _or_missing(function: Callable[..., Any] | None, name: str) -> Callable[..., Any]:
    if function is not None:
        return function

    def missing(*_: Any) -> Any:
        raise UserError(f"{name} is not defined; this emulator has no XGBoost default for it")

    return missing


def answer(module: UserModule, method: str, path: str, headers: Any, body: bytes) -> Answer:
    try:
        handlers = module.handlers()
    except Exception:
        traceback.print_exc()
        return 500, [("Content-Type", "text/html")], GUNICORN_500
    if path == "/ping":
        return 200, [("Content-Type", "application/json")], b""
    if path != "/invocations":
        return 404, [("Content-Type", "text/html")], b"<title>404 Not Found</title>\n"
    if method != "POST":
        return 405, [("Content-Type", "text/html")], b"<title>405 Method Not Allowed</title>\n"
    content_type = headers.get("ContentType") or headers.get("Content-Type") or "application/json"
    # Werkzeug decodes these two with errors="replace": a bad byte is U+FFFD, never a failure.
    data: str | bytes = body.decode("utf-8", "replace") if content_type in UTF8_TYPES else body
    accept = headers.get("Accept")
    if not accept or accept == "*/*":
        accept = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "application/json")
    try:
        return _response(handlers.transform(handlers.model, data, content_type, accept))
    except Exception:
        traceback.print_exc()
        return 500, [("Content-Type", "text/html")], FLASK_500


def _response(result: Any) -> Answer:
    """What Flask 1.1 makes of a view's return value (through sagemaker-containers' tuple rule)."""
    if isinstance(result, tuple):
        media = str(result[1])
        if media.startswith("text/") and "charset" not in media:
            media += "; charset=utf-8"
        return 200, [("Content-Type", media)], _bytes(result[0])
    if isinstance(result, str | bytes | bytearray):
        return 200, [("Content-Type", "text/html; charset=utf-8")], _bytes(result)
    if isinstance(result, dict):
        text = json.dumps(result, separators=(",", ":")) + "\n"
        return 200, [("Content-Type", "application/json")], text.encode()
    if callable(result):
        return _run_wsgi(result)
    raise TypeError(f"the view function returned {type(result).__name__}, not a response")


def _run_wsgi(application: Callable[..., Any]) -> Answer:
    started: dict[str, Any] = {}

    def start_response(status: str, headers: Sequence[tuple[str, str]], *_: Any) -> None:
        started.update(status=int(status.split()[0]), headers=list(headers))

    chunks = application({"REQUEST_METHOD": "POST", "wsgi.url_scheme": "http"}, start_response)
    body = b"".join(_bytes(chunk) for chunk in chunks)
    return started["status"], started["headers"], body


def _bytes(value: Any) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def serve(model_dir: str, code_dir: str) -> None:
    module = UserModule(model_dir, code_dir, os.environ.get("SAGEMAKER_PROGRAM"))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._reply(b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self._reply(self.rfile.read(length))

        def _reply(self, body: bytes) -> None:
            status, headers, content = answer(module, self.command, self.path, self.headers, body)
            self.send_response(status)
            for name, value in headers:
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
