"""Why Russia-Iran cools in the history replay's P2, and how far any value term on that pair alone
could move it.

    .venv/bin/python experiments/russia_iran_ceiling.py [replications]

Two tables for docs/MODEL.md (replay section), at default parameters (nothing fitted):

1. Russia's allocation before and after the Western sanctions of 2022-02, one run with noise off:
   its budget, the sum of its desired commitments (the budget binds when the sum exceeds it), and
   for each partner the logistic ``p = sigmoid(beta V + B)`` of its desired commitment and its share
   of Russia's desired row (a bound row is allocated in proportion to ``p``).
2. The P2 change of Russia's rated ties (2022-01 -> 2024-11, ``replications`` replications, seed
   2018) with a diagnostic value term given to Russia-Iran alone: complementarity raised by
   ``dC`` from 2022-02 (value +dC both ways; 2.0 saturates both sides' logistic), under the
   defaults, without the sanctions' budget cut, and without the scarcity premium. It is a
   probe of the model's structure, not an event of the record and not a setting to fit.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from omegaconf import OmegaConf
from scipy.special import expit

from sim.api import checked, compose, scenario_files
from sim.config import EventConfig
from sim.experiment import Cell, prepare, run_cell
from sim.step import Month

SEED = 2018
M = "model.mechanisms."
BUMPS = (0.0, 0.2, 0.5, 2.0)
CONDITIONS = {"defaults": [], "no budget cut": [M + "sanctions.budget_cut=0"],
              "no scarcity": [M + "scarcity.enabled=false"]}
PARTNERS = ("IRN", "SYR", "CHN", "SAU", "ARE", "EGY", "TUR", "LNA")
RATED = ("IRN", "SAU", "ARE", "EGY", "TUR", "SYR")


def _config(overrides: list[str]):
    return checked(compose(["scenario=history", *overrides]), scenario_files("history"))


def allocation_table() -> pd.DataFrame:
    """Russia's row in 2022-01 and 2022-02 (one run, noise off)."""
    world, mech, schedule = prepare(_config([M + "noise.enabled=false"]))
    n = world.n
    rus = world.index("RUS")
    month = Month(world, mech, schedule, shock=np.zeros((n, n)), draw=lambda t: np.zeros((n, n)))
    a = mech.allocation
    rows = []
    for t, date in enumerate(schedule.dates):
        month.step(t)
        if date not in ("2022-01", "2022-02"):
            continue
        fixed = month.fixed_effect if month._formed is None else month._formed
        p = expit(a.rationality * month.value[rus] + fixed[rus])
        p[rus] = 0.0
        desired = month.budget[rus] * a.max_share * p
        row = {"month": date, "budget": month.budget[rus], "desired sum": desired.sum()}
        for code in PARTNERS:
            j = world.index(code)
            row[code] = f"{p[j]:.2f} ({p[j] / p.sum():.1%})"
        rows.append(row)
        if date == "2022-02":
            break
    return pd.DataFrame(rows)


def ceiling_table(replications: int) -> pd.DataFrame:
    rows = []
    for name, overrides in CONDITIONS.items():
        for bump in BUMPS:
            cfg = _config([f"replications={replications}", f"seed={SEED}", *overrides])
            if bump:
                cfg.scenario.events.append(OmegaConf.structured(EventConfig(
                    date="2022-02", name="probe: a value term on Russia-Iran alone", source="diagnostic",
                    states=["RUS", "IRN"], complementarity=bump)))
            dyads = run_cell(Cell("history", cfg), pairs=True).dyads
            row = {"condition": name, "dC on Russia-Iran": bump}
            for code in RATED:
                pair = dyads[(dyads.a == "RUS") & (dyads.b == code)].groupby("date").tie.mean()
                row[f"RUS-{code}"] = f"{pair['2024-11'] - pair['2022-01']:+.3f}"
            rows.append(row)
    return pd.DataFrame(rows)


def main(argv: list[str]) -> None:
    replications = int(argv[0]) if argv else 20
    print("## Russia's allocation before and after 2022-02 (noise off): p = sigmoid(beta V + B) "
          "(share of Russia's desired row)\n")
    print(allocation_table().to_markdown(index=False, floatfmt=".3f"))
    print(f"\n## P2 change of Russia's rated ties with a probe value term on Russia-Iran alone "
          f"({replications} replications, seed {SEED})\n")
    print(ceiling_table(replications).to_markdown(index=False))


if __name__ == "__main__":
    main(sys.argv[1:])
