"""How many distinct parameter sets the property tests draw, and in how long (issue 14: at least 1,000).

    .venv/bin/python benchmarks/property_draws.py

Runs the two drawing tests of ``tests/test_properties.py`` (the synthetic worlds, then the 2018
world under each scenario with events) in this process, exactly as pytest runs them (same
settings, derandomized), with a wrapper around ``run_and_check`` that records every parameter set
of every stack: a set is the whole :class:`sim.config.MechanismsConfig` (switches and every
numeric parameter). Prints the runs, the distinct sets and the seconds of each part. Not a test:
Hypothesis' replays and mutations repeat sets, so only counting tells how many distinct ones ran.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import test_properties as tp


def flat(x: Any) -> tuple[Any, ...]:
    """A MechanismsConfig as a hashable tuple of its leaves."""
    if dataclasses.is_dataclass(x):
        return tuple(flat(getattr(x, f.name)) for f in dataclasses.fields(x))
    return x


def main() -> None:
    seen: set[tuple[Any, ...]] = set()
    runs = 0
    check = tp.run_and_check

    def counted(world, sets, schedules, alone, seed, pick):  # type: ignore[no-untyped-def]
        nonlocal runs
        seen.update(flat(m) for m in sets)
        runs += len(sets)
        return check(world, sets, schedules, alone, seed, pick)

    tp.run_and_check = counted
    start = time.perf_counter()
    tp.test_drawn_parameter_sets_on_synthetic_worlds_keep_every_invariant()
    synthetic = (runs, len(seen), time.perf_counter() - start)
    for scenario in tp.WORLD_2018_SCENARIOS:
        tp.test_drawn_parameter_sets_on_the_2018_world_keep_every_invariant(scenario=scenario)
    total = time.perf_counter() - start
    print(f"synthetic worlds ({tp.SYNTHETIC_EXAMPLES} examples): {synthetic[0]} runs, {synthetic[1]} distinct "
          f"parameter sets, {synthetic[2]:.0f} s")
    print(f"2018 world ({tp.WORLD_2018_EXAMPLES} examples x {len(tp.WORLD_2018_SCENARIOS)} scenarios): "
          f"{runs - synthetic[0]} runs")
    print(f"all: {runs} runs of {len(seen)} distinct parameter sets in {total:.0f} s")


if __name__ == "__main__":
    main()
