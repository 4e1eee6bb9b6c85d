"""`automlops recipe draft` and `recipe check`: a drafted recipe passes the worker's own
validation unchanged, and the file it was drafted from passes the worker's data checks."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import pytest

from automlops.cli import main
from handlers.data.checks import check
from handlers.data.draft import (
    MAX_VOCABULARY,
    Draft,
    DraftError,
    dataset_name,
    draft_recipe,
    profile,
)
from handlers.data.synthetic import generate
from handlers.data.synthetic_tasks import generate_prices, generate_segments


def drafted(body: bytes, target: str | None = None) -> str:
    return draft_of(body, target).text


def draft_of(body: bytes, target: str | None = None) -> Draft:
    return draft_recipe(io.BytesIO(body), file="f.csv", dataset="d", target=target)


def table(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def test_a_synthetic_bank_file_drafts_a_recipe_its_rows_pass(tmp_path: Path) -> None:
    data = tmp_path / "bank.csv"
    with data.open("wb") as sink:
        generate(sink, 600, seed=4)
    recipe_file = tmp_path / "bank.toml"
    assert main_exit(["recipe", "draft", str(data), "--out", str(recipe_file)]) == 0
    checked = check(recipe_file, data)
    recipe = checked.recipe
    assert (recipe.name, recipe.target.column, recipe.target.positive) == ("bank", "y", "yes")
    assert {"age", "campaign", "pdays", "previous"} <= set(recipe.numeric)
    job = next(spec for spec in recipe.categorical if spec.column == "job")
    assert list(job.vocabulary) == sorted(job.vocabulary)
    assert checked.stats is not None
    assert checked.stats.rows_out == 600


def test_identifiers_constants_and_numbers_with_gaps_are_dropped_with_the_reason() -> None:
    rows = [
        f"{i},{'a' if i % 3 else 'b'},{'' if i == 5 else i % 7},x,{'yes' if i % 4 else 'no'},c{i}"
        for i in range(60)
    ]
    text = drafted(table("customer_id,colour,score,const,y,code", rows))
    assert (
        "# customer_id: dropped, it looks like an identifier (60 distinct values in 60 rows)"
        in text
    )
    assert "# code: dropped, it looks like an identifier (60 distinct values in 60 rows)" in text
    assert "# const: dropped, it has the same value in every row" in text
    assert "# score: dropped, it is numeric but empty in 1 rows" in text
    assert 'drop = ["customer_id", "score", "const", "code"]' in text
    assert '"colour" = ["a", "b"]' in text


def test_the_target_is_guessed_or_asked_for() -> None:
    rows = [f"{i % 5},{'p' if i % 2 else 'q'}" for i in range(20)]
    guessed = drafted(table("n,outcome_flag", rows))
    assert 'column = "outcome_flag"' in guessed  # the last two-valued column
    assert 'positive = "p"' in guessed or 'positive = "q"' in guessed
    with pytest.raises(DraftError, match=r"pass --target COLUMN \(TARGET=COLUMN with make demo\)"):
        drafted(table("a,b", [f"{i},{i * 2}" for i in range(20)]))
    with pytest.raises(DraftError, match="has 2 distinct values: a multiclass target has 3"):
        draft_recipe(
            io.BytesIO(table("n,outcome_flag", rows)),
            file="f.csv",
            dataset="d",
            target="outcome_flag",
            kind="multiclass",
        )
    with pytest.raises(DraftError, match="no column 'nope'"):
        drafted(table("n,outcome_flag", rows), target="nope")


def test_a_guessed_target_is_said_out_loud_with_the_other_candidates() -> None:
    rows = [f"{i % 2},{(i // 2) % 2},{i % 9}" for i in range(40)]
    made = draft_of(table("has_phone,churned,visits", rows), None)
    assert made.recipe.target.column == "churned"
    assert made.notes[0] == (
        "target guessed: 'churned' (the last column with two values; other candidates: "
        "has_phone); if it is not, pass --target COLUMN (TARGET=COLUMN with make demo)"
    )
    named = draft_of(table("flag,y", rows=[f"{i % 2},{i % 2}" for i in range(9)]), None)
    assert named.notes[0].startswith("target guessed: 'y' (its name says so)")
    told = draft_of(table("has_phone,churned,visits", rows), "churned")
    assert told.notes == ()


def test_a_row_number_and_a_date_are_left_out_and_said_so() -> None:
    rows = [
        f"{i + 1},2024-{1 + i // 28:02d}-{1 + i % 28:02d},{i % 7},{'yes' if i % 3 else 'no'}"
        for i in range(200)
    ]
    made = draft_of(table("n,signed_up,visits,y", rows), "y")
    assert {"n", "signed_up"} <= set(made.recipe.drop)
    assert "visits" in made.recipe.numeric
    assert made.notes == (
        "'n' counts the rows (1, 2, 3...) and is left out as an identifier",
        "'signed_up' looks like a date and is left out (it looks like an identifier (more than "
        "100 distinct values in 200 rows)): derive what matters (month, weekday) in the file",
    )
    # whole numbers that do not count the rows stay features
    shuffled = [f"{(i * 37) % 200 + 1},{i % 7},{'yes' if i % 3 else 'no'}" for i in range(200)]
    kept = draft_of(table("n,visits,y", shuffled), "y")
    assert "n" in kept.recipe.numeric


def test_a_category_with_commas_or_quotes_in_its_values_is_left_out_with_the_reason() -> None:
    rows = [
        f'"{"Boston, MA" if i % 2 else "Austin"}",{i % 5},{"yes" if i % 3 else "no"}'
        for i in range(30)
    ]
    made = draft_of(table("city,visits,y", rows), "y")
    assert made.recipe.drop == ("city",)
    assert "# city: dropped, a value holds a comma, quote or line break ('Boston, MA')" in made.text
    assert made.notes == (
        "'city' is left out: a value holds a comma, quote or line break ('Boston, MA'), which "
        "the processed CSV's column names cannot carry: take them out of the values to use it",
    )


def test_a_ragged_file_is_named_by_data_row_and_line_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "ragged.csv"
    data.write_text('a,b,c\n1,2,3\n\n4,"x\ny",6\n7,8\n')
    assert main_exit(["recipe", "draft", str(data)]) == 1
    err = capsys.readouterr().err
    assert (
        err == f"automlops: {data}, data row 3 (line 6 of the file): 2 fields, the header has 3\n"
    )


def test_the_positive_label_is_the_one_named_so_else_the_rarer() -> None:
    rows = [f"{i},{'True' if i % 3 == 0 else 'False'}" for i in range(30)]
    assert 'positive = "True"' in drafted(table("n,label", rows))
    rarer = [f"{i},{'b' if i % 4 == 0 else 'a'}" for i in range(40)]
    assert 'positive = "b"' in drafted(table("n,label", rarer))


def test_memory_is_bounded_however_many_values_a_column_has() -> None:
    rows = [f"v{i},{i % 2}" for i in range(10_000)]
    columns, count = profile(io.BytesIO(table("free_text,y", rows)), "f.csv")
    assert count == 10_000
    assert columns[0].overflowed
    assert len(columns[0].values) <= MAX_VOCABULARY + 1


def test_semicolons_quotes_and_a_bom_are_read_as_the_worker_reads_them() -> None:
    body = (
        "\ufeff" + '"n";"y"\n' + "".join(f'{i};"{"yes" if i % 2 else "no"}"\n' for i in range(20))
    )
    text = drafted(body.encode())
    assert 'column = "y"' in text
    assert 'numeric = ["n"]' in text


def test_dataset_names_come_from_file_names() -> None:
    assert dataset_name("Bank Additional (1).csv") == "bank-additional-1"
    assert dataset_name("data/x/2026_11.csv.gz") == "2026-11"


def test_check_reports_the_workers_own_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe_file = tmp_path / "bad.toml"
    recipe_file.write_text('name = "bad"\n[target]\ncolumn = "y"\n')
    assert main_exit(["recipe", "check", str(recipe_file)]) == 1
    assert (
        "recipe " + str(recipe_file) + ": target.positive: must be a non-empty string"
        in capsys.readouterr().err
    )
    good = tmp_path / "good.toml"
    rows = [f"{i},{'yes' if i % 3 else 'no'}" for i in range(30)]
    data = tmp_path / "good.csv"
    data.write_bytes(table("n,y", rows))
    good.write_text(drafted(data.read_bytes()))
    other = tmp_path / "other.csv"
    other.write_bytes(table("n,y", ["1,maybe", "2,yes"]))
    assert main_exit(["recipe", "check", str(good), "--data", str(other)]) == 1
    err = capsys.readouterr().err
    assert "column 'y'" in err or "column y" in err
    assert "maybe" in err


def main_exit(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    return int(exited.value.code or 0)


def test_the_kind_is_inferred_from_the_targets_values() -> None:
    segments, prices = io.BytesIO(), io.BytesIO()
    generate_segments(segments, 400, seed=1)
    generate_prices(prices, 400, seed=1)
    multiclass = draft_recipe(
        io.BytesIO(segments.getvalue()), file="s.csv", dataset="s", target="segment"
    )
    assert multiclass.recipe.target.kind == "multiclass"
    assert multiclass.recipe.target.values == ("bronze", "gold", "platinum", "silver")
    assert ("num_class", "4") in multiclass.recipe.hyperparameters
    assert "\nnum_class" not in multiclass.text  # derived, never written
    assert "# customer_id: dropped, it looks like an identifier" in multiclass.text
    regression = draft_recipe(
        io.BytesIO(prices.getvalue()), file="p.csv", dataset="p", target="price"
    )
    assert regression.recipe.target.kind == "regression"
    assert regression.recipe.hyperparameter_dict()["objective"] == "reg:squarederror"
    assert regression.recipe.threshold is None
    assert regression.recipe.promotion.metric == "rmse"
    assert "# listing_id: dropped, it looks like an identifier" in regression.text
    assert "floors = { r2 = 0.0 }" in regression.text


def test_few_whole_numbers_are_classes_unless_told_otherwise() -> None:
    rows = [f"{i},{i % 7 / 3:.3f},{i % 4}" for i in range(80)]
    ratings = draft_of(table("n,x,stars", rows), "stars")
    assert ratings.recipe.target.kind == "multiclass"
    assert ratings.recipe.target.values == ("0", "1", "2", "3")
    assert 'set kind = "regression" and remove `values`' in ratings.text
    amounts = draft_recipe(
        io.BytesIO(table("n,x,stars", rows)),
        file="f.csv",
        dataset="d",
        target="stars",
        kind="regression",
    )
    assert amounts.recipe.target.kind == "regression"
    fractions = draft_of(table("n,x,stars", rows), "x")
    assert fractions.recipe.target.kind == "regression"  # fractions are amounts
    with pytest.raises(DraftError, match="is not numeric: it cannot be regression"):
        draft_recipe(
            io.BytesIO(table("n,c", [f"{i},{'abc'[i % 3]}" for i in range(30)])),
            file="f.csv",
            dataset="d",
            target="c",
            kind="regression",
        )


@pytest.mark.parametrize(
    ("make", "target", "kind"),
    [(generate_segments, "segment", "multiclass"), (generate_prices, "price", "regression")],
)
def test_a_drafted_recipe_of_each_kind_checks_its_own_file(
    tmp_path: Path, make: Any, target: str, kind: str
) -> None:
    data = tmp_path / "data.csv"
    with data.open("wb") as sink:
        make(sink, 500, seed=2)
    recipe_file = tmp_path / "data.toml"
    command = ["recipe", "draft", str(data), "--target", target, "--out", str(recipe_file)]
    assert main_exit(command) == 0
    checked = check(recipe_file, data)
    assert checked.recipe.target.kind == kind
    assert checked.stats is not None
    assert checked.stats.rows_out == 500
    summary = checked.summary()
    assert f"ok: {kind} target {target!r}" in summary
    assert ("rows per class: bronze" if kind == "multiclass" else "target from") in summary


@pytest.mark.parametrize("separator", ["\t", "|"])
def test_a_tab_or_pipe_file_is_drafted_checked_and_read_as_its_comma_twin(
    tmp_path: Path, separator: str, capsys: pytest.CaptureFixture[str]
) -> None:
    comma = tmp_path / "bank.csv"
    with comma.open("wb") as sink:
        generate(sink, 400, seed=5)
    other = tmp_path / "bank.tsv"
    other.write_bytes(comma.read_bytes().replace(b",", separator.encode()))
    recipes = {}
    for data in (comma, other):
        recipe_file = tmp_path / f"{data.suffix[1:]}.toml"
        command = ["recipe", "draft", str(data), "--target", "y", "--out", str(recipe_file)]
        assert main_exit(command) == 0
        recipes[data] = recipe_file.read_text().split("\n", 2)[2]  # past the file-naming lines
    assert recipes[comma].replace("bank.csv", "bank.tsv") == recipes[other]
    recipe_file = tmp_path / "tsv.toml"
    assert main_exit(["recipe", "check", str(recipe_file), "--data", str(other)]) == 0
    printed = capsys.readouterr().out
    assert "data: ok: 400 rows" in printed
    assert "split: ok: train " in printed
    as_tsv, as_csv = check(recipe_file, other), check(recipe_file, comma)
    assert as_tsv.stats is not None
    assert as_csv.stats is not None
    assert dataclasses.replace(as_tsv.stats, file=str(comma), separator=",") == as_csv.stats
    assert as_tsv.split == as_csv.split
    assert as_tsv.split is not None
    assert sum(as_tsv.split.rows.values()) == 400


def test_check_applies_the_splits_rule_as_train_does_and_names_the_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ten rows of which one is positive: preprocessing's rules pass (two classes, a row for
    each part), the split leaves the test part without the positive class."""
    rows = [f"{i},{'a' if i % 2 else 'b'},{'yes' if i == 0 else 'no'}" for i in range(10)]
    data = tmp_path / "few.csv"
    data.write_bytes(table("n,colour,y", rows))
    recipe_file = tmp_path / "few.toml"
    command = ["recipe", "draft", str(data), "--target", "y", "--out", str(recipe_file)]
    assert main_exit(command) == 0
    text = recipe_file.read_text().replace("stratify = true", "stratify = false")
    recipe_file.write_text(text)
    assert main_exit(["recipe", "check", str(recipe_file), "--data", str(data)]) != 0
    said = capsys.readouterr().err
    assert "split rule:" in said
    assert "has no row of label(s)" in said
    assert str(data) in said
