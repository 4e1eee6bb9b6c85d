"""A dataset's versions for people: `automlops models DATASET`, and what rollback goes back to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers.lifecycle.champions import ChampionStore, Pointer
from handlers.lifecycle.registry import ModelRegistry, Version
from handlers.naming import DatasetNames


@dataclass(frozen=True)
class Row:
    version: int
    status: str
    run_id: str
    headline: str
    reason: str
    live: bool

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
    dataset: str, names: DatasetNames, registry: ModelRegistry, champions: ChampionStore
) -> Catalog:
    pointer = champions.read(dataset)
    live = pointer.champion.version if pointer.champion else None
    rows = [_row(registry, v, live) for v in registry.versions(names.model_package_group)]
    return Catalog(dataset, names, pointer, rows)


def _row(registry: ModelRegistry, version: Version, live: int | None) -> Row:
    described = registry.describe(version)
    metadata = described.get("CustomerMetadataProperties", {})
    return Row(
        version=version.number,
        status=version.status,
        run_id=version.run_id,
        headline=str(metadata.get("headline_metric", "")),
        reason=str(described.get("ApprovalDescription", "")),
        live=version.number == live,
    )


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
    return "\n".join(lines)


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
