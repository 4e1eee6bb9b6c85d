"""The failures a handler raises on purpose; which other failures are permanent is decided in
`service.errors`. No dependency beyond the standard library: code that also runs inside a model's
serving container (the recipe and the encoder) raises these."""

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


class DuplicateDelivery(HandlerError):
    """Another delivery of the same work holds it or has done it: this one is deleted without
    counting as a failure or an attempt (the holder's own message is the recovery path)."""


class MessageDecodeError(PermanentError):
    """The body is not a message we understand (bad JSON, unknown type, invalid payload)."""


class ConfigurationError(Exception):
    """A setting or the route table is wrong; raised at start-up, before any message is taken."""
