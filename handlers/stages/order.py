"""The stages of a run, in order: each one's name as the run manifest records it, and the
stages that must have ended ok before it may run (its predecessors). The one table: the stages,
the route table and the run repository's checks all read it."""

from __future__ import annotations

PREPROCESS = "preprocess"
TRAIN = "train"
TRAINING = "training"  # the watch on the training job
DEPLOY = "deploy"  # started by the model's S3 event: nothing to check before it
EVALUATE = "evaluate"
PROMOTE = "promote"
CLEANUP = "cleanup"
SCORE = "score"  # a file scored by upload: not a stage of a run
IGNORED = "ignored"  # an upload no rule takes, recorded: not a stage of a run

STAGES = (PREPROCESS, TRAIN, TRAINING, DEPLOY, EVALUATE, PROMOTE, CLEANUP)  # in a run's order
AFTER: dict[str, tuple[str, ...]] = {
    PREPROCESS: (),
    TRAIN: (PREPROCESS,),
    TRAINING: (TRAIN,),
    DEPLOY: (),
    EVALUATE: (DEPLOY,),
    PROMOTE: (EVALUATE,),
    CLEANUP: (),
}
