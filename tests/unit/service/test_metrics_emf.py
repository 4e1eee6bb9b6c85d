"""The EMF emitter writes documents CloudWatch accepts, checked against the specification."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from service.metrics import (
    FAILED_OUTCOMES,
    MESSAGES_FAILED,
    MESSAGES_PROCESSED,
    POLLS_SUCCEEDED,
    STAGE_DURATION_MS,
    Metric,
    MetricError,
    MetricsEmitter,
    build_document,
)

NOW = 1_764_187_200.123


def assert_valid_emf(document: dict[str, Any]) -> None:
    """The structural rules of the EMF specification, in one place."""
    meta = document["_aws"]
    assert isinstance(meta["Timestamp"], int)
    assert meta["Timestamp"] > 1_000_000_000_000  # milliseconds, not seconds
    directives = meta["CloudWatchMetrics"]
    assert isinstance(directives, list)
    assert directives
    for directive in directives:
        assert isinstance(directive["Namespace"], str)
        assert directive["Namespace"]
        assert isinstance(directive["Dimensions"], list)
        for dimension_set in directive["Dimensions"]:
            assert isinstance(dimension_set, list)
            assert len(dimension_set) <= 30
            for name in dimension_set:
                assert isinstance(document[name], str)  # every dimension is a top-level string
        assert 1 <= len(directive["Metrics"]) <= 100
        for metric in directive["Metrics"]:
            assert set(metric) <= {"Name", "Unit", "StorageResolution"}
            value = document[metric["Name"]]  # every metric's value is a top-level member
            values = value if isinstance(value, list) else [value]
            assert all(isinstance(v, int | float) and math.isfinite(v) for v in values)


class Lines:
    def __init__(self) -> None:
        self.written: list[str] = []

    def __call__(self, line: str) -> None:
        self.written.append(line)

    def documents(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.written]


def emitter(lines: Lines, namespace: str = "automlops") -> MetricsEmitter:
    return MetricsEmitter(namespace, writer=lines, clock=lambda: NOW)


def test_build_document_follows_the_specification() -> None:
    document = build_document(
        "automlops",
        [Metric("StageDurationMs", 812.5, "Milliseconds"), Metric("MessagesProcessed", 1, "Count")],
        {"Service": "automlops", "Stage": "train.requested"},
        timestamp_ms=1_764_187_200_000,
    )
    assert_valid_emf(document)
    assert document["_aws"] == {
        "Timestamp": 1_764_187_200_000,
        "CloudWatchMetrics": [
            {
                "Namespace": "automlops",
                "Dimensions": [["Service", "Stage"]],
                "Metrics": [
                    {"Name": "StageDurationMs", "Unit": "Milliseconds"},
                    {"Name": "MessagesProcessed", "Unit": "Count"},
                ],
            }
        ],
    }
    assert document["StageDurationMs"] == 812.5
    assert document["Stage"] == "train.requested"


def test_each_emit_writes_exactly_one_json_line() -> None:
    lines = Lines()
    emitter(lines).poll_succeeded()
    assert len(lines.written) == 1
    assert lines.written[0].endswith("\n")
    assert lines.written[0].count("\n") == 1
    (document,) = lines.documents()
    assert_valid_emf(document)
    assert document["_aws"]["Timestamp"] == int(NOW * 1000)


def test_poll_metric_has_only_the_service_dimension() -> None:
    lines = Lines()
    document = emitter(lines).poll_succeeded()
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Dimensions"] == [["Service"]]
    assert directive["Metrics"] == [{"Name": POLLS_SUCCEEDED, "Unit": "Count"}]
    assert document["Service"] == "automlops"
    assert document[POLLS_SUCCEEDED] == 1


@pytest.mark.parametrize("outcome", ["ok", "retry", "dead-lettered", "dropped"])
def test_message_settled_counts_times_and_flags_failures(outcome: str) -> None:
    lines = Lines()
    document = emitter(lines, "automlops/prod").message_settled(
        "evaluate.requested", outcome, 1234.0, run_id="20261126-3f9a1c0b2e"
    )
    assert_valid_emf(document)
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "automlops/prod"
    assert directive["Dimensions"] == [
        ["Service"],
        ["Service", "Stage"],
        ["Service", "Stage", "Outcome"],
    ]
    assert {m["Name"]: m["Unit"] for m in directive["Metrics"]} == {
        MESSAGES_PROCESSED: "Count",
        MESSAGES_FAILED: "Count",
        STAGE_DURATION_MS: "Milliseconds",
    }
    assert document[MESSAGES_PROCESSED] == 1
    assert document[MESSAGES_FAILED] == (1 if outcome in FAILED_OUTCOMES else 0)
    assert document[STAGE_DURATION_MS] == 1234.0
    assert (document["Stage"], document["Outcome"]) == ("evaluate.requested", outcome)
    assert document["run_id"] == "20261126-3f9a1c0b2e"  # a property, not a dimension


def test_evaluation_metrics_keep_the_run_out_of_the_dimensions() -> None:
    lines = Lines()
    document = emitter(lines).evaluation(
        "20261126-3f9a1c0b2e", {"AUC": 0.93, "Accuracy": 0.9, "F1": 0.5}, dataset="bank-marketing"
    )
    assert_valid_emf(document)
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Dimensions"] == [["Service"]]
    assert [m["Name"] for m in directive["Metrics"]] == ["AUC", "Accuracy", "F1"]
    assert document["AUC"] == 0.93
    assert document["run_id"] == "20261126-3f9a1c0b2e"
    assert document["dataset"] == "bank-marketing"


def test_a_list_of_values_and_high_resolution_are_supported() -> None:
    document = build_document(
        "ns", [Metric("Latency", [1.0, 2.5, 3], "Milliseconds", storage_resolution=1)], {}, [[]]
    )
    assert_valid_emf(document)
    assert document["Latency"] == [1.0, 2.5, 3]
    assert document["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [
        {"Name": "Latency", "Unit": "Milliseconds", "StorageResolution": 1}
    ]


@pytest.mark.parametrize(
    ("metrics", "dimensions", "sets", "properties"),
    [
        ([], {"Service": "s"}, None, None),  # no metric at all
        ([Metric("A", float("nan"))], {}, None, None),  # NaN is not JSON and not a value
        ([Metric("A", math.inf)], {}, None, None),
        ([Metric("A", True)], {}, None, None),  # a bool is not a measurement
        ([Metric("A", 1), Metric("A", 2)], {}, None, None),  # duplicate names
        ([Metric("Stage", 1)], {"Stage": "x"}, None, None),  # metric shadows a dimension
        ([Metric("A", 1)], {"Stage": ""}, None, None),  # empty dimension value
        ([Metric("A", 1)], {"Stage": "x"}, [["Stage", "Outcome"]], None),  # unset dimension
        ([Metric("A", 1)], {"Stage": "x"}, None, {"Stage": "y"}),  # property shadows a dimension
        ([Metric("A", [])], {}, None, None),  # no values
        ([Metric(f"M{i}", 1) for i in range(101)], {}, None, None),  # over 100 metrics
    ],
)
def test_documents_cloudwatch_would_reject_are_refused(
    metrics: list[Metric],
    dimensions: dict[str, str],
    sets: list[list[str]] | None,
    properties: dict[str, Any] | None,
) -> None:
    with pytest.raises(MetricError):
        build_document("ns", metrics, dimensions, sets, properties, timestamp_ms=1)


def test_namespace_is_checked_up_front() -> None:
    with pytest.raises(MetricError):
        MetricsEmitter("")


def test_default_writer_prints_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    MetricsEmitter("automlops", clock=lambda: NOW).poll_succeeded()
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert_valid_emf(json.loads(out))
