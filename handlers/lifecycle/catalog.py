"""A dataset's versions for people: `automlops models DATASET`, and what rollback goes back to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from handlers.lifecycle.champions import ChampionStore, Pointer
from handlers.lifecycle.registry import ModelRegistry, Version
from handlers.naming import DatasetNames
from handlers.runs.repository import RunRepository


@dataclass(frozen=True)
class Row:
    version: int
    status: str
    run_id: str
    headline: str
    reason: str  # of the last change of its status (the gate's, an approval, a rollback)
    live: bool
    gate: str = ""  # the gate's reason, kept when an operator's action changed the status

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Catalog:
    dataset: str
    names: DatasetNames
    pointer: Pointer
    rows: list[Row]

    @property
    def live_version(self) -> int | None:
        return self.pointer.champion.version if self.pointer.champion else None

    def previous_approved(self) -> Row | None:
        """The newest approved version older than the live one: rollback's default target."""
        live = self.live_version
        older = [r for r in self.rows if r.status == "Approved" and live and r.version < live]
        return older[-1] if older else None

    def row(self, version: int) -> Row | None:
        return next((r for r in self.rows if r.version == version), None)


def catalog(
    dataset: str,
    names: DatasetNames,
    registry: ModelRegistry,
    champions: ChampionStore,
    runs: RunRepository | None = None,
) -> Catalog:
    pointer = champions.read(dataset)
    live = pointer.champion.version if pointer.champion else None
    gate = (lambda run_id: _gate_reason(runs, run_id)) if runs is not None else (lambda _: "")
    rows = [_row(registry, v, live, gate) for v in registry.versions(names.model_package_group)]
    return Catalog(dataset, names, pointer, rows)


def _row(
    registry: ModelRegistry, version: Version, live: int | None, gate: Callable[[str], str]
) -> Row:
    described = registry.describe(version)
    metadata = described.get("CustomerMetadataProperties", {})
    return Row(
        version=version.number,
        status=version.status,
        run_id=version.run_id,
        headline=str(metadata.get("headline_metric", "")),
        reason=str(described.get("ApprovalDescription", "")),
        live=version.number == live,
        gate=gate(version.run_id),
    )


def _gate_reason(runs: RunRepository, run_id: str) -> str:
    """What the gate said of the run's version: its first decision (operators' come later)."""
    document = runs.load(run_id) or {}
    said = [d for d in document.get("decisions", []) if d.get("action") == "gate"]
    return f"{said[0].get('decision')}: {said[0].get('reason')}" if said else ""


def render(view: Catalog) -> str:
    if not view.rows:
        return (
            f"{view.dataset}: no versions registered yet (group {view.names.model_package_group})"
        )
    transition = view.pointer.transition
    lines = [
        f"dataset   {view.dataset}",
        f"registry  {view.names.model_package_group}",
        f"live      {view.names.live_endpoint} serves version {view.live_version or 'none'}",
    ]
    if transition is not None:
        lines.append(
            f"changing  to version {transition.target.version} ({transition.action}, since "
            f"{transition.started_at})"
        )
    lines += ["", f"{'':2}{'version':<9}{'status':<23}{'metric':<18}{'run':<21}reason"]
    for row in view.rows:
        mark = "* " if row.live else "  "
        lines.append(
            f"{mark}{row.version:<9}{row.status:<23}{row.headline:<18}{row.run_id:<21}"
            f"{_short(row.reason)}"
        )
        if row.gate and not row.gate.endswith(row.reason):
            lines.append(f"{'':73}gate: {_short(row.gate)}")
    return "\n".join(lines)


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
