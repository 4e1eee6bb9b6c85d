"""End to end: every upload is a challenger that must earn the live endpoint.

Through the real worker, moto (or LocalStack) and the SageMaker emulator over HTTP: A is
promoted and served; B (labels shuffled) is rejected with both numbers in the reason while A
keeps serving; C (more rows, a stronger signal) is promoted; `automlops rollback` serves A again.
"Serves X" is checked by invoking the live endpoint and comparing its scores with X's own model
on the same rows. The operator commands run in their own process, as a user runs them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from lifecycle_helpers import (
    DecisionInbox,
    Rows,
    cli,
    decision,
    endpoint_names,
    pointer,
    rows_of,
    serves,
    versions,
)
from localstack_server import LocalStack
from pipeline_harness import Pipeline, running_pipeline

from handlers.data.synthetic import generate
from handlers.naming import INDEX_DATA_KEY, DatasetNames, RunPaths

pytestmark = pytest.mark.e2e

DATASET = "bank-marketing"
LIVE = DatasetNames.for_dataset(DATASET).live_endpoint


def csv(rows: int, seed: int, **options: Any) -> bytes:
    import io

    sink = io.BytesIO()
    generate(sink, rows, seed=seed, **options)
    return sink.getvalue()


@dataclass(frozen=True)
class Version:
    run: dict[str, Any]
    rows: Rows

    @property
    def run_id(self) -> str:
        return str(self.run["run_id"])


@pytest.fixture(scope="module")
def pipeline(
    tmp_path_factory: pytest.TempPathFactory, backend: LocalStack | None
) -> Iterator[Pipeline]:
    with running_pipeline(tmp_path_factory.mktemp("lifecycle"), localstack=backend) as running:
        yield running


@pytest.fixture(scope="module")
def inbox(pipeline: Pipeline) -> DecisionInbox:
    return DecisionInbox(pipeline, f"decisions-{uuid.uuid4().hex[:8]}")


def upload(pipeline: Pipeline, name: str, body: bytes) -> Version:
    key = f"data/{DATASET}/{name}.csv"
    pipeline.upload(key, body)
    run = pipeline.wait_until_quiet(pipeline.wait_for_run(key))
    return Version(run, rows_of(pipeline, run["run_id"]))


@pytest.fixture(scope="module")
def version_a(pipeline: Pipeline, inbox: DecisionInbox) -> Version:
    return upload(pipeline, "a", csv(2000, seed=21))


@pytest.fixture(scope="module")
def version_b(pipeline: Pipeline, version_a: Version) -> Version:
    return upload(pipeline, "b-shuffled", csv(2000, seed=22, shuffle_labels=True))


@pytest.fixture(scope="module")
def version_c(pipeline: Pipeline, version_b: Version) -> Version:
    return upload(pipeline, "c-stronger", csv(6000, seed=23, signal=2.0))


@pytest.fixture(scope="module")
def rolled_back(pipeline: Pipeline, version_c: Version) -> Any:
    return cli(pipeline, "rollback", DATASET, "--wait", "60")


def test_the_first_version_is_promoted_and_served(
    pipeline: Pipeline, inbox: DecisionInbox, version_a: Version
) -> None:
    assert version_a.run["status"] == "succeeded", version_a.run
    made = decision(pipeline, version_a.run_id)
    assert (made["decision"], made["version"], made["live_version"]) == ("promoted", 1, 1)
    assert made["reason"].startswith("the first version of the dataset")
    assert serves(pipeline, DATASET, version_a.run_id, version_a.rows)

    # The message's one summary line carries the decision too.
    def gated(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            s
            for s in items
            if s["message_type"] == "model.evaluated" and s["run_id"] == version_a.run_id
        ]

    (summary,) = gated(pipeline.settled.wait_for(lambda items: bool(gated(items))))
    assert (summary["outcome"], summary["decision"]) == ("ok", "promoted")
    published = inbox.wait_for(version_a.run_id, "promoted")
    assert published["challenger"]["roc_auc"] == made["challenger"]["roc_auc"]
    (registered,) = versions(pipeline, DATASET)
    assert registered["ModelApprovalStatus"] == "Approved"
    assert registered["CustomerMetadataProperties"]["run_id"] == version_a.run_id
    assert registered["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"].endswith(
        f"runs/{version_a.run_id}/evaluation/metrics.json"
    )


def test_a_worse_version_is_rejected_naming_the_metric_and_both_values(
    pipeline: Pipeline, inbox: DecisionInbox, version_a: Version, version_b: Version
) -> None:
    made = decision(pipeline, version_b.run_id)
    assert made["decision"] == "rejected"
    ours, theirs = made["challenger"]["roc_auc"], made["champion"]["metrics"]["roc_auc"]
    assert theirs > ours
    assert f"roc_auc {ours:.4f} vs {theirs:.4f} for the champion (version 1)" in made["reason"]
    # Still A on the live endpoint; B's own endpoint is gone, so is its model.
    assert serves(pipeline, DATASET, version_a.run_id, version_b.rows)
    assert endpoint_names(pipeline) == [LIVE]
    rejected = versions(pipeline, DATASET)[1]
    assert (rejected["ModelApprovalStatus"], rejected["ApprovalDescription"]) == (
        "Rejected",
        made["reason"],
    )
    assert inbox.wait_for(version_b.run_id, "rejected")["reason"] == made["reason"]
    # The report shows both side by side, with the decision and its reason.
    report = pipeline.read_bytes("reports", f"runs/{version_b.run_id}/evaluation/report.md")
    text = report.decode()
    assert "## Decision: rejected (gate, " in text
    assert made["reason"] in text
    assert f"| roc_auc (gate) | {ours:.4f} | {theirs:.4f} |" in text
    assert version_b.run["decision"]["decision"] == "rejected"
    assert version_b.run["status"] == "succeeded"  # the run did its work; the version lost


def test_a_better_version_is_promoted_and_served(
    pipeline: Pipeline, version_a: Version, version_c: Version
) -> None:
    made = decision(pipeline, version_c.run_id)
    assert made["decision"] == "promoted", made["reason"]
    assert made["champion"]["version"] == 1
    assert made["challenger"]["roc_auc"] > made["champion"]["metrics"]["roc_auc"]
    assert serves(pipeline, DATASET, version_c.run_id, version_c.rows)
    assert not serves(pipeline, DATASET, version_a.run_id, version_c.rows)
    assert endpoint_names(pipeline) == [LIVE]
    assert made["seconds_since_evaluation"] is not None


def test_rollback_serves_the_previous_approved_version_again(
    pipeline: Pipeline, version_a: Version, version_c: Version, rolled_back: Any
) -> None:
    assert rolled_back.returncode == 0, rolled_back.stderr
    assert "rolled-back: version 1" in rolled_back.stdout
    assert serves(pipeline, DATASET, version_a.run_id, version_c.rows)
    statuses = [v["ModelApprovalStatus"] for v in versions(pipeline, DATASET)]
    assert statuses == ["Approved", "Rejected", "Rejected"]  # C was rolled back from
    assert pointer(pipeline, DATASET)["champion"]["run_id"] == version_a.run_id
    run_a = pipeline.manifest(version_a.run_id)
    assert run_a is not None
    assert [d["decision"] for d in run_a["decisions"]] == ["promoted", "rolled-back"]
    assert endpoint_names(pipeline) == [LIVE]


def test_every_page_and_command_shows_where_each_version_stands_after_the_rollback(
    pipeline: Pipeline,
    version_a: Version,
    version_b: Version,
    version_c: Version,
    rolled_back: Any,
) -> None:
    """A is live again (not "rolled-back"), C was rolled back from, B was rejected: in
    `automlops status`, in each run's report page and in the runs index; the decisions stay in
    each page's history."""
    listed = cli(pipeline, "status")
    assert listed.returncode == 0, listed.stderr
    expected = {
        version_a.run_id: "live (version 1)",
        version_b.run_id: "rejected (version 2)",
        version_c.run_id: "rolled back from (version 3)",
    }
    for run_id, now in expected.items():
        (line,) = [line for line in listed.stdout.splitlines() if line.startswith(run_id)]
        assert now in line, line
    detail = cli(pipeline, "status", version_c.run_id)
    assert "now       rolled back from (version 3)" in detail.stdout
    # The pages are rendered by the rollback's clean-up, which may still be at work when the
    # command has seen the decision: A's page first, then C's.
    badge_c = '<span class="badge rolled-back-from">rolled back from</span>'
    page_c = page_of(pipeline, version_c.run_id, badge_c)
    assert badge_c in page_c
    assert "serves version 1 now" in page_c
    page_a = page_of(pipeline, version_a.run_id, '<span class="badge live">live</span>')
    assert '<span class="badge live">live</span>' in page_a
    assert "serves version 1 now" in page_a
    index = pipeline.read_json("reports", INDEX_DATA_KEY)["datasets"][DATASET]
    standings = {row["run_id"]: row["standing"] for row in index["runs"]}
    assert standings == {
        version_a.run_id: "live",
        version_b.run_id: "rejected",
        version_c.run_id: "rolled back from",
    }


