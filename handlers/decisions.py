"""A decision about a version, told everywhere an operator looks.

One of `promoted`, `rejected`, `pending-approval`, `rolled-back`, `promotion-failed`
(DESIGN.md §3): written to `runs/<run_id>/evaluation/decision.json` (last: its presence marks
the decision made), added to the run's manifest and report, published to the decisions SNS
topic (when one is configured) and logged as one line with `decision`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from handlers.manifest import Document, now
from handlers.naming import RunPaths
from handlers.storage import Bucket
from handlers.task_kinds import BINARY, TASK_KINDS

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from structlog.typing import FilteringBoundLogger

SUBJECT_MAX = 100


@dataclass(frozen=True)
class DecisionRecord:
    decision: str
    reason: str
    action: str  # "gate", "approve" or "rollback"
    dataset: str
    run_id: str
    version: int
    package_arn: str
    live_endpoint: str
    metric: str
    challenger: dict[str, Any] | None  # the metrics of the version decided about
    champion: dict[str, Any] | None  # {"version", "run_id", "metrics"} it was compared with
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
    record: DecisionRecord,
    publisher: DecisionPublisher,
    reports: Bucket,
    log: FilteringBoundLogger,
) -> dict[str, Any]:
    """Publish, log and add the decision to the run's report; `write_decision` stores it."""
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
    _append_to_report(reports, RunPaths(record.run_id), document)
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
    summary = {
        key: document.get(key)
        for key in ("decision", "reason", "action", "version", "live_version", "decided_at")
    }

    def change(manifest: Document) -> None:
        manifest["decision"] = summary
        manifest.setdefault("decisions", []).append(summary)

    return change


def _append_to_report(reports: Bucket, paths: RunPaths, document: dict[str, Any]) -> None:
    key = paths.evaluation["report"]
    existing = reports.read_bytes(key) or b""
    section = render_decision(document).encode()
    reports.put_bytes(key, existing + b"\n" + section, "text/markdown")


def render_decision(document: dict[str, Any]) -> str:
    """Markdown: the decision and its reason, challenger and champion side by side."""
    lines = [
        f"## Decision: {document['decision']} ({document['action']}, {document['decided_at']})",
        "",
        f"{document['reason']}",
        "",
        f"Version {document['version']} of {document['dataset']}; the live endpoint "
        f"`{document['live_endpoint']}` serves version {document['live_version'] or 'none'}.",
    ]
    challenger, champion = document.get("challenger"), document.get("champion")
    if challenger:
        theirs = (champion or {}).get("metrics") or {}
        head = f"champion (version {champion['version']})" if champion else "champion"
        lines += ["", f"| metric | this version | {head} |", "|---|---|---|"]
        kind = TASK_KINDS.get(challenger.get("kind", "binary"), BINARY)
        for name in kind.metrics:
            marker = " (gate)" if name == document["metric"] else ""
            lines.append(
                f"| {name}{marker} | {_shown(challenger.get(name))} | {_shown(theirs.get(name))} |"
            )
    return "\n".join(lines) + "\n"


def _shown(value: Any) -> str:
    return "-" if value is None else f"{float(value):.4f}"


def _seconds_since(moment: str | None) -> float | None:
    if not moment:
        return None
    try:
        then = datetime.fromisoformat(moment)
    except ValueError:
        return None
    return round((datetime.now(UTC) - then).total_seconds(), 3)
