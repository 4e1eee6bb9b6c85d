"""The real UCI sample (outside the project, in ../shared/data) goes through the pipeline's
pure steps exactly as the original pipeline would have encoded it. Skipped without the file."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from handlers.data.features import transform_csv
from handlers.data.split import split_csv
from handlers.data.validation import validate_csv
from handlers.recipe.reader import load_packaged

SAMPLE = Path(__file__).resolve().parents[3] / "../shared/data/bank-additional.csv"
pytestmark = pytest.mark.skipif(not SAMPLE.is_file(), reason=f"{SAMPLE} is not available")

BANK = load_packaged("bank-marketing")


@pytest.fixture(scope="module")
def processed() -> tuple[bytes, int]:
    sink = io.BytesIO()
    with SAMPLE.open("rb") as source:
        stats = transform_csv(source, sink, BANK, file=SAMPLE.name, chunk_rows=1000)
    return sink.getvalue(), stats.rows_out


def test_sample_validates_with_about_11_percent_positives() -> None:
    with SAMPLE.open("rb") as source:
        report = validate_csv(source, BANK, file=SAMPLE.name)
    assert report.rows == 4119
    assert 0.10 < report.positives / report.rows < 0.12
    assert report.unknown_categories == {}
    assert report.extra_columns == ()


def test_encoding_matches_the_original_pipeline(processed: tuple[bytes, int]) -> None:
    """pandas.get_dummies over the whole file, as the original did, gives the same numbers."""
    ours = pd.read_csv(io.BytesIO(processed[0]))
    raw = pd.read_csv(SAMPLE)
    raw["no_previous_contact"] = np.where(raw["pdays"] == 999, 1, 0)
    raw["not_working"] = np.where(raw["job"].isin(["student", "retired", "unemployed"]), 1, 0)
    original = pd.get_dummies(raw, dtype=int).drop(columns=list(BANK.drop))
    original = pd.concat(
        [original["y_yes"].rename("y"), original.drop(columns=["y_no", "y_yes"])], axis=1
    )
    # Our vocabulary adds the documented months missing from the data, as all-zero columns.
    assert [c for c in ours.columns if c not in ("month_jan", "month_feb")] == list(original)
    assert (ours[["month_jan", "month_feb"]] == 0).all().all()
    assert (ours[original.columns].to_numpy() == original.to_numpy()).all()


def test_uci_style_semicolon_file_gives_the_same_output(processed: tuple[bytes, int]) -> None:
    """The raw UCI download is `;`-separated with quoted text: same rows, same output."""
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";", quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    frame = pd.read_csv(SAMPLE)
    writer.writerow(frame.columns)
    writer.writerows(frame.itertuples(index=False))
    sink = io.BytesIO()
    stats = transform_csv(io.BytesIO(text.getvalue().encode()), sink, BANK, file="uci.csv")
    assert stats.separator == ";"
    ours, theirs = pd.read_csv(io.BytesIO(sink.getvalue())), pd.read_csv(io.BytesIO(processed[0]))
    pd.testing.assert_frame_equal(ours, theirs)


def test_split_sizes_match_the_original_cut(processed: tuple[bytes, int]) -> None:
    data, rows = processed
    sinks = [io.BytesIO() for _ in range(3)]
    stats = split_csv(io.BytesIO(data), *sinks, rows=rows, spec=BANK.split, file="processed.csv")
    assert stats.rows == {"train": 2883, "validation": 824, "test": 412}  # int(.7N), int(.9N)
    assert sum(stats.positives.values()) == int((pd.read_csv(SAMPLE)["y"] == "yes").sum())
