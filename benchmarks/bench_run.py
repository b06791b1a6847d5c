"""Time one model run, its construction, and the headline `sim-run`, on this machine.

    .venv/bin/python benchmarks/bench_run.py [repeats]

Reports medians; speed targets live here and in the docs, never in tests.
"""

from __future__ import annotations

import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from sim.cli import compose
from sim.config import validate
from sim.experiment import prepare
from sim.model import AllianceModel


def _median(f: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(repeats: int = 30) -> None:
    cfg = compose(["scenario=sunni_outreach"])
    validate(cfg)
    world, mechanisms, schedule = prepare(cfg)
    seeds = iter(np.random.SeedSequence(0).spawn(10 * repeats))

    def build() -> AllianceModel:
        return AllianceModel(world, mechanisms, schedule, rng=np.random.default_rng(next(seeds)))

    construct = _median(build, repeats)
    run = _median(lambda: build().run(), repeats)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sim", f"hydra.run.dir={Path(tmp) / 'out'}"], check=True,
                       capture_output=True)
        headline = time.perf_counter() - start
    months = len(schedule.dates)
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"2018 world, {world.n} actors, {months} months (scenario sunni_outreach), median of {repeats}:")
    print(f"  model construction        {construct * 1e3:8.2f} ms")
    print(f"  one run (build + {months} steps) {run * 1e3:8.2f} ms  ({run / months * 1e3:.3f} ms per step)")
    print(f"  runs per second, 1 process {1 / run:8.1f}")
    print(f"sim-run, headline (2 scenarios x 20 replications, figures, files): {headline:.2f} s wall")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
