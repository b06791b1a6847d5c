"""Before against after: the same measurements on two source trees, in one run, alternating.

    .venv/bin/python benchmarks/bench_compare.py /path/to/old/checkout          # old tree vs this one
    .venv/bin/python benchmarks/bench_compare.py OLD --rounds 3 --sobol-samples 64 --out compare.json

``OLD`` is a checkout of an earlier revision (``git worktree add /tmp/base REV``). Every
measurement runs in a fresh interpreter with ``PYTHONPATH`` set to one tree, so that tree's
``sim`` package and ``configs/`` are the ones imported (the environment's packages are shared);
the trees alternate round by round, so both see the same machine load. Per tree and round:

- ``stacked``: replications per second of one cell of the 2018 world (``sunni_outreach``, 86
  months) with R = 100 replications through ``sim.experiment.run_prepared`` (the tidy table
  included), best of 3 cells;
- ``model``/``floor``: the median time of one Mesa model run (``run_replication``, metrics read)
  and of the tree's own bare numpy loop (``benchmarks/bare_loop.py``), 20 interleaved runs, and
  their ratio (``bench_model.bench_2018``);
- ``evaluator``: ``sim-run experiment=outreach_sweep replications=100`` (12 cells, 2 workers):
  replications per second of its evaluation, from its own report line;
- ``sobol``: wall seconds of ``sim-run experiment=sensitivity experiment.samples=N`` (every numeric
  mechanism parameter, N (D + 2) points, 2 cells each, 20 replications), whole command.

Medians over the rounds are printed side by side with the ratio new / old.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

PROBE = r"""
import json, sys, time
sys.path.insert(0, "{tree}/benchmarks")
from bench_model import bench_2018
try:
    from sim.api import compose
except ImportError:  # revisions before sim.api
    from sim.cli import compose
from sim.experiment import prepare, run_prepared
world, mechanisms, schedule = prepare(compose(["scenario=sunni_outreach"]))
run_prepared("w", world, mechanisms, schedule, 0, 20)
best = float("inf")
for k in range(3):
    t = time.perf_counter()
    run_prepared("w", world, mechanisms, schedule, k, 100)
    best = min(best, time.perf_counter() - t)
m = bench_2018(20)
print(json.dumps({{"stacked_reps_per_s": 100 / best, "model_ms": m["run_ms_median"], "floor_ms": m["bare_ms_median"],
                  "model_floor_ratio": m["ratio_median"]}}))
"""


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree), "HYDRA_FULL_ERROR": "1"}


def probe(tree: Path) -> dict[str, float]:
    p = subprocess.run([sys.executable, "-c", PROBE.format(tree=tree)], capture_output=True, text=True,
                       env=_env(tree), cwd=tree, check=False)
    if p.returncode:
        raise RuntimeError(f"{tree}: {p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def sim_run(tree: Path, args: list[str]) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "sim", *args, f"hydra.run.dir={tmp}/run"], capture_output=True,
                           text=True, env=_env(tree), cwd=tmp, check=False)
        wall = time.perf_counter() - start
    if p.returncode:
        raise RuntimeError(f"{tree}: sim-run {' '.join(args)}:\n{p.stderr[-2000:]}")
    return wall, p.stdout


def measure(tree: Path, sobol_samples: int) -> dict[str, float]:
    out = probe(tree)
    _, stdout = sim_run(tree, ["experiment=outreach_sweep", "replications=100", "experiment.workers=2"])
    rate = re.search(r"\(([0-9.]+) replications/s\)", stdout)
    out["evaluator_reps_per_s"] = float(rate.group(1)) if rate else float("nan")
    out["sobol_seconds"], _ = sim_run(tree, ["experiment=sensitivity", f"experiment.samples={sobol_samples}"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path, help="checkout of the earlier revision")
    parser.add_argument("--new", type=Path, default=HERE, help="checkout of the later revision (default: this one)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sobol-samples", type=int, default=64, help="Sobol' base sample N (a power of 2)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    trees = {"old": args.old.resolve(), "new": args.new.resolve()}
    rows: dict[str, list[dict[str, float]]] = {k: [] for k in trees}
    for r in range(args.rounds):
        for name, tree in (trees.items() if r % 2 == 0 else reversed(trees.items())):
            rows[name].append(measure(tree, args.sobol_samples))
            print(f"round {r + 1} {name}: {rows[name][-1]}", flush=True)
    load = os.getloadavg()[0]
    print(f"\nmedians over {args.rounds} rounds (load average now {load:.1f}); Sobol' samples {args.sobol_samples}")
    print(f"{'measure':<24}{'old':>12}{'new':>12}{'new/old':>10}")
    summary = {}
    for key in rows["old"][0]:
        old = statistics.median(x[key] for x in rows["old"])
        new = statistics.median(x[key] for x in rows["new"])
        summary[key] = {"old": old, "new": new, "ratio": new / old}
        print(f"{key:<24}{old:>12.3f}{new:>12.3f}{new / old:>10.2f}")
    if args.out:
        args.out.write_text(json.dumps({"rounds": rows, "medians": summary, "trees": {k: str(v) for k, v in
                                                                                     trees.items()}}, indent=1))


if __name__ == "__main__":
    main()
