"""A training job's log lines, read back from CloudWatch Logs.

The 3.0-5 container writes them to `/aws/sagemaker/TrainingJobs`, one stream per host
(`<job>/algo-<n>-<time>`); the first host's stream reports the boosting rounds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
MAX_LOG_PAGES = 50


class TrainingLogsUnavailable(Exception):
    """No log lines can be read for the job; the message says why."""


class TrainingLogReader:
    """A training job's log lines from CloudWatch Logs (none without a logs client)."""

    def __init__(self, logs: CloudWatchLogsClient | None) -> None:
        self._logs = logs

    def lines(self, job_name: str) -> list[str]:
        if self._logs is None:
            raise TrainingLogsUnavailable("no CloudWatch Logs client is configured")
        streams = self._logs.describe_log_streams(
            logGroupName=TRAINING_LOG_GROUP, logStreamNamePrefix=f"{job_name}/"
        ).get("logStreams", [])
        if not streams:
            raise TrainingLogsUnavailable(f"{TRAINING_LOG_GROUP} has no log stream of {job_name}")
        stream = str(streams[0]["logStreamName"])  # algo-1: the host that reports the rounds
        return self._events(stream)

    def _events(self, stream: str) -> list[str]:
        assert self._logs is not None
        lines: list[str] = []
        arguments: dict[str, Any] = {
            "logGroupName": TRAINING_LOG_GROUP,
            "logStreamName": stream,
            "startFromHead": True,
        }
        for _ in range(MAX_LOG_PAGES):
            page = self._logs.get_log_events(**arguments)
            lines += [str(event.get("message", "")) for event in page.get("events", [])]
            token = page.get("nextForwardToken")
            if not page.get("events") or token == arguments.get("nextToken"):
                break
            arguments["nextToken"] = token
        return lines
