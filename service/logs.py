"""structlog configuration: JSON lines on stdout, or a readable console when stdout is a terminal.

Per-message keys (queue, message_id, ...) are bound with contextvars in the handler thread, so
every line a handler logs carries them. Library logs (botocore, urllib3) go through the same
renderer at WARNING and above.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

_SECRET_KEY = re.compile(r"secret|password|passwd|token|credential|authorization|api_key", re.I)
REDACTED = "[redacted]"
_HEAD = ("timestamp", "level", "event")


def configure_logging(level: str = "INFO", fmt: str = "auto", stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    renderer = _renderer(fmt, stream)
    structlog.configure(
        processors=[*shared, *_exception_processors(renderer), event_first, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level.upper()),
        logger_factory=structlog.WriteLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    _route_stdlib_logging(shared, renderer, stream)


def redact_secrets(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """A last guard: values under secret-looking keys never reach the output."""
    for key in event:
        if _SECRET_KEY.search(key):
            event[key] = REDACTED
    return event


def event_first(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Put timestamp, level and event first so a JSON line reads like a log line."""
    head = {key: event.pop(key) for key in _HEAD if key in event}
    return {**head, **event}


def _renderer(fmt: str, stream: TextIO) -> Processor:
    tty = _is_tty(stream)
    if fmt == "console" or (fmt == "auto" and tty):
        return structlog.dev.ConsoleRenderer(colors=tty)
    return structlog.processors.JSONRenderer(sort_keys=False, default=str)


def _exception_processors(renderer: Processor) -> list[Processor]:
    # The console renderer prints tracebacks itself; JSON needs them as a string field.
    if isinstance(renderer, structlog.dev.ConsoleRenderer):
        return [structlog.processors.StackInfoRenderer()]
    return [structlog.processors.StackInfoRenderer(), structlog.processors.format_exc_info]


def _route_stdlib_logging(shared: list[Processor], renderer: Processor, stream: TextIO) -> None:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.WARNING)


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
