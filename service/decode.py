"""Decoding at the edge: an SQS body becomes typed messages, each paired with its route.

Two kinds of body arrive: our envelope `{type, version, run_id, payload, sent_at}` and raw S3
event notifications. Whatever cannot be understood raises `MessageDecodeError` (permanent);
S3 records that are not ours (test events, other event kinds, keys no rule matches) are dropped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from service.failures import ConfigurationError, MessageDecodeError, RetryableError
from service.messages import S3Rule, build_message, run_id_of
from service.routing import AnyRoute

S3_TEST_EVENT = "s3:TestEvent"


@dataclass(frozen=True)
class Job:
    """One unit of work: a typed message and the route that handles it."""

    message: Any  # an instance of route.message
    route: AnyRoute


@dataclass(frozen=True)
class Decoded:
    jobs: tuple[Job, ...]
    dropped: tuple[str, ...] = ()
    label: str = ""  # what the body was when it holds no job (e.g. "s3:TestEvent")

    @property
    def message_type(self) -> str:
        types = dict.fromkeys(job.message.TYPE for job in self.jobs)
        return ",".join(types) or self.label

    @property
    def stage(self) -> str:
        stages = dict.fromkeys(job.route.stage_name for job in self.jobs)
        return ",".join(stages) or self.label

    @property
    def run_id(self) -> str | None:
        return next((r for job in self.jobs if (r := run_id_of(job.message))), None)


class Decoder:
    def __init__(
        self, routes: Mapping[str, AnyRoute], rules: Sequence[S3Rule], buckets: Mapping[str, str]
    ) -> None:
        """`buckets` maps bucket role -> bucket name; every rule's role must be in it."""
        missing = sorted({rule.bucket for rule in rules} - set(buckets))
        if missing:
            raise ConfigurationError(f"S3 rules name bucket roles with no bucket: {missing}")
        self._routes = routes
        self._rules = tuple(rules)
        self._roles = {name: role for role, name in buckets.items()}

    def decode(self, body: str) -> Decoded:
        doc = _parse_json(body)
        if _is_sns_notification(doc):
            # S3 -> SNS -> SQS without raw delivery: the S3 event is the envelope's Message.
            inner = _parse_json(_field(doc, "Message", str, "SNS notification"))
            return self._decode_document(inner)
        return self._decode_document(doc)

    def _decode_document(self, doc: dict[str, Any]) -> Decoded:
        if doc.get("source") == "aws.s3" and "detail-type" in doc:
            return self._decode_eventbridge(doc)
        if isinstance(doc.get("Records"), list):
            return self._decode_s3(doc["Records"])
        if doc.get("Event") == S3_TEST_EVENT:
            return Decoded(jobs=(), label=S3_TEST_EVENT)
        if "type" in doc:
            return Decoded(jobs=(self._decode_envelope(doc),))
        raise MessageDecodeError(
            "body is neither an envelope {type, version, run_id, payload, sent_at} "
            f"nor an S3 event notification (keys: {sorted(doc)[:10]})"
        )

    def _decode_envelope(self, doc: Mapping[str, Any]) -> Job:
        kind = _field(doc, "type", str, "envelope")
        version = _field(doc, "version", int, "envelope")
        run_id = _field(doc, "run_id", str, "envelope")
        payload = _field(doc, "payload", dict, "envelope")
        _field(doc, "sent_at", str, "envelope")
        route = self._route(kind)
        if version > route.message.VERSION:
            # Another task of a newer release may understand it (rolling deploy): try again later.
            raise RetryableError(
                f"{kind} version {version} is newer than this worker's {route.message.VERSION}"
            )
        message = build_message(route.message, {**payload, "run_id": run_id}, f"{kind}.payload")
        return Job(message=message, route=route)

    def _decode_s3(self, records: list[Any]) -> Decoded:
        jobs: list[Job] = []
        dropped: list[str] = []
        for index, record in enumerate(records):
            job_or_reason = self._decode_record(record, f"Records[{index}]")
            if isinstance(job_or_reason, Job):
                jobs.append(job_or_reason)
            else:
                dropped.append(job_or_reason)
        label = "s3:" + ",".join(sorted({_event_name(r) for r in records})) if records else "s3"
        return Decoded(jobs=tuple(jobs), dropped=tuple(dropped), label=label)

    def _decode_record(self, record: Any, where: str) -> Job | str:
        if not isinstance(record, dict):
            raise MessageDecodeError(f"{where}: expected an object, got {type(record).__name__}")
        event = _path(record, ("eventName",), str, where)
        if not event.startswith("ObjectCreated:"):
            return f"{where}: event {event} is not ObjectCreated"
        obj = record["s3"]["object"] if isinstance(record.get("s3"), dict) else {}
        fields = {
            "bucket": _path(record, ("s3", "bucket", "name"), str, where),
            # Notifications URL-encode the key (a space is `+`).
            "key": unquote_plus(_path(record, ("s3", "object", "key"), str, where)),
            "size": obj.get("size", 0),
            "etag": obj.get("eTag", ""),
            "version_id": obj.get("versionId"),
            "sequencer": obj.get("sequencer", ""),
            "event_time": record.get("eventTime", ""),
        }
        return self._object_job(fields, where)

    def _decode_eventbridge(self, doc: dict[str, Any]) -> Decoded:
        """An S3 event through EventBridge (`detail-type: Object Created`), as one record."""
        kind = _field(doc, "detail-type", str, "event")
        label = f"s3:eventbridge:{kind}"
        if kind != "Object Created":
            return Decoded(jobs=(), dropped=(f"event: {kind} is not Object Created",), label=label)
        detail = _field(doc, "detail", dict, "event")
        obj = detail.get("object") if isinstance(detail.get("object"), dict) else {}
        fields = {
            "bucket": _path(detail, ("bucket", "name"), str, "event.detail"),
            # EventBridge gives the key as it is, not URL-encoded.
            "key": _path(detail, ("object", "key"), str, "event.detail"),
            "size": obj.get("size", 0),
            "etag": obj.get("etag", ""),
            "version_id": obj.get("version-id"),
            "sequencer": obj.get("sequencer", ""),
            "event_time": doc.get("time", ""),
        }
        job = self._object_job(fields, "event")
        if isinstance(job, str):
            return Decoded(jobs=(), dropped=(job,), label=label)
        return Decoded(jobs=(job,), label=label)

    def _object_job(self, fields: dict[str, Any], where: str) -> Job | str:
        """The job for a created object, or why no rule takes it."""
        bucket, key = fields["bucket"], fields["key"]
        rule = self._rule_for(bucket, key)
        if rule is None:
            return self._why_not(where, bucket, key)
        message = rule.message.from_event(fields, where)
        return Job(message=message, route=self._route(rule.message.TYPE))

    def _rule_for(self, bucket: str, key: str) -> S3Rule | None:
        role = self._roles.get(bucket)
        for rule in self._rules:
            if rule.bucket == role and rule.matches(key):
                return rule
        return None

    def _why_not(self, where: str, bucket: str, key: str) -> str:
        """Why no rule takes the object: said for an operator who wonders where an upload went."""
        role = self._roles.get(bucket)
        near = [r for r in self._rules if r.bucket == role and r.under_prefix(key)]
        if not near:
            return f"{where}: no rule for s3://{bucket}/{key}"
        suffixes = [s for r in near for s in r.suffixes]
        endings = " or ".join(filter(None, (", ".join(suffixes[:-1]), suffixes[-1])))
        case = " (any letter case)" if any(r.any_case for r in near) else ""
        return f"{where}: s3://{bucket}/{key} is not a {endings}{case} object: ignored"

    def _route(self, kind: str) -> AnyRoute:
        route = self._routes.get(kind)
        if route is None:
            raise MessageDecodeError(f"unknown message type {kind!r}: no route")
        return route


