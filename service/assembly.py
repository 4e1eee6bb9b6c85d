"""The worker's parts, built once and wired to each other: the runtime's own composition.

The composition root (`automlops/compose.py`) calls `assemble` with the transport, routes and
handler dependencies it built, and hands the parts to `Worker`; tests and benchmarks do the
same through `build_worker`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from service.backoff import Backoff
from service.batcher import SettleBatcher
from service.capacity import Capacity
from service.decode import Decoder
from service.dispatch import Dispatcher
from service.health import HealthFile
from service.hooks import Hooks
from service.inflight import InFlight
from service.messages import QueueRole, S3Rule
from service.ping import PING_ROUTE
from service.pool import HandlerPool
from service.routing import AnyRoute, build_route_table
from service.settings import RuntimeSettings
from service.settler import Settler
from service.transport import QueueConfig, Transport
from service.visibility import Visibility
from service.worker import QUEUE_ROLES, Worker


@dataclass(frozen=True)
class WorkerParts:
    routes: Mapping[str, AnyRoute]
    rules: tuple[S3Rule, ...]
    queues: tuple[QueueRole, ...]
    transport: Transport
    hooks: Hooks
    # Each queue's URL and redrive policy, filled in when the worker starts (shared by the
    # dispatcher, which needs the receive limit, and the settler).
    queue_configs: dict[str, QueueConfig]
    dispatcher: Dispatcher
    inflight: InFlight
    capacity: Capacity
    pool: HandlerPool
    visibility: Visibility
    batcher: SettleBatcher
    settler: Settler
    health: HealthFile


def assemble(
    settings: RuntimeSettings,
    transport: Transport,
    routes: Iterable[AnyRoute],
    *,
    s3_rules: Sequence[S3Rule] = (),
    buckets: Mapping[str, str] | None = None,
    deps: object = None,
    hooks: Hooks | None = None,
    backoff: Backoff | None = None,
    queues: Sequence[QueueRole] = QUEUE_ROLES,
) -> WorkerParts:
    """`deps` is what every handler receives as `ctx.deps`; `buckets` maps the S3 rules'
    bucket roles to bucket names; `hooks` are told about settled messages and busy/idle."""
    table = build_route_table([*routes, PING_ROUTE])
    rules = tuple(s3_rules)
    hooks = hooks or Hooks()
    backoff = backoff or Backoff(
        settings.backoff_base_seconds, settings.backoff_max_seconds, "full"
    )
    queue_configs: dict[str, QueueConfig] = {}
    dispatcher = Dispatcher(
        Decoder(table, rules, buckets or {}),
        transport,
        settings.queue_url,
        deps,
        backoff,
        max_receives=lambda role: queue_configs[role].max_receive_count,
    )
    inflight = InFlight(on_busy=hooks.on_busy, on_idle=hooks.on_idle)
    visibility = Visibility(
        inflight, transport, settings.heartbeat_seconds, settings.visibility_extension_seconds
    )
    batcher = SettleBatcher(transport, visibility)
    return WorkerParts(
        routes=table,
        rules=rules,
        queues=tuple(queues),
        transport=transport,
        hooks=hooks,
        queue_configs=queue_configs,
        dispatcher=dispatcher,
        inflight=inflight,
        capacity=Capacity(
            settings.worker_threads,
            prefetch_max=3 * settings.max_messages,
            horizon_seconds=settings.visibility_extension_seconds,
        ),
        pool=HandlerPool(settings.worker_threads),
        visibility=visibility,
        batcher=batcher,
        settler=Settler(batcher, visibility, inflight, queue_configs, backoff, hooks),
        health=HealthFile(settings.health_file),
    )


def build_worker(
    settings: RuntimeSettings, transport: Transport, routes: Iterable[AnyRoute], **options: Any
) -> Worker:
    """A worker with `assemble`'s parts (`options` are its keyword arguments): for tests and
    benchmarks, which need no other wiring."""
    return Worker(settings, assemble(settings, transport, routes, **options))
