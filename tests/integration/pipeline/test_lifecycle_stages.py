"""The lifecycle's stages called directly, over HTTP against the stack and the emulator:
redeliveries decide nothing twice, registering twice makes one version, clean-up is safe to
repeat, a used-up endpoint quota is waited out, and operator messages are checked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from localstack_server import LocalStack
from pipeline_harness import Pipeline, running_pipeline, synthetic_csv

from handlers.aws.sagemaker import tags
from handlers.lifecycle.registry import Registration
from handlers.messages import EndpointCleanup, ModelApprove, ModelEvaluated, ModelRollback
from handlers.naming import DatasetNames, RunPaths, champion_key, sagemaker_names
from handlers.stages import cleanup
from handlers.stages.promote import handle as promote
from service.failures import MessageDecodeError, PermanentError, RetryableError

DATASET = "bank-marketing"


@pytest.fixture(scope="module")
def pipeline(
    tmp_path_factory: pytest.TempPathFactory, backend: LocalStack | None
) -> Iterator[Pipeline]:
    with running_pipeline(tmp_path_factory.mktemp("lifecycle"), localstack=backend) as running:
        yield running


@pytest.fixture(scope="module")
def promoted(pipeline: Pipeline) -> dict[str, Any]:
    key = f"data/{DATASET}/first.csv"
    pipeline.upload(key, synthetic_csv(2000, seed=3))
    run = pipeline.wait_until_quiet(pipeline.wait_for_run(key))
    assert run["decision"]["decision"] == "promoted", run
    return run


def registration(pipeline: Pipeline, run_id: str) -> Registration:
    return Registration(
        run_id=run_id,
        dataset=DATASET,
        image="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5",
        model_data_url="s3://b/serving/bundle.tar.gz",
        environment={"SAGEMAKER_PROGRAM": "serve.py"},
        input_columns=("age", "job"),
        metrics_uri="s3://b/metrics.json",
        source_uri="s3://raw/data/bank-marketing/first (1).csv",
        recipe_digest="0" * 64,
        headline="roc_auc=0.7000",
    )


def test_registering_again_finds_the_version_even_after_a_crash_before_it_was_noted(
    pipeline: Pipeline, promoted: dict[str, Any]
) -> None:
    context = pipeline.context()
    registry = context.deps.registry
    group = DatasetNames.for_dataset(DATASET).model_package_group
    first = registry.registered(promoted["run_id"])
    assert first is not None
    again = registry.register(group, registration(pipeline, promoted["run_id"]))
    assert again.arn == first.arn
    # A crash between CreateModelPackage and noting it: the ClientToken finds the version.
    pipeline.clients.s3.delete_object(
        Bucket=pipeline.bucket("reports"), Key=RunPaths(promoted["run_id"]).registration
    )
    after_crash = registry.register(group, registration(pipeline, promoted["run_id"]))
    assert after_crash.arn == first.arn
    assert len(registry.versions(group)) == 1


def test_a_redelivered_model_evaluated_decides_nothing_again(
    pipeline: Pipeline, promoted: dict[str, Any]
) -> None:
    run_id = promoted["run_id"]
    before = pipeline.read_json("reports", champion_key(DATASET))
    message = ModelEvaluated(
        run_id=run_id,
        dataset=DATASET,
        endpoint_name=sagemaker_names(DATASET, run_id).endpoint,
        metrics_key=RunPaths(run_id).evaluation["metrics"],
    )
    (follow_up,) = promote.handle_evaluated(message, pipeline.context())
    assert follow_up.message == EndpointCleanup(run_id=run_id, dataset=DATASET)
    assert pipeline.read_json("reports", champion_key(DATASET)) == before


def test_clean_up_again_deletes_nothing_and_keeps_the_live_model(
    pipeline: Pipeline, promoted: dict[str, Any]
) -> None:
    run_id = promoted["run_id"]
    assert cleanup.handle(EndpointCleanup(run_id=run_id, dataset=DATASET), pipeline.context()) == []
    manifest = pipeline.manifest(run_id)
    assert manifest is not None
    assert manifest["status"] == "succeeded"
    names = sagemaker_names(DATASET, run_id)
    sm = pipeline.clients.sagemaker
    assert sm.describe_model(ModelName=names.live_model)["ModelName"] == names.live_model
    live = DatasetNames.for_dataset(DATASET).live_endpoint
    assert (
        sm.describe_endpoint(EndpointName=live)["EndpointConfigName"] == names.live_endpoint_config
    )


def test_a_used_up_endpoint_quota_is_waited_out_not_a_failure(
    pipeline: Pipeline, promoted: dict[str, Any]
) -> None:
    names = sagemaker_names(DATASET, promoted["run_id"])
    pipeline.emulator.set_faults(serverless_endpoint_quota=1)  # the live endpoint uses it
    try:
        with pytest.raises(RetryableError, match=r"cannot be created yet: .*'Number of serverless"):
            pipeline.context().deps.sagemaker.ensure_endpoint(
                "aml-bank-marketing-20261201-0000000000-ep", names.live_endpoint_config, tags()
            )
    finally:
        pipeline.emulator.set_faults(serverless_endpoint_quota=50)


def test_operator_requests_are_checked_by_the_worker_too(
    pipeline: Pipeline, promoted: dict[str, Any]
) -> None:
    run_id = promoted["run_id"]
    context = pipeline.context()
    # Approving the live version: nothing to do, and nothing is published again.
    approve = ModelApprove(run_id=run_id, dataset=DATASET, version=1)
    assert len(promote.handle_approve(approve, context)) == 1
    with pytest.raises(PermanentError, match="has no version 7"):
        promote.handle_rollback(ModelRollback(run_id=run_id, dataset=DATASET, version=7), context)
    with pytest.raises(MessageDecodeError, match="version"):
        ModelRollback(run_id=run_id, dataset=DATASET, version=0)
    other_run = "20261201-0123456789"
    with pytest.raises(PermanentError, match="does not exist"):
        promote.handle_approve(ModelApprove(run_id=other_run, dataset=DATASET, version=1), context)
