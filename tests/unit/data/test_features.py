"""The transform against hand-computed rows, policies, derived operators and chunking."""

from __future__ import annotations

import io

import pytest

from handlers.data.features import TransformStats, transform_csv
from handlers.data.validation import ValidationFailure
from handlers.recipe.model import Recipe
from handlers.recipe.reader import load_packaged, read_recipe

HEADER = (
    "age,job,marital,education,default,housing,loan,contact,month,day_of_week,duration,campaign,"
    "pdays,previous,poutcome,emp.var.rate,cons.price.idx,cons.conf.idx,euribor3m,nr.employed,y"
)
RAW_ROWS = [
    "56,housemaid,married,basic.4y,no,no,no,telephone,may,mon,261,1,999,0,nonexistent,"
    "1.1,93.994,-36.4,4.857,5191.0,no",
    "25,student,single,high.school,unknown,yes,yes,cellular,oct,fri,100,3,6,2,success,"
    "-1.1,94.199,-37.5,0.884,4963.6,yes",
    "71,retired,divorced,unknown,no,unknown,unknown,cellular,jan,wed,50,2,999,1,failure,"
    "-1.8,92.893,-46.2,1.299,5099.1,no",
]
# Worked out by hand from the recipe: label, numeric, derived, then one-hot blocks in the order
# job(12) marital(4) education(8) default(3) housing(3) loan(3) contact(2) month(12) day(5)
# poutcome(3), each in its vocabulary's (alphabetical) order.
EXPECTED_ROWS = [
    [
        0,  # y = no
        56, 1, 999, 0,  # age, campaign, pdays, previous
        1, 0,  # no_previous_contact (pdays 999), not_working (housemaid)
        0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,  # job = housemaid
        0, 1, 0, 0,  # marital = married
        1, 0, 0, 0, 0, 0, 0, 0,  # education = basic.4y
        1, 0, 0,  # default = no
        1, 0, 0,  # housing = no
        1, 0, 0,  # loan = no
        0, 1,  # contact = telephone
        0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,  # month = may
        0, 1, 0, 0, 0,  # day_of_week = mon
        0, 1, 0,  # poutcome = nonexistent
    ],
    [
        1,  # y = yes
        25, 3, 6, 2,
        0, 1,  # contacted 6 days ago; a student is not working
        0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,  # job = student
        0, 0, 1, 0,  # marital = single
        0, 0, 0, 1, 0, 0, 0, 0,  # education = high.school
        0, 1, 0,  # default = unknown
        0, 0, 1,  # housing = yes
        0, 0, 1,  # loan = yes
        1, 0,  # contact = cellular
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0,  # month = oct
        1, 0, 0, 0, 0,  # day_of_week = fri
        0, 0, 1,  # poutcome = success
    ],
    [
        0,
        71, 2, 999, 1,
        1, 1,  # pdays 999: not contacted before; retired is not working
        0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,  # job = retired
        1, 0, 0, 0,  # marital = divorced
        0, 0, 0, 0, 0, 0, 0, 1,  # education = unknown
        1, 0, 0,  # default = no
        0, 1, 0,  # housing = unknown
        0, 1, 0,  # loan = unknown
        1, 0,  # contact = cellular
        0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,  # month = jan (documented, absent from the data)
        0, 0, 0, 0, 1,  # day_of_week = wed
        1, 0, 0,  # poutcome = failure
    ],
]  # fmt: skip

BANK = load_packaged("bank-marketing")


def transform(
    data: bytes, recipe: Recipe = BANK, chunk_rows: int = 100_000
) -> tuple[list[str], TransformStats]:
    sink = io.BytesIO()
    stats = transform_csv(io.BytesIO(data), sink, recipe, file="raw.csv", chunk_rows=chunk_rows)
    return sink.getvalue().decode().splitlines(), stats


def raw_file(rows: list[str], separator: str = ",") -> bytes:
    return "\n".join([HEADER, *rows]).replace(",", separator).encode() + b"\n"


def test_hand_computed_rows() -> None:
    lines, stats = transform(raw_file(RAW_ROWS))
    assert lines[0] == ",".join(BANK.output_columns())
    assert [[int(v) for v in line.split(",")] for line in lines[1:]] == EXPECTED_ROWS
    assert lines[1:] == [",".join(map(str, row)) for row in EXPECTED_ROWS]
    assert (stats.rows_in, stats.rows_out, stats.positives) == (3, 3, 1)
    assert stats.unknown_categories == {}
    assert len(EXPECTED_ROWS[0]) == len(BANK.output_columns())


