"""The run manifest: `runs/<run_id>/manifest.json` in the reports bucket.

It records each stage's start, end, outcome and artifacts so an operator can see where a run is
and why it stopped. Stages of one run may overlap (a watch and a deploy), so every update is a
read-modify-write guarded by the object's ETag (S3 conditional writes), retried on conflict.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from handlers.naming import RunPaths
from handlers.storage import is_conflict, read_json, write_json

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

Document = dict[str, Any]
_ATTEMPTS = 8
TERMINAL = ("succeeded", "failed")


def manifest_key(run_id: str) -> str:
    return RunPaths(run_id).manifest


def error_key(run_id: str) -> str:
    return RunPaths(run_id).error


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def load(s3: S3Client, bucket: str, run_id: str) -> Document | None:
    found = read_json(s3, bucket, manifest_key(run_id))
    return None if found is None else found[0]


def update(s3: S3Client, bucket: str, run_id: str, change: Callable[[Document], None]) -> Document:
    """Apply `change` to the manifest atomically (optimistic concurrency on the ETag)."""
    key = manifest_key(run_id)
    for _ in range(_ATTEMPTS):
        found = read_json(s3, bucket, key)
        document, etag = found if found else (_new(run_id), None)
        change(document)
        document["updated_at"] = now()
        try:
            write_json(s3, bucket, key, document, if_match=etag, if_none_match=etag is None)
        except ClientError as exc:
            if is_conflict(exc):
                continue
            raise
        return document
    raise RuntimeError(f"manifest {key} kept changing under {_ATTEMPTS} concurrent updates")


def _new(run_id: str) -> Document:
    return {"run_id": run_id, "status": "running", "created_at": now(), "stages": {}}


def stage_started(stage: str, details: dict[str, Any]) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        entry = document["stages"].setdefault(stage, {"attempts": 0})
        entry["attempts"] = entry.get("attempts", 0) + 1
        if document["status"] in TERMINAL or entry.get("outcome") == "ok":
            # A redelivery after the run ended, or of a stage already done (a duplicate that
            # finds the work done): count it, but never reopen the run or the stage.
            return
        entry.update(started_at=now(), outcome="running")
        entry.pop("ended_at", None)
        for key, value in details.items():
            document.setdefault(key, value)
        document["current_stage"] = stage

    return change


def stage_ended(
    stage: str, outcome: str, artifacts: dict[str, str] | None = None, error: str | None = None
) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        entry = document["stages"].setdefault(stage, {"attempts": 1})
        if document["status"] in TERMINAL and outcome != "failed":
            return
        if entry.get("outcome") == "ok" and outcome != "failed":
            # The stage is done: a duplicate delivery that waited or ended later keeps its record.
            if artifacts:
                entry.setdefault("artifacts", {}).update(artifacts)
            return
        entry.update(ended_at=now(), outcome=outcome)
        if artifacts:
            entry.setdefault("artifacts", {}).update(artifacts)
        if error is not None:
            entry["error"] = error
        else:
            entry.pop("error", None)
        if outcome == "failed" and document["status"] != "failed":
            # The first failure is the cause; later ones (a duplicate, a watch) are echoes of it.
            document["status"] = "failed"
            document["failed_stage"] = stage
            document["error"] = error

    return change


def run_finished(status: str) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        if document["status"] != "failed":
            document["status"] = status
        document["finished_at"] = now()
        document.pop("current_stage", None)

    return change


def add_artifacts(stage: str, artifacts: dict[str, str]) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        document["stages"].setdefault(stage, {"attempts": 0}).setdefault("artifacts", {}).update(
            artifacts
        )

    return change