def _is_sns_notification(doc: dict[str, Any]) -> bool:
    return doc.get("Type") == "Notification" and "TopicArn" in doc and "Message" in doc


def guess_type(body: str) -> str:
    """For the record of a body that did not decode: its `type` if it has a readable one."""
    try:
        kind = json.loads(body).get("type")
    except (ValueError, AttributeError, RecursionError):
        return "unknown"
    return kind[:100] if isinstance(kind, str) else "unknown"


def rules_without_route(rules: Sequence[S3Rule], routes: Mapping[str, AnyRoute]) -> list[str]:
    """S3 rules whose message type no route handles: their objects would be dead-lettered."""
    return [rule.message.TYPE for rule in rules if rule.message.TYPE not in routes]


def _parse_json(body: str) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MessageDecodeError(f"body is not JSON: {exc} (starts {body[:60]!r})") from None
    except RecursionError:
        raise MessageDecodeError(
            f"body is JSON nested too deeply to be a message (starts {body[:60]!r})"
        ) from None
    if not isinstance(doc, dict):
        raise MessageDecodeError(f"body is JSON {type(doc).__name__}, expected an object")
    return doc


def _field(doc: Mapping[str, Any], name: str, kind: type, where: str) -> Any:
    return _path(doc, (name,), kind, where)


def _path(doc: Mapping[str, Any], path: tuple[str, ...], kind: type, where: str) -> Any:
    """`doc[a][b]...`, naming the exact place that is missing or of the wrong type."""
    value: Any = doc
    for depth, name in enumerate(path):
        if not isinstance(value, dict) or name not in value:
            place = ".".join((where, *path[: depth + 1]))
            raise MessageDecodeError(f"{place}: required field is missing")
        value = value[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        place = ".".join((where, *path))
        raise MessageDecodeError(
            f"{place}: expected {kind.__name__}, got {type(value).__name__} {value!r:.80}"
        )
    return value


def _event_name(record: Any) -> str:
    name = record.get("eventName") if isinstance(record, dict) else None
    return name if isinstance(name, str) else "?"
