"""The pipeline's message types (docs/architecture.md §1). Payload fields are the contract between
stages.

The two S3 messages derive their run id (and the upload its dataset folder) once, when the
event is decoded (`from_event`), so every later reader sees plain fields.

Stage messages come off a queue anyone with send rights can write to, so none is trusted: each
checks, when it is built, that its run id has the form `naming` gives run ids and that every
name and key it carries is the one the pipeline derives from the run id and dataset. A message
that fails is a MessageDecodeError (dead-lettered with the reason); nothing is ever built from
a field that was not checked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Self

from handlers.naming import (
    DATA_PREFIX,
    DATASET_PATTERN,
    RunPaths,
    dataset_folder,
    is_run_id,
    is_run_name,
    run_id_for_object,
    run_id_of_key,
)
from service.failures import MessageDecodeError
from service.messages import ObjectCreated, StageMessage, build_message


@dataclass(frozen=True, kw_only=True)
class DataUploaded(ObjectCreated):
    """A CSV landed under `data/<dataset>/` in the raw bucket."""

    TYPE: ClassVar[str] = "data.uploaded"
    run_id: str
    # The folder under data/ as found in the key; preprocess checks that it names a dataset.
    dataset: str

    @classmethod
    def from_event(cls, fields: Mapping[str, Any], where: str) -> Self:
        message = build_message(cls, {**fields, "run_id": "", "dataset": ""}, where)
        return dataclasses.replace(
            message,
            run_id=run_id_for_object(
                message.bucket, message.key, _upload(message), message.event_time
            ),
            dataset=dataset_folder(message.key),
        )


@dataclass(frozen=True, kw_only=True)
class ScoreRequested(ObjectCreated):
    """A file of rows landed under `score/<dataset>/` in the raw bucket: score it with the
    dataset's live model."""

    TYPE: ClassVar[str] = "score.requested"
    # Which upload of the key this is (as a run id is): a redelivery has the same, a new upload
    # of the same key another.
    job_id: str

    @classmethod
    def from_event(cls, fields: Mapping[str, Any], where: str) -> Self:
        message = build_message(cls, {**fields, "job_id": ""}, where)
        upload = _upload(message)
        job_id = run_id_for_object(message.bucket, message.key, upload, message.event_time)
        return dataclasses.replace(message, job_id=job_id)


class UploadIgnored(ObjectCreated):
    """An object under `data/` or `score/` in the raw bucket whose name no rule takes (`x.txt`,
    `x.xlsx`): recorded with the reason, so the person who uploaded it sees why nothing ran."""

    TYPE: ClassVar[str] = "upload.ignored"


def _upload(message: ObjectCreated) -> str:
    """What tells this upload of the object apart from another upload of the same bytes: the
    version id, else the event's sequencer with the ETag and event time. Duplicate deliveries of
    one event carry the same of all of these; a new PUT of the same bytes to an unversioned
    bucket (or to a stand-in whose sequencer never changes) has a new event time."""
    if message.version_id:
        return message.version_id
    return f"{message.sequencer}/{message.etag.strip(chr(34))}/{message.event_time}"


@dataclass(frozen=True, kw_only=True)
class ModelTrained(ObjectCreated):
    """SageMaker wrote `runs/<run_id>/.../model.tar.gz` to the models bucket."""

    TYPE: ClassVar[str] = "model.trained"
    run_id: str

    @classmethod
    def from_event(cls, fields: Mapping[str, Any], where: str) -> Self:
        message = build_message(cls, {**fields, "run_id": ""}, where)
        return dataclasses.replace(message, run_id=run_id_of_key(message.key))


