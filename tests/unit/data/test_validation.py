"""Validation of raw CSVs: every kind of bad input gets a clear error naming where it is."""

from __future__ import annotations

import io
import json

import pytest

from handlers.data.lines import Lines
from handlers.data.validation import FieldCounter, ValidationFailure, ValidationReport, validate_csv
from handlers.recipe.model import Recipe
from handlers.recipe.reader import read_recipe
from service.failures import PermanentError

RECIPE = """
name = "shop"

[target]
column = "bought"
positive = "yes"
values = ["no", "yes"]

[columns]
numeric = ["age", "visits"]
drop = ["note"]

[categorical]
unknown = "POLICY"

[categorical.columns]
colour = ["red", "green"]

[split]
train = 0.7
validation = 0.2
test = 0.1
seed = 1

[xgboost]
objective = "binary:logistic"
num_round = 5

[evaluation]
threshold = 0.5
"""

GOOD = b"age,colour,visits,note,bought\n30,red,1,hi,yes\n41,green,0,,no\n25,red,3,x,no\n"


def shop(policy: str = "error") -> Recipe:
    return read_recipe(RECIPE.replace("POLICY", policy).encode(), source="shop.toml")


def validate(data: bytes, policy: str = "error", chunk_rows: int = 2) -> ValidationReport:
    return validate_csv(
        io.BytesIO(data), shop(policy), file="data/shop/x.csv", chunk_rows=chunk_rows
    )


def failure(data: bytes, policy: str = "error", chunk_rows: int = 2) -> ValidationFailure:
    with pytest.raises(ValidationFailure) as caught:
        validate(data, policy, chunk_rows)
    assert caught.value.file == "data/shop/x.csv"
    return caught.value


class TrickleReader(io.RawIOBase):
    """Hands out at most `size` bytes per read, as a network stream may."""

    def __init__(self, data: bytes, size: int) -> None:
        self.data = data
        self.size = size

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.size if n < 0 else min(n, self.size)
        chunk, self.data = self.data[:n], self.data[n:]
        return chunk


def test_good_file() -> None:
    report = validate(GOOD)
    assert report.to_dict() == {
        "file": "data/shop/x.csv",
        "separator": ",",
        "bom": False,
        "extra_columns": [],
        "rows": 3,
        "positives": 1,
        "label_counts": [2, 1],
        "target": None,
        "unknown_categories": {},
        "missing_values": {},
        "header": ["age", "colour", "visits", "note", "bought"],
    }


def test_bom_and_crlf_are_accepted() -> None:
    report = validate(b"\xef\xbb\xbf" + GOOD.replace(b"\n", b"\r\n"))
    assert report.bom
    assert report.rows == 3


def test_semicolon_separated_uci_style_file_is_accepted() -> None:
    data = (
        b'"age";"colour";"visits";"note";"bought"\n30;"red";1;"a;b";"yes"\n41;"green";0;"";"no"\n'
    )
    report = validate(data)
    assert (report.separator, report.rows, report.positives) == (";", 2, 1)


def test_extra_columns_are_reported_and_ignored() -> None:
    data = GOOD.replace(b"note,bought\n", b"note,bought,shoe size\n").replace(b"yes\n", b"yes,42\n")
    data = data.replace(b",no\n", b",no,40\n")
    assert validate(data).extra_columns == ("shoe size",)


@pytest.mark.parametrize("separator", [b"\t", b"|", b";"])
def test_tab_pipe_and_semicolon_files_validate_as_the_comma_file(separator: bytes) -> None:
    same = validate(GOOD.replace(b",", separator))
    assert same.separator == separator.decode()
    comma = validate(GOOD).to_dict()
    assert {**same.to_dict(), "separator": ","} == comma


def test_an_unknown_separator_is_rejected_naming_the_separators_tried() -> None:
    error = failure(GOOD.replace(b",", b":"))
    assert "tried ',', ';', '\\t', '|'" in error.message


def test_non_utf8_names_the_byte_offset() -> None:
    data = GOOD.replace(b"x,no", b"caf\xe9,no")
    error = failure(data)
    offset = data.index(b"\xe9")
    assert f"byte offset {offset}" in error.message
    assert "0xe9" in error.message


def test_non_utf8_far_into_a_trickled_stream() -> None:
    body = GOOD + b"30,red,1,\xc3\xa9t\xc3\xa9,yes\n" * 2000  # valid 2-byte characters
    data = body + b"30,red,1,\xff,yes\n"
    with pytest.raises(ValidationFailure) as caught:
        validate_csv(TrickleReader(data, 7), shop(), file="f", chunk_rows=100)  # type: ignore[arg-type]
    assert f"byte offset {len(body) + 9}" in caught.value.message


def test_multibyte_characters_split_across_reads_are_fine() -> None:
    data = GOOD + b"30,red,1,\xc3\xa9t\xc3\xa9,yes\n" * 500
    report = validate_csv(TrickleReader(data, 3), shop(), file="f")  # type: ignore[arg-type]
    assert report.rows == 503


