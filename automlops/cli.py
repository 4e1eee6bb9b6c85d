"""The `automlops` command.

Heavy imports (boto3, the pipeline's ML stack, moto) happen inside the commands: the health
check runs every few seconds in the container and needs none of them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.failures import ConfigurationError
from service.health import check_from_env

if TYPE_CHECKING:
    from automlops.compose import App, Config
    from automlops.operator import Operator, Sent

# handlers.recipe.kinds.KINDS, spelt out: importing the handlers package here would slow every
# command's start.
KINDS = ("binary", "multiclass", "regression")
EXIT_OK = 0
EXIT_UNHEALTHY = 1
EXIT_CONFIGURATION = 2

DESCRIPTION = (
    "An event-driven MLOps worker: a CSV uploaded to S3 is validated, trained with SageMaker "
    "XGBoost, deployed to a serverless endpoint and evaluated, with no person in the loop."
)
WORKER_HELP = (
    "Polls the ingest and stages queues and runs each message's pipeline stage, until SIGTERM "
    "or Ctrl-C (in-flight work gets AUTOMLOPS_SHUTDOWN_BUDGET_SECONDS to finish). AWS is "
    "reached through the standard AWS_* variables (AWS_REGION, credentials, AWS_ENDPOINT_URL)."
)


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.command
    if command in (cmd_worker, cmd_healthcheck):  # a service: its errors keep their detail
        raise SystemExit(command(args))
    try:
        code = command(args)
    except Exception as exc:
        from automlops.mistakes import explained

        line = explained(exc)
        if line is None:
            raise  # not a mistake of the person's: a bug, with its traceback
        print(f"automlops: {line}", file=sys.stderr)
        code = EXIT_UNHEALTHY
    raise SystemExit(code)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="automlops", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    worker = commands.add_parser(
        "worker",
        help="run the worker against the AWS account the environment points at",
        description=WORKER_HELP,
        epilog=_required_settings_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    worker.set_defaults(command=cmd_worker)
    _add_local(commands)
    status = commands.add_parser(
        "status",
        help="show a run's stages, or the recent runs",
        description="Reads run manifests from AUTOMLOPS_REPORTS_BUCKET.",
    )
    status.add_argument("run_id", nargs="?", help="a run id; without it, the recent runs")
    status.add_argument("--json", action="store_true", help="print the manifest as JSON")
    status.set_defaults(command=cmd_status)
    report = commands.add_parser(
        "report",
        help="download a run's report folder and print the path of its report.html",
        description="Reads runs/RUN_ID/evaluation/ from AUTOMLOPS_REPORTS_BUCKET.",
    )
    report.add_argument("run_id")
    report.add_argument(
        "--out", type=Path, default=Path("reports"), help="local folder (default: ./reports)"
    )
    report.set_defaults(command=cmd_report)
    _add_model_commands(commands)
    _add_predict(commands)
    _add_recipe_commands(commands)
    health = commands.add_parser(
        "healthcheck", help="exit 0 while the worker's poll loop is alive (container check)"
    )
    health.set_defaults(command=cmd_healthcheck)
    return parser


def _add_model_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = commands.add_parser(
        "models",
        help="show a dataset's registered versions and which one the live endpoint serves",
        description="Reads the model registry and AUTOMLOPS_REPORTS_BUCKET.",
    )
    models.add_argument("dataset")
    models.add_argument("--json", action="store_true", help="print the versions as JSON")
    models.set_defaults(command=cmd_models)
    wait_help = "wait up to this many seconds for the worker's decision and print it"
    approve = commands.add_parser(
        "approve",
        help="promote a version awaiting approval (manual mode) onto the live endpoint",
        description="Sends model.approve to AUTOMLOPS_STAGES_QUEUE_URL; the worker promotes.",
    )
    approve.add_argument("dataset")
    approve.add_argument("version", type=int)
    approve.add_argument("--wait", type=float, default=0, metavar="SECONDS", help=wait_help)
    approve.set_defaults(command=cmd_approve)
    rollback = commands.add_parser(
        "rollback",
        help="serve an earlier approved version on the live endpoint again",
        description=(
            "Sends model.rollback to AUTOMLOPS_STAGES_QUEUE_URL; without --to, the newest "
            "approved version older than the live one. The version rolled back from is "
            "marked Rejected in the registry."
        ),
    )
    rollback.add_argument("dataset")
    rollback.add_argument("--to", type=int, metavar="VERSION", help="the version to serve")
    rollback.add_argument("--wait", type=float, default=0, metavar="SECONDS", help=wait_help)
    rollback.set_defaults(command=cmd_rollback)


def _add_predict(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    predict = commands.add_parser(
        "predict",
        help="score a file of rows with a dataset's live model and download the predictions",
        description=(
            "Uploads FILE to score/DATASET/ in AUTOMLOPS_RAW_BUCKET, waits for the worker's "
            "predictions in AUTOMLOPS_REPORTS_BUCKET and downloads them. The file has the "
            "upload's columns (the label is optional: with it, the live model is measured too)."
        ),
    )
    predict.add_argument("dataset")
    predict.add_argument("file", type=Path)
    predict.add_argument(
        "--out",
        type=Path,
        default=Path("predictions"),
        help="local folder (default: ./predictions)",
    )
    predict.add_argument(
        "--wait", type=float, default=300, metavar="SECONDS", help="how long to wait (default 300)"
    )
    predict.set_defaults(command=cmd_predict)


def _add_recipe_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    recipe = commands.add_parser(
        "recipe", help="draft a recipe from a CSV file, or check one (and a file against it)"
    )
    actions = recipe.add_subparsers(required=True, metavar="ACTION")
    draft = actions.add_parser(
        "draft",
        help="infer a recipe from a CSV file (read once, as a stream)",
        description=(
            "Reads FILE once and writes a commented recipe that passes validation: numeric and "
            "categorical columns with sorted vocabularies; identifiers, constant columns and "
            "numeric columns with empty cells dropped, each with the reason."
        ),
    )
    draft.add_argument("file", type=Path, metavar="FILE.csv")
    draft.add_argument("--target", help="the target column (default: guessed)")
    draft.add_argument("--kind", choices=KINDS, help="the target's kind (default: from its values)")
    draft.add_argument("--dataset", help="the dataset name (default: from the file name)")
    draft.add_argument("--out", type=Path, help="write here (default: print)")
    draft.set_defaults(command=cmd_recipe_draft)
    check = actions.add_parser(
        "check",
        help="validate a recipe, and optionally a CSV file against it, as the worker would",
    )
    check.add_argument("path", type=Path, metavar="RECIPE.toml")
    check.add_argument("--data", type=Path, metavar="FILE.csv", help="a file to check too")
    check.set_defaults(command=cmd_recipe_check)


def _add_local(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    local = commands.add_parser(
        "local",
        help="run the worker against an embedded AWS on 127.0.0.1 (no account needed)",
        description=(
            "Starts an embedded stand-in for AWS on 127.0.0.1 (S3, SQS, CloudWatch, Logs and a "
            "SageMaker emulator that really trains and serves XGBoost) and runs the worker in "
            "it until Ctrl-C. With --demo, uploads one dataset, follows its run to the report "
            "and exits."
        ),
    )
    local.add_argument("--prefix", default="automlops-local", help="name prefix of buckets/queues")
    local.add_argument(
        "--env-file",
        type=Path,
        help="write the stack's environment (endpoints, credentials, buckets, queue URLs) here, "
        "for `aws` and `automlops status`",
    )
    local.add_argument(
        "--send-sample", action="store_true", help="send one worker.ping message at start"
    )
    demo = local.add_argument_group("demo")
    demo.add_argument(
        "--demo", action="store_true", help="upload a dataset, follow its run to the report, exit"
    )
    demo.add_argument("--data", type=Path, help="CSV to upload (default: synthetic rows)")
    demo.add_argument(
        "--dataset",
        help="the dataset to upload --data as (default: bank-marketing if the file has its "
        "columns, else a name from the file name)",
    )
    demo.add_argument("--target", help="the target column, when a recipe is drafted for --data")
    demo.add_argument(
        "--kind", choices=KINDS, help="the target's kind, when a recipe is drafted for --data"
    )
    demo.add_argument(
        "--recipe",
        type=Path,
        help="the recipe for --data (default: the dataset's packaged one, else a drafted one)",
    )
    demo.add_argument("--rows", type=int, help="how many synthetic rows (default 5000)")
    demo.add_argument("--out", type=Path, help="where to copy the report (default ./reports)")
    demo.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="how long to wait for each run to end (default 600)",
    )
    demo.add_argument(
        "--verbose",
        action="store_true",
        default=None,
        help="the worker's log and metric lines on the screen (default: in OUT/worker.log)",
    )
    local.set_defaults(command=cmd_local, parser=local)


def _version() -> str:
    try:
        return version("automlops")
    except PackageNotFoundError:
        return "unknown"


def _required_settings_epilog() -> str:
    from automlops.compose import required_settings

    lines = ["required settings (environment variables):"]
    lines += [f"  {name}" for name in required_settings()]
    lines.append("every other setting has a default; README.md lists them all")
    return "\n".join(lines)


def cmd_worker(_: argparse.Namespace) -> int:  # noqa: RET503 - the worker ends the process
    from automlops.compose import Config
    from service.shutdown import exit_after_drain

    try:
        config = Config.from_env(os.environ)
    except ConfigurationError as exc:
        return configuration_error(exc)
    exit_after_drain(run_worker(config))


def run_worker(config: Config, *, send_sample: bool = False) -> int:
    """Build everything once, run until signalled; 2 on a configuration error."""
    from automlops.compose import compose
    from service.logs import configure_logging
    from service.shutdown import install_signal_handlers

    configure_logging(config.runtime.log_level, config.runtime.log_format)
    try:
        app = compose(config)
        if send_sample:
            send_sample_message(app, config)
        install_signal_handlers(app.worker.stop)
        app.run()
    except ConfigurationError as exc:
        return configuration_error(exc)
    return EXIT_OK


def send_sample_message(app: App, config: Config) -> None:
    """One `worker.ping` on the stages queue, to watch a message go through the runtime."""
    from service.messages import encode_envelope
    from service.ping import Ping

    body = encode_envelope(Ping(run_id="sample", note="sent by automlops local --send-sample"))
    app.worker.transport.send(config.runtime.stages_queue_url, body)


def configuration_error(exc: ConfigurationError) -> int:
    print(f"automlops: configuration error: {exc}", file=sys.stderr)
    return EXIT_CONFIGURATION


def cmd_healthcheck(_: argparse.Namespace) -> int:
    status = check_from_env()
    print(status.detail, file=sys.stdout if status.healthy else sys.stderr)
    return EXIT_OK if status.healthy else EXIT_UNHEALTHY


def cmd_status(args: argparse.Namespace) -> int:
    """Needs only the reports bucket (and AWS credentials/endpoints) from the environment."""
    import json

    from automlops.aws import AwsTarget
    from handlers.aws.storage import Bucket
    from handlers.lifecycle.champions import ChampionStore
    from handlers.lifecycle.standing import Standings
    from handlers.naming import is_run_id
    from handlers.runs import ignored, status
    from handlers.runs.repository import RunRepository
    from handlers.serving import scored
    from handlers.stages import order

    bucket = os.environ.get("AUTOMLOPS_REPORTS_BUCKET")
    if not bucket:
        print("automlops: set AUTOMLOPS_REPORTS_BUCKET to read run manifests", file=sys.stderr)
        return EXIT_CONFIGURATION
    target = AwsTarget.from_env(os.environ)
    try:
        s3 = target.session().client("s3", endpoint_url=target.endpoint_for("s3"))
    except ConfigurationError as exc:
        return configuration_error(exc)
    runs = RunRepository(Bucket(s3, bucket))
    now = Standings(ChampionStore(Bucket(s3, bucket))).of
    if args.run_id is not None and not is_run_id(args.run_id):
        print(f"automlops: {_not_a_run_id(args.run_id)}", file=sys.stderr)
        return EXIT_UNHEALTHY
    if args.run_id is None:
        print(status.describe_runs(status.list_runs(runs), now))
        scoring = scored.describe(scored.recent(Bucket(s3, bucket)))
        if scoring:
            print(f"\n{scoring}")
        ignored_uploads = ignored.describe(ignored.recent(Bucket(s3, bucket)))
        if ignored_uploads:
            print(f"\n{ignored_uploads}")
        return EXIT_OK
    document = runs.load(args.run_id)
    if document is None:
        print(f"automlops: no run {args.run_id} in s3://{bucket}/runs/", file=sys.stderr)
        return EXIT_UNHEALTHY
    print(
        json.dumps(document, indent=2)
        if args.json
        else status.describe_run(document, order.STAGES, now=now)
    )
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from automlops.aws import AwsTarget
    from automlops.report_files import NoReport, download_report, write_local_index
    from handlers.naming import is_run_id

    bucket = os.environ.get("AUTOMLOPS_REPORTS_BUCKET")
    if not bucket:
        print("automlops: set AUTOMLOPS_REPORTS_BUCKET to read reports", file=sys.stderr)
        return EXIT_CONFIGURATION
    if not is_run_id(args.run_id):
        print(f"automlops: {_not_a_run_id(args.run_id)}", file=sys.stderr)
        return EXIT_UNHEALTHY
    target = AwsTarget.from_env(os.environ)
    try:
        s3 = target.session().client("s3", endpoint_url=target.endpoint_for("s3"))
        page = download_report(s3, bucket, args.run_id, args.out)
    except ConfigurationError as exc:
        return configuration_error(exc)
    except NoReport as exc:
        print(f"automlops: {_why_no_report(s3, bucket, args.run_id) or exc}", file=sys.stderr)
        return EXIT_UNHEALTHY
    index = write_local_index(s3, bucket, args.out)
    if index is not None:
        print(f"runs index: {index}", file=sys.stderr)
    print(page)
    return EXIT_OK


def _not_a_run_id(text: str) -> str:
    return (
        f"{text!r} is not a run id: run ids read YYYYMMDD-xxxxxxxxxx, as `automlops status` "
        "lists them"
    )


def _why_no_report(s3: Any, bucket: str, run_id: str) -> str | None:
    """Why a run that exists has no report yet: it failed first, or it has not decided yet."""
    from handlers.aws.storage import Bucket
    from handlers.runs.repository import RunRepository

    document = RunRepository(Bucket(s3, bucket)).load(run_id)
    if document is None:
        return f"no run {run_id} in s3://{bucket}/runs/ (`automlops status` lists the runs)"
    state = document.get("status")
    if state == "failed":
        return (
            f"run {run_id} failed before it had a report: {document.get('error')} "
            f"(`automlops status {run_id}` shows each stage)"
        )
    return (
        f"run {run_id} is {state} and has no report yet: the report comes with its decision "
        f"(`automlops status {run_id}` shows where it is)"
    )


def cmd_models(args: argparse.Namespace) -> int:
    import json

    from automlops.operator import Operator, OperatorConfig, Refused
    from handlers.lifecycle.catalog import render

    try:
        operator = Operator(OperatorConfig.from_env(os.environ, sending=False))
        view = operator.catalog(args.dataset)
    except ConfigurationError as exc:
        return configuration_error(exc)
    except Refused as exc:
        print(f"automlops: {exc}", file=sys.stderr)
        return EXIT_UNHEALTHY
    if args.json:
        document = {
            "dataset": view.dataset,
            "live_endpoint": view.names.live_endpoint,
            "live_version": view.live_version,
            "versions": [row.to_dict() for row in view.rows],
        }
        print(json.dumps(document, indent=2))
    else:
        print(render(view))
    return EXIT_OK


def cmd_approve(args: argparse.Namespace) -> int:
    return _send_request(args, lambda operator: operator.approve(args.dataset, args.version))


def cmd_rollback(args: argparse.Namespace) -> int:
    return _send_request(args, lambda operator: operator.rollback(args.dataset, args.to))


def _send_request(args: argparse.Namespace, send: Callable[[Operator], Sent]) -> int:
    from automlops.operator import Operator, OperatorConfig, Refused

    try:
        operator = Operator(OperatorConfig.from_env(os.environ, sending=True))
        sent = send(operator)
    except ConfigurationError as exc:
        return configuration_error(exc)
    except Refused as exc:
        print(f"automlops: {exc}", file=sys.stderr)
        return EXIT_UNHEALTHY
    message = sent.message
    print(f"sent {message.TYPE} for version {message.version} of {message.dataset}")
    if args.wait <= 0:
        return EXIT_OK
    entry = operator.wait_for(sent, args.wait)
    if entry is None:
        print(f"automlops: no decision within {args.wait:g} s", file=sys.stderr)
        return EXIT_UNHEALTHY
    print(f"{entry['decision']}: version {entry['version']} ({entry['at']})")
    return EXIT_OK if entry["decision"] in ("promoted", "rolled-back") else EXIT_UNHEALTHY


def cmd_predict(args: argparse.Namespace) -> int:
    from automlops.predict import PredictConfig, PredictFailed, predict

    try:
        config = PredictConfig.from_env(dict(os.environ))
        done = predict(config, args.dataset, args.file, args.out, args.wait)
    except ConfigurationError as exc:
        return configuration_error(exc)
    except PredictFailed as exc:
        print(f"automlops: {exc}", file=sys.stderr)
        return EXIT_UNHEALTHY
    model = done.summary["model"]
    print(
        f"{done.summary['rows']} rows scored by version {model['version']} of {model['dataset']} "
        f"(run {model['run_id']}) in {done.summary['seconds']:g} s",
        file=sys.stderr,
    )
    if "metrics" in done.summary:
        print(f"the live model on these labelled rows: {_headline(done.summary)}", file=sys.stderr)
    print(done.path)
    return EXIT_OK


def _headline(summary: dict[str, Any]) -> str:
    metrics = summary["metrics"]
    shown = [f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float)][:4]
    missed = metrics.get("floors_missed") or []
    return ", ".join(shown) + (f"; below its floors: {'; '.join(missed)}" if missed else "")


def cmd_recipe_draft(args: argparse.Namespace) -> int:
    from handlers.data.dialect import opened
    from handlers.data.draft import dataset_name, draft_recipe
    from service.failures import PermanentError

    dataset = args.dataset or dataset_name(args.file.name)
    try:
        with opened(args.file, str(args.file)) as source:  # plain or gzip, as uploads
            made = draft_recipe(
                source, file=str(args.file), dataset=dataset, target=args.target, kind=args.kind
            )
    except (OSError, PermanentError) as exc:
        print(f"automlops: {exc}", file=sys.stderr)
        return EXIT_UNHEALTHY
    if args.out is None:
        sys.stdout.write(made.text)
    else:
        args.out.write_text(made.text, encoding="utf-8")
        target = made.recipe.target
        print(f"wrote {args.out}: dataset {dataset}, {target.kind} target {target.column!r}")
    for note in made.notes:
        print(f"note: {note}", file=sys.stderr)
    return EXIT_OK


def cmd_recipe_check(args: argparse.Namespace) -> int:
    from handlers.data.checks import check
    from service.failures import PermanentError

    try:
        checked = check(args.path, args.data)
    except (OSError, PermanentError) as exc:
        print(f"automlops: {exc}", file=sys.stderr)
        return EXIT_UNHEALTHY
    print(checked.summary())
    return EXIT_OK


def cmd_local(args: argparse.Namespace) -> int:
    parser: argparse.ArgumentParser = args.parser
    demo_only = {
        "--data": args.data,
        "--rows": args.rows,
        "--out": args.out,
        "--dataset": args.dataset,
        "--target": args.target,
        "--kind": args.kind,
        "--recipe": args.recipe,
        "--verbose": args.verbose,
        "--timeout": args.timeout,
    }
    given = [flag for flag, value in demo_only.items() if value is not None]
    if given and not args.demo:
        parser.error(f"{', '.join(given)} {'needs' if len(given) == 1 else 'need'} --demo")
    with_data = [
        f for f in ("--dataset", "--target", "--kind", "--recipe") if demo_only[f] is not None
    ]
    if with_data and args.data is None:
        parser.error(f"{', '.join(with_data)} {'needs' if len(with_data) == 1 else 'need'} --data")
    if args.demo and args.send_sample:
        parser.error("--send-sample does not work with --demo")
    if args.demo:
        from automlops.demo import DemoOptions, run_demo

        options = DemoOptions(
            data=args.data,
            rows=args.rows or 5000,
            out_dir=args.out or Path("reports"),
            env_file=args.env_file,
            dataset=args.dataset,
            target=args.target,
            kind=args.kind,
            recipe=args.recipe,
            verbose=bool(args.verbose),
            **({"timeout_seconds": args.timeout} if args.timeout is not None else {}),
        )
        return run_demo(options)
    from automlops.local import serve

    return serve(args.prefix, env_file=args.env_file, send_sample=args.send_sample)
