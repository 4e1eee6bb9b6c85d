"""The pipeline: one module per stage plus the ML domain. Knows nothing about SQS.

`S3_RULES` says which S3 objects start which stage; the embedded stack and Terraform configure
the bucket notifications from the same filters. `ROUTES` is the route table the worker runs.
"""

from __future__ import annotations

from handlers import deploy, evaluate, finish, preprocess, train, watch
from handlers.messages import (
    DataUploaded,
    EvaluateRequested,
    ModelEvaluated,
    ModelTrained,
    TrainingWatch,
    TrainRequested,
)
from service.messages import S3Rule
from service.routing import Route

S3_RULES: tuple[S3Rule, ...] = (
    S3Rule(bucket="raw", prefix="data/", suffix=".csv", message=DataUploaded),
    S3Rule(bucket="models", prefix="runs/", suffix="model.tar.gz", message=ModelTrained),
)

ROUTES: tuple[Route, ...] = (
    Route(DataUploaded, preprocess.handle),
    Route(TrainRequested, train.handle),
    Route(TrainingWatch, watch.handle),
    Route(ModelTrained, deploy.handle),
    Route(EvaluateRequested, evaluate.handle),
    Route(ModelEvaluated, finish.handle),
)
