"""Builds the AWS clients once, from one boto3 session, for the composition root."""

from __future__ import annotations

import boto3
from botocore.config import Config

from service.context import AwsClients
from service.settings import Settings


def build_clients(settings: Settings, session: boto3.Session | None = None) -> AwsClients:
    """Standard retry mode; a read timeout above the long-poll wait so a 20 s poll never times out.

    Endpoints come from `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`, read by botocore itself.
    """
    session = session or boto3.Session()
    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        connect_timeout=5,
        read_timeout=settings.poll_wait_seconds + 15,
        max_pool_connections=max(10, settings.worker_threads * 2 + 4),
    )
    return AwsClients(
        s3=session.client("s3", config=config),
        sqs=session.client("sqs", config=config),
        sagemaker=session.client("sagemaker", config=config),
        # InvokeEndpoint may take 60 s; evaluation keeps up to MaxConcurrency calls in flight.
        sagemaker_runtime=session.client(
            "sagemaker-runtime",
            config=config.merge(
                Config(
                    read_timeout=70,
                    max_pool_connections=max(10, settings.endpoint_max_concurrency + 2),
                )
            ),
        ),
        cloudwatch=session.client("cloudwatch", config=config),
    )
