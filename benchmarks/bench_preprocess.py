"""Preprocessing throughput and peak memory: the chunked transform vs a whole-file pandas baseline.

    .venv/bin/python benchmarks/bench_preprocess.py [--rows 1000000 5000000] [--workdir DIR]

For each size it writes a synthetic bank-marketing file (handlers.data.synthetic) to a temporary
directory, then runs each method in a fresh subprocess on that file:

* `imports`  — imports what the others import and stops: the fixed interpreter + library cost;
* `chunked`  — handlers.data.features.transform_csv (validate + encode, 100k-row chunks);
* `pandas`   — the original pipeline's way: read_csv of the whole file, the two indicators,
  get_dummies, drop, label first, to_csv.

Rows/s is measured inside the child around the work only (imports excluded); `cpu s` is the
child's user + system time, imports included, which stays meaningful on a busy machine. Peak
memory is the child's maximum resident set size, taken from os.wait4 for that child alone:
getrusage(RUSAGE_CHILDREN) holds the maximum over every child waited for so far, which would let
one measurement leak into the next. Linux starts a child's peak at its parent's size (the fork
before exec), so the parent imports nothing heavy and generates the data in a subprocess too.
Files are deleted as soon as they have been measured.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from handlers.recipe.reader import load_packaged

METHODS = ("imports", "chunked", "pandas")
DEFAULT_ROWS = (1_000_000, 5_000_000)


@dataclass(frozen=True)
class Measurement:
    rows: int
    method: str
    seconds: float
    cpu_seconds: float  # user + system of the whole child, imports included
    peak_mib: float
    output_mib: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


# --- the children -----------------------------------------------------------------------------


def run_child(method: str, raw: Path, out: Path) -> None:
    """Do one method's work and print how long the work itself took."""
    # Imported by every method, so `imports` measures the same fixed cost.
    import numpy  # noqa: F401
    import pandas  # noqa: F401

    from handlers.data.features import transform_csv

    recipe = load_packaged("bank-marketing")
    started = time.perf_counter()
    if method == "chunked":
        with raw.open("rb") as source, out.open("wb") as sink:
            transform_csv(source, sink, recipe, file=raw.name)
    elif method == "pandas":
        whole_file_pandas(raw, out, recipe.drop)
    print(json.dumps({"seconds": time.perf_counter() - started}))


def whole_file_pandas(raw: Path, out: Path, drop: tuple[str, ...]) -> None:
    import numpy as np
    import pandas

    frame = pandas.read_csv(raw)
    frame["no_previous_contact"] = np.where(frame["pdays"] == 999, 1, 0)
    frame["not_working"] = np.where(frame["job"].isin(["student", "retired", "unemployed"]), 1, 0)
    encoded = pandas.get_dummies(frame, dtype=int).drop(columns=list(drop))
    label = encoded.pop("y_yes").rename("y")
    encoded = pandas.concat([label, encoded.drop(columns=["y_no"])], axis=1)
    encoded.to_csv(out, index=False)


# --- the parent -------------------------------------------------------------------------------


def measure(method: str, raw: Path, out: Path, rows: int) -> Measurement:
    command = [sys.executable, __file__, "--child", method, str(raw), str(out)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    report = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{method} on {raw.name} failed with exit code {child.returncode}")
    output_mib = out.stat().st_size / 2**20 if out.exists() else 0.0
    out.unlink(missing_ok=True)
    return Measurement(
        rows=rows,
        method=method,
        seconds=json.loads(report)["seconds"],
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_mib=usage.ru_maxrss / 1024,  # Linux reports KiB
        output_mib=output_mib,
    )


def write_synthetic(path: Path, rows: int) -> float:
    """In a subprocess too: the parent stays small, and its size is every child's floor."""
    command = [
        sys.executable,
        "-m",
        "handlers.data.synthetic",
        "--rows",
        str(rows),
        "--out",
        str(path),
    ]
    started = time.perf_counter()
    subprocess.run([*command, "--seed", "1729"], check=True, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def print_table(results: list[Measurement], raw_sizes: dict[int, float]) -> None:
    print()
    print(f"{'rows':>10} {'file MiB':>9} {'method':>8} {'seconds':>8} {'rows/s':>10} "
          f"{'cpu s':>7} {'peak MiB':>9} {'out MiB':>8}")  # fmt: skip
    for m in results:
        rate = f"{m.rows_per_second:,.0f}" if m.method != "imports" else "-"
        cells = [f"{m.rows:>10,}", f"{raw_sizes[m.rows]:>9,.0f}", f"{m.method:>8}"]
        cells += [f"{m.seconds:>8.2f}", f"{rate:>10}", f"{m.cpu_seconds:>7.1f}"]
        cells += [f"{m.peak_mib:>9,.0f}", f"{m.output_mib:>8,.0f}"]
        print(" ".join(cells))
    print()
    for rows in raw_sizes:
        by_method = {m.method: m for m in results if m.rows == rows}
        chunked, whole, imports = by_method["chunked"], by_method["pandas"], by_method["imports"]
        speed = whole.seconds / chunked.seconds
        memory = whole.peak_mib / chunked.peak_mib
        above_imports = (whole.peak_mib - imports.peak_mib) / max(
            chunked.peak_mib - imports.peak_mib, 1.0
        )
        print(
            f"{rows:>10,} rows: chunked is {speed:.1f}x faster and peaks {memory:.1f}x lower "
            f"({above_imports:.0f}x lower above the {imports.peak_mib:,.0f} MiB import baseline)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=list(DEFAULT_ROWS))
    parser.add_argument("--workdir", type=Path, default=None, help="where the temporary files go")
    parser.add_argument(
        "--child", nargs=3, metavar=("METHOD", "RAW", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        method, raw, out = args.child
        run_child(method, Path(raw), Path(out))
        return
    results: list[Measurement] = []
    raw_sizes: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-preprocess-", dir=args.workdir) as tmp:
        for rows in args.rows:
            raw = Path(tmp) / f"raw-{rows}.csv"
            seconds = write_synthetic(raw, rows)
            raw_sizes[rows] = raw.stat().st_size / 2**20
            print(f"wrote {rows:,} synthetic rows ({raw_sizes[rows]:,.0f} MiB) in {seconds:.1f} s")
            for method in METHODS:
                results.append(measure(method, raw, Path(tmp) / f"out-{method}.csv", rows))
                print(f"  {method}: {results[-1].seconds:.2f} s, {results[-1].peak_mib:,.0f} MiB")
            raw.unlink()
    print_table(results, raw_sizes)


if __name__ == "__main__":
    main()
