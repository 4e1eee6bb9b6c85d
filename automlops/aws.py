"""Where the AWS calls go: region, endpoints and credentials, read once into a frozen object.

The standard variables (`AWS_REGION` / `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL`,
`AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ACCESS_KEY_ID` ...) are read here from whatever mapping the
caller gives (the process environment for `automlops worker`, the embedded stack's for `local`),
and the clients are built with them explicitly, so nothing depends on `os.environ` being changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from service.failures import ConfigurationError

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

SERVICES = ("s3", "sqs", "sagemaker", "sagemaker-runtime", "cloudwatch", "sns", "logs")
# InvokeEndpoint may take 60 s on a serverless endpoint (docs/architecture.md §5).
INVOKE_READ_TIMEOUT_SECONDS = 70


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


@dataclass(frozen=True)
class AwsTarget:
    """Which AWS (or stand-in) the clients talk to. `None` leaves a choice to botocore's
    defaults (its credential chain: the ECS task role on Fargate)."""

    region: str | None = None
    endpoint_url: str | None = None
    service_endpoints: Mapping[str, str] = field(default_factory=dict)
    credentials: Credentials | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AwsTarget:
        services = {
            service: url
            for service in SERVICES
            if (url := env.get("AWS_ENDPOINT_URL_" + service.upper().replace("-", "_")))
        }
        key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
        credentials = (
            Credentials(key, secret, env.get("AWS_SESSION_TOKEN") or None)
            if key and secret
            else None
        )
        return cls(
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            service_endpoints=services,
            credentials=credentials,
        )

    def endpoint_for(self, service: str) -> str | None:
        return self.service_endpoints.get(service) or self.endpoint_url

    def session(self) -> boto3.Session:
        """A session with a region and credentials, or a ConfigurationError saying which is
        missing (one line for the operator, not a traceback at the first call)."""
        creds = self.credentials
        session = boto3.Session(
            aws_access_key_id=creds.access_key_id if creds else None,
            aws_secret_access_key=creds.secret_access_key if creds else None,
            aws_session_token=creds.session_token if creds else None,
            region_name=self.region,
        )
        if not session.region_name:
            raise ConfigurationError(
                "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a profile's region)"
            )
        try:
            found = session.get_credentials()
        except BotoCoreError as exc:  # a broken profile, an unreachable credentials endpoint
            raise ConfigurationError(f"AWS credentials cannot be loaded: {exc}") from exc
        if found is None:
            raise ConfigurationError(
                "no AWS credentials: on ECS the task role provides them; elsewhere set "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
            )
        return session


@dataclass(frozen=True)
class AwsClients:
    """Built once in the composition root from one boto3 session; thread-safe to share."""

    s3: S3Client
    sqs: SQSClient
    sagemaker: SageMakerClient
    sagemaker_runtime: SageMakerRuntimeClient
    cloudwatch: CloudWatchClient
    sns: SNSClient
    logs: CloudWatchLogsClient  # training jobs' logs, for the report's training curves


def build_clients(
    target: AwsTarget, *, poll_wait_seconds: int, threads: int, invoke_concurrency: int
) -> AwsClients:
    """Standard retry mode; a read timeout above the long-poll wait so a 20 s poll never times
    out; connection pools sized to the handler threads and the endpoint's concurrency."""
    session = target.session()
    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        connect_timeout=5,
        read_timeout=poll_wait_seconds + 15,
        max_pool_connections=max(10, threads * 2 + 4),
    )
    invoke_config = config.merge(
        Config(
            read_timeout=INVOKE_READ_TIMEOUT_SECONDS,
            max_pool_connections=max(10, invoke_concurrency + 2),
        )
    )

    def client(service: str, client_config: Config = config) -> Any:
        return session.client(  # type: ignore[call-overload]  # one of SERVICES
            service, endpoint_url=target.endpoint_for(service), config=client_config
        )

    return AwsClients(
        s3=client("s3"),
        sqs=client("sqs"),
        sagemaker=client("sagemaker"),
        sagemaker_runtime=client("sagemaker-runtime", invoke_config),
        cloudwatch=client("cloudwatch"),
        sns=client("sns"),
        logs=client("logs"),
    )
