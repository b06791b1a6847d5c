"""The headline as a user waits for it: the whole ``sim-run`` process, its stages, and its stepping.

    .venv/bin/python benchmarks/bench_headline.py                     # this tree, 3 rounds
    .venv/bin/python benchmarks/bench_headline.py --old /tmp/base     # an earlier checkout beside it
    .venv/bin/python benchmarks/bench_headline.py --quick --out headline.json

Per tree and round, each measurement in a fresh interpreter with ``PYTHONPATH`` set to the tree
(so its ``sim`` and ``configs/`` are the ones imported; the environment's packages are shared),
trees alternating round by round so that both see the same machine load:

- ``whole_s``: wall seconds of ``python -m sim replications=R`` (the headline pair, every file
  written), from process start to exit;
- its stages, from the run's ``provenance.json`` (``stages``: compose/validate, prepare,
  simulate, statistics, tables, figures; trees before issue 15 did not record them);
- ``stepping_s``: the same two cells' stepping alone (``sim.experiment.run_prepared`` on the
  prepared world, the tidy tables included), in one warm process, median of 5;
- ``whole / stepping``: what the process costs beyond the model (and its CPU seconds over the
  stepping's);
- ``import_s``: ``python -c "import sim.cli"``; ``error_s``: ``python -m sim policy.outreach=2``
  (a bad override: the process ends after its one-line error);
- ``multirun_job_s``: a 3-job Hydra multirun with the basic launcher
  (``-m policy.outreach=0,0.5,1 replications=4``), wall seconds per job, less the report it ends
  with (``multirun_report_s``, as it prints it; trees before issue 15 wrote none).

Before the first round each tree's ``sim`` package is byte-compiled (``python -m compileall``), as a
user's Python caches it at the first run: this machine sets ``PYTHONDONTWRITEBYTECODE=1``, under which
an editable install's modules would be compiled from source in every process (about 0.25 s of a run;
the installed libraries are compiled by pip). ``make setup`` compiles it too.

Beside each wall time, ``*_cpu_s``: the CPU seconds (user + system) of the same child process
(``resource.getrusage(RUSAGE_CHILDREN)``), which a busy machine inflates far less than the wall
time; ``load_1m``: the 1-minute load average when the round started (2 cores: above 1, other
work shared them). Medians over the rounds are printed side by side (and with ``--old``, the
ratio new / old). Goals (issue 15): ``whole_s`` at R = 30 within 5 s on this 2-core machine
when quiet and within 10x of ``stepping_s``; ``error_s`` under 1.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

STEPPING = r"""
import json, statistics, time
from sim.experiment import prepare, run_prepared
try:
    from sim.api import build_pair
    configs = [(c.scenario, c.config) for c in build_pair(["replications={r}"], "baseline", "sunni_outreach").cells]
except ImportError:  # trees before sim.api (e4c7b1b): the CLI's composer, one scenario at a time
    from sim.cli import compose
    configs = [(name, compose(["replications={r}", f"scenario={{name}}"])) for name in ("baseline", "sunni_outreach")]
prepared = [(name, *prepare(config)) for name, config in configs]
def step():
    for scenario, world, mechanisms, schedule in prepared:
        run_prepared(scenario, world, mechanisms, schedule, 2018, {r})
step()
times = []
for _ in range(5):
    t = time.perf_counter()
    step()
    times.append(time.perf_counter() - t)
