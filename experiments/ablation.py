"""Which mechanism drives the outreach effect? Switch each off and rerun the headline pair.

    .venv/bin/python experiments/ablation.py [replications] [override ...]

Prints a Markdown table (effect on entente strength and Sunni leverage at the horizon, 95% CI,
verdict with sim-run's rules and 5% threshold) for the full model and for each mechanism
switched off; docs/MODEL.md quotes it. ``ablation_table`` returns the same numbers as a
DataFrame (notebooks/03_mechanisms.ipynb uses it).
"""

from __future__ import annotations

import sys
import time

import pandas as pd

from sim.analysis import HYPOTHESES, summarise
from sim.api import run_scenarios

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


def ablation_table(replications: int = 20, overrides: list[str] | None = None,
                   variants: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """One row per variant and hypothesis: the paired effect at the horizon, its 95% CI and verdict.

    Each variant reruns the headline pair (baseline against sunni_outreach) with its overrides,
    seed ``SEED`` and sim-run's rules (``summarise`` with a 5% practical threshold).
    """
    extra = [f"replications={replications}", f"seed={SEED}", *(overrides or [])]
    rows = []
    for name, variant in (VARIANTS if variants is None else variants).items():
        table = run_scenarios([*extra, *variant])
        summary = summarise(table, "baseline", "sunni_outreach", seed=SEED, min_relative_effect=MIN_RELATIVE_EFFECT)
        for key in HYPOTHESES:
            h = summary[key]
            rows.append({"variant": name, "hypothesis": key.upper(), "metric": h["metric"], "effect": h["effect"],
                         "ci_low": h["ci_low"], "ci_high": h["ci_high"], "relative_effect": h["relative_effect"],
                         "p_value": h["p_value"], "verdict": h["verdict"]})
    return pd.DataFrame(rows)


def _ci(row: pd.Series) -> str:
    if pd.isna(row["ci_low"]):
        return f"{row['effect']:+.4f} [no CI]"
    return f"{row['effect']:+.4f} [{row['ci_low']:+.4f}, {row['ci_high']:+.4f}]"


def main(argv: list[str]) -> None:
    replications = int(argv[0]) if argv else 20
    start = time.perf_counter()
    table = ablation_table(replications, argv[1:])
    print("| variant | H1 effect on entente strength [95% CI] | H1 | H2 effect on Sunni leverage [95% CI] | H2 |")
    print("| --- | --- | --- | --- | --- |")
    for name, rows in table.groupby("variant", sort=False):
        cells = []
        for _, row in rows.iterrows():
            cells += [_ci(row), row["verdict"]]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    print(f"\n{replications} paired replications per variant; {time.perf_counter() - start:.0f} s in all.")


if __name__ == "__main__":
    main(sys.argv[1:])
