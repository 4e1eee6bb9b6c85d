"""A run's report folder brought from the reports bucket to a local one (`automlops report`,
and the end of `make demo`), with the runs index re-rendered to link the local copies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from handlers.aws.storage import Bucket
from handlers.naming import INDEX_DATA_KEY, RunPaths
from handlers.report import index as runs_index

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class NoReport(Exception):
    """The run has no report folder (an unknown run id, or a run that was never evaluated)."""


def download_report(s3: S3Client, bucket: str, run_id: str, out: Path) -> Path:
    """Every file of the run's evaluation folder into `out/<run_id>/`; the report page's path
    (report.md when the page is not there yet)."""
    prefix = RunPaths(run_id).evaluation_folder
    target = out / run_id
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
    ]
    if not keys:
        raise NoReport(f"s3://{bucket}/{prefix} holds no report: is {run_id} a run id?")
    target.mkdir(parents=True, exist_ok=True)
    for key in keys:
        relative = key[len(prefix) :]
        if not relative or "/" in relative or relative.startswith("."):
            continue  # only the folder's own files, by plain names
        s3.download_file(bucket, key, str(target / relative))
    page = target / "report.html"
    return page if page.exists() else target / "report.md"


def write_local_index(s3: S3Client, bucket: str, out: Path) -> Path | None:
    """The runs index in `out`: the runs it listed before (an earlier stack's, `index.json`
    beside it) and the bucket's, linking the reports copied to `out/<run_id>/` and naming the
    command for the others; None before any decision."""
    found = Bucket(s3, bucket).read_json(INDEX_DATA_KEY)
    if found is None:
        return None
    out.mkdir(parents=True, exist_ok=True)
    kept = out / "index.json"
    try:
        document = runs_index.merged(_read_local(kept), found[0])
    except (KeyError, TypeError, AttributeError):  # a local index.json that is not ours
        document = found[0]
    kept.write_text(json.dumps(document, indent=1), encoding="utf-8")
    page = out / "index.html"
    page.write_text(runs_index.render(document, link=lambda run_id: _local_link(out, run_id)))
    return page


def _read_local(path: Path) -> dict[str, Any]:
    """The local index document; an empty one if there is none or it is not ours."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"datasets": {}}
    return document if isinstance(document, dict) and "datasets" in document else {"datasets": {}}


def _local_link(out: Path, run_id: str) -> str | None:
    return f"{run_id}/report.html" if (out / run_id / "report.html").is_file() else None