def test_missing_header() -> None:
    error = failure(GOOD.split(b"\n", 1)[1])
    assert "not a header" in error.message


def test_missing_columns_are_named() -> None:
    error = failure(b"age,note,bought\n30,hi,yes\n")
    assert error.column == "visits, colour"
    assert "missing required column(s): visits, colour" in error.message


def test_repeated_column_in_header() -> None:
    error = failure(b"age,colour,visits,bought,age\n30,red,1,yes,31\n")
    assert "appear more than once" in error.message


@pytest.mark.parametrize("data", [b"", b"\n\n", b"\xef\xbb\xbf", b"  \r\n"])
def test_empty_file(data: bytes) -> None:
    assert failure(data).message == "the file is empty"


@pytest.mark.parametrize("tail", [b"", b"\n", b"\n\n\r\n"])
def test_header_only_file(tail: bytes) -> None:
    assert failure(b"age,colour,visits,note,bought" + tail).message == (
        "the file has a header but no data rows"
    )


@pytest.mark.parametrize("chunk_rows", [1, 2, 100])
def test_bad_target_names_row_and_value(chunk_rows: int) -> None:
    error = failure(GOOD + b"50,red,2,,maybe\n", chunk_rows=chunk_rows)
    assert (error.column, error.row, error.value) == ("bought", 4, "maybe")
    assert "'no' or 'yes'" in error.message


def test_non_numeric_value_names_column_row_and_value() -> None:
    error = failure(GOOD + b"50,red,2,,no\n" + b"fifty,red,2,,no\n", chunk_rows=2)
    assert (error.column, error.row, error.value) == ("age", 5, "fifty")
    assert "numeric" in error.message


@pytest.mark.parametrize("value", [b"", b"NA", b"inf", b"nan"])
def test_missing_or_non_finite_numbers(value: bytes) -> None:
    error = failure(GOOD.replace(b"41,green", value + b",green"))
    assert (error.column, error.row, error.value) == ("age", 2, value.decode())


@pytest.mark.parametrize("chunk_rows", [1, 2, 100])
def test_a_short_row_is_rejected_by_its_field_count(chunk_rows: int) -> None:
    error = failure(GOOD.replace(b"25,red,3,x,no", b"25,red,3"), chunk_rows=chunk_rows)
    assert error.row == 3
    assert error.message == "the row has 3 fields, the header has 5"
    assert "row 3" in error.reason


def test_a_row_missing_a_field_is_not_shifted_into_the_next_column() -> None:
    """The hostile case: with unknown categories allowed and a dropped last column, the shifted
    values all pass their columns' checks (colour would read 'hi'), and the run would succeed."""
    data = b"age,visits,bought,colour,note\n30,1,yes,red,hi\n41,0,no,hi\n"  # colour left out
    error = failure(data, policy="other")
    assert (error.row, error.message) == (2, "the row has 4 fields, the header has 5")


def test_an_empty_last_field_is_a_value_not_a_missing_field() -> None:
    report = validate(GOOD.replace(b"30,red,1,hi,yes", b"30,red,1,hi,yes").replace(b"x,no", b",no"))
    assert report.rows == 3


def test_a_numeric_last_column_keeps_its_integers_and_its_errors() -> None:
    data = b"colour,note,bought,age,visits\nred,,yes,30,1\ngreen,,no,41,\n"
    error = failure(data)
    assert (error.column, error.row, error.value) == ("visits", 2, "")
    assert "empty" in error.message


@pytest.mark.parametrize("row", [1, 3])
def test_long_row_is_rejected(row: int) -> None:
    lines = GOOD.split(b"\n")
    lines[row] += b",surplus"
    error = failure(b"\n".join(lines))
    assert error.row == row
    assert error.message == "the row has 6 fields, the header has 5"


def test_unknown_category_with_policy_error() -> None:
    error = failure(GOOD + b"50,blue,2,,no\n", policy="error")
    assert (error.column, error.row, error.value) == ("colour", 4, "blue")
    assert "vocabulary" in error.message


@pytest.mark.parametrize("policy", ["other", "ignore"])
def test_unknown_categories_are_counted_with_policies_other_and_ignore(policy: str) -> None:
    report = validate(GOOD + b"50,blue,2,,no\n51,,2,,no\n52,Red,2,,yes\n", policy=policy)
    assert report.rows == 6
    assert report.unknown_categories == {"colour": 3}


def test_failure_is_permanent_and_serialisable() -> None:
    error = failure(GOOD + b"50,red,2,,maybe\n")
    assert isinstance(error, PermanentError)
    document = json.loads(json.dumps(error.to_dict()))
    assert document == {
        "error": "validation",
        "file": "data/shop/x.csv",
        "column": "bought",
        "row": 4,
        "line": 5,
        "value": "maybe",
        "message": error.message,
        "reason": "file data/shop/x.csv, data row 4 (line 5 of the file), column 'bought', "
        "value 'maybe': " + error.message,
    }


