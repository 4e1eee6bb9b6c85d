"""One training job's life after CreateTrainingJob returned: the container's work, in a thread.

SecondaryStatus goes Starting -> Downloading -> Training -> Uploading -> Completed (or Failed /
Stopped). The model is written to <S3OutputPath>/<job name>/output/model.tar.gz, the layout
SageMaker uses, so the models bucket's S3 notification fires exactly as on AWS.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from localcloud.sagemaker import artifacts, trainer
from localcloud.sagemaker.errors import ContainerError, algorithm_error, client_error
from localcloud.sagemaker.faults import FaultState
from localcloud.sagemaker.s3io import S3, S3Error, join_uri
from localcloud.sagemaker.store import Store, TrainingJob
from localcloud.sagemaker.training_logs import TrainingLogs, round_lines
from localcloud.sagemaker.workers import Workers

log = logging.getLogger("localcloud.sagemaker")


class _Stop(Exception):
    def __init__(self, secondary: str, message: str) -> None:
        super().__init__(message)
        self.secondary = secondary
        self.message = message


class _ShuttingDown(Exception):
    pass


def artifact_uri(job: TrainingJob) -> str:
    output = str(job.request["OutputDataConfig"]["S3OutputPath"])
    return join_uri(output, job.name, "output", "model.tar.gz")


class TrainingRunner:
    def __init__(
        self,
        store: Store,
        s3: S3,
        faults: FaultState,
        workers: Workers,
        logs: TrainingLogs | None = None,
    ) -> None:
        self._store = store
        self._s3 = s3
        self._logs = logs
        self._faults = faults
        self._workers = workers

    def start(self, job: TrainingJob) -> None:
        self._workers.spawn(f"training-{job.name}", lambda: self._run(job))

    def _run(self, job: TrainingJob) -> None:
        """Every outcome ends the job in a terminal status, except the emulator shutting down."""
        try:
            uri, metrics = self._train_and_upload(job)
        except trainer.Stopped:
            self._finish(job, "Stopped", "Stopped", "Training job stopped")
        except _Stop as stop:
            self._finish(job, "Stopped", stop.secondary, stop.message)
        except ContainerError as error:
            self._finish(job, "Failed", "Failed", "Training job failed", reason=error.reason)
        except _ShuttingDown:
            return
        except Exception as exc:
            log.exception("training job %s crashed", job.name)
            reason = f"AlgorithmError: framework error: {exc}"[:1024]
            self._finish(job, "Failed", "Failed", "Training job failed", reason=reason)
        else:
            self._finish(
                job,
                "Completed",
                "Completed",
                "Training job completed",
                artifact=uri,
                metrics=metrics,
            )

    def _train_and_upload(self, job: TrainingJob) -> tuple[str, dict[str, float]]:
        self._advance(job, "Downloading", "Downloading input data")
        channels = self._download(job)
        self._advance(job, "Training", "Training image download completed. Training in progress.")
        self._injected_delay_and_failure(job)
        trained = trainer.train(
            channels["train"],
            channels.get("validation"),
            dict(job.request.get("HyperParameters") or {}),
            should_stop=job.stop_requested.is_set,
        )
        if self._logs is not None:
            self._logs.write(job.name, round_lines(trained.history))
        self._advance(job, "Uploading", "Uploading generated training model")
        uri = artifact_uri(job)
        self._upload(uri, artifacts.pack(trained.booster))
        return uri, trained.final_metrics

    def _download(self, job: TrainingJob) -> dict[str, list[bytes]]:
        channels: dict[str, list[bytes]] = {}
        for channel in job.request.get("InputDataConfig") or []:
            name = str(channel["ChannelName"])
            _require_csv(name, channel.get("ContentType"))
            uri = str(channel["DataSource"]["S3DataSource"]["S3Uri"])
            try:
                channels[name] = [
                    self._s3.read(bucket, key)
                    for bucket, key in self._s3.list_objects(uri)
                    if _is_data_file(key)
                ]
            except S3Error as exc:
                raise client_error(f"Data download failed: {exc}") from exc
        if "train" not in channels:
            raise client_error("Missing required channel: train")
        return channels

    def _injected_delay_and_failure(self, job: TrainingJob) -> None:
        faults = self._faults.current
        limit = float(
            (job.request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds") or math.inf
        )
        if faults.training_seconds > limit:
            self._sleep(job, limit)
            raise _Stop("MaxRuntimeExceeded", "Job stopped because max run time was exceeded")
        self._sleep(job, faults.training_seconds)
        reason = faults.training_failure(job.name)
        if reason is not None:
            raise ContainerError(reason)

    def _sleep(self, job: TrainingJob, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if not self._workers.sleep(min(left, 0.1)):
                raise _ShuttingDown
            if job.stop_requested.is_set():
                raise trainer.Stopped

    def _upload(self, uri: str, data: bytes) -> None:
        try:
            self._s3.write(uri, data)
        except S3Error as exc:
            raise algorithm_error(f"Failed to upload the model artifact to {uri}: {exc}") from exc

    def _advance(self, job: TrainingJob, secondary: str, message: str) -> None:
        with self._store.lock:
            if job.status != "InProgress":  # stopping or already over
                return
            now = _transition(job, secondary, message)
            if secondary == "Downloading":
                job.started = now

    def _finish(
        self,
        job: TrainingJob,
        status: str,
        secondary: str,
        message: str,
        *,
        reason: str | None = None,
        artifact: str | None = None,
        metrics: dict[str, float] | None = None,
    ) -> None:
        with self._store.lock:
            now = _transition(job, secondary, message)
            job.transitions[-1]["EndTime"] = now
            job.status = status
            job.failure_reason = reason
            job.artifact_uri = artifact
            job.ended = now
            job.started = job.started or now
            job.metrics = [
                {"MetricName": name, "Value": value, "Timestamp": now}
                for name, value in sorted((metrics or {}).items())
            ]
        log.info("training job %s %s%s", job.name, status, f": {reason}" if reason else "")


def _transition(job: TrainingJob, secondary: str, message: str) -> float:
    now = time.time()
    if job.transitions:
        job.transitions[-1].setdefault("EndTime", now)
    job.transitions.append({"Status": secondary, "StartTime": now, "StatusMessage": message})
    job.secondary = secondary
    job.modified = now
    return now


def _require_csv(channel: str, content_type: Any) -> None:
    """The container reads a channel without ContentType as libsvm; this emulator reads CSV only."""
    media = str(content_type or "").split(";")[0].strip().lower()
    if media in ("text/csv", "csv"):
        return
    if not media:
        raise client_error(
            f"Channel {channel} has no ContentType, so the container reads it as libsvm; "
            "set ContentType to text/csv (the only format this emulator trains on)."
        )
    raise client_error(
        f"Content type {content_type} is not supported by this emulator; use text/csv."
    )


def _is_data_file(key: str) -> bool:
    # The container skips directories and files whose name starts with "." or "_".
    name = key.rsplit("/", 1)[-1]
    return bool(name) and not name.startswith((".", "_"))
