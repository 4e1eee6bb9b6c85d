"""Stage `evaluate.requested`: wait for the endpoint, score the test set, write the report.

The report lives under `runs/<run_id>/evaluation/` in the reports bucket: `metrics.json`,
`report.md` and `confusion_matrix.png`. A duplicate request finds `metrics.json` and only sends
the follow-up again (so a crash between writing and sending loses nothing); a twin that arrives
while the evaluation is under way waits for it (a claim) instead of scoring the test set twice.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from handlers import manifest
from handlers.claims import claim
from handlers.endpoint_wait import wait_in_service
from handlers.messages import EvaluateRequested, ModelEvaluated
from handlers.metrics import (
    Metrics,
    compute_metrics,
    parse_scores,
    render_confusion_png,
    render_markdown_report,
)
from handlers.naming import RunPaths
from handlers.recipes_source import recipe_for
from handlers.scoring import Scored, score_file
from handlers.stage import recorded
from handlers.storage import download, exists, s3_uri, scratch_dir
from service.context import HandlerContext
from service.messages import Outgoing

STAGE = "evaluate"
# Longer than preprocess: the holder may wait for an endpoint over several retries.
CLAIM_LEASE_SECONDS = 900
# The dimension the worker's EMF metrics carry and the dashboard and alarms read
# (service/metrics.py, deploy/observability.tf).
SERVICE_DIMENSION = {"Name": "Service", "Value": "automlops"}
HEADLINE = {
    "roc_auc": "AUC",
    "pr_auc": "PRAUC",
    "f1": "F1",
    "accuracy": "Accuracy",
    "precision": "Precision",
    "recall": "Recall",
    "log_loss": "LogLoss",
}


def evaluation_keys(run_id: str) -> dict[str, str]:
    return RunPaths(run_id).evaluation


@recorded(STAGE)
def handle(msg: EvaluateRequested, ctx: HandlerContext) -> list[Outgoing]:
    paths = RunPaths(msg.run_id)
    follow_up = Outgoing(
        ModelEvaluated(
            run_id=msg.run_id,
            dataset=msg.dataset,
            endpoint_name=msg.endpoint_name,
            metrics_key=paths.evaluation["metrics"],
        )
    )
    verdict = _claim(msg, ctx, paths)
    if verdict != "ours":
        return [follow_up] if verdict == "done" else []
    wait_in_service(ctx.clients.sagemaker, msg.endpoint_name, ctx.settings.endpoint_wait_seconds)
    recipe = recipe_for(msg.dataset, ctx)
    scored = _score_test_set(msg, ctx, paths)
    metrics = compute_metrics(scored.labels, scored.scores, recipe.threshold)
    _publish(ctx, msg, paths, metrics, _run_facts(msg, ctx, scored, paths))
    ctx.log.info(
        "evaluate.metrics",
        run_id=msg.run_id,
        rows=metrics.count,
        requests=scored.requests,
        auc=metrics.roc_auc,
        f1=metrics.f1,
    )
    return [follow_up]


def _claim(msg: EvaluateRequested, ctx: HandlerContext, paths: RunPaths) -> str:
    s3, reports = ctx.clients.s3, ctx.settings.reports_bucket

    def evaluated(_: object = None) -> bool:
        return exists(s3, reports, paths.evaluation["metrics"])

    if evaluated():
        return "done"
    return claim(
        ctx,
        bucket=reports,
        key=paths.evaluation_claim,
        run_id=msg.run_id,
        stage=STAGE,
        done=evaluated,
        lease_seconds=CLAIM_LEASE_SECONDS,
    )


def _publish(
    ctx: HandlerContext,
    msg: EvaluateRequested,
    paths: RunPaths,
    metrics: Metrics,
    run_facts: dict[str, Any],
) -> None:
    """metrics.json marks the evaluation as done (a later request only re-sends the follow-up),
    so it is written last: after a failure before it, the retry evaluates again."""
    reports = ctx.settings.reports_bucket
    _put_headline_metrics(ctx, msg.dataset, metrics)
    artifacts = {name: s3_uri(reports, key) for name, key in paths.evaluation.items()}
    manifest.update(ctx.clients.s3, reports, msg.run_id, manifest.add_artifacts(STAGE, artifacts))
    _write_report(ctx, paths.evaluation, metrics, run_facts)


def _score_test_set(msg: EvaluateRequested, ctx: HandlerContext, paths: RunPaths) -> Scored:
    runtime = ctx.clients.sagemaker_runtime

    def invoke(body: bytes) -> list[float]:
        response = runtime.invoke_endpoint(
            EndpointName=msg.endpoint_name, ContentType="text/csv", Accept="text/csv", Body=body
        )
        return parse_scores(response["Body"].read())

    with scratch_dir(ctx.settings.work_dir) as scratch:
        test = download(
            ctx.clients.s3,
            ctx.settings.curated_bucket,
            paths.test,
            scratch / "test.csv",
        )
        return score_file(
            test,
            invoke,
            ctx.settings.invoke_payload_limit_bytes,
            ctx.settings.endpoint_max_concurrency,
        )


def _run_facts(
    msg: EvaluateRequested, ctx: HandlerContext, scored: Scored, paths: RunPaths
) -> dict[str, Any]:
    return {
        "run_id": msg.run_id,
        "dataset": msg.dataset,
        "endpoint": msg.endpoint_name,
        "model": s3_uri(ctx.settings.models_bucket, msg.model_key),
        "test_data": s3_uri(ctx.settings.curated_bucket, paths.test),
        "requests": scored.requests,
        "scoring_seconds": round(scored.seconds, 3),
        "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _write_report(
    ctx: HandlerContext, keys: dict[str, str], metrics: Metrics, run: dict[str, Any]
) -> None:
    s3, bucket = ctx.clients.s3, ctx.settings.reports_bucket
    s3.put_object(
        Bucket=bucket,
        Key=keys["confusion_matrix"],
        ContentType="image/png",
        Body=render_confusion_png(metrics.confusion),
    )
    s3.put_object(
        Bucket=bucket,
        Key=keys["report"],
        ContentType="text/markdown",
        Body=render_markdown_report(metrics, run).encode(),
    )
    # metrics.json last: its presence is what marks the evaluation as done.
    document = {"run": run, "metrics": metrics.to_dict()}
    s3.put_object(
        Bucket=bucket,
        Key=keys["metrics"],
        ContentType="application/json",
        Body=json.dumps(document, indent=2).encode(),
    )


def _put_headline_metrics(ctx: HandlerContext, dataset: str, metrics: Metrics) -> None:
    """One PutMetricData per run: by service (what the dashboard and alarms read) and by dataset."""
    by_dataset = [SERVICE_DIMENSION, {"Name": "Dataset", "Value": dataset}]
    dimension_sets = ([SERVICE_DIMENSION], by_dataset)
    data: list[Any] = [
        {"MetricName": name, "Value": float(value), "Unit": "None", "Dimensions": dimensions}
        for field, name in HEADLINE.items()
        if (value := getattr(metrics, field)) is not None
        for dimensions in dimension_sets
    ]
    ctx.clients.cloudwatch.put_metric_data(
        Namespace=ctx.settings.metrics_namespace, MetricData=data
    )
