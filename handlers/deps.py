"""What every stage handler is given (`ctx.deps`): built once, by the composition root.

Stages reach AWS only through these: the buckets by role, the run repository, the recipe source,
the SageMaker gateway and the CloudWatch client for the run's headline metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from handlers.aws.sagemaker import SageMakerGateway
from handlers.aws.storage import Bucket
from handlers.aws.training_logs import TrainingLogReader
from handlers.lifecycle.champions import ChampionStore
from handlers.lifecycle.decisions import DecisionPublisher
from handlers.lifecycle.registry import ModelRegistry
from handlers.naming import DatasetNames, SageMakerNames, sagemaker_names
from handlers.runs.recipe_source import RecipeSource
from handlers.runs.repository import RunRepository
from handlers.settings import PipelineSettings
from service.context import HandlerContext

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient
    from mypy_boto3_sns import SNSClient


@dataclass(frozen=True)
class PipelineClients:
    """The AWS clients the pipeline uses (the runtime has its own for SQS)."""

    s3: S3Client
    sagemaker: SageMakerClient
    sagemaker_runtime: SageMakerRuntimeClient
    cloudwatch: CloudWatchClient
    sns: SNSClient | None = None  # only needed with a decisions topic
    logs: CloudWatchLogsClient | None = None  # training logs: the report's training curves


@dataclass(frozen=True)
class Buckets:
    raw: Bucket
    curated: Bucket
    models: Bucket
    reports: Bucket


@dataclass(frozen=True)
class PipelineDeps:
    settings: PipelineSettings
    buckets: Buckets
    runs: RunRepository
    recipes: RecipeSource
    sagemaker: SageMakerGateway
    cloudwatch: CloudWatchClient
    registry: ModelRegistry
    champions: ChampionStore
    decisions: DecisionPublisher
    training_logs: TrainingLogReader

    def names(self, dataset: str, run_id: str) -> SageMakerNames:
        """The run's SageMaker names under this deployment's prefix."""
        return sagemaker_names(dataset, run_id, self.settings.sagemaker_name_prefix)

    def dataset_names(self, dataset: str) -> DatasetNames:
        """The dataset's model package group and live endpoint under this prefix."""
        return DatasetNames.for_dataset(dataset, self.settings.sagemaker_name_prefix)

    @classmethod
    def build(cls, settings: PipelineSettings, clients: PipelineClients) -> PipelineDeps:
        buckets = Buckets(
            raw=Bucket(clients.s3, settings.raw_bucket),
            curated=Bucket(clients.s3, settings.curated_bucket),
            models=Bucket(clients.s3, settings.models_bucket),
            reports=Bucket(clients.s3, settings.reports_bucket),
        )
        return cls(
            settings=settings,
            buckets=buckets,
            runs=RunRepository(buckets.reports),
            recipes=RecipeSource(buckets.raw, settings.recipes_prefix),
            sagemaker=SageMakerGateway(clients.sagemaker, clients.sagemaker_runtime, settings),
            cloudwatch=clients.cloudwatch,
            registry=ModelRegistry(clients.sagemaker, buckets.reports),
            champions=ChampionStore(buckets.reports),
            decisions=DecisionPublisher(clients.sns, settings.decisions_topic_arn),
            training_logs=TrainingLogReader(clients.logs),
        )


Ctx = HandlerContext[PipelineDeps]
