"""Benchmark of one model run against its bare-numpy floor, and of how the cost grows with N.

    .venv/bin/python benchmarks/bench_model.py                      # everything (several minutes)
    .venv/bin/python benchmarks/bench_model.py --quick              # a subset (about 20 s)
    .venv/bin/python benchmarks/bench_model.py --out bench.json     # also write the figures as JSON
    .venv/bin/python benchmarks/bench_model.py --quick --instructions   # and instructions per run (valgrind)

It reports, side by side:

1. one run of the 2018 world (scenario sunni_outreach) at the default horizon, every metric
   recorded: the median time of ``sim.experiment.run_replication`` (construction included) and
   of reading its metric array (the DataCollector measures the months it holds when read),
   the median construction time alone, the median time of the bare numpy loop
   (``benchmarks/bare_loop.py``: the same mechanisms, no Mesa, no recording) and their ratio.
   Runs alternate between the model and the floor so that both see the same machine load.
2. the batched engine (``sim.batch``, the default engine of ``sim.experiment.run_prepared``):
   one cell of R = 20, 50 and 100 replications of the same world through ``run_prepared`` (the
   tidy table included), time per replication and replications per second, min and median of
   several cells, alternating with the same cell through ``engine="mesa"`` (one Mesa model per
   replication) at R = 20. Both engines give the same table, bit for bit (``tests/test_batch.py``).
3. synthetic worlds (``world=synthetic world.n_states=N``, scenario ``outreach``) for 120 steps,
   each in a fresh process: construction time, time per step, and peak memory, the peak
   resident set size (``resource.getrusage``) minus the resident set after imports and
   world generation, with the growth exponents fitted by least squares on log-log scales
   (``numpy.polyfit``).
4. ``sim-run`` with its defaults (2 scenarios x 20 replications, statistics, figures), wall time.

Speed goals live here and in docs/PERFORMANCE.md, never in tests. Sweep throughput (the
in-process evaluator and Hydra multirun) is measured by the sweep benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bare_loop import run_bare

from sim.api import compose
from sim.config import validate
from sim.experiment import prepare, run_prepared, run_replication
from sim.model import AllianceModel

SIZES = (10, 30, 100, 300, 1000)
CELL_SIZES = (20, 50, 100)
QUICK_SIZES = (10, 30, 100)
SYNTHETIC_STEPS = 120  # 2018-11 .. 2028-10


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "mesa": metadata.version("mesa"), "platform": platform.platform(),
            "load_average_at_start": os.getloadavg()}


def bench_2018(runs: int) -> dict[str, Any]:
    """Median times of one model run, its construction, and the bare loop, interleaved."""
    cfg = compose(["scenario=sunni_outreach"])
    validate(cfg)
    world, mechanisms, schedule = prepare(cfg)
    seeds = np.random.SeedSequence(0).spawn(3 * runs + 6)
    for s in seeds[:3]:  # warm up (imports, caches)
        run_replication(world, mechanisms, schedule, s).datacollector.array()
        run_bare(world, mechanisms, schedule, s)
    model, bare, build = [], [], []
    for k in range(runs):
        seed = seeds[6 + k]
        t = time.perf_counter()
        run_replication(world, mechanisms, schedule, seed).datacollector.array()  # the metrics computed
        model.append(time.perf_counter() - t)
        t = time.perf_counter()
        run_bare(world, mechanisms, schedule, seed)
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        AllianceModel(world, mechanisms, schedule, rng=np.random.default_rng(seeds[6 + runs + k]))
        build.append(time.perf_counter() - t)
    months = len(schedule.dates)
    med = {name: statistics.median(v) * 1e3 for name, v in (("run", model), ("bare", bare), ("build", build))}
    return {
        "world": world.name, "actors": world.n, "months": months, "runs": runs,
        "run_ms_median": med["run"], "run_ms_min": min(model) * 1e3,
        "construction_ms_median": med["build"],
        "bare_ms_median": med["bare"], "bare_ms_min": min(bare) * 1e3,
        "ratio_median": med["run"] / med["bare"], "ratio_min": min(model) / min(bare),
        "step_us_median": (med["run"] - med["build"]) / months * 1e3,
        "runs_per_second": 1e3 / med["run"],
    }


def bench_batched(cells: int, sizes: tuple[int, ...] = CELL_SIZES) -> dict[str, Any]:
    """Time per replication of one cell through run_prepared: batched at each R in ``sizes``, and
    the Mesa engine at the smallest R, cells alternating so that all see the same load."""
    cfg = compose(["scenario=sunni_outreach"])
    validate(cfg)
    world, mechanisms, schedule = prepare(cfg)
    for r in sizes[:1]:  # warm up
        run_prepared("w", world, mechanisms, schedule, 0, r)
        run_prepared("w", world, mechanisms, schedule, 0, r, engine="mesa")
    times: dict[str, list[float]] = {f"batch_{r}": [] for r in sizes} | {f"mesa_{sizes[0]}": []}
    for k in range(cells):
        for r in sizes:
            t = time.perf_counter()
            run_prepared("w", world, mechanisms, schedule, k, r)
            times[f"batch_{r}"].append((time.perf_counter() - t) / r)
        t = time.perf_counter()
        run_prepared("w", world, mechanisms, schedule, k, sizes[0], engine="mesa")
        times[f"mesa_{sizes[0]}"].append((time.perf_counter() - t) / sizes[0])
    rows = {}
    for name, v in times.items():
        engine, r = name.split("_")
        rows[name] = {"engine": engine, "replications": int(r), "cells": cells,
                      "ms_per_replication_median": statistics.median(v) * 1e3, "ms_per_replication_min": min(v) * 1e3,
                      "replications_per_second_median": 1 / statistics.median(v),
                      "replications_per_second_max": 1 / min(v)}
    return rows


def bench_synthetic(n: int, steps: int = SYNTHETIC_STEPS) -> dict[str, Any]:
    """Construction and per-step time and peak memory of one synthetic world of n states.

    Runs in this process; call it through :func:`bench_synthetic_fresh` so that the peak
    resident set size (``resource.getrusage``) belongs to this world alone.
    """
    end_month = 10 + steps  # months after 2018-01: the horizon starts 2018-11
    cfg = compose(["world=synthetic", f"world.n_states={n}", "scenario=outreach",
                   f"horizon.end={2018 + (end_month - 1) // 12}-{(end_month - 1) % 12 + 1:02d}"])
    validate(cfg)
    world, mechanisms, schedule = prepare(cfg)
    assert len(schedule.dates) == steps, (len(schedule.dates), steps)
    before = _rss_mb()
    t = time.perf_counter()
    model = AllianceModel(world, mechanisms, schedule, rng=np.random.default_rng(0))
    build = time.perf_counter() - t
    t = time.perf_counter()
    model.run()
    run = time.perf_counter() - t
    peak = _rss_mb()
    return {"n": n, "steps": steps, "construction_s": build, "run_s": run, "total_s": build + run,
            "step_ms": run / steps * 1e3, "peak_rss_mb": peak, "rss_before_mb": before, "peak_mb": peak - before}


def bench_synthetic_fresh(n: int) -> dict[str, Any]:
    """:func:`bench_synthetic` in a fresh Python process (clean peak memory, no state carried over)."""
    out = subprocess.run([sys.executable, __file__, "--one-synthetic", str(n)], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _rss_mb() -> float:
    """Peak resident set size of this process so far, MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def exponent(rows: list[dict[str, Any]], key: str, smallest: int = 0) -> float | None:
    """Slope of log(key) against log(n), least squares, over the rows with n >= smallest (and key > 0)."""
    pts = [(r["n"], r[key]) for r in rows if r["n"] >= smallest and r[key] > 0]
    if len(pts) < 2:
        return None
    n, y = np.log(np.array(pts, dtype=float)).T
    return float(np.polyfit(n, y, 1)[0])


