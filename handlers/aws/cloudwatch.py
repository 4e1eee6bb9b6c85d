"""A run's numbers for CloudWatch: one PutMetricData, by service (what the dashboard and alarms
read, deploy/observability.tf) and by dataset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

# The dimension the worker's EMF metrics carry too (service/metrics.py).
SERVICE_DIMENSION = {"Name": "Service", "Value": "automlops"}


def put(
    cloudwatch: CloudWatchClient, namespace: str, dataset: str, values: Mapping[str, float]
) -> None:
    by_dataset = [SERVICE_DIMENSION, {"Name": "Dataset", "Value": dataset}]
    data: list[Any] = [
        {"MetricName": name, "Value": value, "Unit": "None", "Dimensions": dimensions}
        for name, value in values.items()
        for dimensions in ([SERVICE_DIMENSION], by_dataset)
    ]
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=data)
