"""The two failure kinds a handler may raise; the runtime decides what each means."""

from __future__ import annotations


class HandlerError(Exception):
    """Base of the failures a handler raises on purpose."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RetryableError(HandlerError):
    """Try the message again later: after `delay` seconds, or after the computed back-off."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


class PermanentError(HandlerError):
    """Trying again cannot help: the message goes to its dead-letter queue at once."""


class MessageDecodeError(PermanentError):
    """The body is not a message we understand (bad JSON, unknown type, invalid payload)."""


class ConfigurationError(Exception):
    """A setting or the route table is wrong; raised at start-up, before any message is taken."""
