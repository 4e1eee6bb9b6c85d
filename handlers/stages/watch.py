"""Stage `training.watch`: look at the training job without waiting for it.

A running job is looked at again by a fresh, delayed `training.watch` rather than by retrying
this message: a healthy job that trains longer than maxReceiveCount x back-off must not be
dead-lettered. The job's own MaxRuntimeInSeconds bounds how long this can go on. The first look
comes soon (a small job on the emulator, or one that fails at once, is over in seconds) and each
later one waits twice as long, up to `training_watch_seconds`.
"""

from __future__ import annotations

from handlers.deps import Ctx
from handlers.messages import TrainingWatch
from handlers.stages import order
from service.failures import PermanentError
from service.messages import Outgoing

STAGE = order.TRAINING
RUNNING = ("InProgress", "Stopping")


def handle(msg: TrainingWatch, ctx: Ctx) -> list[Outgoing]:
    expected = ctx.deps.names(msg.dataset, msg.run_id).training_job
    if msg.job_name != expected:  # another deployment's prefix: never touch its job
        raise PermanentError(f"{msg.TYPE}: job {msg.job_name!r} is not this run's ({expected!r})")
    with ctx.deps.runs.stage(msg, STAGE, ctx, after=order.AFTER[STAGE]) as record:
        job = ctx.deps.sagemaker.describe_training_job(msg.job_name)
        status = job["TrainingJobStatus"]
        ctx.log.info(
            "training.status",
            job_name=msg.job_name,
            status=status,
            secondary_status=job.get("SecondaryStatus"),
        )
        if status in RUNNING:
            record.outcome = "waiting"  # the stage sends itself again
            again = msg.next_look()
            return [Outgoing(again, delay_seconds=ctx.deps.settings.watch_delay(again.looks))]
        if status == "Completed":
            artifact = job.get("ModelArtifacts", {}).get("S3ModelArtifacts", "")
            record.artifacts.update(job=msg.job_name, model=artifact)
            return []
        reason = job.get("FailureReason") or "no FailureReason given"
        raise PermanentError(f"training job {msg.job_name} is {status}: {reason}")
