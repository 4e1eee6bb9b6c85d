"""The champion pointer: which version a dataset's live endpoint serves, kept in one place.

`datasets/<dataset>/champion.json` in the reports bucket. Every decision about a dataset writes
it on the condition that nobody else wrote since it was read (its ETag), so decisions about one
dataset are made one at a time against the champion of the moment: two challengers deciding at
once never both promote, and the later one compares against the new champion.

While the live endpoint changes model the pointer holds a `transition` (what is being promoted,
by which action, whether UpdateEndpoint was sent); other decisions wait for it to end, and a
redelivered promotion finds it and carries on instead of starting again.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, TypedDict, cast

from handlers.aws.storage import Bucket
from handlers.naming import champion_key
from handlers.runs.manifest import Decision, DecisionAction, now

HISTORY_KEPT = 50
# Why the live endpoint changes: a promotion by the gate, or an operator's approve or rollback.
TransitionAction = Literal["promote", "approve", "rollback"]


class ChampionScores(TypedDict):
    """`runs/<run_id>/evaluation/champion-v<N>.json`: the champion scored on a challenger's test
    rows, which is what the challenger's decision reports it was compared with. `metrics` is
    None when the champion could not be scored on those rows (the decision's reason says why)."""

    version: int
    run_id: str
    metrics: dict[str, Any] | None
    comparison: NotRequired[dict[str, Any]]  # the bootstrap comparison of the two


class HistoryEntry(TypedDict):
    """One decision in the pointer's `history`."""

    version: int
    run_id: str
    decision: Decision
    action: DecisionAction | TransitionAction
    at: str
    # The run that served before, when this decision moved the live endpoint (its standing
    # changes too; the history is trimmed, so each entry says it itself).
    replaced: NotRequired[str]


@dataclass(frozen=True)
class Served:
    """A version that serves (or is about to serve) on the live endpoint."""

    version: int
    run_id: str
    package_arn: str
    model: str
    endpoint_config: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "run_id": self.run_id,
            "package_arn": self.package_arn,
            "model": self.model,
            "endpoint_config": self.endpoint_config,
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Served:
        return cls(
            version=int(document["version"]),
            run_id=str(document["run_id"]),
            package_arn=str(document["package_arn"]),
            model=str(document["model"]),
            endpoint_config=str(document["endpoint_config"]),
        )


@dataclass(frozen=True)
class Transition:
    action: TransitionAction
    target: Served
    previous: Served | None
    update_sent: bool = False
    started_at: str = ""
    # Why it started (the gate's reason and what it compared with, or who asked): what the
    # decision reports once the transition ends, even when a redelivery ends it.
    context: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "target": self.target.to_dict(),
            "previous": self.previous.to_dict() if self.previous else None,
            "update_sent": self.update_sent,
            "started_at": self.started_at,
            "context": self.context,
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Transition:
        previous = document.get("previous")
        return cls(
            action=cast(TransitionAction, document["action"]),
            target=Served.from_dict(document["target"]),
            previous=Served.from_dict(previous) if previous else None,
            update_sent=bool(document.get("update_sent")),
            started_at=str(document.get("started_at", "")),
            context=dict(document.get("context") or {}),
        )


@dataclass(frozen=True)
class Pointer:
    """The pointer as read, with the ETag that makes the next write conditional."""

    dataset: str
    champion: Served | None
    transition: Transition | None
    document: dict[str, Any]
    etag: str | None  # None: not written yet

    def with_champion(self, champion: Served | None, decision: HistoryEntry) -> dict[str, Any]:
        """The transition ended: `champion` serves (the target, or the previous one again)."""
        changed = self._changed(champion=champion.to_dict() if champion else None, transition=None)
        changed["history"] = [*changed.get("history", []), decision][-HISTORY_KEPT:]
        return changed

    def with_transition(self, transition: Transition) -> dict[str, Any]:
        return self._changed(transition=transition.to_dict())

    def noting(self, decision: HistoryEntry) -> dict[str, Any]:
        """The pointer with one more decision in its history (the champion unchanged)."""
        changed = self._changed()
        changed["history"] = [*changed.get("history", []), decision][-HISTORY_KEPT:]
        return changed

    def _changed(self, **fields: Any) -> dict[str, Any]:
        document = copy.deepcopy(self.document)
        document.update(fields)
        document["updated_at"] = now()
        return document


class ChampionStore:
    def __init__(self, bucket: Bucket) -> None:
        self.bucket = bucket

    def read(self, dataset: str) -> Pointer:
        found = self.bucket.read_json(champion_key(dataset))
        if found is None:
            blank: dict[str, Any] = {
                "dataset": dataset,
                "champion": None,
                "transition": None,
                "history": [],
            }
            return Pointer(dataset, None, None, blank, None)
        return _parsed(dataset, *found)

    def write(self, pointer: Pointer, document: dict[str, Any]) -> Pointer | None:
        """Replace `pointer` with `document` if nobody wrote since it was read; None if someone
        did (read again and decide again)."""
        etag = self.bucket.write_json_if(champion_key(pointer.dataset), document, pointer.etag)
        return None if etag is None else _parsed(pointer.dataset, document, etag)


def _parsed(dataset: str, document: dict[str, Any], etag: str) -> Pointer:
    champion, transition = document.get("champion"), document.get("transition")
    return Pointer(
        dataset=dataset,
        champion=Served.from_dict(champion) if champion else None,
        transition=Transition.from_dict(transition) if transition else None,
        document=document,
        etag=etag,
    )
