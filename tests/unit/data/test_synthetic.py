"""Synthetic bank-marketing rows: schema, class balance, determinism, a learnable signal."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from handlers.data.features import transform_csv
from handlers.data.synthetic import COLUMNS, generate, main
from handlers.recipe.reader import load_packaged

SAMPLE = Path(__file__).resolve().parents[3] / "../shared/data/bank-additional.csv"
BANK = load_packaged("bank-marketing")


def synthetic(rows: int, seed: int = 0, **options: object) -> bytes:
    sink = io.BytesIO()
    generate(sink, rows, seed=seed, **options)  # type: ignore[arg-type]
    return sink.getvalue()


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(synthetic(20_000, seed=11)))


@pytest.mark.skipif(not SAMPLE.is_file(), reason="the real sample is not available")
def test_header_is_the_real_one() -> None:
    with SAMPLE.open("rb") as real:
        real_header = real.readline().rstrip(b"\r\n")
    assert synthetic(1).split(b"\n", 1)[0] == real_header
    assert ",".join(COLUMNS).encode() == real_header


@pytest.mark.skipif(not SAMPLE.is_file(), reason="the real sample is not available")
def test_column_types_match_the_real_sample(frame: pd.DataFrame) -> None:
    real = pd.read_csv(SAMPLE, nrows=500)
    assert {c: real[c].dtype.kind for c in real} == {c: frame[c].dtype.kind for c in frame}


def test_categories_come_from_the_recipe_vocabularies(frame: pd.DataFrame) -> None:
    for spec in BANK.categorical:
        assert set(frame[spec.column]) <= set(spec.vocabulary), spec.column
    assert set(frame["y"]) == {"no", "yes"}


def test_realistic_shape(frame: pd.DataFrame) -> None:
    assert 0.095 < (frame["y"] == "yes").mean() < 0.13
    assert 0.94 < (frame["pdays"] == 999).mean() < 0.98
    assert frame["age"].between(17, 98).all()
    contacted = frame["pdays"] != 999
    assert (frame.loc[contacted, "poutcome"] != "nonexistent").all()
    assert (frame.loc[frame["previous"] == 0, "poutcome"] == "nonexistent").all()


def test_deterministic_per_seed() -> None:
    assert synthetic(300, seed=4) == synthetic(300, seed=4)
    assert synthetic(300, seed=4) != synthetic(300, seed=5)


def test_chunked_writing_counts_every_row() -> None:
    data = synthetic(250, seed=2, chunk_rows=100)
    assert data.count(b"\n") == 251


def test_semicolon_output_validates() -> None:
    data = synthetic(50, separator=";")
    assert data.startswith(b"age;job;")
    stats = transform_csv(io.BytesIO(data), io.BytesIO(), BANK, file="s.csv")
    assert (stats.separator, stats.rows_out) == (";", 50)


def _roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    negatives = np.sort(scores[labels == 0])
    positives = scores[labels == 1]
    below = np.searchsorted(negatives, positives, side="left")
    not_above = np.searchsorted(negatives, positives, side="right")
    return float((below + not_above).sum() / 2 / (len(positives) * len(negatives)))


def test_a_model_learns_from_the_recipe_features() -> None:
    processed = io.BytesIO()
    transform_csv(io.BytesIO(synthetic(20_000, seed=3)), processed, BANK, file="s.csv")
    table = pd.read_csv(io.BytesIO(processed.getvalue())).to_numpy(dtype=np.float64)
    features = np.column_stack([np.ones(len(table)), table[:, 1:]])
    train, test = slice(0, 14_000), slice(14_000, None)
    # A linear probability model is enough to show the signal (and needs no extra import).
    weights = np.linalg.lstsq(features[train], table[train, 0], rcond=None)[0]
    assert _roc_auc(table[test, 0], features[test] @ weights) > 0.72


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bank.csv"
    assert main(["--rows", "40", "--out", str(out), "--seed", "9"]) == 0
    assert out.read_bytes() == synthetic(40, seed=9)
    assert "wrote 40 rows" in capsys.readouterr().err
