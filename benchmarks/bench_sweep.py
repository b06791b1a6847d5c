"""Replications per second through each sweep path, beside the model's time per run.

    .venv/bin/python benchmarks/bench_sweep.py                 # the full comparison (a few minutes)
    .venv/bin/python benchmarks/bench_sweep.py --quick         # smaller loads
    .venv/bin/python benchmarks/bench_sweep.py --out bench.json

Paths, each on the outreach sweep of the 2018 world at its default horizon (11 levels, one
shared baseline: 12 cells x R replications):

- the model's own cost, from ``bench_model.py``: one Mesa model run, the same mechanisms as a bare
  numpy loop, and one cell of R replications through the batched engine (``run_prepared``),
  which is what every sweep path runs;
- the in-process evaluator (``sim-run experiment=outreach_sweep``) at 1 and 2 workers;
- Hydra multirun (``sim-run -m experiment=outreach_sweep``) with the basic and joblib launchers.

Each path runs as a fresh ``sim-run`` into a new directory and is timed from the outside
(wall clock, including interpreter start, process-pool start and the report), so the figures
are what a user waits for. Replications per second = cells x R / wall seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_model import bench_2018, bench_batched  # beside this script


def sim_run(args: list[str], cwd: Path) -> tuple[float, float | None]:
    """Wall seconds of a fresh ``sim-run``, and the evaluation-only seconds it printed (if any)."""
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    start = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        raise RuntimeError(f"sim-run {' '.join(args)} failed:\n{p.stderr[-3000:]}")
    found = re.search(r"finished in ([0-9.]+) s", p.stdout)
    return wall, float(found.group(1)) if found else None


def sweep_memory(samples: tuple[int, ...] = (8, 32)) -> list[dict[str, float]]:
    """Memory the evaluator's parent holds (tracemalloc) for Sobol' designs of growing size.

    Workers write every result to disk, so the parent's peak during evaluation should not grow
    with the number of cells; only the plan does (about a kB per cell).
    """
    import tracemalloc

    from sim.api import build_pair
    from sim.sweep import evaluate, plan, write_plan

    rows = []
    for n in samples:
        over = ["replications=2", "experiment=sensitivity", f"experiment.samples={n}"]
        pair = build_pair(over, "baseline", "sunni_outreach")
        tracemalloc.start()
        p = plan(pair.control, pair.treatment, pair.control.config.experiment, treatment_only=pair.treatment_only)
        planned = tracemalloc.get_traced_memory()[0]
        with tempfile.TemporaryDirectory() as tmp:
            write_plan(Path(tmp), p)
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            evaluate(p, Path(tmp), workers=2, progress=False)
            peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rows.append({"cells": len(p.cells), "plan_mb": planned / 1e6, "evaluate_peak_mb": (peak - before) / 1e6})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller loads")
    parser.add_argument("--replications", type=int, default=None, help="R per cell (default 300, quick 50)")
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    parser.add_argument("--memory", action="store_true", help="only the parent's memory against the number of cells")
    args = parser.parse_args()
    if args.memory:
        for row in sweep_memory():
            print(f"{row['cells']:5d} cells: plan {row['plan_mb']:.1f} MB, parent's peak while evaluating "
                  f"{row['evaluate_peak_mb']:.2f} MB above its start")
        return
    reps = args.replications or (50 if args.quick else 300)
    cells = 12
    rows: list[tuple[str, float, float]] = []  # (path, seconds, replications per second)

    single = bench_2018(10 if args.quick else 30)
    rows.append(("one Mesa model run (median)", single["run_ms_median"] / 1e3, 1e3 / single["run_ms_median"]))
    rows.append(("the same mechanisms, bare numpy loop (median)", single["bare_ms_median"] / 1e3,
                 1e3 / single["bare_ms_median"]))
    batch = bench_batched(3, (reps,))[f"batch_{reps}"]
    per = batch["ms_per_replication_median"] / 1e3
    rows.append((f"batched engine, one cell of {reps} (per replication)", per, 1 / per))
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        base = ["experiment=outreach_sweep", f"replications={reps}"]
        for workers in (1, 2):
            wall, evaluation = sim_run([*base, f"experiment.workers={workers}",
                                        f"hydra.run.dir={cwd / f'ev{workers}'}"], cwd)
            assert evaluation is not None
            rows.append((f"in-process evaluator, {workers} worker(s): cells only", evaluation,
                         cells * reps / evaluation))
            rows.append(("  the same, whole sim-run (start, report)", wall, cells * reps / wall))
        for launcher in ("basic", "joblib"):
            wall, _ = sim_run(["-m", *base, f"hydra/launcher={launcher}", f"hydra.sweep.dir={cwd / launcher}"], cwd)
            rows.append((f"Hydra multirun, {launcher} launcher (whole)", wall, cells * reps / wall))

    print(f"outreach sweep: {cells} cells x {reps} replications = {cells * reps} runs of 86 months; "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'path':52s} {'seconds':>9s} {'replications/s':>15s}")
    for name, seconds, rate in rows:
        print(f"{name:52s} {seconds:9.3f} {rate:15.1f}")
    if args.out:
        args.out.write_text(json.dumps({
            "replications": reps, "cells": cells, "cores": os.cpu_count(), "python": platform.python_version(),
            "processor": platform.processor(), "rows": [{"path": n, "seconds": s, "replications_per_second": r}
                                                        for n, s, r in rows]}, indent=2))


if __name__ == "__main__":
    main()
