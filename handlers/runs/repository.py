"""The run repository: what the pipeline records about each run, in the reports bucket.

- `runs/<run_id>/run.json`, written once at preprocess: the dataset, the source object and the
  recipe as used (its text, where it came from, its digest). Later stages read their facts from
  it, never from the recipe store or the manifest, so editing a recipe mid-run changes nothing in
  runs already under way. Its conditional first write is also preprocess's claim
  (`handlers/runs/claims.py`).
- `runs/<run_id>/manifest.json`, for people: each stage's start, end, outcome and artifacts.
  Written once per stage transition, conditional on the ETag the previous write returned, so a
  stage that nobody else touched meanwhile costs one PUT per transition; a write that lost a
  race re-reads and re-applies its change, without failing the stage.
- `runs/<run_id>/error.json`, why a run stopped (what, where, which row/column).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, cast

from handlers.aws.storage import Bucket
from handlers.naming import RunPaths
from handlers.recipe.model import Recipe
from handlers.recipe.reader import read_recipe
from handlers.runs import manifest
from service.errors import ends_message, is_permanent, reason_of
from service.failures import PermanentError, RetryableError

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger


class Attempt(Protocol):
    """What the repository reads of the handler's context (a HandlerContext is one): the bound
    logger, and whether this is the last receive the queue allows."""

    @property
    def log(self) -> FilteringBoundLogger: ...

    @property
    def last_attempt(self) -> bool: ...


Document = manifest.Document
Outcome = Literal["ok", "waiting"]
WRITE_ATTEMPTS = 10
CONFLICT_PAUSE_SECONDS = 0.05
NOT_READY_DELAY_SECONDS = 10


@dataclass(frozen=True)
class Source:
    bucket: str
    key: str
    version_id: str | None
    etag: str


@dataclass(frozen=True)
class FrozenRecipe:
    """A recipe exactly as a run used it."""

    text: str
    source: str  # where it was read from
    digest: str  # sha256 of the text

    @classmethod
    def of(cls, data: bytes, source: str) -> FrozenRecipe:
        return cls(data.decode("utf-8"), source, hashlib.sha256(data).hexdigest())

    def load(self) -> Recipe:
        return read_recipe(self.text.encode("utf-8"), source=self.source)


@dataclass(frozen=True)
class RunFacts:
    """`run.json`: what a run is about, fixed when its preprocessing starts."""

    run_id: str
    dataset: str
    source: Source
    recipe: FrozenRecipe
    # The raw columns a request to this run's model must have (its input contract).
    input_columns: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> RunFacts:
        return cls(
            run_id=str(document["run_id"]),
            dataset=str(document["dataset"]),
            source=Source(**document["source"]),
            recipe=FrozenRecipe(**document["recipe"]),
            input_columns=tuple(document.get("input_columns", ())),
        )


class RunMessage(Protocol):
    """A message about one run."""

    TYPE: ClassVar[str]

    @property
    def run_id(self) -> str: ...


@dataclass(frozen=True)
class Version:
    """A manifest as last read or written, with the ETag that makes the next write conditional;
    `etag` None means "not there yet": the next write creates it."""

    document: Document
    etag: str | None


@dataclass
class StageRecord:
    """What a stage tells its record while it runs; written when the stage ends."""

    run_id: str
    stage: str
    message_type: str
    version: Version
    outcome: Outcome = "ok"
    artifacts: dict[str, str] = field(default_factory=dict)
    stats: dict[str, Any] | None = None


class RunRepository:
    def __init__(self, bucket: Bucket) -> None:
        self.bucket = bucket

    # -- run.json ----------------------------------------------------------------------------

    def facts(self, run_id: str) -> RunFacts:
        found = self.bucket.read_json(RunPaths(run_id).run)
        if found is None:
            raise PermanentError(
                f"run {run_id} has no {self.bucket.uri(RunPaths(run_id).run)}: "
                "only runs started by this pipeline's preprocessing go on"
            )
        return RunFacts.from_dict(found[0])

    # -- manifest.json -----------------------------------------------------------------------

    def load(self, run_id: str) -> Document | None:
        found = self.bucket.read_json(RunPaths(run_id).manifest)
        return None if found is None else cast(Document, found[0])

    def require(self, msg: RunMessage, *, after: tuple[str, ...]) -> None:
        """Raise unless the run exists, is the message's dataset's and its `after` stages ended
        ok (as `stage` would); writes nothing."""
        document = self.load(msg.run_id)
        if document is None:
            raise PermanentError(f"run {msg.run_id} does not exist: {msg.TYPE} refused")
        _expecting(msg, after, lambda _: None)(document)

    def update(
        self, msg: RunMessage, change: Callable[[Document], None], *, after: tuple[str, ...] = ()
    ) -> Document:
        """Apply `change` to the manifest of an existing run whose `after` stages ended ok (read,
        change, conditional write; again on a race)."""
        return self._apply(msg.run_id, _expecting(msg, after, change), known=None).document

    @contextmanager
    def stage(
        self,
        msg: RunMessage,
        stage: str,
        ctx: Attempt,
        *,
        details: dict[str, Any] | None = None,
        new_run: bool = False,
        after: tuple[str, ...] = (),
    ) -> Iterator[StageRecord]:
        """Record a stage around the block: its start, then its end with the outcome the block
        reached. A permanent failure (`service.errors.is_permanent`) also writes `error.json`
        and fails the run; so does any failure on the message's last allowed receive (then
        re-raised as a PermanentError with the reason). A RetryableError leaves the stage
        `waiting`; anything else `retrying`. The exception propagates.

        Only preprocess starts a run (`new_run`: its first write tries to create the manifest
        rather than read it first). Any other stage needs an existing run of the message's
        dataset whose `after` stages ended ok: a message for an invented run, another dataset or
        a run not that far along is refused (PermanentError) and nothing is written."""
        run_id = msg.run_id
        started = manifest.stage_started(stage, details or {})
        begun = self._apply(
            run_id,
            started if new_run else _expecting(msg, after, started),
            known=Version(manifest.new(run_id), None) if new_run else None,
            create=new_run,
        )
        record = StageRecord(run_id, stage, msg.TYPE, begun)
        try:
            yield record
        except Exception as exc:
            final = self._ended_by(record, exc, ctx)
            if final is not None and final is not exc:
                raise final from exc
            raise
        self._end(record, record.outcome)

    def _ended_by(self, record: StageRecord, exc: Exception, ctx: Attempt) -> PermanentError | None:
        """Record how `exc` ended the stage; the PermanentError that ends the run, if it does."""
        reason = reason_of(exc)
        if isinstance(exc, PermanentError):
            self._fail(record, exc, ctx.log)
            return exc
        if ends_message(exc, ctx.last_attempt):
            suffix = "" if is_permanent(exc) else " (the last attempt the queue allows)"
            final = PermanentError(reason + suffix)
            self._fail(record, final, ctx.log)
            return final
        self._end(record, "waiting" if isinstance(exc, RetryableError) else "retrying", reason)
        return None

    def _end(
        self, record: StageRecord, outcome: manifest.Outcome, error: str | None = None
    ) -> None:
        change = manifest.stage_ended(
            record.stage, outcome, artifacts=record.artifacts, error=error, stats=record.stats
        )
        record.version = self._apply(record.run_id, change, known=record.version)

    def _fail(self, record: StageRecord, exc: PermanentError, log: FilteringBoundLogger) -> None:
        details: dict[str, Any] = exc.to_dict() if hasattr(exc, "to_dict") else {}
        document = {
            "run_id": record.run_id,
            "stage": record.stage,
            "message_type": record.message_type,
            "error": type(exc).__name__,
            "reason": exc.reason,
            "details": details,
            "at": manifest.now(),
        }
        # The first failure is the cause: a later one (a twin, a redelivery) keeps it.
        with contextlib.suppress(_Conflict):
            self._create(RunPaths(record.run_id).error, document)
        self._end(record, "failed", error=exc.reason)
        flat = {k: v for k, v in details.items() if k in ("file", "column", "row", "value")}
        log.error("run.failed", run_id=record.run_id, stage=record.stage, error=exc.reason, **flat)

    def _create(self, key: str, document: dict[str, Any]) -> None:
        if self.bucket.write_json_if(key, document, None) is None:
            raise _Conflict(key)

    def _apply(
        self,
        run_id: str,
        change: Callable[[Document], None],
        known: Version | None,
        create: bool = False,
    ) -> Version:
        """Write `change` applied to `known` (or to what is there now, when `known` is None) on
        the condition that nobody wrote in between; on a lost race read again and re-apply.
        Without `create`, a manifest that does not exist is a PermanentError."""
        key = RunPaths(run_id).manifest
        for attempt in range(WRITE_ATTEMPTS):
            if known is None:
                found = self.bucket.read_json(key)
                if found is None and not create:
                    raise PermanentError(
                        f"run {run_id} does not exist (no {self.bucket.uri(key)}): "
                        "only runs started by an upload's preprocessing go on"
                    )
                known = (
                    Version(cast(Document, found[0]), found[1])
                    if found
                    else Version(manifest.new(run_id), None)
                )
            document = copy.deepcopy(known.document)
            change(document)
            document["updated_at"] = manifest.now()
            etag = self.bucket.write_json_if(key, document, known.etag)
            if etag is not None:
                return Version(document, etag)
            known = None
            time.sleep(random.uniform(0, CONFLICT_PAUSE_SECONDS * (attempt + 1)))
        raise RetryableError(
            f"manifest {self.bucket.uri(key)} kept changing under {WRITE_ATTEMPTS} concurrent "
            "updates; trying the stage again shortly",
            delay=1,
        )


class _Conflict(Exception):
    """A conditional create found the object there already."""


def _expecting(
    msg: RunMessage, after: tuple[str, ...], change: Callable[[Document], None]
) -> Callable[[Document], None]:
    """`change`, on the condition that the run is of the message's dataset and its `after`
    stages ended ok. A message for another dataset, or after a failed stage, does not fit the
    run (PermanentError); one that comes before its stage's predecessor ended is retried."""

    def checked(document: Document) -> None:
        dataset = getattr(msg, "dataset", None)
        if dataset is not None and document.get("dataset") != dataset:
            raise PermanentError(
                f"{msg.TYPE} for run {msg.run_id} names dataset {dataset!r}, but the run is of "
                f"{document.get('dataset')!r}"
            )
        outcomes = {s: manifest.stage_of(document, s).get("outcome", "not started") for s in after}
        failed = [s for s, outcome in outcomes.items() if outcome == "failed"]
        if failed:
            raise PermanentError(
                f"{msg.TYPE} for run {msg.run_id}: the run failed at {', '.join(failed)}"
            )
        pending = {s: outcome for s, outcome in outcomes.items() if outcome != "ok"}
        if pending:
            # A stage whose record is not written yet (a crash before its end, a slow write):
            # look again shortly; a message that never fits ends in the DLQ after its retries.
            where = ", ".join(f"{s} is {outcome}" for s, outcome in pending.items())
            raise RetryableError(
                f"{msg.TYPE} for run {msg.run_id} is early ({where}); looking again",
                delay=NOT_READY_DELAY_SECONDS,
            )
        change(document)

    return checked
