"""CloudWatch Embedded Metric Format (EMF): metrics as one JSON log line on stdout.

The container's log driver ships stdout to CloudWatch Logs, which extracts the metrics from any
line shaped like the EMF specification. So the worker needs no `PutMetricData` call, no extra
client and no network round trip on the hot path: a metric costs one `print`.

A document looks like this (values sit at the top level, next to the dimensions):

    {"_aws": {"Timestamp": 1764187200000,
              "CloudWatchMetrics": [{
                  "Namespace": "automlops",
                  "Dimensions": [["Service"], ["Service", "Stage", "Outcome"]],
                  "Metrics": [{"Name": "StageDurationMs", "Unit": "Milliseconds"}]}]},
     "Service": "automlops", "Stage": "train.requested", "Outcome": "ok",
     "StageDurationMs": 812.5}

`build_document` is the pure function; `MetricsEmitter` adds the clock, the writer and the
worker's conventions (names, dimensions) that deploy/observability.tf alarms on.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Unit = Literal[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
]

# Limits from the EMF specification.
MAX_METRICS_PER_DOCUMENT = 100
MAX_DIMENSIONS_PER_SET = 30
MAX_VALUES_PER_METRIC = 100
MAX_NAME_LENGTH = 255

# The worker's metric names; deploy/observability.tf alarms on these, so renaming one is a
# deployment change too.
MESSAGES_PROCESSED = "MessagesProcessed"
MESSAGES_FAILED = "MessagesFailed"
STAGE_DURATION_MS = "StageDurationMs"
POLLS_SUCCEEDED = "PollsSucceeded"
SERVICE_DIMENSION = "Service"
DEFAULT_SERVICE = "automlops"
# Outcomes of the per-message summary log line that count as a failure of the stage.
FAILED_OUTCOMES = frozenset({"retry", "dead-lettered"})


class MetricError(ValueError):
    """A metric document that CloudWatch would reject or silently ignore."""


@dataclass(frozen=True)
class Metric:
    name: str
    value: float | Sequence[float]
    unit: Unit = "None"
    # 1 = high resolution (per second, costs more); 60 = standard.
    storage_resolution: Literal[1, 60] = 60


def build_document(
    namespace: str,
    metrics: Sequence[Metric],
    dimensions: Mapping[str, str] | None = None,
    dimension_sets: Sequence[Sequence[str]] | None = None,
    properties: Mapping[str, Any] | None = None,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """One EMF document. Every dimension set defaults to all of `dimensions` as one set.

    `properties` are extra top-level members (e.g. `run_id`): searchable in Logs Insights, not
    metric dimensions (a dimension per run would create a new metric per run).
    """
    dims = dict(dimensions or {})
    sets = [list(s) for s in dimension_sets] if dimension_sets is not None else [list(dims)]
    _check_namespace(namespace)
    _check_metrics(metrics)
    _check_dimensions(dims, sets)
    document: dict[str, Any] = {}
    for key, value in (properties or {}).items():
        if key in dims or key == "_aws":
            raise MetricError(f"property {key!r} collides with a dimension or '_aws'")
        document[key] = value
    document.update(dims)
    directive_metrics: list[dict[str, Any]] = []
    for metric in metrics:
        if metric.name in document or metric.name == "_aws":
            raise MetricError(f"metric {metric.name!r} collides with a dimension or property")
        document[metric.name] = _value(metric)
        entry: dict[str, Any] = {"Name": metric.name, "Unit": metric.unit}
        if metric.storage_resolution == 1:
            entry["StorageResolution"] = 1
        directive_metrics.append(entry)
    stamp = int(time.time() * 1000) if timestamp_ms is None else int(timestamp_ms)
    document["_aws"] = {
        "Timestamp": stamp,
        "CloudWatchMetrics": [
            {"Namespace": namespace, "Dimensions": sets, "Metrics": directive_metrics}
        ],
    }
    return document


def _check_namespace(namespace: str) -> None:
    if not namespace or len(namespace) > MAX_NAME_LENGTH:
        raise MetricError(f"namespace {namespace!r} must be 1-{MAX_NAME_LENGTH} characters")


def _check_metrics(metrics: Sequence[Metric]) -> None:
    if not 1 <= len(metrics) <= MAX_METRICS_PER_DOCUMENT:
        raise MetricError(f"a document holds 1-{MAX_METRICS_PER_DOCUMENT} metrics")
    names = [m.name for m in metrics]
    if len(set(names)) != len(names):
        raise MetricError(f"duplicate metric names in {names}")
    for name in names:
        if not name or len(name) > MAX_NAME_LENGTH:
            raise MetricError(f"metric name {name!r} must be 1-{MAX_NAME_LENGTH} characters")


def _check_dimensions(dims: Mapping[str, str], sets: Sequence[Sequence[str]]) -> None:
    for key, value in dims.items():
        if key == "_aws":
            raise MetricError("'_aws' is reserved for the EMF metadata")
        if not isinstance(value, str) or not value:
            raise MetricError(f"dimension {key!r} needs a non-empty string value, got {value!r}")
    for dimension_set in sets:
        if len(dimension_set) > MAX_DIMENSIONS_PER_SET:
            raise MetricError(f"a dimension set holds at most {MAX_DIMENSIONS_PER_SET} names")
        missing = [name for name in dimension_set if name not in dims]
        if missing:
            raise MetricError(
                f"dimension set {list(dimension_set)} names unset dimensions {missing}"
            )


def _value(metric: Metric) -> float | list[float]:
    values = [metric.value] if isinstance(metric.value, int | float) else list(metric.value)
    if not 1 <= len(values) <= MAX_VALUES_PER_METRIC:
        raise MetricError(f"metric {metric.name!r} needs 1-{MAX_VALUES_PER_METRIC} values")
    for value in values:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise MetricError(
                f"metric {metric.name!r} has a non-finite or non-numeric value {value!r}"
            )
    if isinstance(metric.value, int | float):
        return values[0]
    return values


_STDOUT_LOCK = threading.Lock()


def _stdout_line(line: str) -> None:
    # Handler threads emit concurrently: one lock keeps each document on a line of its own.
    with _STDOUT_LOCK:
        sys.stdout.write(line)
        sys.stdout.flush()


class MetricsEmitter:
    """Writes EMF lines for the worker; thread-safe (a custom `writer` must write a line whole).

    The dimension layout is the contract with deploy/observability.tf: every metric carries
    `Service` alone (what alarms use, one time series per worker fleet) and per-message metrics
    also `Service+Stage` and `Service+Stage+Outcome` (what the dashboard breaks down).
    """

    def __init__(
        self,
        namespace: str,
        *,
        service: str = DEFAULT_SERVICE,
        writer: Callable[[str], object] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        _check_namespace(namespace)
        self.namespace = namespace
        self.service = service
        self._write = writer or _stdout_line
        self._clock = clock

    def emit(
        self,
        metrics: Sequence[Metric],
        dimensions: Mapping[str, str] | None = None,
        dimension_sets: Sequence[Sequence[str]] | None = None,
        properties: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Build one document with the `Service` dimension added, write it, return it."""
        dims = {SERVICE_DIMENSION: self.service, **(dimensions or {})}
        sets = dimension_sets if dimension_sets is not None else [[SERVICE_DIMENSION]]
        document = build_document(
            self.namespace,
            metrics,
            dims,
            sets,
            properties,
            timestamp_ms=int(self._clock() * 1000),
        )
        self._write(json.dumps(document, separators=(",", ":"), allow_nan=False) + "\n")
        return document

    def message_settled(
        self, stage: str, outcome: str, duration_ms: float, **properties: Any
    ) -> dict[str, Any]:
        """One message finished a stage: counted, timed, and counted as failed if it failed.

        `MessagesFailed` is written as 0 for successes so the alarm's metric always has data
        while messages flow.
        """
        failed = 1 if outcome in FAILED_OUTCOMES else 0
        return self.emit(
            [
                Metric(MESSAGES_PROCESSED, 1, "Count"),
                Metric(MESSAGES_FAILED, failed, "Count"),
                Metric(STAGE_DURATION_MS, duration_ms, "Milliseconds"),
            ],
            {"Stage": stage, "Outcome": outcome},
            [
                [SERVICE_DIMENSION],
                [SERVICE_DIMENSION, "Stage"],
                [SERVICE_DIMENSION, "Stage", "Outcome"],
            ],
            properties,
        )

    def poll_succeeded(self, count: int = 1) -> dict[str, Any]:
        """A receive call returned (with or without messages): the worker is alive and polling."""
        return self.emit([Metric(POLLS_SUCCEEDED, count, "Count")])

    def evaluation(
        self, run_id: str, scores: Mapping[str, float], **properties: Any
    ) -> dict[str, Any]:
        """A model's evaluation metrics (AUC, Accuracy, ...); the run id is a property only."""
        metrics = [Metric(name, value, "None") for name, value in scores.items()]
        return self.emit(metrics, properties={"run_id": run_id, **properties})