@dataclass(frozen=True, kw_only=True)
class RunMessage(StageMessage):
    """A stage message about one run of one dataset, checked when it is built."""

    dataset: str

    def __post_init__(self) -> None:
        if not is_run_id(self.run_id):
            raise self.invalid("run_id", self.run_id, "is not a run id (yyyymmdd-<10 hex>)")
        if not DATASET_PATTERN.match(self.dataset):
            raise self.invalid("dataset", self.dataset, "is not a dataset name ([a-z0-9-])")
        self.check()

    def check(self) -> None:
        """Subclasses check their own fields (raising `self.invalid(...)`)."""

    def expect_name(self, field: str, value: str, suffix: str) -> None:
        if not is_run_name(value, self.dataset, self.run_id, suffix):
            raise self.invalid(field, value, f"is not this run's ({suffix} of run {self.run_id})")

    def expect(self, field: str, value: str, derived: str) -> None:
        if value != derived:
            raise self.invalid(field, value, f"is not this run's ({derived!r})")

    def invalid(self, field: str, value: object, problem: str) -> MessageDecodeError:
        return MessageDecodeError(f"{self.TYPE}.{field}: {value!r:.80} {problem}")


@dataclass(frozen=True, kw_only=True)
class TrainRequested(RunMessage):
    TYPE: ClassVar[str] = "train.requested"
    raw_bucket: str
    raw_key: str
    processed_key: str  # in the curated bucket
    rows: int  # data rows in the processed file; the split sizes are fixed from it

    def check(self) -> None:
        self.expect("processed_key", self.processed_key, RunPaths(self.run_id).processed)
        if not self.raw_key.startswith(f"{DATA_PREFIX}{self.dataset}/"):
            raise self.invalid("raw_key", self.raw_key, f"is not under data/{self.dataset}/")
        if self.rows < 1:
            raise self.invalid("rows", self.rows, "must be at least 1")


@dataclass(frozen=True, kw_only=True)
class TrainingWatch(RunMessage):
    TYPE: ClassVar[str] = "training.watch"
    job_name: str
    looks: int = 0  # times the job was seen running: the next look waits twice as long

    def next_look(self) -> TrainingWatch:
        return replace(self, looks=self.looks + 1)

    def check(self) -> None:
        self.expect_name("job_name", self.job_name, "train")
        if self.looks < 0:
            raise self.invalid("looks", self.looks, "is negative")


@dataclass(frozen=True, kw_only=True)
class EvaluateRequested(RunMessage):
    TYPE: ClassVar[str] = "evaluate.requested"
    endpoint_name: str
    model_key: str  # in the models bucket

    def check(self) -> None:
        self.expect_name("endpoint_name", self.endpoint_name, "ep")
        paths = RunPaths(self.run_id)
        job = self.model_key.removeprefix(paths.model_prefix).split("/", 1)[0]
        if not is_run_name(job, self.dataset, self.run_id, "train") or (
            self.model_key != paths.model_artifact(job)
        ):
            raise self.invalid("model_key", self.model_key, "is not this run's model artifact")


@dataclass(frozen=True, kw_only=True)
class ModelEvaluated(RunMessage):
    TYPE: ClassVar[str] = "model.evaluated"
    endpoint_name: str
    metrics_key: str  # in the reports bucket

    def check(self) -> None:
        self.expect_name("endpoint_name", self.endpoint_name, "ep")
        self.expect("metrics_key", self.metrics_key, RunPaths(self.run_id).evaluation["metrics"])


VERSION_MAX = 999_999_999  # a model package version is at most 9 digits


@dataclass(frozen=True, kw_only=True)
class VersionMessage(RunMessage):
    """An operator's request about one registered version of a dataset (the run made it)."""

    version: int
    requested_by: str = "operator"

    def check(self) -> None:
        if not 1 <= self.version <= VERSION_MAX:
            raise self.invalid("version", self.version, "is not a model package version")
        if not self.requested_by.isprintable() or len(self.requested_by) > 64:
            raise self.invalid("requested_by", self.requested_by, "must be printable, ≤ 64 chars")


@dataclass(frozen=True, kw_only=True)
class ModelApprove(VersionMessage):
    """`automlops approve DATASET VERSION`: promote a version that awaits approval."""

    TYPE: ClassVar[str] = "model.approve"


@dataclass(frozen=True, kw_only=True)
class ModelRollback(VersionMessage):
    """`automlops rollback DATASET [--to VERSION]`: serve an earlier approved version again."""

    TYPE: ClassVar[str] = "model.rollback"


@dataclass(frozen=True, kw_only=True)
class EndpointCleanup(RunMessage):
    """After a decision: delete the run's own endpoint and what is beyond `keep_versions`."""

    TYPE: ClassVar[str] = "endpoint.cleanup"
