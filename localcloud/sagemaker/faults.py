"""Fault injection: make jobs fail, endpoints fail or lag, invocations slow or error.

Set at construction (`Emulator(faults=Faults(...))`), in process (`emulator.set_faults(...)`) or
over HTTP (`POST /_emulator/faults` with a JSON object of the same fields; `DELETE` resets to the
values the emulator started with; `GET` shows the current ones). Name rules match by substring of
the resource name, so a test can target one run's resources by its run id.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from localcloud.sagemaker.errors import ApiError

DEFAULT_TRAINING_FAILURE = "AlgorithmError: injected failure"


@dataclass(frozen=True)
class Faults:
    # job-name substring -> FailureReason the job fails with (while in SecondaryStatus Training)
    training_failures: Mapping[str, str] = field(default_factory=dict)
    # endpoint-name substring -> FailureReason ("" = the real "did not pass the ping health check")
    endpoint_failures: Mapping[str, str] = field(default_factory=dict)
    # endpoint-name substring -> FailureReason of every UpdateEndpoint of it ("" = the ping
    # health check): the update rolls back and the endpoint keeps serving what it served
    update_failures: Mapping[str, str] = field(default_factory=dict)
    # endpoint-name substring -> {"status", "message", "times"}: the next `times` invokes of it
    # (every invoke when 0) answer ModelError with the container's status (a 500 from a cold
    # start or a dead worker, a 400 for the request's fault) and message
    model_errors: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Creating/Updating -> InService (or Failed) after this long
    endpoint_delay_seconds: float = 1.0
    # added to every InvokeEndpoint
    invoke_latency_seconds: float = 0.0
    # extra time a job spends in SecondaryStatus Training (counts against MaxRuntimeInSeconds)
    training_seconds: float = 0.0
    # The account's quota of serverless endpoints in the region (AWS's default; new accounts
    # may get 10): one more is ResourceLimitExceeded.
    serverless_endpoint_quota: int = 50
    # operation (e.g. "DescribeEndpoint", "InvokeEndpoint") -> {"code", "status", "times"}: the
    # next `times` calls (every call when 0) answer that AWS error instead: throttling, 5xx...
    api_errors: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def training_failure(self, job_name: str) -> str | None:
        reason = _match(self.training_failures, job_name)
        return None if reason is None else (reason or DEFAULT_TRAINING_FAILURE)

    def endpoint_failure(self, endpoint_name: str) -> str | None:
        return _match(self.endpoint_failures, endpoint_name)

    def update_failure(self, endpoint_name: str) -> str | None:
        return _match(self.update_failures, endpoint_name)

    def to_json(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def merged(self, changes: Mapping[str, Any]) -> Faults:
        """A copy with `changes` applied; ValueError names the first bad field."""
        updates: dict[str, Any] = {}
        for name, value in changes.items():
            if name.endswith("_failures"):
                updates[name] = _rules(name, value)
            elif name == "api_errors":
                updates[name] = _api_errors(value)
            elif name == "model_errors":
                updates[name] = _model_errors(value)
            elif name.endswith("_seconds"):
                updates[name] = _seconds(name, value)
            elif name.endswith("_quota"):
                updates[name] = _count(name, value)
            else:
                raise ValueError(f"unknown fault {name!r}")
        return dataclasses.replace(self, **updates)


def _match(rules: Mapping[str, str], name: str) -> str | None:
    for fragment, value in rules.items():
        if fragment in name:
            return value
    return None


def _plain(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else value


def _rules(name: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f"{name} must be an object of name fragment -> message strings")
    return dict(value)


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0")
    return float(value)


def _api_errors(value: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(value, Mapping):
        raise ValueError("api_errors must be an object of operation -> {code, status, times}")
    rules: dict[str, dict[str, Any]] = {}
    for operation, rule in value.items():
        if not isinstance(rule, Mapping) or not isinstance(rule.get("code"), str):
            raise ValueError(f"api_errors.{operation} needs a code")
        status, times = rule.get("status", 400), rule.get("times", 0)
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError(f"api_errors.{operation}.status must be an HTTP error status")
        rules[str(operation)] = {
            "code": rule["code"],
            "status": status,
            "times": _count(f"api_errors.{operation}.times", times),
            "message": str(rule.get("message") or f"{rule['code']} (injected)"),
        }
    return rules


def _model_errors(value: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(value, Mapping):
        raise ValueError("model_errors must be an object of endpoint fragment -> {status, times}")
    rules: dict[str, dict[str, Any]] = {}
    for fragment, rule in value.items():
        status = rule.get("status", 500) if isinstance(rule, Mapping) else None
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError(f"model_errors.{fragment}.status must be an HTTP error status")
        rules[str(fragment)] = {
            "status": status,
            "times": _count(f"model_errors.{fragment}.times", rule.get("times", 0)),
            "message": str(rule.get("message") or "injected failure"),
        }
    return rules


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a whole number >= 0")
    return value


class FaultState:
    """The current faults, swapped atomically; readers take a snapshot and use it."""

    def __init__(self, initial: Faults) -> None:
        self._initial = initial
        self._current = initial
        self._lock = threading.Lock()
        self._answered: dict[str, int] = {}  # injected errors answered per operation / endpoint

    @property
    def current(self) -> Faults:
        with self._lock:
            return self._current

    def update(self, changes: Mapping[str, Any]) -> Faults:
        with self._lock:
            self._current = self._current.merged(changes)
            self._answered.clear()
            return self._current

    def reset(self) -> Faults:
        with self._lock:
            self._current = self._initial
            self._answered.clear()
            return self._current

    def api_error(self, operation: str) -> ApiError | None:
        """The injected error this call of `operation` answers, if one is due (counted)."""
        with self._lock:
            rule = self._current.api_errors.get(operation)
            answered = self._answered.get(operation, 0)
            if rule is None or (rule["times"] and answered >= rule["times"]):
                return None
            self._answered[operation] = answered + 1
        return ApiError(rule["code"], rule["message"], rule["status"])

    def model_error(self, endpoint_name: str) -> tuple[int, str] | None:
        """The container status and message this invoke of `endpoint_name` answers, if an
        injected model error is due (counted)."""
        with self._lock:
            for fragment, rule in self._current.model_errors.items():
                if fragment not in endpoint_name:
                    continue
                counter = f"model:{fragment}"
                answered = self._answered.get(counter, 0)
                if rule["times"] and answered >= rule["times"]:
                    return None
                self._answered[counter] = answered + 1
                return rule["status"], rule["message"]
        return None
