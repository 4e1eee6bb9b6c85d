"""The embedded stand-in for AWS: moto's server on 127.0.0.1 plus what deploy/ declares.

`start_stack()` is the one function `make demo` and the tests use. It starts moto in-process on a
free port, provisions the buckets, queues (each with a DLQ and redrive policy) and S3
notifications, and returns the environment a worker needs to find them.

`provision()` is that provisioning alone, against any S3/SQS endpoint: docker/compose.yaml runs it
against LocalStack, so the containers get the same resources as the embedded stack.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3

from service.messages import S3Rule

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

    from localcloud.sagemaker import Emulator

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
BUCKET_ROLES = ("raw", "curated", "models", "reports")
QUEUE_ROLES = ("ingest", "stages")
SAGEMAKER_ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/automlops-local-sagemaker"


@dataclass(frozen=True)
class StackConfig:
    prefix: str = "automlops-local"
    visibility_timeout: int = 60
    max_receive_count: int = 5


@dataclass
class Stack:
    """A running embedded AWS. `env` is what a worker process needs in its environment."""

    endpoint_url: str
    buckets: dict[str, str]
    queue_urls: dict[str, str]
    dlq_urls: dict[str, str]
    server: ThreadedMotoServer
    decisions_topic_arn: str = ""
    sagemaker_endpoint_url: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]  # any service name, by design
            service, endpoint_url=self.endpoint_url, region_name=REGION, **CREDENTIALS
        )

    @property
    def env(self) -> dict[str, str]:
        env = {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
            "AUTOMLOPS_SAGEMAKER_ROLE_ARN": SAGEMAKER_ROLE_ARN,
        }
        env.update(
            {f"AUTOMLOPS_{role.upper()}_BUCKET": name for role, name in self.buckets.items()}
        )
        env.update(
            {f"AUTOMLOPS_{role.upper()}_QUEUE_URL": url for role, url in self.queue_urls.items()}
        )
        if self.decisions_topic_arn:
            env["AUTOMLOPS_DECISIONS_TOPIC_ARN"] = self.decisions_topic_arn
        if self.sagemaker_endpoint_url:
            env["AWS_ENDPOINT_URL_SAGEMAKER"] = self.sagemaker_endpoint_url
            env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = self.sagemaker_endpoint_url
        env.update(self.extra_env)
        return env

    def stop(self) -> None:
        self.server.stop()


def start_moto() -> tuple[ThreadedMotoServer, str]:
    # moto is the `local` extra: imported here so that `provision()` works without it.
    from moto.server import ThreadedMotoServer

    # werkzeug logs every request at INFO; the worker's own logs are what matter here.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


@dataclass(frozen=True)
class Provisioned:
    """What `provision()` created: bucket names and queue URLs by role."""

    buckets: dict[str, str]
    queue_urls: dict[str, str]
    dlq_urls: dict[str, str]
    decisions_topic_arn: str


def provision(
    endpoint_url: str,
    config: StackConfig | None = None,
    rules: tuple[S3Rule, ...] | None = None,
    *,
    region: str = REGION,
) -> Provisioned:
    """Create the buckets, queue pairs and S3 notifications at `endpoint_url`; safe to repeat.

    `rules` default to the pipeline's S3_RULES (the same filters deploy/s3.tf declares).
    """
    if rules is None:
        from handlers.routes import S3_RULES

        rules = S3_RULES
    config = config or StackConfig()
    session = boto3.Session(
        aws_access_key_id=CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=CREDENTIALS["aws_secret_access_key"],
        region_name=region,
    )
    s3 = session.client("s3", endpoint_url=endpoint_url)
    sqs = session.client("sqs", endpoint_url=endpoint_url)
    buckets = {role: f"{config.prefix}-{role}" for role in BUCKET_ROLES}
    for name in buckets.values():
        _create_bucket(s3, name)
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    queue_urls, dlq_urls = {}, {}
    for role in QUEUE_ROLES:
        queue_urls[role], dlq_urls[role] = _create_queue_pair(
            sqs, f"{config.prefix}-{role}", config
        )
    _configure_notifications(s3, sqs, buckets, queue_urls["ingest"], rules)
    # Where promotion decisions are published (deploy/ subscribes the alarm e-mail to it).
    topic = session.client("sns", endpoint_url=endpoint_url).create_topic(
        Name=f"{config.prefix}-decisions"
    )["TopicArn"]
    return Provisioned(buckets, queue_urls, dlq_urls, topic)


def start_stack(
    config: StackConfig | None = None, rules: tuple[S3Rule, ...] | None = None
) -> Stack:
    """Start moto and provision the stack; `rules` default to the pipeline's S3_RULES."""
    server, endpoint_url = start_moto()
    try:
        made = provision(endpoint_url, config, rules)
    except BaseException:
        server.stop()  # the stack never reaches its caller, so nobody else would stop moto
        raise
    return Stack(
        endpoint_url, made.buckets, made.queue_urls, made.dlq_urls, server, made.decisions_topic_arn
    )


