"""Synthetic rows with the bank-marketing schema, for demos, tests and benchmarks.

The 21 columns come in the real order with the real types and category sets; category frequencies
follow the UCI sample; `pdays` is 999 for ~96% of rows; about 11% of rows are positive. The target
is drawn from a logistic model on poutcome, contact, month, age, previous and campaign, so a model
trained on the recipe's features learns something real (ROC AUC well above 0.7).

    python -m handlers.data.synthetic --rows 100000 --out /tmp/bank.csv [--seed 7] [--separator ';']
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from handlers.data.dialect import SEPARATORS

COLUMNS = (
    "age", "job", "marital", "education", "default", "housing", "loan", "contact", "month",
    "day_of_week", "duration", "campaign", "pdays", "previous", "poutcome", "emp.var.rate",
    "cons.price.idx", "cons.conf.idx", "euribor3m", "nr.employed", "y",
)  # fmt: skip

# Frequencies measured on the UCI 10% sample (bank-additional.csv).
CATEGORY_FREQUENCIES: dict[str, dict[str, float]] = {
    "job": {
        "admin.": 0.2457, "blue-collar": 0.2146, "entrepreneur": 0.0359, "housemaid": 0.0267,
        "management": 0.0787, "retired": 0.0403, "self-employed": 0.0386, "services": 0.0954,
        "student": 0.0199, "technician": 0.1678, "unemployed": 0.0269, "unknown": 0.0095,
    },
    "marital": {"divorced": 0.1083, "married": 0.6091, "single": 0.2799, "unknown": 0.0027},
    "education": {
        "basic.4y": 0.1042, "basic.6y": 0.0554, "basic.9y": 0.1394, "high.school": 0.2236,
        "illiterate": 0.0005, "professional.course": 0.1299, "university.degree": 0.3069,
        "unknown": 0.0401,
    },
    "default": {"no": 0.8046, "unknown": 0.195, "yes": 0.0004},
    "housing": {"no": 0.4465, "unknown": 0.0255, "yes": 0.528},
    "loan": {"no": 0.8131, "unknown": 0.0255, "yes": 0.1614},
    "contact": {"cellular": 0.6438, "telephone": 0.3562},
    "month": {
        "apr": 0.0522, "aug": 0.1544, "dec": 0.0053, "jul": 0.1726, "jun": 0.1287,
        "mar": 0.0117, "may": 0.3345, "nov": 0.1083, "oct": 0.0168, "sep": 0.0155,
    },
    "day_of_week": {"fri": 0.1865, "mon": 0.2076, "thu": 0.2088, "tue": 0.2042, "wed": 0.1929},
}  # fmt: skip

# Five economic indicators move together (one published value per quarter/month): draw whole
# tuples, as they appear in the sample: emp.var.rate, cons.price.idx, cons.conf.idx, euribor3m,
# nr.employed.
ECONOMY = np.array(
    [
        [1.1, 93.994, -36.4, 4.857, 5191.0],
        [1.4, 93.918, -42.7, 4.962, 5228.1],
        [-1.8, 92.893, -46.2, 1.299, 5099.1],
        [1.4, 93.444, -36.1, 4.964, 5228.1],
        [1.4, 94.465, -41.8, 4.864, 5228.1],
        [-0.1, 93.2, -42.0, 4.191, 5195.8],
        [-1.8, 93.075, -47.1, 1.405, 5099.1],
        [-2.9, 92.963, -40.8, 1.262, 5076.2],
        [-3.4, 92.431, -26.9, 0.754, 5017.5],
        [-1.1, 94.199, -37.5, 0.884, 4963.6],
    ]
)
ECONOMY_WEIGHTS = np.array([758, 667, 597, 528, 431, 386, 201, 150, 79, 39], dtype=float)

# The logistic model behind `y` (log-odds contributions); the intercept puts ~11% at yes.
INTERCEPT = -3.0
MONTH_EFFECT = {"mar": 2.2, "dec": 2.2, "sep": 1.8, "oct": 1.8, "apr": 0.6, "may": -0.8}
POUTCOME_EFFECT = {"success": 2.4, "failure": 0.3}
CELLULAR_EFFECT = 1.1
AGE_EFFECT = 1.0  # under 25 or over 60
PREVIOUS_EFFECT = 0.3  # per previous contact
CAMPAIGN_EFFECT = -0.12  # per call in this campaign

DEFAULT_CHUNK_ROWS = 100_000


def generate(
    sink: BinaryIO,
    rows: int,
    *,
    seed: int = 0,
    separator: str = ",",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    signal: float = 1.0,
    shuffle_labels: bool = False,
) -> int:
    """Write a header and `rows` rows to `sink`, chunk by chunk; returns the number of positives.

    `signal` scales every effect on the outcome (above 1: easier to learn); `shuffle_labels`
    permutes `y` within each chunk, so nothing is learnable (a version that must be rejected).
    The output depends only on the arguments.
    """
    rng = np.random.default_rng(seed)
    sink.write((separator.join(COLUMNS) + "\n").encode())
    positives = 0
    for start in range(0, rows, chunk_rows):
        frame = synthetic_frame(rng, min(chunk_rows, rows - start), signal)
        if shuffle_labels:
            frame["y"] = rng.permutation(frame["y"].to_numpy())
        positives += int((frame["y"] == "yes").sum())
        sink.write(frame.to_csv(index=False, header=False, sep=separator).encode())
    return positives


def synthetic_frame(rng: np.random.Generator, rows: int, signal: float = 1.0) -> pd.DataFrame:
    """`rows` rows in the real column order."""
    columns: dict[str, np.ndarray] = {
        name: _draw(rng, CATEGORY_FREQUENCIES[name], rows) for name in CATEGORY_FREQUENCIES
    }
    columns["age"] = np.clip(np.rint(rng.normal(40, 10.3, rows)), 17, 98).astype(np.int64)
    columns["duration"] = np.rint(rng.exponential(257, rows)).astype(np.int64)
    columns["campaign"] = rng.geometric(0.42, rows)
    columns.update(_previous_contacts(rng, rows))
    economy = ECONOMY[rng.choice(len(ECONOMY), rows, p=ECONOMY_WEIGHTS / ECONOMY_WEIGHTS.sum())]
    for position, name in enumerate(COLUMNS[15:20]):
        columns[name] = economy[:, position]
    probability = _positive_probability(columns, signal)
    columns["y"] = np.where(rng.random(rows) < probability, "yes", "no")
    return pd.DataFrame({name: columns[name] for name in COLUMNS})


def _draw(rng: np.random.Generator, frequencies: dict[str, float], rows: int) -> np.ndarray:
    values = np.array(list(frequencies))
    weights = np.array(list(frequencies.values()))
    return values[rng.choice(len(values), rows, p=weights / weights.sum())]


def _previous_contacts(rng: np.random.Generator, rows: int) -> dict[str, np.ndarray]:
    """pdays, previous and poutcome, consistent with each other as in the real data."""
    contacted_recently = rng.random(rows) < 0.039
    contacted_before = contacted_recently | (rng.random(rows) < 0.11)
    pdays = np.where(contacted_recently, rng.integers(0, 22, rows), 999)
    previous = np.where(contacted_before, rng.geometric(0.75, rows), 0)
    success = np.where(contacted_recently, rng.random(rows) < 0.8, rng.random(rows) < 0.01)
    poutcome = np.where(contacted_before, np.where(success, "success", "failure"), "nonexistent")
    return {"pdays": pdays, "previous": previous, "poutcome": poutcome}


def _positive_probability(columns: dict[str, np.ndarray], signal: float = 1.0) -> np.ndarray:
    # Each effect times `signal`: exactly the effect itself at 1, so the default rows never change.
    log_odds = np.full(len(columns["age"]), INTERCEPT)
    for month, effect in MONTH_EFFECT.items():
        log_odds += signal * effect * (columns["month"] == month)
    for outcome, effect in POUTCOME_EFFECT.items():
        log_odds += signal * effect * (columns["poutcome"] == outcome)
    log_odds += signal * CELLULAR_EFFECT * (columns["contact"] == "cellular")
    log_odds += signal * AGE_EFFECT * ((columns["age"] < 25) | (columns["age"] > 60))
    log_odds += signal * PREVIOUS_EFFECT * columns["previous"]
    log_odds += signal * CAMPAIGN_EFFECT * columns["campaign"]
    probability: np.ndarray = 1 / (1 + np.exp(-log_odds))
    return probability


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m handlers.data.synthetic",
        description="Write synthetic bank-marketing rows (UCI schema) to a CSV file.",
    )
    parser.add_argument("--rows", type=int, required=True, help="number of data rows")
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--separator", choices=list(SEPARATORS), default=",")
    parser.add_argument(
        "--signal", type=float, default=1.0, help="scale of every effect on y (default 1)"
    )
    parser.add_argument(
        "--shuffle-labels", action="store_true", help="permute y: nothing left to learn"
    )
    args = parser.parse_args(argv)
    if args.rows < 0:
        parser.error("--rows must not be negative")
    with args.out.open("wb") as sink:
        positives = generate(
            sink,
            args.rows,
            seed=args.seed,
            separator=args.separator,
            signal=args.signal,
            shuffle_labels=args.shuffle_labels,
        )
    share = positives / args.rows if args.rows else 0.0
    print(f"wrote {args.rows} rows ({share:.1%} positive) to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
