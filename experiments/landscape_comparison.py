"""The blocs the agent model forms from the 2018 world against landscape theory's minima.

    .venv/bin/python experiments/landscape_comparison.py [replications]

Landscape theory (Axelrod & Bennett 1993) takes the world's sizes (CINC capability) and
propensities (the calibrated 2018 affinities) and finds every two-bloc configuration no single
actor would leave. The agent model's blocs are the sign classes of the leading eigenvector of
its affinity matrix (Marvel et al. 2011) at the start and, averaged over replications, at the
horizon of `baseline` and `sunni_outreach`. Prints a Markdown table and writes
docs/figures/blocs.png; docs/MODEL.md quotes both.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from sim.analysis import affinity_matrix, compare_blocs
from sim.api import compose
from sim.config import validate
from sim.experiment import Cell, prepare, run_cell
from sim.plots import plot_blocs
from sim.store import write_figures
from sim.theory.balance import marvel_factions
from sim.theory.landscape import local_minima

FIGURE_DIR = Path(__file__).resolve().parents[1] / "docs" / "figures"


def main(replications: int = 20) -> None:
    world, _, _ = prepare(compose([]))
    columns: dict[str, np.ndarray] = {}
    minima = local_minima(world.capability, world.affinity)
    for k, m in enumerate(minima, start=1):
        columns[f"landscape min {k}\nE={m.energy:.4f}, basin {m.basin:.0%}"] = np.array(m.blocs)
    equal = local_minima(np.ones(world.n), world.affinity)
    for k, m in enumerate(equal, start=1):
        columns[f"landscape, equal sizes, min {k}\nbasin {m.basin:.0%}"] = np.array(m.blocs)
    columns["model 2018 (start)"] = marvel_factions(world.affinity)
    for scenario in ("baseline", "sunni_outreach"):
        cfg = compose([f"scenario={scenario}", f"replications={replications}"])
        validate(cfg)
        network = run_cell(Cell(scenario, cfg)).network
        codes, s = affinity_matrix(network, scenario, "end")
        assert codes == list(world.codes)
        columns[f"model 2025-12\n{scenario}"] = marvel_factions(s)
    reference = next(iter(columns))
    table = compare_blocs(list(world.codes), columns, reference)
    print(table.rename(columns=lambda c: c.replace("\n", " ")).to_markdown())
    FIGURE_DIR.mkdir(parents=True, exist_ok=True)
    paths = write_figures(FIGURE_DIR, {"blocs": plot_blocs(table)})
    print(f"\nfigure: {paths[0]}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