@contextmanager
def running_stack(
    config: StackConfig | None = None, rules: tuple[S3Rule, ...] | None = None
) -> Iterator[Stack]:
    stack = start_stack(config, rules)
    try:
        yield stack
    finally:
        stack.stop()


def _create_bucket(s3: Any, name: str) -> None:
    # A second `provision()` of the same stack (compose restarts) finds the bucket there.
    with suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=name)


def _create_queue_pair(sqs: Any, name: str, config: StackConfig) -> tuple[str, str]:
    dlq_url = sqs.create_queue(
        QueueName=f"{name}-dlq", Attributes={"MessageRetentionPeriod": "1209600"}
    )["QueueUrl"]
    dlq_arn = _queue_arn(sqs, dlq_url)
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(config.max_receive_count)}
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(config.visibility_timeout),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    return url, dlq_url


def _queue_arn(sqs: Any, url: str) -> str:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return str(attrs["QueueArn"])


def notification_filters(rules: tuple[S3Rule, ...]) -> Mapping[str, list[dict[str, str]]]:
    """Bucket role -> S3 key filter rules; the same filters Terraform declares."""
    filters: dict[str, list[dict[str, str]]] = {}
    for rule in rules:
        if rule.notified:
            filters.setdefault(rule.bucket, []).append(
                {"prefix": rule.prefix, "suffix": rule.notify_suffix}
            )
    return filters


def _filter_rules(key_filter: Mapping[str, str]) -> list[dict[str, str]]:
    """S3's key filter rules; an empty suffix is no rule at all (S3 refuses an empty value)."""
    return [
        {"Name": name, "Value": key_filter[name]}
        for name in ("prefix", "suffix")
        if key_filter[name]
    ]


def _configure_notifications(
    s3: Any, sqs: Any, buckets: Mapping[str, str], ingest_url: str, rules: tuple[S3Rule, ...]
) -> None:
    ingest_arn = _queue_arn(sqs, ingest_url)
    for role, filters in notification_filters(rules).items():
        configs = [
            {
                "QueueArn": ingest_arn,
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": _filter_rules(f)}},
            }
            for f in filters
        ]
        s3.put_bucket_notification_configuration(
            Bucket=buckets[role], NotificationConfiguration={"QueueConfigurations": configs}
        )


def start_sagemaker(stack: Stack, **faults: Any) -> Emulator:
    """Start the SageMaker emulator against the stack's S3 and publish its URL in `stack.env`.

    `faults` are `localcloud.sagemaker.Faults` fields (e.g. endpoint_delay_seconds=0.2). Stop the
    emulator (`emulator.stop()`) before the stack, or use `running_sagemaker`.
    """
    # Imported here: XGBoost is only needed by callers that want SageMaker.
    from localcloud.sagemaker import Emulator, Faults

    emulator = Emulator(
        s3_endpoint_url=stack.endpoint_url,
        faults=Faults().merged(faults),
        region=REGION,
        account_id=ACCOUNT_ID,
    ).start()
    stack.sagemaker_endpoint_url = emulator.url
    return emulator


@contextmanager
def running_sagemaker(stack: Stack, **faults: Any) -> Iterator[Emulator]:
    emulator = start_sagemaker(stack, **faults)
    try:
        yield emulator
    finally:
        emulator.stop()
        stack.sagemaker_endpoint_url = None
