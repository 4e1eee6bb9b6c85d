"""The pipeline's message types (DESIGN.md §1). Payload fields are the contract between stages.

The two S3 messages derive their run id (and the upload its dataset folder) once, when the
event is decoded (`from_event`), so every later reader sees plain fields.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from handlers.naming import dataset_folder, run_id_for_object, run_id_of_key
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
                message.bucket,
                message.key,
                message.version_id or message.etag,
                message.event_time,
            ),
            dataset=dataset_folder(message.key),
        )


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
