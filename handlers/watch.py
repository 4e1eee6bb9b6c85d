"""Stage `training.watch`: look at the training job without waiting for it.

A running job is looked at again by a fresh, delayed `training.watch` rather than by retrying
this message: a healthy job that trains longer than maxReceiveCount x back-off must not be
dead-lettered. The job's own MaxRuntimeInSeconds bounds how long this can go on.
"""

from __future__ import annotations

from handlers import manifest
from handlers.messages import TrainingWatch
from handlers.stage import recorded
from service.context import HandlerContext
from service.errors import PermanentError
from service.messages import Outgoing

RUNNING = ("InProgress", "Stopping")


@recorded("training")
def handle(msg: TrainingWatch, ctx: HandlerContext) -> list[Outgoing]:
    job = ctx.clients.sagemaker.describe_training_job(TrainingJobName=msg.job_name)
    status = job["TrainingJobStatus"]
    ctx.log.info(
        "training.status",
        job_name=msg.job_name,
        status=status,
        secondary_status=job.get("SecondaryStatus"),
    )
    if status in RUNNING:
        again = TrainingWatch(run_id=msg.run_id, dataset=msg.dataset, job_name=msg.job_name)
        return [Outgoing(again, delay_seconds=ctx.settings.training_watch_seconds)]
    if status == "Completed":
        artifact = job.get("ModelArtifacts", {}).get("S3ModelArtifacts", "")
        manifest.update(
            ctx.clients.s3,
            ctx.settings.reports_bucket,
            msg.run_id,
            manifest.add_artifacts("training", {"job": msg.job_name, "model": artifact}),
        )
        return []
    reason = job.get("FailureReason") or "no FailureReason given"
    raise PermanentError(f"training job {msg.job_name} is {status}: {reason}")
