"""Names derived from a run: the run id, S3 keys under `runs/<run_id>/`, SageMaker resource names.

Everything here is a pure function of its inputs, so a redelivered message computes the same names
and finds the resources an earlier delivery created instead of creating a second set
(docs/architecture.md §3, §4).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from service.failures import PermanentError

DATA_PREFIX = "data/"
SCORE_PREFIX = "score/"  # raw bucket: files of rows to score with a dataset's live model
PREDICTIONS_PREFIX = "predictions/"  # reports bucket: what scoring them wrote
IGNORED_PREFIX = "ignored/"  # reports bucket: uploads no rule takes, with the reason
# The endings of the files the worker reads (uploads and files to score), in any letter case.
UPLOAD_ENDINGS = (".csv", ".csv.gz", ".tsv", ".tsv.gz")
SCORE_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz")
_LONGEST_FIRST = sorted(SCORE_SUFFIXES, key=len, reverse=True)
RUNS_PREFIX = "runs/"
RECIPES_PREFIX = "recipes/"

RUN_ID_PATTERN = re.compile(r"^\d{8}-[0-9a-f]{10}$")
DATASET_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
SAGEMAKER_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
SAGEMAKER_NAME_MAX = 63
DEFAULT_NAME_PREFIX = "aml"
# At most 10 characters, so that no part of a run's names is ever cut (10 + 20 + 19 + "-train").
NAME_PREFIX_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,9}$")
_DATASET_IN_NAME_MAX = 20


def run_id_for_object(bucket: str, key: str, upload: str | None, event_time: str) -> str:
    """`<yyyymmdd>-<10 hex>`: the event's UTC date and a digest of which upload it announces.

    The digest covers bucket, key and `upload` (what tells one upload of the key from another:
    the version id, or the event's sequencer, ETag and time), so a new upload to the same key,
    even of the same bytes, starts a new run while a redelivered event maps to the same run.
    """
    version = (upload or "").strip('"')  # HeadObject quotes ETags, S3 events do not
    digest = hashlib.sha256(f"{bucket}/{key}/{version}".encode()).hexdigest()[:10]
    return f"{_event_day(event_time)}-{digest}"


def _event_day(event_time: str) -> str:
    try:
        moment = datetime.fromisoformat(event_time)
    except ValueError:
        moment = datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y%m%d")


def is_run_id(value: str) -> bool:
    return RUN_ID_PATTERN.match(value) is not None


def dataset_folder(key: str) -> str:
    """The folder directly under `data/`, as found (checked by `dataset_of_key`); "" if none."""
    parts = key.split("/")
    return parts[1] if len(parts) >= 3 and parts[0] == DATA_PREFIX.rstrip("/") else ""


def dataset_of_key(key: str) -> str:
    """`data/<dataset>/<file>.csv` -> `<dataset>`: the folder directly under `data/`."""
    parts = key.split("/")
    if len(parts) < 3 or parts[0] != DATA_PREFIX.rstrip("/") or not parts[-1]:
        raise PermanentError(
            f"object key {key!r} is not data/<dataset>/<file>: the folder under data/ names the "
            "dataset and its recipe"
        )
    dataset = parts[1]
    if not DATASET_PATTERN.match(dataset):
        raise PermanentError(
            f"object key {key!r}: dataset name {dataset!r} must be lower-case letters, digits and "
            "inner hyphens ([a-z0-9-])"
        )
    return dataset


def run_id_of_key(key: str) -> str:
    """The run id in `runs/<run_id>/...` (e.g. a model artifact SageMaker wrote)."""
    parts = key.split("/")
    if len(parts) >= 2 and parts[0] == RUNS_PREFIX.rstrip("/") and is_run_id(parts[1]):
        return parts[1]
    raise PermanentError(f"object key {key!r} does not start with runs/<run_id>/")


def recipe_key(dataset: str, prefix: str = RECIPES_PREFIX) -> str:
    """Where operators put a recipe in the raw bucket: `recipes/<dataset>.toml`."""
    return f"{prefix}{dataset}.toml"


@dataclass(frozen=True)
class RunPaths:
    """The S3 keys of one run's artifacts. The comment says which bucket each one lives in."""

    run_id: str

    @property
    def prefix(self) -> str:
        return f"{RUNS_PREFIX}{self.run_id}/"

    @property
    def manifest(self) -> str:  # reports: the run's stage record
        return f"{self.prefix}manifest.json"

    @property
    def run(self) -> str:  # reports: the run's facts, written once (preprocess's claim)
        return f"{self.prefix}run.json"

    @property
    def error(self) -> str:  # reports: why the run stopped (what, where, which row/column)
        return f"{self.prefix}error.json"

    @property
    def processed(self) -> str:  # curated: label first, with header
        return f"{self.prefix}processed.csv"

    @property
    def split_prefix(self) -> str:  # curated
        return f"{self.prefix}split/"

    @property
    def train(self) -> str:  # curated: label first, no header
        return f"{self.split_prefix}train.csv"

    @property
    def validation(self) -> str:  # curated: label first, no header
        return f"{self.split_prefix}validation.csv"

    @property
    def test(self) -> str:  # curated: label first, with header
        return f"{self.split_prefix}test.csv"

    @property
    def test_rows(self) -> str:  # curated: the test rows as uploaded (its columns, its cells)
        return f"{self.split_prefix}test-rows.csv"

    @property
    def model_prefix(self) -> str:  # models: SageMaker's S3OutputPath
        return f"{self.prefix}model/"

    def model_artifact(self, training_job: str) -> str:  # models: what the job writes
        return f"{self.model_prefix}{training_job}/output/model.tar.gz"

    @property
    def serving_bundle(self) -> str:  # models: what the endpoints serve (never `model.tar.gz`)
        return f"{self.prefix}serving/bundle.tar.gz"

    @property
    def evaluation_claim(self) -> str:  # reports: which delivery evaluates
        return f"{self.prefix}claims/evaluate.json"

    @property
    def registration(self) -> str:  # reports: the registry version this run registered
        return f"{self.prefix}registry.json"

    @property
    def decision(self) -> str:  # reports: the gate's decision; its presence marks it made
        return f"{self.prefix}evaluation/decision.json"

    def champion_scores(self, version: int) -> str:  # reports: a champion scored on our rows
        return f"{self.prefix}evaluation/champion-v{version}.json"

    def champion_score_rows(self, version: int) -> str:  # reports: its score of each test row
        return f"{self.prefix}evaluation/champion-v{version}-scores.csv"

    @property
    def scores(self) -> str:  # reports: the run's own score of each test row, with its label
        return f"{self.prefix}evaluation/scores.csv"

    @property
    def profile(self) -> str:  # reports: the upload's profile and the train part's histograms
        return f"{self.prefix}profile.json"

    @property
    def html_report(self) -> str:  # reports: the report page, rendered after each decision
        return f"{self.prefix}evaluation/report.html"

    @property
    def evaluation_folder(self) -> str:  # reports: everything `automlops report` downloads
        return f"{self.prefix}evaluation/"

    @property
    def evaluation(self) -> dict[str, str]:  # reports: metrics.json marks the evaluation done
        folder = f"{self.prefix}evaluation/"
        return {
            "metrics": f"{folder}metrics.json",
            "report": f"{folder}report.md",
            "confusion_matrix": f"{folder}confusion_matrix.png",
        }


@dataclass(frozen=True)
class SageMakerNames:
    """One run's SageMaker resource names: deterministic, ≤ 63 chars, SageMaker's name pattern.

    `model` and `endpoint_config` serve the run's own endpoint (evaluation); `live_model` and
    `live_endpoint_config` the dataset's live endpoint once the run's version is promoted: the
    same bundle, with the registry version in its environment so that answers name it."""

    training_job: str
    model: str
    endpoint_config: str
    endpoint: str
    live_model: str
    live_endpoint_config: str

    @classmethod
    def for_run(
        cls, dataset: str, run_id: str, prefix: str = DEFAULT_NAME_PREFIX
    ) -> SageMakerNames:
        base = f"{prefix}-{dataset[:_DATASET_IN_NAME_MAX]}-{run_id}"
        return cls(
            training_job=sagemaker_name(base, "train"),
            model=sagemaker_name(base, "model"),
            endpoint_config=sagemaker_name(base, "epc"),
            endpoint=sagemaker_name(base, "ep"),
            live_model=sagemaker_name(base, "live"),
            live_endpoint_config=sagemaker_name(base, "live-epc"),
        )


@dataclass(frozen=True)
class DatasetNames:
    """A dataset's lifecycle names (docs/architecture.md §3): its model package group and live
    endpoint."""

    model_package_group: str
    live_endpoint: str
    run_name_prefix: str  # every run resource of the dataset starts with it

    @classmethod
    def for_dataset(cls, dataset: str, prefix: str = DEFAULT_NAME_PREFIX) -> DatasetNames:
        return cls(
            model_package_group=_whole_or_hashed(f"{prefix}-{dataset}", ""),
            live_endpoint=_whole_or_hashed(f"{prefix}-{dataset}", "live"),
            run_name_prefix=f"{prefix}-{dataset[:_DATASET_IN_NAME_MAX]}-",
        )


def _whole_or_hashed(base: str, suffix: str) -> str:
    """`<base>-<suffix>` when it fits in 63 characters; else the base cut short with a digest of
    the whole base, so two long dataset names never share a name."""
    tail = f"-{suffix}" if suffix else ""
    if len(base) + len(tail) <= SAGEMAKER_NAME_MAX:
        return base + tail
    digest = hashlib.sha256(base.encode()).hexdigest()[:8]
    room = SAGEMAKER_NAME_MAX - len(tail) - len(digest) - 1
    return f"{base[:room].rstrip('-')}-{digest}{tail}"


# Reports bucket: the runs index page and the rows it is rendered from.
INDEX_PAGE_KEY = "reports/index.html"
INDEX_DATA_KEY = "reports/index.json"


def champion_key(dataset: str) -> str:
    """Reports bucket: the pointer to a dataset's champion (the one place it is kept)."""
    return f"datasets/{dataset}/champion.json"


def sagemaker_names(dataset: str, run_id: str, prefix: str = DEFAULT_NAME_PREFIX) -> SageMakerNames:
    return SageMakerNames.for_run(dataset, run_id, prefix)


def is_run_name(name: str, dataset: str, run_id: str, suffix: str) -> bool:
    """Whether `name` is the `suffix` resource of this run under some valid name prefix (a
    message cannot know the deployment's prefix; the stage compares with its own)."""
    pattern = (
        r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,9}-"
        + re.escape(dataset[:_DATASET_IN_NAME_MAX])
        + "-"
        + re.escape(run_id)
        + "-"
        + re.escape(suffix)
    )
    return re.fullmatch(pattern, name) is not None


