"""`make demo`: the lifecycle of one dataset on the embedded AWS.

Starts moto and the SageMaker emulator, runs the real worker (the same composition as
`automlops worker`, observers included) on a thread of this process, uploads two versions of
synthetic data (or your CSV, once), follows each run's manifest until it ends, prints the
metrics, each version's decision, the live endpoint and `automlops models`, copies the
reports to a local folder, and ends by scoring a file of new rows (no label) through the live
endpoint, as `automlops predict` does.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import boto3

from automlops.aws import AwsTarget
from automlops.compose import App, compose
from automlops.local import embedded_aws, stack_config, write_env_file
from automlops.predict import PredictConfig, Predicted, PredictFailed, predict
from automlops.report_files import download_report, write_local_index
from handlers.aws.storage import Bucket
from handlers.data.dialect import opened
from handlers.data.draft import dataset_name, draft_recipe, read_header
from handlers.data.synthetic import generate
from handlers.lifecycle.catalog import catalog, render
from handlers.lifecycle.champions import ChampionStore
from handlers.lifecycle.registry import ModelRegistry
from handlers.messages import DataUploaded
from handlers.naming import DatasetNames, RunPaths, recipe_key
from handlers.recipe.kinds import TASK_KINDS, Kind
from handlers.recipe.model import RecipeError
from handlers.recipe.reader import load_packaged, packaged_recipe_bytes, read_recipe
from handlers.routes import message_for
from handlers.runs import status
from handlers.runs.manifest import Manifest
from handlers.runs.repository import RunRepository
from handlers.stages import order
from localcloud.stack import CREDENTIALS, REGION, Stack
from service.failures import PermanentError
from service.hooks import Hooks
from service.logs import configure_logging

DATASET = "bank-marketing"
SECOND_SIGNAL = 2.0
NEW_ROWS = 20  # scored by upload at the end
TERMINAL = ("succeeded", "failed")
# Faster than AWS, same flow: the emulator's endpoint takes 2 s to come up, watches look often.
DEMO_ENV = {
    "AUTOMLOPS_TRAINING_WATCH_FIRST_SECONDS": "1",
    "AUTOMLOPS_TRAINING_WATCH_SECONDS": "2",
    "AUTOMLOPS_POLL_WAIT_SECONDS": "2",
    "AUTOMLOPS_ENDPOINT_WAIT_SECONDS": "60",
}


@dataclass(frozen=True)
class DemoOptions:
    data: Path | None
    rows: int
    out_dir: Path
    env_file: Path | None = None
    timeout_seconds: float = 600.0
    dataset: str | None = None  # --data's dataset (default: see `_dataset_of`)
    target: str | None = None  # for a drafted recipe
    kind: Kind | None = None  # for a drafted recipe (default: from the target's values)
    recipe: Path | None = None
    verbose: bool = False  # the worker's log and metric lines on the screen, not in a file


class DemoRefused(PermanentError):
    """A demo that cannot start or finish as asked: one line saying what to change."""


def run_demo(options: DemoOptions) -> int:
    check_options(options)
    with (
        tempfile.TemporaryDirectory(prefix="automlops-demo-") as folder,
        embedded_aws("automlops-demo", endpoint_delay_seconds=2.0) as stack,
    ):
        scratch = Path(folder)
        if options.env_file is not None:
            write_env_file(options.env_file, stack.env)
        overrides = {
            **DEMO_ENV,
            "AUTOMLOPS_HEALTH_FILE": f"{scratch}/health",
            "AUTOMLOPS_WORK_DIR": f"{scratch}/work",
        }
        documents = []
        dataset = _prepare_dataset(stack, options)
        with _worker_output(options) as output, running_worker(stack, overrides, output=output):
            for path, name in _versions(options, scratch):
                key = _upload(stack, path, name, dataset)
                documents.append(_follow_run(stack, key, options))
                if documents[-1]["status"] != "succeeded":
                    break
            scored = _score_new_rows(stack, dataset, scratch, options.out_dir.parent)
        # The worker is quiet now, so the runs' summary is the last thing on the screen.
        outcome = _conclude(stack, documents, options.out_dir)
        if outcome == 0 and scored is not None:
            _show_predictions(*scored)
        return outcome


@contextmanager
def _worker_output(options: DemoOptions) -> Iterator[TextIO | None]:
    """Where the worker's JSON log and EMF metric lines go: a file next to the reports (its
    path said first), or the screen with `verbose`."""
    if options.verbose:
        yield None
        return
    options.out_dir.mkdir(parents=True, exist_ok=True)
    path = options.out_dir / "worker.log"
    _say(f"the worker's log lines go to {path} (VERBOSE=1 shows them here)")
    try:
        with path.open("w", encoding="utf-8") as sink:
            yield sink
    finally:
        configure_logging()  # back to the screen: nothing may write to the closed file


@contextmanager
def running_worker(
    stack: Stack,
    overrides: dict[str, str],
    hooks: Hooks | None = None,
    output: TextIO | None = None,
) -> Iterator[App]:
    """The worker on `stack`, on a thread, until the block ends; `hooks` see what it settles;
    its log and metric lines go to `output` (default: stdout)."""
    config = stack_config(stack, overrides)
    configure_logging(config.runtime.log_level, config.runtime.log_format, stream=output)
    app = compose(config, hooks=hooks, metrics_writer=_locked_writer(output) if output else None)
    thread = threading.Thread(target=app.run, name="worker", daemon=True)
    thread.start()
    try:
        if not app.worker.wait_started(timeout=30):
            raise RuntimeError("the worker did not start within 30 s")
        yield app
    finally:
        app.worker.stop()
        thread.join(timeout=config.runtime.shutdown_budget_seconds + 30)


def _locked_writer(sink: TextIO) -> Callable[[str], None]:
    """Whole lines into `sink` from the worker's threads."""
    lock = threading.Lock()

    def write(line: str) -> None:
        with lock:
            sink.write(line)
            sink.flush()

    return write


