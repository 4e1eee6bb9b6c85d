"""Typed messages: our JSON envelope and S3 object events, decoded at the edge.

Every message type is a frozen dataclass with a class-level `TYPE`. Stage messages travel in the
envelope `{"type", "version", "run_id", "payload", "sent_at"}`; S3 notifications become
`ObjectCreated` subclasses chosen by an `S3Rule` (bucket role + prefix + suffix).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Self, TypeVar, Union, get_args, get_origin

from service.failures import MessageDecodeError

QueueRole = Literal["ingest", "stages"]


@dataclass(frozen=True, kw_only=True)
class Message:
    """Base of every typed message."""

    TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1


@dataclass(frozen=True, kw_only=True)
class StageMessage(Message):
    """A message of our own, carried in the JSON envelope, always about one run."""

    run_id: str


@dataclass(frozen=True, kw_only=True)
class ObjectCreated(Message):
    """An object that S3 reports as created. Subclasses name what that object means."""

    bucket: str
    key: str
    size: int = 0
    etag: str = ""
    version_id: str | None = None
    sequencer: str = ""
    event_time: str = ""

    @classmethod
    def from_event(cls, fields: Mapping[str, Any], where: str) -> Self:
        """The message for one S3 record's fields. A subclass that derives more (a run id from
        the object's identity) adds it here, once, at decode."""
        return build_message(cls, fields, where)


@dataclass(frozen=True)
class S3Rule:
    """Which S3 objects become which message: the same filters the bucket notifications use.
    `bucket` is a role (e.g. "raw"); the composition root says which bucket plays it."""

    bucket: str
    message: type[ObjectCreated]
    prefix: str = ""
    suffix: str = ""  # the key ends so (any of `also`), in any letter case with `any_case`
    also: tuple[str, ...] = ()
    any_case: bool = False
    # False: a catch-all after the rules of the same prefix (what none of them takes), whose
    # objects the bucket already announces for those rules: no notification of its own.
    notified: bool = True

    @property
    def suffixes(self) -> tuple[str, ...]:
        return (self.suffix, *self.also)

    @property
    def notify_suffix(self) -> str:
        """The suffix filter of the bucket notification: S3 filters match case and one suffix
        only, so a rule taking more is announced by its prefix and the worker sorts (and logs
        what it leaves)."""
        return "" if self.any_case or self.also else self.suffix

    def under_prefix(self, key: str) -> bool:
        return key.startswith(self.prefix)

    def matches(self, key: str) -> bool:
        ending = key.lower() if self.any_case else key
        wanted = [s.lower() if self.any_case else s for s in self.suffixes]
        return self.under_prefix(key) and any(ending.endswith(s) for s in wanted)


@dataclass(frozen=True)
class Outgoing:
    """A follow-up a handler asks the runtime to send once the handler has returned."""

    message: StageMessage
    queue: QueueRole = "stages"
    delay_seconds: int = 0


M = TypeVar("M", bound=Message)


def run_id_of(message: Message) -> str | None:
    """The run a message belongs to, when it has one."""
    value = getattr(message, "run_id", None)
    return value if isinstance(value, str) else None


def encode_envelope(message: StageMessage, now: datetime | None = None) -> str:
    payload = {f.name: getattr(message, f.name) for f in dataclasses.fields(message)}
    payload.pop("run_id")
    sent_at = (now or datetime.now(UTC)).isoformat(timespec="milliseconds")
    return json.dumps(
        {
            "type": message.TYPE,
            "version": message.VERSION,
            "run_id": message.run_id,
            "payload": payload,
            "sent_at": sent_at,
        },
        separators=(",", ":"),
    )


def build_message(cls: type[M], fields: Mapping[str, Any], where: str) -> M:
    """Construct `cls` from untrusted `fields`, naming the first field that is missing or wrong.

    Unknown fields are ignored so that an older worker accepts a newer sender's additions.
    """
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        if field.name in fields:
            value = fields[field.name]
            if not _conforms(value, hints[field.name]):
                raise MessageDecodeError(
                    f"{where}.{field.name}: expected {_type_name(hints[field.name])}, "
                    f"got {type(value).__name__} {value!r:.80}"
                )
            kwargs[field.name] = value
        elif _is_required(field):
            raise MessageDecodeError(f"{where}.{field.name}: required field is missing")
    return cls(**kwargs)


def _is_required(field: dataclasses.Field[Any]) -> bool:
    return field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING


def _conforms(value: Any, hint: Any) -> bool:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return any(_conforms(value, arg) for arg in get_args(hint))
    if hint is type(None):
        return value is None
    if hint is Any:
        return True
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin in (list, tuple):
        (item,) = get_args(hint)[:1] or (Any,)
        return isinstance(value, list) and all(_conforms(v, item) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", str(hint))
