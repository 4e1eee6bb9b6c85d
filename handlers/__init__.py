"""The pipeline: one module per stage plus the ML domain. Knows nothing about SQS.

`S3_RULES` says which S3 objects start which stage; the embedded stack and Terraform configure
the bucket notifications from the same filters. `ROUTES` is the route table the worker runs,
with each stage's name as the run manifest records it. Handlers receive `PipelineDeps`
(`handlers/deps.py`) as `ctx.deps`.
"""

from __future__ import annotations

from handlers import cleanup, deploy, evaluate, preprocess, promote, train, watch
from handlers.messages import (
    DataUploaded,
    EndpointCleanup,
    EvaluateRequested,
    ModelApprove,
    ModelEvaluated,
    ModelRollback,
    ModelTrained,
    TrainingWatch,
    TrainRequested,
)
from service.messages import S3Rule
from service.routing import Route

S3_RULES: tuple[S3Rule, ...] = (
    # `.csv` or gzip-compressed `.csv.gz`, in any letter case (`.CSV` from Windows tools).
    S3Rule(
        bucket="raw",
        prefix="data/",
        suffix=".csv",
        also=(".csv.gz",),
        any_case=True,
        message=DataUploaded,
    ),
    S3Rule(bucket="models", prefix="runs/", suffix="model.tar.gz", message=ModelTrained),
)

# Not annotated as a whole: each Route is checked on its own (message class vs handler).
ROUTES = (
    Route(DataUploaded, preprocess.handle, preprocess.STAGE),
    Route(TrainRequested, train.handle, train.STAGE),
    Route(TrainingWatch, watch.handle, watch.STAGE),
    Route(ModelTrained, deploy.handle, deploy.STAGE),
    Route(EvaluateRequested, evaluate.handle, evaluate.STAGE),
    Route(ModelEvaluated, promote.handle_evaluated, promote.STAGE),
    Route(ModelApprove, promote.handle_approve, promote.STAGE),
    Route(ModelRollback, promote.handle_rollback, promote.STAGE),
    Route(EndpointCleanup, cleanup.handle, cleanup.STAGE),
)
