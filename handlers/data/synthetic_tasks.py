"""Synthetic datasets for the other task kinds, with a known signal, for demos, tests, benchmarks.

    multiclass  `segment` (bronze, silver, gold, platinum) of a customer, drawn from a softmax
                over tenure, spend, visits, region and channel
    regression  `price` of a flat: a known linear function of area, rooms, age, district and
                garden, plus Gaussian noise (R² about 0.9 for a model that finds it)

Both carry an identifier column (`customer_id`, `listing_id`) that a drafted recipe drops.

    python -m handlers.data.synthetic_tasks --kind multiclass --rows 5000 --out /tmp/segments.csv
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

SEGMENTS = ("bronze", "silver", "gold", "platinum")
REGIONS = ("north", "south", "east", "west", "centre")
CHANNELS = ("web", "store", "phone")
DISTRICTS = ("old-town", "harbour", "riverside", "hills", "station", "outskirts")
DISTRICT_PRICE = dict(zip(DISTRICTS, (60_000, 45_000, 30_000, 20_000, 5_000, -25_000), strict=True))
PRICE_NOISE = 20_000.0
DEFAULT_CHUNK_ROWS = 100_000


def generate_segments(
    sink: BinaryIO, rows: int, *, seed: int = 0, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> int:
    """A multiclass file (target `segment`, four classes); returns the rows written."""
    return _write(sink, rows, seed, chunk_rows, _segments)


def generate_prices(
    sink: BinaryIO, rows: int, *, seed: int = 0, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> int:
    """A regression file (target `price`); returns the rows written."""
    return _write(sink, rows, seed, chunk_rows, _prices)


Frame = Callable[[np.random.Generator, int, int], pd.DataFrame]


def _write(sink: BinaryIO, rows: int, seed: int, chunk_rows: int, make: Frame) -> int:
    rng = np.random.default_rng(seed)
    for start in range(0, rows, chunk_rows):
        frame = make(rng, start, min(chunk_rows, rows - start))
        sink.write(frame.to_csv(index=False, header=start == 0).encode())
    if rows == 0:
        sink.write((",".join(make(rng, 0, 0).columns) + "\n").encode())
    return rows


def _segments(rng: np.random.Generator, start: int, rows: int) -> pd.DataFrame:
    tenure = rng.integers(1, 121, rows)
    spend = np.round(rng.gamma(2.0, 40.0, rows), 2)
    visits = rng.poisson(4, rows)
    region = rng.choice(REGIONS, rows)
    channel = rng.choice(CHANNELS, rows, p=(0.5, 0.3, 0.2))
    # One score per segment rising with value; a softmax draws the segment.
    value = 0.02 * tenure + 0.025 * spend + 0.25 * visits + 0.8 * (channel == "store")
    value += 0.6 * (region == "centre") - 0.4 * (region == "north")
    logits = np.stack([-((value - centre) ** 2) / 2.0 for centre in (2.0, 4.0, 6.0, 8.5)], axis=1)
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    drawn = (rng.random((rows, 1)) > probabilities.cumsum(axis=1)).sum(axis=1)
    return pd.DataFrame(
        {
            "customer_id": [f"C{start + i:08d}" for i in range(rows)],
            "tenure_months": tenure,
            "monthly_spend": spend,
            "visits": visits,
            "region": region,
            "channel": channel,
            "segment": np.array(SEGMENTS)[np.minimum(drawn, len(SEGMENTS) - 1)],
        }
    )


def _prices(rng: np.random.Generator, start: int, rows: int) -> pd.DataFrame:
    area = np.round(rng.uniform(25, 180, rows), 1)
    rooms = np.clip(np.rint(area / 30 + rng.normal(0, 0.7, rows)), 1, 8).astype(np.int64)
    age = rng.integers(0, 100, rows)
    district = rng.choice(DISTRICTS, rows)
    garden = rng.choice(("yes", "no"), rows, p=(0.3, 0.7))
    price = 2_500 * area + 6_000 * rooms - 600 * age + 15_000 * (garden == "yes")
    price += np.vectorize(DISTRICT_PRICE.__getitem__, otypes=[float])(district) if rows else 0.0
    price += rng.normal(0, PRICE_NOISE, rows)
    return pd.DataFrame(
        {
            "listing_id": np.arange(start, start + rows) + 100_000,
            "area_m2": area,
            "rooms": rooms,
            "age_years": age,
            "district": district,
            "garden": garden,
            "price": np.round(price + 50_000, 2),
        }
    )


GENERATORS = {"multiclass": generate_segments, "regression": generate_prices}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m handlers.data.synthetic_tasks",
        description="Write a synthetic multiclass (segment) or regression (price) CSV file.",
    )
    parser.add_argument("--kind", choices=sorted(GENERATORS), required=True)
    parser.add_argument("--rows", type=int, required=True, help="number of data rows")
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.rows < 0:
        parser.error("--rows must not be negative")
    with args.out.open("wb") as sink:
        GENERATORS[args.kind](sink, args.rows, seed=args.seed)
    print(f"wrote {args.rows} {args.kind} rows to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