def page_of(pipeline: Pipeline, run_id: str, showing: str, timeout: float = 60) -> str:
    """The run's report page once it shows `showing` (else as it is after `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        page = pipeline.read_bytes("reports", RunPaths(run_id).html_report).decode()
        if showing in page or time.monotonic() > deadline:
            return page
        time.sleep(0.5)


def test_models_lists_the_versions_and_which_one_is_live(
    pipeline: Pipeline, version_a: Version, version_c: Version, rolled_back: Any
) -> None:
    shown = cli(pipeline, "models", DATASET)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert f"live      {LIVE} serves version 1" in lines
    (live_line,) = [line for line in lines if line.startswith("* ")]
    assert live_line.split()[1:4] == [
        "1",
        "Approved",
        f"roc_auc={decision(pipeline, version_a.run_id)['challenger']['roc_auc']:.4f}",
    ]
    (c_at,) = [i for i, line in enumerate(lines) if version_c.run_id in line]
    assert lines[c_at].split()[:2] == ["3", "Rejected"]
    assert lines[c_at].endswith("rolled back: version 1 serves instead")
    # the gate's own reason stays in view under the operator's
    assert lines[c_at + 1].strip().startswith("gate: promoted: ")


def test_operator_requests_the_worker_would_refuse_are_refused_by_the_cli(
    pipeline: Pipeline, rolled_back: Any
) -> None:
    approved = cli(pipeline, "approve", DATASET, "1")
    assert (approved.returncode, approved.stderr.strip()) == (
        1,
        f"automlops: version 1 of {DATASET} is already live",
    )
    rejected = cli(pipeline, "approve", DATASET, "2")  # B: rejected by the gate, never served
    assert rejected.returncode == 1
    assert (
        "is Rejected: only a version awaiting approval (PendingManualApproval), or one rolled "
        "back from, can be approved"
    ) in rejected.stderr
    missing = cli(pipeline, "rollback", DATASET, "--to", "9")
    assert (missing.returncode, missing.stderr.strip()) == (
        1,
        f"automlops: {DATASET} has no version 9",
    )


def test_a_version_rolled_back_from_can_be_approved_again(
    pipeline: Pipeline, version_a: Version, version_c: Version, rolled_back: Any
) -> None:
    """Last in the module: it moves the live endpoint back to C."""
    again = cli(pipeline, "approve", DATASET, "3", "--wait", "60")
    assert again.returncode == 0, again.stderr
    assert "promoted: version 3" in again.stdout
    assert serves(pipeline, DATASET, version_c.run_id, version_c.rows)
    statuses = [v["ModelApprovalStatus"] for v in versions(pipeline, DATASET)]
    assert statuses == ["Approved", "Rejected", "Approved"]
    assert pointer(pipeline, DATASET)["champion"]["version"] == 3
    # ...and back to A with rollback --to, A being approved still
    back = cli(pipeline, "rollback", DATASET, "--to", "1", "--wait", "60")
    assert back.returncode == 0, back.stderr
    assert serves(pipeline, DATASET, version_a.run_id, version_c.rows)
