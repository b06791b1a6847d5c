"""The history replay's pattern score, with each new mechanism switched off, and without any
scripted step between two rated states.

    .venv/bin/python experiments/history_ablation.py [replications] [override ...]

Runs ``scenario=history`` (default 20 replications, seed 2018, default parameters: nothing is
fitted) once per variant, scores each against ``data/history/patterns_2018_2024.csv`` with the
fixed rule of :mod:`sim.patterns`, and prints three Markdown tables that docs/MODEL.md quotes:

1. the score of each variant (all cells, H+M cells) beside the two guesses;
2. the central pattern of P2 (2022-02..2024-11): the change of Russia's ties to Iran, Saudi
   Arabia, the UAE and Egypt, and of Iran-Saudi Arabia, with the model's sign, per variant;
3. the full model's cells, each marked when a scenario event changes that pair inside the
   period (a scripted step: agreement there shows the script, not a mechanism).

The variant "no scripted steps between rated states" drops every event that changes a rated
pair (groups expanded), so what agrees there comes from the mechanisms and the other events.
"""

from __future__ import annotations

import sys
import time

import pandas as pd
from omegaconf import DictConfig

from sim.api import checked, compose, scenario_files
from sim.events import event_states
from sim.experiment import Cell, prepare, run_cell
from sim.patterns import default_patterns, load_patterns, score, score_summary

SEED = 2018
M = "model.mechanisms."
VARIANTS: dict[str, list[str]] = {
    "full model (defaults)": [],
    "no participation (sender-only sanctions)": [M + "participation.enabled=false"],
    "no diversion": [M + "diversion.enabled=false"],
    "no formation": [M + "formation.enabled=false"],
    "no wartime supply": [M + "war.enabled=false"],
    "no scarcity": [M + "scarcity.enabled=false"],
    "no capability trends (budgets held at 2018's)": ["scenario.capability_trends=null"],
    "no Western sanctions on Russia": ["policy.western_sanctions_on_russia=0"],
    "no outreach": ["policy.outreach=0"],
    "no scripted steps between rated states": [],
}
CENTRAL = [("RUS", "IRN"), ("RUS", "SAU"), ("RUS", "ARE"), ("RUS", "EGY"), ("IRN", "SAU")]


def history_config(replications: int, overrides: list[str]) -> DictConfig:
    return checked(compose(["scenario=history", f"replications={replications}", f"seed={SEED}", *overrides]),
                   scenario_files("history"))


def rated_pairs(patterns: pd.DataFrame) -> set[frozenset[str]]:
    return {frozenset(p) for p in zip(patterns.a, patterns.b, strict=True)}


def scripted_pairs(cfg: DictConfig) -> list[tuple[str, frozenset[str]]]:
    """(month, pair) of every pair change of the scenario's events, groups expanded."""
    world = prepare(cfg)[0]
    out = []
    for e in cfg.scenario.events:
        for states in event_states(e, world):
            if len(states) == 2:
                out.append((str(e.date), frozenset(world.codes[i] for i in states)))
    return out


def without_rated_steps(cfg: DictConfig, rated: set[frozenset[str]]) -> DictConfig:
    """``cfg`` without the events that change any rated pair."""
    world = prepare(cfg)[0]
    keep = [e for e in cfg.scenario.events
            if not any(len(s) == 2 and frozenset(world.codes[i] for i in s) in rated for s in event_states(e, world))]
    cfg.scenario.events = keep
    return cfg


def run_variants(replications: int = 20, overrides: list[str] | None = None
                 ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(scores per variant, central P2 cells per variant, the full model's cells with a scripted flag)."""
    overrides = list(overrides or [])
    base = history_config(replications, overrides)
    world = prepare(base)[0]
    patterns = load_patterns(default_patterns(), world.codes, (base.horizon.start, base.horizon.end))
    rated = rated_pairs(patterns)
    scores, central, full_cells = [], [], None
    for name, extra in VARIANTS.items():
        cfg = history_config(replications, [*overrides, *extra])
        if name.startswith("no scripted"):
            cfg = without_rated_steps(cfg, rated)
        started = time.perf_counter()
        cells, table = score(run_cell(Cell("history", cfg), pairs=True).dyads, patterns)
        seconds = time.perf_counter() - started
        table = score_summary(table)
        table.insert(0, "variant", name)
        table["seconds"] = round(seconds, 1)
        scores.append(table)
        p2 = cells[cells.start == "2022-02"]
        for a, b in CENTRAL:
            row = p2[(p2.a.isin([a, b])) & (p2.b.isin([a, b]))].iloc[0]
            central.append({"variant": name, "pair": f"{a}-{b}", "observed": int(row.observed),
                            "change": row.change, "model_sign": int(row.model_sign)})
        if full_cells is None:
            steps = scripted_pairs(cfg)
            cells["scripted"] = [any(pair == frozenset((r.a, r.b)) and r.start <= month <= r.end
                                     for month, pair in steps) for r in cells.itertuples()]
            full_cells = cells
    return pd.concat(scores, ignore_index=True), pd.DataFrame(central), full_cells


def main(argv: list[str]) -> None:
    replications = int(argv[0]) if argv else 20
    scores, central, cells = run_variants(replications, argv[1:])
    print(f"## Pattern score of scenario=history, {replications} replications, seed {SEED}\n")
    shown = scores[["variant", "subset", "model", "nothing changes", "every relation warms",
                    "model weighted disagreement", "seconds"]]
    print(shown.to_markdown(index=False))
    print("\n## The central pattern of P2 (2022-02..2024-11): change of the tie, model sign (observed)\n")
    wide = central.assign(cell=[f"{c:+.4f} ({s:+d})" for c, s in zip(central.change, central.model_sign,
                                                                        strict=True)])
    table = wide.pivot(index="variant", columns="pair", values="cell").reindex(list(VARIANTS))
    observed = central.drop_duplicates("pair").set_index("pair").observed
    table.columns = [f"{c} (obs {observed[c]:+d})" for c in table.columns]
    print(table.to_markdown())
    print("\n## Cells of the full model (scripted: an event changes the pair inside the period)\n")
    columns = ["a", "b", "start", "observed", "confidence", "change", "model_sign", "agree", "scripted"]
    print(cells[columns].to_markdown(index=False, floatfmt="+.4f"))
    free = cells[~cells.scripted]
    n = len(free)
    print(f"\nwithout scripted cells: model agrees on {int(free.agree.sum())}/{n}; every relation warms "
          f"{int((free.observed == 1).sum())}/{n}; nothing changes {int((free.observed == 0).sum())}/{n}")


if __name__ == "__main__":
    main(sys.argv[1:])