def _runs(stack: Stack) -> RunRepository:
    return RunRepository(Bucket(stack.client("s3"), stack.buckets["reports"]))


def _versions(options: DemoOptions, scratch: Path) -> list[tuple[Path, str]]:
    """Your file, once; or two synthetic versions: the second with twice the rows and a
    stronger signal, a challenger that should earn the live endpoint."""
    if options.data is not None:
        return [(options.data, options.data.name)]
    made = []
    for version, (rows, seed, signal) in enumerate(
        ((options.rows, 7, 1.0), (options.rows * 2, 8, SECOND_SIGNAL)), start=1
    ):
        path = scratch / f"synthetic-v{version}.csv"
        with path.open("wb") as sink:
            generate(sink, rows, seed=seed, signal=signal)
        _say(f"generated version {version}: {rows:,} synthetic rows (signal x{signal:g})")
        made.append((path, f"synthetic-v{version}-{rows}.csv"))
    return made


def check_options(options: DemoOptions) -> None:
    """What would fail later, refused before anything starts (one line each)."""
    if options.data is None:
        return
    if not options.data.is_file():
        raise DemoRefused(f"DATA={options.data}: no such file")
    if options.recipe is not None and not options.recipe.is_file():
        raise DemoRefused(f"RECIPE={options.recipe}: no such file")
    key = f"data/{dataset_folder_of(options)}/{options.data.name}"
    if message_for("raw", key) is not DataUploaded:
        raise DemoRefused(
            f"DATA={options.data}: the worker takes files ending .csv, .tsv, .csv.gz or .tsv.gz "
            "(any letter case); copy or rename it to one of those"
        )
    if options.recipe is not None:
        _checked_recipe(options.recipe, options)
    elif not _packaged(dataset_folder_of(options)) and _kept_recipe(options).is_file():
        _checked_recipe(_kept_recipe(options), options)


def _kept_recipe(options: DemoOptions) -> Path:
    """Where the demo drafts a dataset's recipe, and finds it again next time."""
    return options.out_dir / f"{dataset_folder_of(options)}.toml"


def dataset_folder_of(options: DemoOptions) -> str:
    assert options.data is not None
    return options.dataset or _dataset_of(options.data)


def _prepare_dataset(stack: Stack, options: DemoOptions) -> str:
    """The dataset --data goes to, with its recipe: the one given, else the packaged one, else
    yours from an earlier demo (`<out>/<dataset>.toml`, edits kept), else one drafted from the
    file (written there, never over an existing file) and uploaded as the operator's."""
    if options.data is None:
        return DATASET
    dataset = dataset_folder_of(options)
    kept = _kept_recipe(options)
    if options.recipe is not None:
        text = _checked_recipe(options.recipe, options)
        _say(f"recipe for {dataset}: {options.recipe}")
    elif _packaged(dataset):
        _say(f"recipe for {dataset}: the packaged handlers/recipe/packaged/{dataset}.toml")
        return dataset
    elif kept.is_file():
        text = _checked_recipe(kept, options)
        _say(
            f"recipe for {dataset}: {kept} (yours: edit it and run again; delete it to draft anew)"
        )
    else:
        text = _drafted(options, dataset, kept)
    key = recipe_key(dataset)
    stack.client("s3").put_object(Bucket=stack.buckets["raw"], Key=key, Body=text)
    _say(f"uploaded it as the operator recipe s3://{stack.buckets['raw']}/{key}")
    return dataset


