"""The calibration's simulator: what one ABC worker spends its time on, and the model beside it.

    cd benchmarks && ../.venv/bin/python bench_calibration.py [--candidates K] [--rounds N] [--old CHECKOUT]

``sim.calibrate.simulate_statistics`` of K candidate parameter sets (default 500, one worker's chunk
of a 1,000-particle round on 2 workers) at the model's defaults, each with the calibration's 6
replications of the history replay and of its control (nothing happens), 2018-11..2024-11, in one
process: simulated histories per second, and the stacked engine's replications per second for the
same slices when it records the metrics and every pair field (``run_batch(..., pairs=True)``, as
the calibration did before it asked for the ties alone). ``--old`` runs the same measurement in
another checkout (its own code on ``PYTHONPATH``), rounds alternating, and prints the ratio. The
checksum of the statistics is printed too: two checkouts of the same model must agree on it.
Target (issue 13): the whole calibration, both steps, in 20 minutes on this 2-core machine. Not a
test: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPLICATIONS = 6  # experiment=calibrate's replications per simulated history


def measure(candidates: int) -> dict[str, float]:
    """One round in this process: the calibration's path, then the full-record path, same slices."""
    import numpy as np

    from sim.api import calibration_cells
    from sim.batch import run_batch
    from sim.calibrate import prepare_target, simulate_statistics
    from sim.patterns import default_patterns
    from sim.priors import mechanism_priors

    cells, cfg = calibration_cells(["experiment=calibrate", "experiment.calibration.worlds=0"])
    keys = tuple(str(k) for k in cfg.experiment.parameters)
    target = prepare_target(cells, keys, "2024-11", default_patterns(), REPLICATIONS, priors=mechanism_priors())
    params = [target.base] * candidates
    seeds = [np.random.SeedSequence([2018, k]).spawn(REPLICATIONS) for k in range(candidates)]
    simulate_statistics(target, params[:8], seeds[:8])  # imports and first-call costs out of the timing
    start = time.perf_counter()
    history, control = simulate_statistics(target, params, seeds)
    lean = time.perf_counter() - start
    drawn = target.drawn(None)
    slices = [s for row in seeds for s in row]
    start = time.perf_counter()
    for schedule in (drawn.history, drawn.control):
        for lo in range(0, len(slices), 256):
            part = slices[lo:lo + 256]
            run_batch(drawn.world, [target.base] * len(part), schedule, part, pairs=True)
    full = time.perf_counter() - start
    return {"seconds": lean, "histories_per_second": candidates / lean,
            "replications_per_second": 2 * candidates * REPLICATIONS / lean,
            "full_record_replications_per_second": 2 * candidates * REPLICATIONS / full,
            "checksum": float(history.sum() + control.sum())}


def in_checkout(checkout: Path, candidates: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    out = subprocess.run([sys.executable, __file__, "--json", "--candidates", str(candidates)], cwd=checkout,
                         env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--old", type=Path, help="another checkout to measure beside this one")
    parser.add_argument("--json", action="store_true", help="one round, printed as JSON (used by --old)")
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args.candidates)))
        return
    rounds: dict[str, list[dict[str, float]]] = {"this": [], "old": []}
    for _ in range(args.rounds):
        rounds["this"].append(in_checkout(ROOT, args.candidates))
        if args.old:
            rounds["old"].append(in_checkout(args.old.resolve(), args.candidates))
    for label, got in rounds.items():
        if not got:
            continue
        seconds = [r["seconds"] for r in got]
        print(f"{label}: {args.candidates} candidates x {REPLICATIONS} replications, history + control: "
              + ", ".join(f"{s:.2f}" for s in seconds) + f" s; median {statistics.median(seconds):.2f} s, "
              f"{args.candidates / statistics.median(seconds):.1f} histories/s; the stacked engine with every "
              f"metric and pair field: {statistics.median(r['full_record_replications_per_second'] for r in got):.0f}"
              f" replications/s against {statistics.median(r['replications_per_second'] for r in got):.0f}; "
              f"checksum {got[0]['checksum']:.12g}")
    if rounds["old"]:
        ratio = statistics.median(r["seconds"] for r in rounds["old"]) / statistics.median(
            r["seconds"] for r in rounds["this"])
        print(f"old / this, median seconds: {ratio:.2f}x")


if __name__ == "__main__":
    main()