def sagemaker_name(base: str, suffix: str) -> str:
    """`<base>-<suffix>` made valid: other characters become `-`, the suffix always survives."""
    clean_suffix = _sanitize(suffix)[:20] or "x"
    room = SAGEMAKER_NAME_MAX - len(clean_suffix) - 1
    clean_base = _sanitize(base)[:room].strip("-") or DEFAULT_NAME_PREFIX
    return f"{clean_base}-{clean_suffix}"


TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
_TAG_PUNCTUATION = frozenset("_.:/=+-@")


def tag_text(text: str, limit: int) -> str:
    """`text` as AWS accepts it in a tag (`[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*`, at most `limit`
    characters): any other character becomes `_`, and a text too long keeps its start and a
    digest of the whole, so two long values stay apart."""
    clean = "".join(c if _tag_char(c) else "_" for c in text)
    if len(clean) <= limit:
        return clean
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    return f"{clean[: limit - len(digest) - 1]}-{digest}"


def _tag_char(char: str) -> bool:
    return char in _TAG_PUNCTUATION or unicodedata.category(char)[0] in "LZN"


def _sanitize(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9-]", "-", text).strip("-")


@dataclass(frozen=True)
class ScorePaths:
    """Where scoring `score/<dataset>/<name>.csv` writes, in the reports bucket:
    `predictions/<dataset>/<name>.csv` (the rows with their predictions), `.json` (what was
    done: rows, model, duration, summary, metrics of a labelled file), `.error.json` (why a
    file was refused). `<name>` may hold folders; it is checked, never trusted."""

    dataset: str
    name: str

    @classmethod
    def of_key(cls, key: str) -> ScorePaths:
        """The paths for a key under `score/`; PermanentError naming the key when it is not
        `score/<dataset>/<name>` with a CSV or TSV suffix and a plain name."""
        parts = key.split("/")
        rest = "/".join(parts[2:])
        suffix = next((s for s in _LONGEST_FIRST if rest.lower().endswith(s)), "")
        name = rest[: len(rest) - len(suffix)] if suffix else ""
        problem = _score_key_problem(parts, name)
        if problem:
            raise PermanentError(
                f"object key {key!r} is not score/<dataset>/<file>.csv ({problem}): nothing scored"
            )
        return cls(parts[1], name)

    @property
    def prefix(self) -> str:
        return f"{PREDICTIONS_PREFIX}{self.dataset}/{self.name}"

    @property
    def predictions(self) -> str:
        return f"{self.prefix}.csv"

    @property
    def summary(self) -> str:
        return f"{self.prefix}.json"

    @property
    def error(self) -> str:
        return f"{self.prefix}.error.json"

    @property
    def rejected(self) -> str:  # the rows set aside under `[scoring] bad_rows = "skip"`
        return f"{self.prefix}.rejected.csv"


def _score_key_problem(parts: list[str], name: str) -> str:
    if len(parts) < 3 or parts[0] != SCORE_PREFIX.rstrip("/"):
        return "the folder under score/ names the dataset"
    if not DATASET_PATTERN.match(parts[1]):
        return f"{parts[1]!r} is not a dataset name: lower-case letters, digits, inner hyphens"
    segments = name.split("/")
    if not name or any(s in ("", ".", "..") for s in segments):
        return "the file needs a name"
    if len(name.encode("utf-8")) > 512 or any(unicodedata.category(c)[0] == "C" for c in name):
        return "the name is longer than 512 bytes or holds control characters"
    if name.lower().endswith((".error", ".rejected")):
        return "a name ending .error or .rejected is the name of what scoring writes beside it"
    return ""


def ignored_key(bucket: str, key: str) -> str:
    """Where the record of an ignored upload goes: a digest of its address (a key may be 1,024
    bytes long and hold anything), so the same object has one record."""
    digest = hashlib.sha256(f"{bucket}/{key}".encode()).hexdigest()[:20]
    return f"{IGNORED_PREFIX}{digest}.json"
