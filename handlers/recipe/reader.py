"""A recipe's TOML read into a `Recipe`, every field checked, every problem a `RecipeError`
naming the file and the field; and the recipes packaged with the worker."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from fractions import Fraction
from importlib import resources
from typing import Any, cast

from handlers.recipe import xgboost as xgboost_params
from handlers.recipe.kinds import KINDS, TaskKind
from handlers.recipe.model import (
    BAD_ROWS,
    DEFAULT_DRIFT_PSI,
    DEFAULT_MAX_TEST_OVERLAP,
    MAX_CLASSES,
    MEMBERSHIP_OPERATORS,
    OPERATORS,
    ORDERING_OPERATORS,
    UNKNOWN_POLICIES,
    BadRows,
    Categorical,
    Derived,
    Operator,
    Recipe,
    RecipeError,
    Scalar,
    SplitSpec,
    Target,
    UnknownPolicy,
)
from handlers.recipe.promotion import read_promotion

_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
_CSV_UNSAFE = re.compile(r'[,"\r\n]')

_SECTIONS = (
    "name", "description", "target", "columns", "categorical", "derived", "split", "xgboost",
    "evaluation", "promotion", "scoring",
)  # fmt: skip
_SECTION_FIELDS: dict[str, tuple[str, ...]] = {
    "target": ("column", "kind", "positive", "values"),
    "columns": ("numeric", "drop"),
    "categorical": ("unknown", "columns"),
    "split": ("train", "validation", "test", "seed", "stratify", "max_test_overlap"),
    "evaluation": ("threshold", "drift_psi"),
    "scoring": ("bad_rows",),
}


def read_recipe(data: bytes, source: str) -> Recipe:
    """The recipe in `data` (UTF-8 TOML); `source` names it in every message."""
    return recipe_of(parse_toml(data, source), source)


def parse_toml(data: bytes, source: str) -> dict[str, Any]:
    """The TOML document in `data` as plain values (a serving bundle stores them as JSON)."""
    # Imported here: the rest of this module also runs in a serving container on Python 3.10,
    # which has no tomllib; there the recipe arrives already parsed.
    import tomllib

    try:
        return tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RecipeError(source, "(file)", f"not valid UTF-8 TOML: {exc}") from exc


def recipe_of(document: Mapping[str, Any], source: str) -> Recipe:
    """A parsed recipe document checked into a `Recipe`; `source` names it in every message."""
    return _RecipeReader(source, document).read()


def load_packaged(name: str) -> Recipe:
    """A recipe shipped with the package: `handlers/recipe/packaged/<name>.toml`."""
    return read_recipe(*packaged_recipe_bytes(name))


def packaged_recipe_bytes(name: str) -> tuple[bytes, str]:
    """The text of a recipe shipped with the package, and where it came from."""
    if not _NAME.match(name):
        raise RecipeError(name, "name", "must be lower-case letters, digits and inner hyphens")
    resource = resources.files("handlers.recipe").joinpath("packaged", f"{name}.toml")
    if not resource.is_file():
        raise RecipeError(f"{name}.toml", "name", f"no packaged recipe named {name!r}")
    return resource.read_bytes(), f"handlers/recipe/packaged/{name}.toml"


class _RecipeReader:
    """Turns a parsed TOML document into a `Recipe`, naming the field of every problem."""

    def __init__(self, source: str, document: Mapping[str, Any]) -> None:
        self.source = source
        self.document = document

    def fail(self, field: str, problem: str) -> RecipeError:
        return RecipeError(self.source, field, problem)

    def read(self) -> Recipe:
        self.known(self.document, "", _SECTIONS)
        for section, fields in _SECTION_FIELDS.items():
            if isinstance(self.document.get(section), dict):
                self.known(self.document[section], f"{section}.", fields)
        name = self.string(self.document, "name")
        if not _NAME.match(name):
            raise self.fail("name", f"{name!r} must be lower-case letters, digits, inner hyphens")
        target = self.target()
        kind = target.task
        numeric = self.names(self.table("columns"), "columns.numeric")
        drop = self.names(self.table("columns"), "columns.drop", required=False)
        policy, categorical = self.categorical()
        recipe = Recipe(
            name=name,
            source=self.source,
            target=target,
            numeric=numeric,
            categorical=categorical,
            unknown_policy=policy,
            derived=self.derived(numeric, categorical),
            drop=drop,
            split=self.split(kind),
            hyperparameters=self.hyperparameters(target),
            threshold=self.threshold(kind),
            drift_psi=self.drift_psi(),
            promotion=read_promotion(self.document.get("promotion"), self.fail, kind),
            bad_rows=self.bad_rows(),
        )
        self.check_columns(recipe)
        return recipe

    # --- sections ---------------------------------------------------------------------------

    def target(self) -> Target:
        table = self.table("target")
        column = self.string(table, "column", "target.column")
        kind = table.get("kind", "binary")
        if kind not in KINDS:
            raise self.fail("target.kind", f"{kind!r} is not one of {list(KINDS)}")
        if kind == "regression":
            for key in ("positive", "values"):
                if key in table:
                    raise self.fail(
                        f"target.{key}", "a regression target is a number: it has no classes"
                    )
            return Target(column=column, positive=None, values=(), kind="regression")
        if kind == "multiclass":
            values = self.strings(table, "values", "target.values")
            return Target(column, None, self.classes(table, values), "multiclass")
        positive = self.string(table, "positive", "target.positive")
        values = self.strings(table, "values", "target.values")
        if positive not in values:
            raise self.fail("target.positive", f"{positive!r} is not one of target.values")
        if len(values) != 2:
            raise self.fail(
                "target.values",
                f"a binary target needs exactly two values, not {len(values)}: for more "
                'classes use kind = "multiclass"',
            )
        return Target(column=column, positive=positive, values=values)

    def classes(self, table: Mapping[str, Any], values: tuple[str, ...]) -> tuple[str, ...]:
        if "positive" in table:
            raise self.fail(
                "target.positive", "a multiclass target has no positive class (binary only)"
            )
        if not 3 <= len(values) <= MAX_CLASSES:
            raise self.fail(
                "target.values",
                f"a multiclass target needs 3 to {MAX_CLASSES} classes, not {len(values)}"
                + ('; two classes are kind = "binary"' if len(values) == 2 else ""),
            )
        return values

    def categorical(self) -> tuple[UnknownPolicy, tuple[Categorical, ...]]:
        table = self.table("categorical")
        policy = table.get("unknown", "error")
        if policy not in UNKNOWN_POLICIES:
            raise self.fail("categorical.unknown", f"{policy!r} is not one of {UNKNOWN_POLICIES}")
        columns = table.get("columns", {})
        if not isinstance(columns, dict):
            raise self.fail("categorical.columns", "must be a table of column = [values]")
        specs = tuple(
            Categorical(column, self.strings(columns, column, f"categorical.columns.{column}"))
            for column in columns
        )
        return cast(UnknownPolicy, policy), specs

    def derived(
        self, numeric: Sequence[str], categorical: Sequence[Categorical]
    ) -> tuple[Derived, ...]:
        entries = self.document.get("derived", [])
        if not isinstance(entries, list):
            raise self.fail("derived", "must be an array of tables ([[derived]])")
        vocabularies = {spec.column: spec.vocabulary for spec in categorical}
        return tuple(
            self.one_derived(entry, f"derived[{index}]", numeric, vocabularies)
            for index, entry in enumerate(entries)
        )

    def one_derived(
        self,
        entry: Any,
        field: str,
        numeric: Sequence[str],
        vocabularies: Mapping[str, tuple[str, ...]],
    ) -> Derived:
        if not isinstance(entry, dict):
            raise self.fail(field, "must be a table with name, column, op, value")
        self.known(entry, f"{field}.", ("name", "column", "op", "value"))
        name = self.string(entry, "name", f"{field}.name")
        column = self.string(entry, "column", f"{field}.column")
        op = self.string(entry, "op", f"{field}.op")
        if op not in OPERATORS:
            raise self.fail(f"{field}.op", f"{op!r} is not one of {sorted(OPERATORS)}")
        if "value" not in entry:
            raise self.fail(f"{field}.value", "is required")
        value = self.derived_value(entry["value"], op, f"{field}.value")
        if column in vocabularies:
            self.check_categorical_condition(field, op, value, vocabularies[column])
        elif column in numeric:
            self.check_numeric_condition(field, value)
        else:
            raise self.fail(f"{field}.column", f"{column!r} is not a numeric or categorical column")
        return Derived(name=name, column=column, op=cast(Operator, op), value=value)

    def derived_value(self, raw: Any, op: str, field: str) -> Scalar | tuple[Scalar, ...]:
        if op in MEMBERSHIP_OPERATORS:
            if not isinstance(raw, list) or not raw:
                raise self.fail(field, f"{op} needs a non-empty list")
            return tuple(self.scalar(item, field) for item in raw)
        return self.scalar(raw, field)

    def scalar(self, raw: Any, field: str) -> Scalar:
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise self.fail(field, f"{raw!r} must be a string or a number")
        return raw if isinstance(raw, str) else float(raw)

    def check_categorical_condition(
        self, field: str, op: str, value: Scalar | tuple[Scalar, ...], vocabulary: tuple[str, ...]
    ) -> None:
        if op in ORDERING_OPERATORS:
            raise self.fail(f"{field}.op", f"{op} compares numbers; the column is categorical")
        values = value if isinstance(value, tuple) else (value,)
        outside = [v for v in values if v not in vocabulary]
        if outside:
            raise self.fail(f"{field}.value", f"{outside} not in the column's vocabulary")

    def check_numeric_condition(self, field: str, value: Scalar | tuple[Scalar, ...]) -> None:
        values = value if isinstance(value, tuple) else (value,)
        if any(isinstance(v, str) for v in values):
            raise self.fail(f"{field}.value", "the column is numeric: compare with numbers")

    def split(self, kind: TaskKind) -> SplitSpec:
        table = self.table("split")
        parts = {part: self.ratio(table, part) for part in ("train", "validation", "test")}
        if sum(parts.values()) != 1:
            raise self.fail(
                "split", f"train + validation + test must be 1, not {sum(parts.values())}"
            )
        seed = table.get("seed")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise self.fail("split.seed", "must be a non-negative whole number")
        stratify = table.get("stratify", kind.classification)
        if not isinstance(stratify, bool):
            raise self.fail("split.stratify", "must be true or false")
        if stratify and not kind.classification:
            raise self.fail("split.stratify", "stratifies by class: a regression target has none")
        overlap = table.get("max_test_overlap", DEFAULT_MAX_TEST_OVERLAP)
        if (
            isinstance(overlap, bool)
            or not isinstance(overlap, int | float)
            or not 0 <= overlap <= 1
        ):
            raise self.fail("split.max_test_overlap", "must be a number from 0 to 1")
        return SplitSpec(
            seed=seed,
            stratify=stratify,
            max_test_overlap=float(overlap),
            classes=kind.classification,
            **parts,
        )

    def ratio(self, table: Mapping[str, Any], part: str) -> Fraction:
        raw = table.get(part)
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw < 1:
            raise self.fail(f"split.{part}", "must be a number strictly between 0 and 1")
        return Fraction(str(raw))  # "0.7" is exactly 7/10: the ratios add up without rounding

    def hyperparameters(self, target: Target) -> tuple[tuple[str, str], ...]:
        """The `[xgboost]` table as the training job's HyperParameters; the objective defaults
        to the kind's, and a multiclass target's `num_class` is derived, never typed."""
        table, kind = self.table("xgboost"), target.task
        if "num_class" in table:
            raise self.fail(
                "xgboost.num_class",
                "is derived from target.values (multiclass) and must not be set by hand",
            )
        pairs: list[tuple[str, str]] = []
        for key, raw in table.items():
            if isinstance(raw, bool) or not isinstance(raw, str | int | float):
                raise self.fail(f"xgboost.{key}", "must be a string or a number")
            pairs.append((key, str(raw)))
        if "num_round" not in table:
            raise self.fail("xgboost.num_round", "is required")
        if not str(table["num_round"]).isdigit() or int(table["num_round"]) < 1:
            raise self.fail("xgboost.num_round", "must be a positive whole number")
        if "objective" not in table:
            pairs.insert(0, ("objective", kind.default_objective))
        if target.kind == "multiclass":
            pairs.append(("num_class", str(len(target.values))))
        self.check_objective(dict(pairs)["objective"], kind)
        # What the training container would refuse, refused now, naming the key.
        for name, problem in xgboost_params.problems(dict(pairs)):
            raise self.fail(f"xgboost.{name}", problem)
        return tuple(pairs)

    def check_objective(self, objective: str, kind: TaskKind) -> None:
        if objective in kind.objectives:
            return
        why = {
            "binary": "a binary target is scored by probabilities cut at the threshold",
            "multiclass": "a multiclass target is scored by one probability per class",
            "regression": "a regression target is scored by the predicted number",
        }[kind.name]
        raise self.fail(
            "xgboost.objective",
            f"{objective!r} does not fit target.kind = {kind.name!r} ({why}): use "
            f"{' or '.join(kind.objectives)}",
        )

    def threshold(self, kind: TaskKind) -> float | None:
        raw = self.document.get("evaluation", {})
        if not isinstance(raw, dict):
            raise self.fail("evaluation", "must be a table ([evaluation])")
        if kind.name != "binary":
            if "threshold" in raw:
                raise self.fail(
                    "evaluation.threshold",
                    "applies to a binary target's probabilities only; "
                    f"a {kind.name} target has none to cut",
                )
            return None
        value = raw.get("threshold")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
            raise self.fail("evaluation.threshold", "must be a number strictly between 0 and 1")
        return float(value)

    def bad_rows(self) -> BadRows:
        raw = self.document.get("scoring", {})
        if not isinstance(raw, dict):
            raise self.fail("scoring", "must be a table ([scoring])")
        value = raw.get("bad_rows", "refuse")
        if value not in BAD_ROWS:
            allowed = " or ".join(repr(v) for v in BAD_ROWS)
            raise self.fail("scoring.bad_rows", f"must be {allowed}, not {value!r}")
        return cast(BadRows, value)

    def drift_psi(self) -> float:
        raw = self.document.get("evaluation", {})
        value = raw.get("drift_psi", DEFAULT_DRIFT_PSI) if isinstance(raw, dict) else None
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.fail(
                "evaluation.drift_psi",
                "must be a positive number (the population stability index above which an "
                "upload counts as drifted; 0.25 is the usual mark of a large shift)",
            )
        return float(value)

    def check_columns(self, recipe: Recipe) -> None:
        used = recipe.input_columns()
        repeated = sorted({c for c in used if used.count(c) > 1})
        if repeated:
            raise self.fail("columns", f"{repeated} appear in more than one role")
        dropped_but_used = sorted(set(recipe.drop) & set(used))
        if dropped_but_used:
            raise self.fail("columns.drop", f"{dropped_but_used} are also used")
        if not recipe.feature_columns():
            raise self.fail("columns", "the recipe produces no feature columns")
        output = recipe.output_columns()
        clashes = sorted({c for c in output if output.count(c) > 1})
        if clashes:
            raise self.fail("columns", f"output column names {clashes} are not unique")
        unsafe = [c for c in output if _CSV_UNSAFE.search(c)]
        if unsafe:
            raise self.fail("columns", f'output column names {unsafe} contain , " or a newline')

    # --- typed getters ----------------------------------------------------------------------

    def known(self, table: Mapping[str, Any], prefix: str, allowed: Sequence[str]) -> None:
        """Reject fields we do not read: a misspelt optional field would silently do nothing."""
        unknown = [key for key in table if key not in allowed]
        if unknown:
            raise self.fail(
                f"{prefix}{unknown[0]}", f"unknown field (expected one of {list(allowed)})"
            )

    def table(self, key: str) -> Mapping[str, Any]:
        value = self.document.get(key)
        if not isinstance(value, dict):
            raise self.fail(key, f"the [{key}] table is required")
        return value

    def string(self, table: Mapping[str, Any], key: str, field: str | None = None) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value:
            raise self.fail(field or key, "must be a non-empty string")
        return value

    def strings(
        self, table: Mapping[str, Any], key: str, field: str, allow_empty: bool = False
    ) -> tuple[str, ...]:
        value = table.get(key)
        if not isinstance(value, list) or not (value or allow_empty):
            raise self.fail(field, "must be a non-empty list of strings")
        if not all(isinstance(item, str) for item in value):
            raise self.fail(field, "must contain only strings")
        if len(set(value)) != len(value):
            raise self.fail(field, "lists a value twice")
        return tuple(value)

    def names(self, table: Mapping[str, Any], field: str, required: bool = True) -> tuple[str, ...]:
        key = field.rsplit(".", 1)[-1]
        if not required and key not in table:
            return ()
        return self.strings(table, key, field, allow_empty=True)
