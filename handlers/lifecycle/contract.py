"""What a live endpoint's clients rely on, and whether a champion can be scored on a challenger's
rows. Pure functions of the two versions' recipes.

Every endpoint takes raw rows, so a champion trained on another recipe can still be scored on the
challenger's test rows, as long as it predicts the same target (the same classes) and the rows
hold every column it reads. And a version that needs a column the live version did not would
break the clients of the live endpoint: such a promotion is never automatic.
"""

from __future__ import annotations

from collections.abc import Sequence

from handlers.recipe.model import Recipe, Target


def unscorable(
    champion: Recipe, challenger: Recipe, columns: Sequence[str], version: int, raw_rows: bool
) -> str | None:
    """Why the champion (`version`, trained with `champion`) cannot be scored on the
    challenger's test rows (`columns`, the upload's), or None when it can. `raw_rows`: its
    endpoint takes raw rows (a version deployed before serving bundles takes encoded ones)."""
    who = f"version {version} (the champion)"
    if not raw_rows:
        return f"{who} was deployed before endpoints took raw rows, so it cannot be scored on these"
    if _target(champion.target) != _target(challenger.target):
        return (
            f"{who} predicts {_described(champion.target)}, the challenger "
            f"{_described(challenger.target)}: their scores cannot be compared"
        )
    missing = [column for column in champion.feature_input_columns() if column not in columns]
    if missing:
        return (
            f"{who} reads column(s) {', '.join(missing)}, which the challenger's rows do not have, "
            "so it cannot be scored on them"
        )
    return None


def new_columns(live: Recipe, challenger: Recipe) -> tuple[str, ...]:
    """The raw columns the challenger needs that the live version does not read: the columns its
    clients do not send today."""
    known = set(live.feature_input_columns())
    return tuple(column for column in challenger.feature_input_columns() if column not in known)


def breaks(
    live: Recipe, challenger: Recipe, live_layout: Sequence[str], layout: Sequence[str]
) -> tuple[str, ...]:
    """How promoting the challenger would break the live endpoint's clients, said as reasons:
    a column they do not send, or rows without a header read in another order. (A headerless
    row of another width is refused loudly, naming the row; one of the same width whose
    columns moved would be read wrong without an error, so that is what counts.)"""
    reasons = []
    added = new_columns(live, challenger)
    if added:
        reasons.append(
            f"it needs column(s) {', '.join(added)}, which the live version does not read"
        )
    if live_layout and len(live_layout) == len(layout) and list(live_layout) != list(layout):
        moved = [new for old, new in zip(live_layout, layout, strict=True) if old != new]
        reasons.append(
            "it reads rows without a header in another column order than the live version "
            f"({', '.join(moved[:5])}{', ...' if len(moved) > 5 else ''} moved)"
        )
    return tuple(reasons)


def _target(target: Target) -> tuple[object, ...]:
    return (target.column, target.kind, target.positive, frozenset(target.values))


def _described(target: Target) -> str:
    if target.kind == "regression":
        return f"{target.column!r} (regression)"
    classes = ", ".join(target.class_names())
    return f"{target.column!r} ({target.kind}: {classes})"
