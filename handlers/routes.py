"""What starts each stage: the S3 rules, the route table and what the warm-up imports.

`S3_RULES` says which S3 objects start which stage; the embedded stack and Terraform configure
the bucket notifications from the same filters. `ROUTES` is the route table the worker runs,
with each stage's name as the run manifest records it. Handlers receive `PipelineDeps`
(`handlers/deps.py`) as `ctx.deps`.
"""

from __future__ import annotations

from handlers.messages import (
    DataUploaded,
    EndpointCleanup,
    EvaluateRequested,
    ModelApprove,
    ModelEvaluated,
    ModelRollback,
    ModelTrained,
    ScoreRequested,
    TrainingWatch,
    TrainRequested,
    UploadIgnored,
)
from handlers.naming import SCORE_PREFIX, UPLOAD_ENDINGS
from handlers.stages import order
from service.messages import ObjectCreated, S3Rule
from service.routing import Route, deferred

S3_RULES: tuple[S3Rule, ...] = (
    # `.csv` or `.tsv`, plain or gzip-compressed, in any letter case (`.CSV` from Windows
    # tools); the separator is read from the header whatever the name says (handlers/data/dialect).
    S3Rule(
        bucket="raw",
        prefix="data/",
        suffix=UPLOAD_ENDINGS[0],
        also=UPLOAD_ENDINGS[1:],
        any_case=True,
        message=DataUploaded,
    ),
    S3Rule(bucket="models", prefix="runs/", suffix="model.tar.gz", message=ModelTrained),
    # Files of rows to score with a dataset's live model: the same formats as uploads.
    S3Rule(
        bucket="raw",
        prefix=SCORE_PREFIX,
        suffix=UPLOAD_ENDINGS[0],
        also=UPLOAD_ENDINGS[1:],
        any_case=True,
        message=ScoreRequested,
    ),
    # What the rules above leave under their prefixes is recorded as ignored, with the reason
    # (the bucket announces every object there: the rules above take any ending).
    S3Rule(bucket="raw", prefix="data/", message=UploadIgnored, notified=False),
    S3Rule(bucket="raw", prefix=SCORE_PREFIX, message=UploadIgnored, notified=False),
)

# Each stage's module is imported when its first message arrives (or by the warm-up after the
# first poll): start-up and the health check load none of pandas, scikit-learn or matplotlib.
# The stage names are the run manifest's; tests/unit/test_deferred.py checks every handler's
# message type and stage name against its module, which the type checker cannot see through.
PROMOTE = "handlers.stages.promote.handle"
ROUTES = (
    Route(DataUploaded, deferred("handlers.stages.preprocess", "handle"), order.PREPROCESS),
    Route(TrainRequested, deferred("handlers.stages.train", "handle"), order.TRAIN),
    Route(TrainingWatch, deferred("handlers.stages.watch", "handle"), order.TRAINING),
    Route(ModelTrained, deferred("handlers.stages.deploy", "handle"), order.DEPLOY),
    Route(EvaluateRequested, deferred("handlers.stages.evaluate", "handle"), order.EVALUATE),
    Route(ModelEvaluated, deferred(PROMOTE, "handle_evaluated"), order.PROMOTE),
    Route(ModelApprove, deferred(PROMOTE, "handle_approve"), order.PROMOTE),
    Route(ModelRollback, deferred(PROMOTE, "handle_rollback"), order.PROMOTE),
    Route(EndpointCleanup, deferred("handlers.stages.cleanup", "handle"), order.CLEANUP),
    Route(ScoreRequested, deferred("handlers.stages.score", "handle"), order.SCORE),
    Route(UploadIgnored, deferred("handlers.stages.ignored", "handle"), order.IGNORED),
)

# Imported by the warm-up besides the stages' modules: what the stages import inside functions
# (the report's plots, templates and booster reader; scikit-learn's metrics).
WARM_UP = (
    "sklearn.metrics",
    "handlers.report.plots",
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
    "handlers.report.templates",
    "xgboost",
)


def message_for(bucket_role: str, key: str) -> type[ObjectCreated] | None:
    """What an object becomes, by the first rule that takes it (as the worker decodes)."""
    rule = next((r for r in S3_RULES if r.bucket == bucket_role and r.matches(key)), None)
    return None if rule is None else rule.message
