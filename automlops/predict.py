"""`automlops predict DATASET FILE`: score a file of rows with the dataset's live model, as an
upload does (score/<dataset>/<file> in the raw bucket), wait for the worker, download the
predictions. The worker writes `predictions/<dataset>/<name>.json` (or `.error.json`) with the
ETag of the file it scored: the command waits for the one about the file it uploaded."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from automlops.aws import AwsTarget
from handlers.naming import DATASET_PATTERN, SCORE_PREFIX, SCORE_SUFFIXES, ScorePaths
from service.failures import ConfigurationError

POLL_SECONDS = 1.0


class PredictFailed(Exception):
    """What went wrong, for the person who asked: refused rows, no live model, a timeout."""


@dataclass(frozen=True)
class Predicted:
    path: Path
    summary: dict[str, Any]


@dataclass(frozen=True)
class PredictConfig:
    raw_bucket: str
    reports_bucket: str
    aws: AwsTarget

    @classmethod
    def from_env(cls, env: dict[str, str]) -> PredictConfig:
        wanted = ["AUTOMLOPS_RAW_BUCKET", "AUTOMLOPS_REPORTS_BUCKET"]
        missing = [name for name in wanted if not env.get(name)]
        if missing:
            raise ConfigurationError(f"set {' and '.join(missing)} (the worker's settings)")
        return cls(
            env["AUTOMLOPS_RAW_BUCKET"], env["AUTOMLOPS_REPORTS_BUCKET"], AwsTarget.from_env(env)
        )


def key_for(dataset: str, file: Path) -> str:
    """Where the file goes: score/<dataset>/<its name>; refused unless the worker would take it."""
    if not DATASET_PATTERN.match(dataset):
        raise PredictFailed(
            f"{dataset!r} is not a dataset name: lower-case letters, digits, hyphens"
        )
    if not file.is_file():
        raise PredictFailed(f"{file} is not a file")
    if not file.name.lower().endswith(SCORE_SUFFIXES):
        raise PredictFailed(
            f"{file.name}: the worker scores {', '.join(SCORE_SUFFIXES)} files (plain or gzip); "
            "rename it if it is one"
        )
    key = f"{SCORE_PREFIX}{dataset}/{file.name}"
    ScorePaths.of_key(key)  # a name the worker would refuse is refused here first
    return key


def predict(config: PredictConfig, dataset: str, file: Path, out: Path, wait: float) -> Predicted:
    key = key_for(dataset, file)
    paths = ScorePaths.of_key(key)
    session = config.aws.session()
    s3 = session.client("s3", endpoint_url=config.aws.endpoint_for("s3"))
    started = datetime.now(UTC)
    with file.open("rb") as body:
        etag = str(s3.put_object(Bucket=config.raw_bucket, Key=key, Body=body)["ETag"]).strip('"')
    document, refused = _wait(s3, config.reports_bucket, paths, etag, started, wait)
    if refused:
        raise PredictFailed(f"{file.name} was not scored: {document['error']}")
    target = out / paths.dataset / Path(paths.predictions).name
    target.parent.mkdir(parents=True, exist_ok=True)
    s3.download_file(config.reports_bucket, paths.predictions, str(target))
    return Predicted(target, document)


def _wait(
    s3: Any, bucket: str, paths: ScorePaths, etag: str, started: datetime, wait: float
) -> tuple[dict[str, Any], bool]:
    """The worker's summary (False) or error (True) about this upload of the file."""
    deadline = time.monotonic() + wait
    while True:
        for key, refused in ((paths.summary, False), (paths.error, True)):
            document = _read(s3, bucket, key)
            if document is not None and _about(document, etag, started):
                return document, refused
        if time.monotonic() >= deadline:
            raise PredictFailed(
                f"no predictions within {wait:g} s: is the worker running? "
                f"(`automlops status`; the file is at score/{paths.dataset}/)"
            )
        time.sleep(POLL_SECONDS)


def _read(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    document: dict[str, Any] = json.loads(body)
    return document


def _about(document: dict[str, Any], etag: str, started: datetime) -> bool:
    at = document.get("scored_at") or document.get("failed_at") or ""
    try:
        written = datetime.fromisoformat(at)
    except ValueError:
        return False
    # The same bytes uploaded again have the same ETag: only a document written since counts
    # (a second of slack for clocks that round differently).
    return document.get("input_etag") == etag and written.timestamp() >= started.timestamp() - 1
