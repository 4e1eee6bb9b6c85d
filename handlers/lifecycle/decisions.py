"""A decision about a version, told everywhere an operator looks.

One of `promoted`, `rejected`, `pending-approval`, `rolled-back`, `promotion-failed`
(docs/architecture.md §3): written to `runs/<run_id>/evaluation/decision.json` (last: its presence
marks the decision made), added to the run's manifest (and so to its report pages), published to the
decisions SNS topic (when one is configured) and logged as one line with `decision`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from handlers.aws.storage import Bucket
from handlers.lifecycle.champions import ChampionScores
from handlers.naming import RunPaths
from handlers.runs.manifest import Decision, DecisionAction, DecisionSummary, Document, now

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from structlog.typing import FilteringBoundLogger

SUBJECT_MAX = 100


@dataclass(frozen=True)
class DecisionRecord:
    decision: Decision
    reason: str
    action: DecisionAction
    dataset: str
    run_id: str
    version: int
    package_arn: str
    live_endpoint: str
    metric: str
    challenger: dict[str, Any] | None  # the metrics of the version decided about
    champion: ChampionScores | None  # what it was compared with
    live_version: int | None  # what the live endpoint serves after the decision
    evaluated_at: str | None = None
    requested_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        document = dict(self.__dict__)
        document["decided_at"] = now()
        document["seconds_since_evaluation"] = _seconds_since(self.evaluated_at)
        return document


class DecisionPublisher:
    """SNS publishing of decisions; without a topic (`AUTOMLOPS_DECISIONS_TOPIC_ARN` empty)
    decisions are still logged and recorded, only not published."""

    def __init__(self, sns: SNSClient | None, topic_arn: str) -> None:
        self._sns = sns
        self._topic_arn = topic_arn

    def publish(self, document: dict[str, Any]) -> str | None:
        """The SNS message id, or None when no topic is configured."""
        if self._sns is None or not self._topic_arn:
            return None
        subject = (
            f"automlops {document['dataset']}: version {document['version']} {document['decision']}"
        )
        response = self._sns.publish(
            TopicArn=self._topic_arn,
            Subject=subject[:SUBJECT_MAX],
            Message=json.dumps(document, indent=2, default=str),
            MessageAttributes={
                "decision": {"DataType": "String", "StringValue": document["decision"]},
                "dataset": {"DataType": "String", "StringValue": document["dataset"]},
            },
        )
        return str(response["MessageId"])


def announce(
    record: DecisionRecord, publisher: DecisionPublisher, log: FilteringBoundLogger
) -> dict[str, Any]:
    """Publish and log the decision; `write_decision` stores it, and the run's report pages
    show it once clean-up renders them (`handlers/report/publish.py`)."""
    document = record.to_dict()
    document["sns_message_id"] = publisher.publish(document)
    log.info(
        "promotion.decision",
        decision=record.decision,
        run_id=record.run_id,
        dataset=record.dataset,
        version=record.version,
        live_version=record.live_version,
        reason=record.reason,
        action=record.action,
        seconds_since_evaluation=document["seconds_since_evaluation"],
    )
    return document


def write_decision(reports: Bucket, document: dict[str, Any]) -> None:
    """The gate's decision.json (written last: it marks the decision made), or an operator's
    decision next to it."""
    paths = RunPaths(document["run_id"])
    key = paths.decision if document["action"] == "gate" else _operator_key(paths, document)
    reports.write_json(key, document)


def _operator_key(paths: RunPaths, document: dict[str, Any]) -> str:
    stamp = document["decided_at"].replace(":", "").replace("-", "")
    return f"{paths.prefix}evaluation/decision-{document['action']}-{stamp}.json"


def decided(document: dict[str, Any]) -> Any:
    """The manifest change recording a decision (the latest, and every one in order)."""
    summary: DecisionSummary = {
        "decision": document.get("decision"),
        "reason": document.get("reason"),
        "action": document.get("action"),
        "version": document.get("version"),
        "live_version": document.get("live_version"),
        "decided_at": document.get("decided_at"),
    }

    def change(manifest: Document) -> None:
        manifest["decision"] = summary
        manifest.setdefault("decisions", []).append(summary)

    return change


def _seconds_since(moment: str | None) -> float | None:
    if not moment:
        return None
    try:
        then = datetime.fromisoformat(moment)
    except ValueError:
        return None
    return round((datetime.now(UTC) - then).total_seconds(), 3)
