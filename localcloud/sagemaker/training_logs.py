"""What the XGBoost container prints while it trains, sent to CloudWatch Logs as on AWS.

SageMaker ships a training container's output to the log group `/aws/sagemaker/TrainingJobs`,
one stream per host (`<job>/algo-1-<epoch seconds>`). The 3.0-5 container's EvaluationMonitor
prints a line per round, `[3]\ttrain-logloss:0.51234\tvalidation-logloss:0.52345`, and the
tabs arrive in CloudWatch as `#011` (the syslog escape SageMaker's own metric regexes match).
Logging is best effort, as on AWS: a failure to write is logged and never fails the job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from localcloud.sagemaker.s3io import client

GROUP = "/aws/sagemaker/TrainingJobs"
TAB = "#011"
log = logging.getLogger(__name__)

# {"train": {"logloss": [0.6, 0.5, ...]}, "validation": {...}}: xgboost's evals_result
History = Mapping[str, Mapping[str, Sequence[Any]]]


def round_lines(history: History) -> list[str]:
    """The EvaluationMonitor's line for every boosting round."""
    rounds = max((len(v) for metrics in history.values() for v in metrics.values()), default=0)
    lines = []
    for number in range(rounds):
        parts = [f"[{number}]"]
        for channel, metrics in history.items():
            for metric, values in metrics.items():
                value = values[number]
                score = value[0] if isinstance(value, tuple) else value
                parts.append(f"{channel}-{metric}:{float(score):.5f}")
        lines.append(TAB.join(parts))
    return lines


class TrainingLogs:
    def __init__(self, endpoint_url: str | None, region: str) -> None:
        self._client: Any = client("logs", endpoint_url, region)

    def write(self, job_name: str, lines: Sequence[str]) -> None:
        stream = f"{job_name}/algo-1-{int(time.time())}"
        now = int(time.time() * 1000)
        try:
            self._ensure(stream)
            for start in range(0, len(lines), 1000):  # PutLogEvents takes 10,000; kept small
                events = [
                    {"timestamp": now, "message": line} for line in lines[start : start + 1000]
                ]
                self._client.put_log_events(
                    logGroupName=GROUP, logStreamName=stream, logEvents=events
                )
        except (ClientError, BotoCoreError) as exc:
            log.warning("training log of %s not written: %s", job_name, exc)

    def _ensure(self, stream: str) -> None:
        for create, arguments in (
            (self._client.create_log_group, {"logGroupName": GROUP}),
            (self._client.create_log_stream, {"logGroupName": GROUP, "logStreamName": stream}),
        ):
            try:
                create(**arguments)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                    raise
