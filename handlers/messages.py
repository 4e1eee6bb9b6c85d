"""The pipeline's message types (DESIGN.md §1). Payload fields are the contract between stages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from service.messages import ObjectCreated, StageMessage


@dataclass(frozen=True, kw_only=True)
class DataUploaded(ObjectCreated):
    """A CSV landed under `data/<dataset>/` in the raw bucket."""

    TYPE: ClassVar[str] = "data.uploaded"

    @property
    def run_id(self) -> str:
        from handlers.naming import run_id_for_object

        return run_id_for_object(
            self.bucket, self.key, self.version_id or self.etag, self.event_time
        )

    @property
    def dataset(self) -> str:
        from handlers.naming import dataset_of_key

        return dataset_of_key(self.key)


@dataclass(frozen=True, kw_only=True)
class ModelTrained(ObjectCreated):
    """SageMaker wrote `runs/<run_id>/.../model.tar.gz` to the models bucket."""

    TYPE: ClassVar[str] = "model.trained"

    @property
    def run_id(self) -> str:
        from handlers.naming import run_id_of_key

        return run_id_of_key(self.key)


@dataclass(frozen=True, kw_only=True)
class TrainRequested(StageMessage):
    TYPE: ClassVar[str] = "train.requested"
    dataset: str
    raw_bucket: str
    raw_key: str
    processed_key: str  # in the curated bucket
    rows: int  # data rows in the processed file; the split sizes are fixed from it


@dataclass(frozen=True, kw_only=True)
class TrainingWatch(StageMessage):
    TYPE: ClassVar[str] = "training.watch"
    dataset: str
    job_name: str


@dataclass(frozen=True, kw_only=True)
class EvaluateRequested(StageMessage):
    TYPE: ClassVar[str] = "evaluate.requested"
    dataset: str
    endpoint_name: str
    model_key: str  # in the models bucket


@dataclass(frozen=True, kw_only=True)
class ModelEvaluated(StageMessage):
    TYPE: ClassVar[str] = "model.evaluated"
    dataset: str
    endpoint_name: str
    metrics_key: str  # in the reports bucket
