"""The `automlops` command and composition root: settings -> clients -> routes -> worker.

    automlops worker        poll the queues until SIGTERM / SIGINT
    automlops healthcheck   exit 0 if the poll loop is alive, 1 if not
    automlops local         start the embedded AWS stand-in and run the worker against it
    automlops status [RUN]  print a run's manifest, or list the recent runs

Heavy imports (boto3, the handlers' ML stack, moto) happen inside the commands: the health check
runs every few seconds in the container and needs none of them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.errors import ConfigurationError
from service.health import check_from_env

if TYPE_CHECKING:
    from service.context import AwsClients
    from service.observers import Observers
    from service.routing import Route
    from service.settings import Settings
    from service.worker import Worker

EXIT_OK = 0
EXIT_UNHEALTHY = 1
EXIT_CONFIGURATION = 2


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.command
    raise SystemExit(command(args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="automlops", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    worker = commands.add_parser("worker", help="poll the queues and run the pipeline")
    worker.set_defaults(command=cmd_worker)
    health = commands.add_parser("healthcheck", help="exit 0 if the poll loop is alive")
    health.set_defaults(command=cmd_healthcheck)
    local = commands.add_parser("local", help="run the worker against an embedded AWS stand-in")
    local.add_argument("--prefix", default="automlops-local", help="name prefix of buckets/queues")
    local.add_argument(
        "--send-sample", action="store_true", help="send one worker.ping message at start"
    )
    local.add_argument(
        "--demo", action="store_true", help="upload a dataset, follow its run to the report, exit"
    )
    local.add_argument("--data", type=Path, help="CSV to upload with --demo (default: synthetic)")
    local.add_argument("--rows", type=int, default=5000, help="synthetic rows for --demo")
    local.add_argument(
        "--out", type=Path, default=Path("reports"), help="where --demo copies reports"
    )
    local.set_defaults(command=cmd_local)
    status = commands.add_parser("status", help="print a run's manifest or list recent runs")
    status.add_argument("run_id", nargs="?", help="a run id; without it, the recent runs")
    status.add_argument("--json", action="store_true", help="print the manifest as JSON")
    status.set_defaults(command=cmd_status)
    return parser


def cmd_worker(_: argparse.Namespace) -> int:
    return run_from_env()


def cmd_healthcheck(_: argparse.Namespace) -> int:
    status = check_from_env()
    print(status.detail, file=sys.stdout if status.healthy else sys.stderr)
    return EXIT_OK if status.healthy else EXIT_UNHEALTHY


def cmd_status(args: argparse.Namespace) -> int:
    """Needs only the reports bucket (and AWS credentials/endpoints) from the environment."""
    import json

    import boto3

    from handlers import manifest, status

    bucket = os.environ.get("AUTOMLOPS_REPORTS_BUCKET")
    if not bucket:
        print("automlops: set AUTOMLOPS_REPORTS_BUCKET to read run manifests", file=sys.stderr)
        return EXIT_CONFIGURATION
    s3 = boto3.client("s3")
    if args.run_id is None:
        print(status.describe_runs(status.list_runs(s3, bucket)))
        return EXIT_OK
    document = manifest.load(s3, bucket, args.run_id)
    if document is None:
        print(f"automlops: no run {args.run_id} in s3://{bucket}/runs/", file=sys.stderr)
        return EXIT_UNHEALTHY
    print(json.dumps(document, indent=2) if args.json else status.describe_run(document))
    return EXIT_OK


def cmd_local(args: argparse.Namespace) -> int:
    if args.demo:
        from localcloud.demo import DemoOptions, run_demo

        return run_demo(DemoOptions(data=args.data, rows=args.rows, out_dir=args.out))
    # moto and the emulator are not in the container image: imported only here.
    from localcloud.stack import StackConfig, start_sagemaker, start_stack

    stack = start_stack(StackConfig(prefix=args.prefix))
    emulator = start_sagemaker(stack)
    try:
        os.environ.update(stack.env)
        print(f"embedded AWS at {stack.endpoint_url}, SageMaker emulator at {emulator.url}")
        print(f"buckets: {', '.join(stack.buckets.values())}")
        print(
            f"upload with: aws --endpoint-url {stack.endpoint_url} s3 cp FILE.csv "
            f"s3://{stack.buckets['raw']}/data/bank-marketing/FILE.csv; stop with Ctrl-C"
        )
        return run_from_env(send_sample=args.send_sample)
    finally:
        emulator.stop()
        stack.stop()


def run_from_env(*, send_sample: bool = False) -> int:
    """Read the settings once, build everything, run until signalled; 2 on a configuration error."""
    from service.clients import build_clients
    from service.logs import configure_logging
    from service.settings import Settings

    try:
        settings = Settings.from_env()
        configure_logging(settings.log_level, settings.log_format)
        clients = build_clients(settings)
        observers = build_observers(settings)
        worker = build_worker(settings, clients, **observers.hooks())
        if send_sample:
            send_sample_message(clients, settings)
        observers.start()
        try:
            return run_until_signalled(worker)
        finally:
            observers.stop()
    except ConfigurationError as exc:
        print(f"automlops: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIGURATION


def build_observers(settings: Settings) -> Observers:
    """EMF metrics on stdout and, on ECS, scale-in protection while messages are in hand."""
    from service.metrics import MetricsEmitter
    from service.observers import Observers
    from service.protection import TaskProtection

    return Observers(MetricsEmitter(settings.metrics_namespace), TaskProtection.from_env())


def build_worker(
    settings: Settings, clients: AwsClients, extra_routes: Iterable[Route] = (), **hooks: Any
) -> Worker:
    """The pipeline's worker: `handlers.ROUTES` + `handlers.S3_RULES` (+ `extra_routes`).
    `hooks` are Worker's keyword options (on_settled, on_busy, on_idle, emit_metric, ...)."""
    from handlers import ROUTES, S3_RULES
    from service.worker import Worker

    return Worker(settings, clients, [*ROUTES, *extra_routes], S3_RULES, **hooks)


def run_until_signalled(worker: Worker) -> int:
    """SIGTERM / SIGINT drain the worker; a ConfigurationError found at start-up propagates."""
    from service.shutdown import install_signal_handlers

    install_signal_handlers(worker.stop)
    worker.run()
    return EXIT_OK


def send_sample_message(clients: AwsClients, settings: Settings) -> str:
    """One `worker.ping` on the stages queue, to watch a message go through the runtime."""
    from service.messages import encode_envelope
    from service.ping import Ping

    body = encode_envelope(Ping(run_id="sample", note="sent by automlops local --send-sample"))
    response = clients.sqs.send_message(QueueUrl=settings.stages_queue_url, MessageBody=body)
    return response["MessageId"]


if __name__ == "__main__":
    main()
