"""The history replay as a user runs it: ``sim-run scenario=history`` at the default size, whole process.

    cd benchmarks && ../.venv/bin/python bench_history.py [rounds]

Target (issue 11): under a minute on this 2-core machine, writing ``dyads.parquet``. Prints each
round's wall time, the median, the size of ``dyads.parquet`` (rows, bytes) and the stepping time
of the same cell inside one process (``run_cell`` with the pair table), so the overhead beside the
simulation is visible. Not a test: timings depend on the machine and its load.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent


def whole_process(out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sim", "scenario=history", f"hydra.run.dir={out}"], cwd=ROOT, check=True,
                   capture_output=True)
    return time.perf_counter() - start


def stepping() -> float:
    from sim.api import checked, compose, scenario_files
    from sim.experiment import Cell, run_cell

    cell = Cell("history", checked(compose(["scenario=history"]), scenario_files("history")))
    start = time.perf_counter()
    run_cell(cell, pairs=True)
    return time.perf_counter() - start


def main(rounds: int = 3) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        times = [whole_process(Path(tmp) / f"run{k}") for k in range(rounds)]
        dyads = Path(tmp) / "run0" / "dyads.parquet"
        rows, size = len(pd.read_parquet(dyads)), dyads.stat().st_size
    steps = statistics.median(stepping() for _ in range(rounds))
    print(f"sim-run scenario=history (20 replications, 2018-11..2025-12), whole process, {rounds} rounds: "
          + ", ".join(f"{t:.1f} s" for t in times) + f"; median {statistics.median(times):.1f} s")
    print(f"dyads.parquet: {rows:,} rows, {size / 2**20:.1f} MiB")
    print(f"the cell's 20 replications with the pair table, in-process (median): {steps:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
