"""The run repository against moto over HTTP: run.json frozen once, one manifest write per stage
transition, races re-applied instead of failing the stage, and the S3 requests a stage costs."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
import structlog
from localstack_server import LocalStack
from pipeline_harness import Pipeline, synthetic_csv

from handlers.messages import DataUploaded, TrainRequested
from handlers.naming import RunPaths, sagemaker_names
from handlers.recipe.reader import packaged_recipe_bytes
from handlers.runs.manifest import Manifest
from handlers.runs.repository import RunRepository
from handlers.stages import preprocess, train
from service.context import HandlerContext
from service.failures import PermanentError
from service.messages import StageMessage

LOG = structlog.get_logger("test")


@pytest.fixture(scope="module")
def pipeline_options() -> dict[str, Any]:
    return {"worker": False}


def upload_event(pipeline: Pipeline, key: str, body: bytes) -> DataUploaded:
    uploaded = pipeline.upload(key, body)
    fields = {
        "bucket": uploaded.bucket,
        "key": uploaded.key,
        "etag": uploaded.etag.strip('"'),
        "version_id": uploaded.version_id,
        "event_time": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
    return DataUploaded.from_event(fields, "test")


def s3_requests(calls: Any) -> list[tuple[str, str]]:
    """(operation, key) of each S3 request, in order."""
    return [
        (call.operation, call.url.split("/", 4)[-1].split("?")[0])
        for call in calls.calls
        if call.service == "s3"
    ]


def test_preprocess_makes_six_s3_requests_one_manifest_write_per_transition(
    pipeline: Pipeline,
) -> None:
    event = upload_event(pipeline, "data/bank-marketing/counted.csv", synthetic_csv(300, seed=3))
    clients, calls = pipeline.recording_clients()
    preprocess.handle(event, pipeline.context(clients=clients))
    paths = RunPaths(event.run_id)
    assert s3_requests(calls) == [
        ("GetObject", "recipes/bank-marketing.toml"),  # no operator recipe: the packaged one
        ("PutObject", paths.run),  # run.json, which is also the claim (If-None-Match)
        ("PutObject", paths.manifest),  # stage started: creates the manifest (If-None-Match)
        ("GetObject", event.key),  # the raw upload, in one streamed GET
        ("PutObject", paths.processed),
        ("PutObject", paths.manifest),  # stage ended, with its artifacts (If-Match)
    ]


def test_run_json_freezes_the_dataset_source_and_recipe_as_used(pipeline: Pipeline) -> None:
    event = upload_event(pipeline, "data/bank-marketing/frozen.csv", synthetic_csv(300, seed=4))
    preprocess.handle(event, pipeline.context())
    facts = pipeline.read_json("reports", RunPaths(event.run_id).run)
    text, source = packaged_recipe_bytes("bank-marketing")
    assert facts["dataset"] == "bank-marketing"
    assert facts["source"] == {
        "bucket": event.bucket,
        "key": event.key,
        "version_id": event.version_id,
        "etag": event.etag,
    }
    assert facts["recipe"] == {
        "text": text.decode(),
        "source": source,
        "digest": hashlib.sha256(text).hexdigest(),
    }


def test_editing_a_recipe_mid_run_does_not_change_that_run(pipeline: Pipeline) -> None:
    original, _ = packaged_recipe_bytes("bank-marketing")
    recipe_key = "recipes/frozen-recipe.toml"
    pipeline.upload(recipe_key, original.replace(b'name = "bank-marketing"', b'name = "x"'))
    event = upload_event(pipeline, "data/frozen-recipe/a.csv", synthetic_csv(300, seed=5))
    [request] = [o.message for o in preprocess.handle(event, pipeline.context())]
    assert isinstance(request, TrainRequested)
    # The operator edits the recipe while the run is between stages.
    pipeline.upload(recipe_key, original.replace(b"max_depth = 5", b"max_depth = 2"))
    train.handle(request, pipeline.context())
    job_name = sagemaker_names("frozen-recipe", event.run_id).training_job
    job = pipeline.clients.sagemaker.describe_training_job(TrainingJobName=job_name)
    assert job["HyperParameters"]["max_depth"] == "5"  # what preprocess froze


@dataclass(frozen=True, kw_only=True)
class Step(StageMessage):
    TYPE: ClassVar[str] = "test.step"


def step(run_id: str) -> Step:
    return Step(run_id=run_id)


CTX: HandlerContext[None] = HandlerContext(deps=None, log=LOG)


def meanwhile(document: Manifest) -> None:
    document["error"] = "written meanwhile"


def test_a_manifest_changed_during_a_stage_is_re_read_and_the_stage_still_ends_ok(
    pipeline: Pipeline,
) -> None:
    runs: RunRepository = pipeline.runs
    run_id = f"20261201-{uuid.uuid4().hex[:10]}"
    with runs.stage(step(run_id), "first", CTX, new_run=True) as record:
        runs.update(step(run_id), meanwhile)
        record.artifacts["made"] = "yes"
    document = runs.load(run_id)
    assert document is not None
    assert document["error"] == "written meanwhile"  # the other write survived
    assert document["stages"]["first"]["outcome"] == "ok"
    assert document["stages"]["first"]["artifacts"] == {"made": "yes"}


def test_concurrent_stages_of_one_run_all_land_without_failing(
    pipeline: Pipeline, backend: LocalStack | None
) -> None:
    if backend is not None:
        pytest.skip(
            "LocalStack 4.9.2 applies conditional PutObject non-atomically (4-8 of 8 concurrent "
            "If-None-Match creates succeed); S3 and moto serialize them"
        )
    runs: RunRepository = pipeline.runs
    run_id = f"20261201-{uuid.uuid4().hex[:10]}"
    errors: list[BaseException] = []
    go = threading.Event()

    def one(index: int) -> None:
        try:
            go.wait()
            with runs.stage(step(run_id), f"stage-{index}", CTX, new_run=True) as record:
                time.sleep(0.01)
                record.artifacts["index"] = str(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    go.set()
    for thread in threads:
        thread.join(60)
    assert errors == []
    document = runs.load(run_id)
    assert document is not None
    assert {name: entry["outcome"] for name, entry in document["stages"].items()} == {
        f"stage-{i}": "ok" for i in range(6)
    }
    assert all(document["stages"][f"stage-{i}"]["artifacts"] == {"index": str(i)} for i in range(6))


def test_the_deployments_name_prefix_names_its_sagemaker_resources(pipeline: Pipeline) -> None:
    """IAM scopes the task role to `<prefix>-*`: the worker must name everything so."""
    from handlers.messages import TrainingWatch
    from handlers.stages import watch

    event = upload_event(pipeline, "data/bank-marketing/prefixed.csv", synthetic_csv(300, seed=9))
    context = pipeline.context(sagemaker_name_prefix="team7")
    [request] = [o.message for o in preprocess.handle(event, context)]
    assert isinstance(request, TrainRequested)
    [watching] = [o.message for o in train.handle(request, context)]
    assert isinstance(watching, TrainingWatch)
    assert (
        watching.job_name == sagemaker_names("bank-marketing", event.run_id, "team7").training_job
    )
    assert watching.job_name.startswith("team7-")
    pipeline.clients.sagemaker.describe_training_job(TrainingJobName=watching.job_name)
    # A watch of the default prefix's job is not this deployment's to look at.
    other = TrainingWatch(
        run_id=event.run_id,
        dataset="bank-marketing",
        job_name=sagemaker_names("bank-marketing", event.run_id).training_job,
    )
    with pytest.raises(PermanentError, match="is not this run's"):
        watch.handle(other, context)