def _checked_recipe(path: Path, options: DemoOptions) -> bytes:
    """The recipe's bytes, after the worker's own checks; refused when TARGET= or KIND= say
    otherwise (they only steer a draft)."""
    text = path.read_bytes()
    target = read_recipe(text, source=str(path)).target
    for variable, wanted, has in (
        ("TARGET", options.target, target.column),
        ("KIND", options.kind, target.kind),
    ):
        if wanted is not None and wanted != has:
            raise DemoRefused(
                f"{variable}={wanted}, but {path} says {has!r}: edit the recipe, or delete it to "
                "draft a new one"
            )
    return text


def _drafted(options: DemoOptions, dataset: str, path: Path) -> bytes:
    assert options.data is not None
    with opened(options.data, str(options.data)) as source:
        made = draft_recipe(
            source,
            file=options.data.name,
            dataset=dataset,
            target=options.target,
            kind=options.kind,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as sink:  # never over a file already there
        sink.write(made.text)
    target = made.recipe.target
    _say(f"no recipe for {dataset}: drafted {path} ({target.kind} target {target.column!r})")
    for note in made.notes:
        _say(f"note: {note}")
    return made.text.encode()


def _dataset_of(data: Path) -> str:
    """bank-marketing when the file has that recipe's columns (the UCI files), else a name made
    from the file name."""
    with opened(data, str(data)) as source:
        header = read_header(source, str(data))
    if set(load_packaged(DATASET).input_columns()) <= set(header):
        return DATASET
    return dataset_name(data.name)


def _packaged(dataset: str) -> bool:
    try:
        packaged_recipe_bytes(dataset)
    except RecipeError:
        return False
    return True


def _upload(stack: Stack, path: Path, name: str, dataset: str) -> str:
    key = f"data/{dataset}/{name}"
    stack.client("s3").upload_file(str(path), stack.buckets["raw"], key)
    _say(f"uploaded {path.name} to s3://{stack.buckets['raw']}/{key}")
    return key


def _follow_run(stack: Stack, key: str, options: DemoOptions) -> Manifest:
    runs = _runs(stack)
    timeout = options.timeout_seconds
    deadline = time.monotonic() + timeout
    seen: dict[str, str] = {}
    while time.monotonic() < deadline:
        document = _run_of(runs, key)
        if document:
            _report_progress(document, seen)
            if document.get("status") in TERMINAL:
                return document
        time.sleep(0.5)
    where = "above" if options.verbose else f"in {options.out_dir / 'worker.log'}"
    raise DemoRefused(
        f"the run of {key} did not end within {timeout:g} s: the worker's log lines {where} say "
        "where it stopped"
    )


def _run_of(runs: RunRepository, key: str) -> Manifest | None:
    for document in status.list_runs(runs, limit=50):
        source = document.get("source")
        if source is not None and source["key"] == key:
            return document
    return None


def _report_progress(document: Manifest, seen: dict[str, str]) -> None:
    """Each stage that ended, in the pipeline's order: a stage that ended early (deploy before
    the training watch notices) waits for the ones before it, until the run ends."""
    ended = document.get("status") in TERMINAL
    for stage, entry in status.in_stage_order(document.get("stages", {}), order.STAGES):
        outcome = entry.get("outcome", "")
        if outcome not in ("ok", "failed") and not ended:
            return
        if seen.get(stage) != outcome and outcome in ("ok", "failed"):
            _say(f"run {document['run_id']}: {stage} {outcome}")
        seen[stage] = outcome


def _conclude(stack: Stack, documents: list[Manifest], out_dir: Path) -> int:
    for document in documents:
        print()
        print(status.describe_run(document, order.STAGES, artifacts=False))
        if document["status"] != "succeeded":
            _say(f"run {document['run_id']} failed: {document.get('error')}")
            return 1
        _print_metrics(stack, document["run_id"], out_dir)
    print()
    for document in documents:
        decision = document.get("decision")
        if decision is None:
            _say(f"run {document['run_id']}: no decision")
            continue
        _say(
            f"run {document['run_id']}: version {decision['version']} "
            f"{decision['decision']}: {decision['reason']}"
        )
    print()
    print(_models(stack, str(documents[-1].get("dataset", DATASET))))
    index = write_local_index(stack.client("s3"), stack.buckets["reports"], out_dir)
    if index is not None:
        _say(f"runs index: {index.resolve()}")
    last = out_dir / documents[-1]["run_id"] / "report.html"
    _say(f"report of the last run: {last.resolve()}")
    return 0


def _score_new_rows(
    stack: Stack, dataset: str, scratch: Path, out_dir: Path
) -> tuple[Predicted, int] | None:
    """A file of new rows (the live version's test rows without their label, as an application
    has them) scored by upload through the live endpoint, as `automlops predict` does."""
    live = ChampionStore(Bucket(stack.client("s3"), stack.buckets["reports"])).read(dataset)
    if live.champion is None:
        _say("no live model: no rows scored")
        return None
    run_id = live.champion.run_id
    target = _runs(stack).facts(run_id).recipe.load().target.column
    raw = (
        stack.client("s3")
        .get_object(Bucket=stack.buckets["curated"], Key=RunPaths(run_id).test_rows)["Body"]
        .read()
    )
    table = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    keep = [i for i, name in enumerate(table[0]) if name != target]
    rows = scratch / "new-rows.csv"
    with rows.open("w", newline="") as sink:
        csv.writer(sink, lineterminator="\n").writerows(
            [row[i] for i in keep] for row in table[: NEW_ROWS + 1]
        )
    config = PredictConfig(
        stack.buckets["raw"], stack.buckets["reports"], AwsTarget.from_env(stack.env)
    )
    _say(f"scoring {rows.name} ({min(NEW_ROWS, len(table) - 1)} rows, no label) by upload")
    try:
        return predict(config, dataset, rows, out_dir / "predictions", wait=120), len(keep)
    except PredictFailed as failed:
        _say(f"scoring by upload failed: {failed}")
        return None


def _show_predictions(done: Predicted, inputs: int) -> None:
    model = done.summary["model"]
    _say(
        f"{done.summary['rows']} new rows scored by the live endpoint (version "
        f"{model['version']}); the first ones:"
    )
    with done.path.open(newline="") as source:
        table = list(csv.reader(source))[:6]
    for number, row in enumerate(table):
        shown = "  ".join(f"{_short(cell):>16}" for cell in row[inputs:])
        print(f"  {'row' if number == 0 else number:>4}  {shown}")
    _say(f"predictions: {done.path.resolve()} (every input column, then the prediction's)")


def _short(cell: str) -> str:
    """A probability or value as four decimals, a label as it is."""
    try:
        return f"{float(cell):.4f}"
    except ValueError:
        return cell


def _print_metrics(stack: Stack, run_id: str, out_dir: Path) -> None:
    s3, bucket = stack.client("s3"), stack.buckets["reports"]
    target = out_dir / run_id
    page = download_report(s3, bucket, run_id, out_dir)
    metrics = json.loads((target / "metrics.json").read_text())["metrics"]
    kind = TASK_KINDS[metrics.get("kind", "binary")]
    _say(f"run {run_id}: {kind.name} metrics on its held-out test set:")
    for name in kind.metrics:
        value = metrics.get(name)
        print(f"  {name:<22} {'undefined' if value is None else f'{value:.4f}'}")
    for note in metrics.get("notes", []):
        print(f"  note: {note}")
    if kind.name == "binary":
        print(f"  confusion              {metrics['confusion_matrix']}  ([[TN, FP], [FN, TP]])")
    elif kind.name == "multiclass":
        print(f"  confusion (rows actual {', '.join(metrics['classes'])}):")
        for row in metrics["confusion_matrix"]:
            print(f"    {row}")
    # The embedded stack stops with the demo: only the local copies stay to be opened.
    _say(f"report copied to {target}/: open {page.resolve()}")


def _models(stack: Stack, dataset: str) -> str:
    """What `automlops models DATASET` prints."""
    reports = Bucket(stack.client("s3"), stack.buckets["reports"])
    session = boto3.Session(
        aws_access_key_id=CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=CREDENTIALS["aws_secret_access_key"],
        region_name=REGION,
    )
    sagemaker = session.client("sagemaker", endpoint_url=stack.sagemaker_endpoint_url)
    registry = ModelRegistry(sagemaker, reports)
    names = DatasetNames.for_dataset(dataset)
    view = catalog(dataset, names, registry, ChampionStore(reports), RunRepository(reports))
    return f"$ automlops models {dataset}\n{render(view)}"


def _say(text: str) -> None:
    print(f"[demo] {text}", flush=True)