@pytest.mark.parametrize("chunk_rows", [1, 2])
def test_chunking_does_not_change_the_output(chunk_rows: int) -> None:
    assert (
        transform(raw_file(RAW_ROWS), chunk_rows=chunk_rows)[0] == transform(raw_file(RAW_ROWS))[0]
    )


def test_semicolon_file_gives_the_same_output() -> None:
    lines, stats = transform(raw_file(RAW_ROWS, separator=";"))
    assert stats.separator == ";"
    assert lines == transform(raw_file(RAW_ROWS))[0]


def test_bad_row_stops_the_transform() -> None:
    rows = [*RAW_ROWS, RAW_ROWS[0].replace("housemaid", "astronaut")]
    with pytest.raises(ValidationFailure) as caught:
        transform(raw_file(rows), chunk_rows=2)
    assert (caught.value.row, caught.value.column, caught.value.value) == (4, "job", "astronaut")


SMALL = """
name = "small"

[target]
column = "label"
positive = "1"
values = ["0", "1"]

[columns]
numeric = ["n", "x"]

[categorical]
unknown = "POLICY"

[categorical.columns]
colour = ["red", "green"]

DERIVED

[split]
train = 0.6
validation = 0.3
test = 0.1
seed = 7

[xgboost]
objective = "binary:logistic"
num_round = 10

[evaluation]
threshold = 0.5
"""
SMALL_DATA = b"label,n,x,colour\n1,5,0.25,red\n0,10,-1.5,green\n0,20,1e-7,blue\n1,-3,2,\n"


def small(policy: str = "error", derived: str = "") -> Recipe:
    text = SMALL.replace("POLICY", policy).replace("DERIVED", derived)
    return read_recipe(text.encode(), source="small.toml")


def test_policy_other_adds_an_other_column() -> None:
    lines, stats = transform(SMALL_DATA, small("other"))
    assert lines == [
        "label,n,x,colour_red,colour_green,colour_other",
        "1,5,0.25,1,0,0",
        "0,10,-1.5,0,1,0",
        "0,20,1e-07,0,0,1",
        "1,-3,2.0,0,0,1",
    ]
    assert stats.unknown_categories == {"colour": 2}


def test_policy_ignore_gives_all_zero_one_hot() -> None:
    lines, stats = transform(SMALL_DATA, small("ignore"))
    assert lines[0] == "label,n,x,colour_red,colour_green"
    assert lines[3:] == ["0,20,1e-07,0,0", "1,-3,2.0,0,0"]
    assert stats.unknown_categories == {"colour": 2}
    assert stats.positives == 2


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ('column = "n"\nop = "eq"\nvalue = 10', [0, 1, 0, 0]),
        ('column = "n"\nop = "ne"\nvalue = 10', [1, 0, 1, 1]),
        ('column = "n"\nop = "lt"\nvalue = 10', [1, 0, 0, 1]),
        ('column = "n"\nop = "le"\nvalue = 10', [1, 1, 0, 1]),
        ('column = "n"\nop = "gt"\nvalue = 10', [0, 0, 1, 0]),
        ('column = "n"\nop = "ge"\nvalue = 10', [0, 1, 1, 0]),
        ('column = "x"\nop = "gt"\nvalue = 0', [1, 0, 1, 1]),
        ('column = "n"\nop = "in"\nvalue = [5, 20]', [1, 0, 1, 0]),
        ('column = "n"\nop = "not_in"\nvalue = [5, 20]', [0, 1, 0, 1]),
        ('column = "colour"\nop = "eq"\nvalue = "green"', [0, 1, 0, 0]),
        ('column = "colour"\nop = "ne"\nvalue = "green"', [1, 0, 1, 1]),
        ('column = "colour"\nop = "in"\nvalue = ["red", "green"]', [1, 1, 0, 0]),
        ('column = "colour"\nop = "not_in"\nvalue = ["red"]', [0, 1, 1, 1]),
    ],
)
def test_derived_operators(condition: str, expected: list[int]) -> None:
    recipe = small("ignore", f'[[derived]]\nname = "flag"\n{condition}')
    lines, _ = transform(SMALL_DATA, recipe)
    assert lines[0] == "label,n,x,flag,colour_red,colour_green"
    assert [int(line.split(",")[3]) for line in lines[1:]] == expected


def test_stats_document() -> None:
    _, stats = transform(raw_file(RAW_ROWS))
    document = stats.to_dict()
    assert document["columns"] == list(BANK.output_columns())
    assert document["positive_rate"] == pytest.approx(1 / 3)
    assert document["extra_columns"] == []
