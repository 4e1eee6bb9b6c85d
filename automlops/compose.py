"""The composition root: settings -> clients -> pipeline dependencies -> routes -> worker.

This is the one place that knows both the generic runtime (`service`) and the pipeline
(`handlers`). Everything is built once, from one `Config`, and passed in; nothing reads the
environment after `Config.from_env`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from automlops.aws import AwsClients, AwsTarget, build_clients
from handlers.deps import PipelineClients, PipelineDeps
from handlers.routes import ROUTES, S3_RULES, WARM_UP
from handlers.settings import PipelineSettings
from service.assembly import assemble
from service.failures import ConfigurationError
from service.hooks import Hooks
from service.metrics import MetricsEmitter
from service.observers import Observers
from service.protection import TaskProtection
from service.routing import AnyRoute, modules_of
from service.settings import RuntimeSettings
from service.sqs import SqsTransport
from service.warmup import Warmup
from service.worker import Worker

S = TypeVar("S")


@dataclass(frozen=True)
class Config:
    """Everything the worker is told by its environment, read once."""

    runtime: RuntimeSettings
    pipeline: PipelineSettings
    aws: AwsTarget
    ecs_agent_uri: str | None = None  # ECS sets it in every task's containers

    @classmethod
    def from_env(cls, env: Mapping[str, str], aws: AwsTarget | None = None) -> Config:
        """Both settings objects from `env`; every problem of both in one ConfigurationError."""
        problems: list[str] = []
        runtime = _read(RuntimeSettings.from_env, env, problems)
        pipeline = _read(PipelineSettings.from_env, env, problems)
        if runtime is None or pipeline is None:
            raise ConfigurationError("invalid settings: " + "; ".join(problems))
        return cls(
            runtime=runtime,
            pipeline=pipeline,
            aws=aws or AwsTarget.from_env(env),
            ecs_agent_uri=env.get("ECS_AGENT_URI") or None,
        )


def _read(
    read: Callable[[Mapping[str, str]], S], env: Mapping[str, str], problems: list[str]
) -> S | None:
    try:
        return read(env)
    except ConfigurationError as exc:
        problems.append(str(exc).removeprefix("invalid settings: "))
        return None


def required_settings() -> list[str]:
    """The variables a worker cannot start without, for `automlops worker --help`."""
    from service.config import required_names

    return list(dict.fromkeys(n for cls in SETTINGS_CLASSES for n in required_names(cls)))


def connect(config: Config) -> AwsClients:
    return build_clients(
        config.aws,
        poll_wait_seconds=config.runtime.poll_wait_seconds,
        threads=config.runtime.worker_threads,
        invoke_concurrency=config.pipeline.endpoint_max_concurrency,
    )


def pipeline_deps(settings: PipelineSettings, clients: AwsClients) -> PipelineDeps:
    pipeline_clients = PipelineClients(
        s3=clients.s3,
        sagemaker=clients.sagemaker,
        sagemaker_runtime=clients.sagemaker_runtime,
        cloudwatch=clients.cloudwatch,
        sns=clients.sns,
        logs=clients.logs,
    )
    return PipelineDeps.build(settings, pipeline_clients)


@dataclass
class App:
    """The composed worker and what observes it (EMF metrics, ECS task protection)."""

    worker: Worker
    observers: Observers
    warmup: Warmup  # the stages' imports, started by the first poll

    def run(self) -> None:
        """Serve until `worker.stop()`; the observers run exactly as long."""
        self.observers.start()
        try:
            self.worker.run()
        finally:
            self.observers.stop()


def compose(
    config: Config,
    clients: AwsClients | None = None,
    *,
    hooks: Hooks | None = None,
    extra_routes: Iterable[AnyRoute] = (),
    metrics_writer: Callable[[str], object] | None = None,
) -> App:
    """The pipeline's worker. `hooks` are called besides the observers' (tests collect the
    per-message summaries this way); `extra_routes` add message types (tests, benchmarks);
    `metrics_writer` takes the EMF lines instead of stdout (the demo's log file)."""
    clients = clients or connect(config)
    observers = Observers(
        MetricsEmitter(config.runtime.metrics_namespace, writer=metrics_writer),
        TaskProtection(config.ecs_agent_uri),
    )
    routes: list[AnyRoute] = [*ROUTES, *extra_routes]
    warmup = Warmup([*modules_of(routes), *WARM_UP])
    parts = assemble(
        config.runtime,
        SqsTransport(clients.sqs),
        routes,
        s3_rules=S3_RULES,
        buckets=config.pipeline.bucket_names(),
        deps=pipeline_deps(config.pipeline, clients),
        hooks=Hooks.combine(observers.hooks(), warmup.hooks(), *([hooks] if hooks else [])),
    )
    return App(Worker(config.runtime, parts), observers, warmup)


SETTINGS_CLASSES = (RuntimeSettings, PipelineSettings)


def setting_names() -> list[str]:
    """Every `AUTOMLOPS_*` variable the worker reads, required ones first."""
    from service.config import names

    every = [name for cls in SETTINGS_CLASSES for name in names(cls)]
    return list(dict.fromkeys([*required_settings(), *every]))


def setting_default(name: str) -> object:
    """The default of the setting read from `name` (an `AUTOMLOPS_*` variable)."""
    from service.config import PREFIX, default_of

    field = name.removeprefix(PREFIX).lower()
    for cls in SETTINGS_CLASSES:
        if field in cls.__dataclass_fields__:
            return default_of(cls, field)
    raise KeyError(name)
