"""End to end: manual approval, a live endpoint update that fails, and two challengers racing.

On moto only: the race is about the champion pointer's conditional write, which LocalStack
4.9 does not make atomic under concurrency (tests/integration/pipeline/test_duplicate_delivery.py
says the same for claims).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lifecycle_helpers import cli, decision, endpoint_names, pointer, rows_of, serves, versions
from pipeline_harness import Pipeline, running_pipeline

from handlers.data.synthetic import generate
from handlers.naming import DatasetNames
from handlers.recipe.reader import packaged_recipe_bytes

pytestmark = pytest.mark.e2e
AUTO = "[promotion]\nfloors = { roc_auc = 0.5 }\n"


def csv(rows: int, seed: int, **options: Any) -> bytes:
    sink = io.BytesIO()
    generate(sink, rows, seed=seed, **options)
    return sink.getvalue()


def operator_recipe(pipeline: Pipeline, dataset: str, promotion: str) -> None:
    """bank-marketing's recipe under another dataset's name, with its own [promotion] table."""
    text = packaged_recipe_bytes("bank-marketing")[0].decode()
    text = text.replace('name = "bank-marketing"', f'name = "{dataset}"')
    text = text[: text.index("[promotion]")] + promotion
    pipeline.upload(f"recipes/{dataset}.toml", text.encode())


def run_of(pipeline: Pipeline, key: str, body: bytes) -> dict[str, Any]:
    pipeline.upload(key, body)
    return pipeline.wait_until_quiet(pipeline.wait_for_run(key))


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    with running_pipeline(tmp_path_factory.mktemp("operations")) as running:
        yield running


def test_manual_mode_waits_for_approval_then_promotes(pipeline: Pipeline) -> None:
    dataset = "bank-manual"
    operator_recipe(pipeline, dataset, '[promotion]\nmode = "manual"\nfloors = { roc_auc = 0.5 }\n')
    run = run_of(pipeline, f"data/{dataset}/first.csv", csv(2000, seed=31))
    made = decision(pipeline, run["run_id"])
    assert made["decision"] == "pending-approval"
    assert "manual mode: awaiting an operator's approval" in made["reason"]
    assert [v["ModelApprovalStatus"] for v in versions(pipeline, dataset)] == [
        "PendingManualApproval"
    ]
    live = DatasetNames.for_dataset(dataset).live_endpoint
    assert live not in endpoint_names(pipeline)  # nothing serves until someone approves
    assert not [n for n in endpoint_names(pipeline) if run["run_id"] in n]  # its own is gone

    approved = cli(pipeline, "approve", dataset, "1", "--wait", "60")
    assert approved.returncode == 0, approved.stderr
    assert "promoted: version 1" in approved.stdout
    assert serves(pipeline, dataset, run["run_id"], rows_of(pipeline, run["run_id"]))
    assert [v["ModelApprovalStatus"] for v in versions(pipeline, dataset)] == ["Approved"]
    manifest = pipeline.manifest(run["run_id"])
    assert manifest is not None
    assert [d["decision"] for d in manifest["decisions"]] == ["pending-approval", "promoted"]
    assert manifest["decisions"][1]["action"] == "approve"


def test_a_failed_update_keeps_the_old_model_serving_and_fails_the_run(
    pipeline: Pipeline,
) -> None:
    dataset = "bank-update"
    live = DatasetNames.for_dataset(dataset).live_endpoint
    operator_recipe(pipeline, dataset, AUTO)
    first = run_of(pipeline, f"data/{dataset}/first.csv", csv(2000, seed=41))
    assert decision(pipeline, first["run_id"])["decision"] == "promoted"
    pipeline.emulator.set_faults(update_failures={live: "injected: the new model failed"})
    try:
        second = run_of(pipeline, f"data/{dataset}/better.csv", csv(6000, seed=42, signal=2.0))
    finally:
        pipeline.emulator.set_faults(update_failures={})
    made = decision(pipeline, second["run_id"])
    assert made["decision"] == "promotion-failed"
    assert "injected: the new model failed" in made["reason"]
    assert (second["status"], second["failed_stage"]) == ("failed", "promote")
    assert "injected: the new model failed" in second["error"]
    rows = rows_of(pipeline, second["run_id"])
    assert serves(pipeline, dataset, first["run_id"], rows)
    statuses = [v["ModelApprovalStatus"] for v in versions(pipeline, dataset)]
    assert statuses == ["Approved", "PendingManualApproval"]  # restored: it may be approved
    assert pointer(pipeline, dataset)["champion"]["run_id"] == first["run_id"]
    assert endpoint_names(pipeline).count(live) == 1

    retried = cli(pipeline, "approve", dataset, "2", "--wait", "60")
    assert retried.returncode == 0, retried.stderr
    assert serves(pipeline, dataset, second["run_id"], rows)


def test_two_challengers_racing_make_one_champion_and_a_consistent_registry(
    pipeline: Pipeline,
) -> None:
    dataset = "bank-race"
    operator_recipe(pipeline, dataset, AUTO)
    keys = [f"data/{dataset}/racer-{n}.csv" for n in (1, 2)]
    for key, seed in zip(keys, (51, 52), strict=True):
        pipeline.upload(key, csv(2000, seed=seed))
    runs = [pipeline.wait_until_quiet(run) for run in pipeline.wait_for_runs(keys).values()]
    made = [decision(pipeline, r["run_id"]) for r in runs]
    # Without one decision at a time both would be "the first version"; the other one was
    # compared with the champion the first became (or with none, if the first was rejected).
    (first,) = [d for d in made if d["reason"].startswith("the first version")]
    (other,) = [d for d in made if d is not first]
    if first["decision"] == "promoted":
        assert other["champion"]["version"] == first["version"]
    # The pointer's history is the order the decisions were made in; its champion is the last
    # version promoted, approved in the registry and served by the live endpoint.
    history = pointer(pipeline, dataset)["history"]
    assert [h["run_id"] for h in history] == [first["run_id"], other["run_id"]]
    promoted = [h for h in history if h["decision"] == "promoted"]
    champion = pointer(pipeline, dataset)["champion"]
    assert champion["version"] == promoted[-1]["version"]
    statuses = {
        v["ModelPackageVersion"]: v["ModelApprovalStatus"] for v in versions(pipeline, dataset)
    }
    assert statuses[champion["version"]] == "Approved"
    described = pipeline.clients.sagemaker.describe_endpoint(
        EndpointName=DatasetNames.for_dataset(dataset).live_endpoint
    )
    assert described["EndpointConfigName"] == champion["endpoint_config"]
    assert serves(pipeline, dataset, champion["run_id"], rows_of(pipeline, made[1]["run_id"]))


def test_a_promotion_that_gives_up_does_not_block_the_datasets_later_decisions(
    pipeline: Pipeline,
) -> None:
    dataset = "bank-denied"
    operator_recipe(pipeline, dataset, AUTO)
    first = run_of(pipeline, f"data/{dataset}/first.csv", csv(2000, seed=61))
    assert decision(pipeline, first["run_id"])["decision"] == "promoted"
    denied = {"UpdateEndpoint": {"code": "AccessDeniedException", "status": 400}}
    pipeline.emulator.set_faults(api_errors=denied)
    try:
        second = run_of(pipeline, f"data/{dataset}/denied.csv", csv(6000, seed=62, signal=2.0))
    finally:
        pipeline.emulator.set_faults(api_errors={})
    assert (second["status"], second["failed_stage"]) == ("failed", "promote")
    assert "AccessDeniedException" in second["error"]
    after = pointer(pipeline, dataset)
    assert after["transition"] is None  # given up: nothing waits for it
    assert after["champion"]["run_id"] == first["run_id"]
    assert [v["ModelApprovalStatus"] for v in versions(pipeline, dataset)] == [
        "Approved",
        "PendingManualApproval",
    ]

    third = run_of(pipeline, f"data/{dataset}/third.csv", csv(6000, seed=63, signal=2.0))
    assert decision(pipeline, third["run_id"])["decision"] == "promoted"
    assert serves(pipeline, dataset, third["run_id"], rows_of(pipeline, third["run_id"]))
    # The failed run's own endpoint went with the next clean-up.
    assert [n for n in endpoint_names(pipeline) if "bank-denied" in n] == [
        DatasetNames.for_dataset(dataset).live_endpoint
    ]


def test_a_promotion_interrupted_after_it_began_is_carried_on_by_the_retry(
    pipeline: Pipeline,
) -> None:
    """UpdateEndpoint throttled past the SDK's own 6 attempts: the message is retried later, finds
    its transition in the champion pointer and carries it on (no second decision)."""
    dataset = "bank-resume"
    operator_recipe(pipeline, dataset, AUTO)
    first = run_of(pipeline, f"data/{dataset}/first.csv", csv(2000, seed=71))
    assert decision(pipeline, first["run_id"])["decision"] == "promoted"
    throttled = {"UpdateEndpoint": {"code": "ThrottlingException", "status": 400, "times": 6}}
    pipeline.emulator.set_faults(api_errors=throttled)
    try:
        second = run_of(pipeline, f"data/{dataset}/better.csv", csv(6000, seed=72, signal=2.0))
    finally:
        pipeline.emulator.set_faults(api_errors={})
    assert decision(pipeline, second["run_id"])["decision"] == "promoted"
    gated = [
        s["outcome"]
        for s in pipeline.settled.items
        if s["message_type"] == "model.evaluated" and s["run_id"] == second["run_id"]
    ]
    assert gated == ["retry", "ok"]
    history = pointer(pipeline, dataset)["history"]
    assert [h["run_id"] for h in history] == [first["run_id"], second["run_id"]]
    assert serves(pipeline, dataset, second["run_id"], rows_of(pipeline, second["run_id"]))


def test_a_drafted_recipe_runs_end_to_end(pipeline: Pipeline, tmp_path: Path) -> None:
    """`automlops recipe draft` on a file of a new dataset; the draft, unchanged, as its operator
    recipe; the file through every stage."""
    dataset = "drafted"
    data = tmp_path / "customers.csv"
    data.write_bytes(csv(2000, seed=81))
    drafted = cli(pipeline, "recipe", "draft", str(data), "--dataset", dataset)
    assert drafted.returncode == 0, drafted.stderr
    pipeline.upload(f"recipes/{dataset}.toml", drafted.stdout.encode())
    run = run_of(pipeline, f"data/{dataset}/customers.csv", data.read_bytes())
    assert run["status"] == "succeeded", run
    assert decision(pipeline, run["run_id"])["decision"] == "promoted"
