"""Which mechanism drives the outreach effect? Switch each off and rerun the headline pair.

    .venv/bin/python experiments/ablation.py [replications] [override ...]

Prints a Markdown table (effect on entente strength and Sunni leverage at the horizon, 95% CI,
verdict with sim-run's rules and 5% threshold) for the full model and for each mechanism
switched off; docs/MODEL.md quotes it.
"""

from __future__ import annotations

import sys
import time

from sim.analysis import HYPOTHESES, summarise
from sim.cli import run_scenarios

SEED = 2018  # the root seed of the runs, also seeding the bootstrap, as sim-run does
MIN_RELATIVE_EFFECT = 0.05  # sim-run's default practical threshold
VARIANTS = {
    "full model": [],
    "no third-party cost": ["model.mechanisms.value.third_party_weight=0"],
    "no conditionality": ["model.mechanisms.conditionality.enabled=false"],
    "fixed budgets (zero-sum)": ["model.mechanisms.budget.enabled=false"],
    "no affinity dynamics": ["model.mechanisms.affinity.enabled=false"],
    "no reciprocity": ["model.mechanisms.value.reciprocity_weight=0"],
    "no noise": ["model.mechanisms.noise.enabled=false"],
    "third-party cost and conditionality off": ["model.mechanisms.value.third_party_weight=0",
                                                "model.mechanisms.conditionality.enabled=false"],
    "... and fixed budgets": ["model.mechanisms.value.third_party_weight=0",
                              "model.mechanisms.conditionality.enabled=false",
                              "model.mechanisms.budget.enabled=false"],
    "... and large returns instead (budget.gain=3)": ["model.mechanisms.value.third_party_weight=0",
                                                     "model.mechanisms.conditionality.enabled=false",
                                                     "model.mechanisms.budget.gain=3"],
}


def main(argv: list[str]) -> None:
    replications = int(argv[0]) if argv else 20
    extra = [f"replications={replications}", f"seed={SEED}", *argv[1:]]
    print("| variant | H1 effect on entente strength [95% CI] | H1 | H2 effect on Sunni leverage [95% CI] | H2 |")
    print("| --- | --- | --- | --- | --- |")
    start = time.perf_counter()
    for name, overrides in VARIANTS.items():
        table = run_scenarios([*extra, *overrides])
        summary = summarise(table, "baseline", "sunni_outreach", seed=SEED, min_relative_effect=MIN_RELATIVE_EFFECT)
        cells = []
        for key in HYPOTHESES:
            h = summary[key]
            cells += [f"{h['effect']:+.4f} [{h['ci_low']:+.4f}, {h['ci_high']:+.4f}]", h["verdict"]]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    print(f"\n{replications} paired replications per variant; {time.perf_counter() - start:.0f} s in all.")


if __name__ == "__main__":
    main(sys.argv[1:])
