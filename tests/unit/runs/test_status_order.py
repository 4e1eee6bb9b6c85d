"""`automlops status` lists runs newest first by when they were created: a run id's date is the
day, its second half a digest, so the newest day is read whole."""

from __future__ import annotations

from typing import Any, cast

from handlers.runs.manifest import Manifest
from handlers.runs.status import candidates, describe_runs, newest_first


def test_the_newest_days_are_read_whole() -> None:
    ids = ["20261130-aaaaaaaaaa", "20261201-ffffffffff", "20261201-0000000000", "20261129-bb"]
    # Asked for one, both runs of the newest day are read: either may be the newest.
    assert candidates(ids, 1) == ["20261201-ffffffffff", "20261201-0000000000"]
    assert candidates(ids, 3) == [*ids[1:3], "20261130-aaaaaaaaaa"]


def manifest(run_id: str, created: str, **extra: Any) -> Manifest:
    return cast(Manifest, {"run_id": run_id, "created_at": created, "status": "running", **extra})


def test_runs_are_newest_first_by_creation_and_show_date_and_decision() -> None:
    runs = newest_first(
        [
            manifest("20261201-0000000000", "2026-12-01T10:00:00.000+00:00"),
            manifest(
                "20261201-ffffffffff",
                "2026-12-01T09:00:00.000+00:00",
                status="succeeded",
                decision={"decision": "rejected"},
                dataset="shop",
            ),
        ]
    )
    assert [r["run_id"] for r in runs] == ["20261201-0000000000", "20261201-ffffffffff"]
    lines = describe_runs(runs).splitlines()
    assert lines[0].split() == ["run", "created", "(UTC)", "status", "stage", "now", "dataset"]
    assert lines[2].split() == [
        "20261201-ffffffffff", "2026-12-01", "09:00", "succeeded", "-", "rejected", "shop",
    ]  # fmt: skip