def callgrind_child(mode: str, runs: int) -> None:
    """What ``bench_instructions`` counts: set-up and one warm-up run of each, then ``runs`` of ``mode``."""
    cfg = compose(["scenario=sunni_outreach"])
    validate(cfg)
    world, mechanisms, schedule = prepare(cfg)
    seeds = np.random.SeedSequence(0).spawn(runs + 1)
    run_replication(world, mechanisms, schedule, seeds[0]).datacollector.array()
    run_bare(world, mechanisms, schedule, seeds[0])
    for seed in seeds[1:]:
        if mode == "model":
            run_replication(world, mechanisms, schedule, seed).datacollector.array()
        else:
            run_bare(world, mechanisms, schedule, seed)


def bench_instructions(runs: int) -> dict[str, Any]:
    """Instructions per run of the model and of the bare loop, counted by ``valgrind --tool=callgrind``.

    Unlike times, the counts do not depend on what else the machine is doing. Each count is
    that of a child process doing ``runs`` runs, minus that of one doing none (the same
    imports, set-up and warm-up), divided by ``runs``. Three children, a few minutes each, with
    one BLAS thread (idle BLAS threads spinning under valgrind would add to the counts).
    """
    def count(mode: str, k: int) -> int:
        with tempfile.TemporaryDirectory() as tmp:
            p = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={Path(tmp) / 'out'}",
                                sys.executable, __file__, "--callgrind-child", mode, str(k)],
                               capture_output=True, text=True, check=True,
                               env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
        return int(next(line for line in p.stderr.splitlines() if "Collected :" in line).split(":")[-1])

    base = count("model", 0)
    model = (count("model", runs) - base) / runs
    bare = (count("bare", runs) - base) / runs
    return {"runs": runs, "model_instructions": model, "bare_instructions": bare, "ratio": model / bare}