def test_header_without_line_break_beyond_limit() -> None:
    with pytest.raises(ValidationFailure, match="no line break"):
        validate(b"a" * (2 * 1024 * 1024))


@pytest.mark.parametrize("value", [b"True", b"1,5", b"12e", b"0x1F"])
def test_things_that_are_not_numbers(value: bytes) -> None:
    data = b"age;colour;visits;note;bought\n30;red;1;;yes\n" + value + b";red;1;;no\n"
    error = failure(data, chunk_rows=1)
    assert (error.column, error.row, error.value) == ("age", 2, value.decode())


def test_huge_integers_are_numbers() -> None:
    assert validate(GOOD.replace(b"41,green", b"18446744073709551615,green")).rows == 3


# -- field counts, quote-aware, however the bytes arrive -----------------------------------------


def counted(data: bytes, width: int, step: int | None = None, skip: int = 1) -> Lines:
    lines = Lines(skip)
    counter = FieldCounter(",", width, lines, "f.csv")
    step = step or len(data)
    for start in range(0, len(data), step):
        counter.feed(data[start : start + step])
    counter.finish()
    return lines


@pytest.mark.parametrize("step", [1, 2, 3, 7, None])
def test_field_counts_see_through_quotes_and_block_boundaries(step: int | None) -> None:
    data = b'a,b,c\r\n1,"x,y",2\r\n\r\n3,"line\nbreak ""quoted"", too",4\n5,6,7'
    counted(data, 3, step)  # no error: separators and breaks inside quotes are data
    with pytest.raises(ValidationFailure) as caught:
        counted(data + b"\n8,9\n", 3, step)
    assert caught.value.row == 4  # the blank line is no row
    # ...and the file's line counts it, and the line break inside quotes too
    assert caught.value.line == 7
    assert "data row 4 (line 7 of the file)" in caught.value.reason
    lines = counted(data, 3, step)
    assert [lines.line_of(row) for row in (1, 2, 3)] == [2, 4, 6]
    assert caught.value.message == "the row has 2 fields, the header has 3"


def test_a_last_line_without_a_line_break_is_counted() -> None:
    with pytest.raises(ValidationFailure, match="has 4 fields, the header has 3"):
        counted(b"a,b,c\n1,2,3\n4,5,6,7", 3)


# -- what spreadsheets and editors leave in files ------------------------------------------------


def test_cr_only_line_endings_are_accepted() -> None:
    report = validate(GOOD.replace(b"\n", b"\r"))
    assert report.rows == 3


def test_cr_only_file_with_a_short_row_names_it() -> None:
    error = failure(GOOD.replace(b"25,red,3,x,no", b"25,red,3").replace(b"\n", b"\r"))
    assert (error.row, error.message) == (3, "the row has 3 fields, the header has 5")


def test_excels_sep_line_is_honoured_and_skipped() -> None:
    data = b"sep=;\n" + GOOD.replace(b",", b";")
    report = validate(data)
    assert (report.rows, report.separator) == (3, ";")


def test_empty_unnamed_columns_are_ignored() -> None:
    data = GOOD.replace(b"bought\n", b"bought,,\n").replace(b"yes\n", b"yes,,\n")
    data = data.replace(b"no\n", b"no,,\n")
    report = validate(data)
    assert report.rows == 3
    assert report.extra_columns == ()


@pytest.mark.parametrize(
    ("column", "odd", "prefix"),
    [
        ("age", "\ufeffage", "\ufeff"),  # a second BOM, after the file's own
        ("colour", "\ufeffcolour", ""),
        ("age", "age\u200b", ""),
        ("visits", "vis\x00its", ""),
    ],
)
def test_a_header_cell_with_invisible_characters_is_quoted(
    column: str, odd: str, prefix: str
) -> None:
    data = prefix.encode() + GOOD.replace(column.encode(), odd.encode(), 1)
    error = failure(data)
    assert f"missing required column(s): {column}" in error.message
    assert repr(odd) in error.message
    assert "invisible characters" in error.message


@pytest.mark.parametrize("chunk_rows", [1, 2, 100])
def test_errors_name_the_data_row_and_the_line_an_editor_shows(chunk_rows: int) -> None:
    """Excel's `sep=` line, a blank line and a note spanning three lines come before the bad
    value: it is data row 4, on line 9 of the file."""
    data = (
        b"sep=,\n"
        + GOOD.replace(b"41,green,0,,no\n", b'41,green,0,"two\nmore\nlines",no\n\n')
        + b"50,blue,2,,no\n"
    )
    error = failure(data, chunk_rows=chunk_rows)
    assert (error.column, error.row, error.line, error.value) == ("colour", 4, 9, "blue")
    assert "data row 4 (line 9 of the file), column 'colour'" in error.reason
    assert data.split(b"\n")[9 - 1] == b"50,blue,2,,no"