print(json.dumps({{"stepping_s": statistics.median(times)}}))
"""


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree), "HYDRA_FULL_ERROR": "0"}


def _cpu() -> float:
    """User + system CPU seconds of this process's waited-for children so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _wall(tree: Path, args: list[str], cwd: str, *, ok: bool = True
          ) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall and CPU seconds of ``python ARGS`` run with ``tree`` first on the path, and the process."""
    start, cpu = time.perf_counter(), _cpu()
    p = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=_env(tree), cwd=cwd, check=False)
    wall, cpu = time.perf_counter() - start, _cpu() - cpu
    if ok and p.returncode:
        raise RuntimeError(f"{tree}: {' '.join(args)}:\n{p.stderr[-2000:]}")
    return wall, cpu, p


def measure(tree: Path, replications: int, multirun: bool) -> dict[str, float]:
    """One round of every measurement on one tree (see the module docstring)."""
    out: dict[str, float] = {"load_1m": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        out["whole_s"], out["whole_cpu_s"], _ = _wall(
            tree, ["-m", "sim", f"replications={replications}", f"hydra.run.dir={run}"], tmp)
        stages = json.loads((run / "provenance.json").read_text()).get("stages", {})
        out |= {f"stage_{k}_s": float(v) for k, v in stages.items()}
        _, _, p = _wall(tree, ["-c", STEPPING.format(r=replications)], tmp)
        out["stepping_s"] = json.loads(p.stdout.strip().splitlines()[-1])["stepping_s"]
        out["whole_over_stepping"] = out["whole_s"] / out["stepping_s"]
        out["whole_cpu_over_stepping"] = out["whole_cpu_s"] / out["stepping_s"]
        out["import_s"], out["import_cpu_s"], _ = _wall(tree, ["-c", "import sim.cli"], tmp)
        out["error_s"], out["error_cpu_s"], p = _wall(
            tree, ["-m", "sim", "policy.outreach=2", f"hydra.run.dir={tmp}/bad"], tmp, ok=False)
        if p.returncode != 2 or "error:" not in p.stderr:
            raise RuntimeError(f"{tree}: a bad override did not fail as expected:\n{p.stderr[-2000:]}")
        if multirun:
            wall, cpu, p = _wall(tree, ["-m", "sim", "-m", "policy.outreach=0,0.5,1", "replications=4",
                                        f"hydra.sweep.dir={tmp}/multirun"], tmp)
            report = re.search(r"report of .* in ([0-9.]+) s", p.stdout)  # a multirun's report (since issue 15)
            out["multirun_report_s"] = float(report.group(1)) if report else 0.0
            out["multirun_job_s"] = (wall - out["multirun_report_s"]) / 3
            out["multirun_cpu_per_job_s"] = cpu / 3  # the report's CPU included (it is not timed apart)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", type=Path, default=None, help="a checkout of an earlier revision, measured beside")
    parser.add_argument("--new", type=Path, default=HERE, help="the tree to measure (default: this one)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--replications", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="one round, no multirun")
    parser.add_argument("--out", type=Path, default=None, help="write every round and the medians as JSON")
    args = parser.parse_args()
    rounds = 1 if args.quick else args.rounds
    trees = {"new": args.new.resolve()} | ({"old": args.old.resolve()} if args.old else {})
    rows: dict[str, list[dict[str, float]]] = {k: [] for k in trees}
    for tree in trees.values():  # the bytecode cache a user's first run leaves (see the module docstring)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "sim")], check=True)
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    for r in range(rounds):
        for name, tree in (trees.items() if r % 2 == 0 else reversed(trees.items())):
            rows[name].append(measure(tree, args.replications, multirun=not args.quick))
            print(f"round {r + 1} {name}: " + ", ".join(f"{k} {v:.3f}" for k, v in rows[name][-1].items()),
                  flush=True)
    print(f"\nsim-run replications={args.replications}: medians over {rounds} round(s); "
          f"load average now {os.getloadavg()[0]:.2f} (2 cores: above 1 the machine was busy)")
    keys = list(dict.fromkeys(k for runs in rows.values() for run in runs for k in run))
    medians = {name: {k: statistics.median(run[k] for run in runs if k in run) for k in keys
                      if any(k in run for run in runs)} for name, runs in rows.items()}
    header = f"{'measure':<26}" + "".join(f"{name:>10}" for name in trees) + ("  new/old" if "old" in trees else "")
    print(header)
    for k in keys:
        cells = "".join(f"{medians[name][k]:>10.3f}" if k in medians[name] else f"{'-':>10}" for name in trees)
        ratio = ""
        if "old" in trees and k in medians["old"] and k in medians["new"] and medians["old"][k]:
            ratio = f"{medians['new'][k] / medians['old'][k]:>9.2f}"
        print(f"{k:<26}{cells}{ratio}")
    if args.out:
        args.out.write_text(json.dumps({"rounds": rows, "medians": medians, "replications": args.replications,
                                        "trees": {k: str(v) for k, v in trees.items()}}, indent=1))


if __name__ == "__main__":
    main()