def bench_sim_run() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sim", f"hydra.run.dir={Path(tmp) / 'out'}"], check=True,
                       capture_output=True)
        return time.perf_counter() - t


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, worlds of 10-100 states, no sim-run")
    parser.add_argument("--runs", type=int, default=None, help="runs of the 2018 world (default 50, quick 15)")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="synthetic world sizes")
    parser.add_argument("--no-sim-run", action="store_true", help="skip timing sim-run")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions per run with valgrind's callgrind (about 15 minutes)")
    parser.add_argument("--one-synthetic", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--callgrind-child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.callgrind_child:  # the child process of bench_instructions
        callgrind_child(args.callgrind_child[0], int(args.callgrind_child[1]))
        return {}
    if args.one_synthetic:  # the child process of bench_synthetic_fresh
        row = bench_synthetic(args.one_synthetic)
        print(json.dumps(row))
        return row
    runs = args.runs or (15 if args.quick else 50)
    sizes = tuple(args.sizes or (QUICK_SIZES if args.quick else SIZES))

    result: dict[str, Any] = {"machine": machine(), "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])}
    m = result["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, numpy {m['numpy']}, mesa {m['mesa']}; "
          f"load average at start {m['load_average_at_start'][0]:.2f}")

    r = result["mena_2018"] = bench_2018(runs)
    print(f"\n2018 world: {r['actors']} actors, {r['months']} months, every metric recorded; "
          f"median of {r['runs']} (min in brackets)")
    print(f"  {'one run (model, construction included)':44s} {r['run_ms_median']:8.2f} ms  [{r['run_ms_min']:.2f}]")
    print(f"  {'  of which construction':44s} {r['construction_ms_median']:8.2f} ms")
    print(f"  {'bare numpy loop (same mechanisms)':44s} {r['bare_ms_median']:8.2f} ms  [{r['bare_ms_min']:.2f}]")
    print(f"  {'ratio model / bare loop':44s} {r['ratio_median']:8.2f}     [{r['ratio_min']:.2f}]")
    print(f"  {'per step (model, after construction)':44s} {r['step_us_median']:8.1f} us")
    print(f"  {'runs per second, one process':44s} {r['runs_per_second']:8.1f}")
    if args.instructions:
        c = result["instructions_2018"] = bench_instructions(10)
        print(f"  {'instructions per run, model (callgrind)':44s} {c['model_instructions'] / 1e6:8.1f} M")
        print(f"  {'instructions per run, bare loop':44s} {c['bare_instructions'] / 1e6:8.1f} M")
        print(f"  {'ratio model / bare loop (instructions)':44s} {c['ratio']:8.2f}", flush=True)

    cells = 3 if args.quick else 7
    b = result["batched_2018"] = bench_batched(cells)
    print(f"\none cell of the 2018 world through run_prepared (table included), one process; median of {cells} "
          "cells (min in brackets)")
    print(f"  {'engine':8s} {'R':>4} {'ms per replication':>22} {'replications per second':>27}")
    for row in b.values():
        print(f"  {row['engine']:8s} {row['replications']:>4} {row['ms_per_replication_median']:>11.2f} "
              f"[{row['ms_per_replication_min']:>7.2f}] {row['replications_per_second_median']:>14.0f} "
              f"[{row['replications_per_second_max']:>8.0f}]")

    rows = []
    print(f"\nsynthetic worlds, {SYNTHETIC_STEPS} steps, one fresh process each (memory: peak RSS from "
          "resource.getrusage, and its increase over the RSS before construction)")
    print(f"  {'N':>6} {'construction s':>15} {'per step ms':>12} {'total s':>9} {'peak RSS MB':>12} "
          f"{'model MB':>9}")
    for n in sizes:
        row = bench_synthetic_fresh(n)
        rows.append(row)
        print(f"  {n:>6} {row['construction_s']:>15.3f} {row['step_ms']:>12.2f} {row['total_s']:>9.2f} "
              f"{row['peak_rss_mb']:>12.1f} {row['peak_mb']:>9.1f}", flush=True)
    fits = {
        "step_time_all": exponent(rows, "step_ms"),
        "step_time_n>=100": exponent(rows, "step_ms", 100),
        "peak_memory_n>=100": exponent(rows, "peak_mb", 100),
    }
    result["synthetic"] = {"rows": rows, "exponents": fits}
    print("  growth exponents (log-log least squares): " + ", ".join(
        f"{k} {v:.2f}" for k, v in fits.items() if v is not None))

    if not (args.quick or args.no_sim_run):
        result["sim_run_s"] = bench_sim_run()
        print(f"\nsim-run, defaults (2 scenarios x 20 replications, statistics, figures): "
              f"{result['sim_run_s']:.2f} s wall")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
        print(f"\nwritten: {args.out}")
    return result


if __name__ == "__main__":
    main()
