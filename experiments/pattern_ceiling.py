"""How many of the 26 rated P1-P2 cells can any parameter set of the model get right? A ceiling on
the pattern score, searched over the whole prior of the calibration's 27 candidate parameters
(and, with ``--rivals``, the three rivals of dilution switched on with their weights drawn from
0 up), for issue 13's bar (22 of 26).

    .venv/bin/python experiments/pattern_ceiling.py OUTDIR [--samples 4096] [--generations 30]
                     [--replications 6] [--worlds 20] [--rivals] [--seed 2018]
    .venv/bin/python experiments/pattern_ceiling.py OUTDIR --check SETS.csv     # step 3 for given sets

Three steps, all on the calibration's own simulator (:func:`sim.calibrate.simulate_statistics`:
``scenario=history`` over 2018-11..2024-11, the pattern score's rule on each cell):

1. **Prior sample.** ``--samples`` points of a scrambled Sobol' sequence over the prior quantiles
   (:meth:`sim.config.Prior.from_unit`), each with its own seeds; with ``--worlds W`` > 0, point k
   runs in draw ``k mod W`` of the calibration's world pool (:func:`sim.calibrate.world_pool`: the
   world's numbers and the events' magnitudes drawn from their priors), else in the world as written.
   Per point: the cells the rule's sign gets right (all 26, H+M), and the drift of the control.
2. **Search.** scipy's differential evolution over the same unit cube, in the world as written,
   seeded with the prior sample's best points, every candidate with the same seeds (common random
   numbers: the objective is deterministic), minimising the cells missed plus a graded term in
   [0, 1) that orders sets missing the same number (:func:`sim.patterns.smooth_disagreement`, all
   cells weighted alike, divided by 2). A search that fits the seeds' noise finds a maximum that
   fresh seeds do not keep: so
3. **Re-evaluation.** The best sets of steps 1 and 2 and the model's defaults again with fresh seeds
   and ``4 x`` the replications, in the world as written and in each of the pool's drawn worlds: the
   score, the control's drift and the calibration's distance (:func:`reevaluate`). ``--check CSV`` runs
   this step alone for the sets of a CSV beside the defaults; ``--redraw`` writes the trade-offs and the
   figure again from a finished OUTDIR.

Writes ``OUTDIR/ceiling_samples.parquet`` (every point of step 1: values, world, score, H+M score,
control drift, one column per cell: 1 where its sign agreed), ``ceiling_search.csv`` (step 2's
best per generation), ``ceiling_search_values.csv`` (the search's best set), ``ceiling_best.csv``
(step 3), ``ceiling_cells.csv`` (per cell: the share of the prior sample that gets it right, the best
score among points that do), ``ceiling_tradeoffs.csv`` (every pair of cells: how often both are right,
their phi coefficient over the prior sample), ``ceiling.json`` (settings, histories, seconds) and
``ceiling.png``. Nothing here sets a parameter of the model: it asks what the model's structure
allows under its priors.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from scipy.optimize import differential_evolution
from scipy.stats import qmc

from sim.api import calibration_cells
from sim.calibrate import Target, distance, prepare_target, simulate_statistics, with_overrides, world_pool
from sim.config import numeric_parameters
from sim.patterns import default_patterns, signs_of, smooth_disagreement
from sim.priors import mechanism_priors

FIT_END = "2024-11"
RIVALS = ("abandonment", "brokerage", "shared_threat")
PREFIX = "model.mechanisms."


class Evaluator:
    """Parameter sets given as prior quantiles (rows of a unit cube) to the rule's statistics of every cell."""

    def __init__(self, target: Target, keys: list[str], rivals: bool) -> None:
        self.target, self.keys = target, keys
        self.priors = [target.priors[k] for k in keys]
        switches = {f"{PREFIX}{r}.enabled": True for r in RIVALS} if rivals else {}
        self.base = with_overrides(target.base, switches)
        self.histories = 0
        self.hm = target.cells["confidence"].isin(["H", "M"]).to_numpy()  # the H and M cells

    def values(self, units: np.ndarray) -> np.ndarray:
        return np.column_stack([p.from_unit(units[:, i]) for i, p in enumerate(self.priors)])

    def statistics(self, units: np.ndarray, seeds: list[list[np.random.SeedSequence]],
                   worlds: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        values = self.values(np.atleast_2d(units))
        params = [with_overrides(self.base, dict(zip(self.keys, row, strict=True))) for row in values]
        self.histories += len(params)
        return simulate_statistics(self.target, params, seeds, worlds)


def agreement(target: Target, history: np.ndarray) -> np.ndarray:
    """(K, C) 1 where the rule's sign of cell c under set k is the observed one."""
    return (signs_of(history) == target.observed[None, :]).astype(int)


def seeds_for(root: int, stream: int, count: int, replications: int) -> list[list[np.random.SeedSequence]]:
    return [np.random.SeedSequence([root, stream, k]).spawn(replications) for k in range(count)]


def prior_sample(ev: Evaluator, count: int, replications: int, worlds: int, seed: int) -> pd.DataFrame:
    units = qmc.Sobol(len(ev.keys), scramble=True, seed=seed).random(count)
    pool = [k % worlds for k in range(count)] if worlds else None
    history, control = ev.statistics(units, seeds_for(seed, 1, count, replications), pool)
    hit = agreement(ev.target, history)
    table = pd.DataFrame(ev.values(units), columns=ev.keys)
    table.insert(0, "world", -1 if pool is None else pool)
    table["score"] = hit.sum(axis=1)
    table["score_hm"] = hit[:, ev.hm].sum(axis=1)
    table["control_drift"] = (signs_of(control) != 0).sum(axis=1)
    for c, label in enumerate(cell_labels(ev.target)):
        table[label] = hit[:, c]
    return table.assign(**{f"u:{k}": units[:, i] for i, k in enumerate(ev.keys)})


def cell_labels(target: Target) -> list[str]:
    c = target.cells
    period = {"2018-11": "P1", "2022-02": "P2"}
    return [f"{a}-{b} {period.get(str(start), str(start))} ({conf}, {sign:+d})" for a, b, start, conf, sign in
            zip(c["a"], c["b"], c["start"], c["confidence"], c["sign"], strict=True)]


def search(ev: Evaluator, start: np.ndarray, generations: int, replications: int, seed: int) -> tuple[np.ndarray,
                                                                                                      pd.DataFrame]:
    """Differential evolution from ``start`` (its initial population), common seeds for every candidate."""
    seeds = seeds_for(seed, 2, 1, replications)[0]
    alike = np.full(len(ev.target.cells), "M")  # every cell weighted alike in the graded term
    log: list[dict[str, float]] = []

    def objective(x: np.ndarray) -> np.ndarray:  # x: (d, S), scipy's vectorized layout
        units = np.clip(x.T, 0.0, 1.0)
        history, _ = ev.statistics(units, [seeds] * len(units))
        missed = len(alike) - agreement(ev.target, history).sum(axis=1)
        return missed + smooth_disagreement(ev.target.observed, history, alike) / 2

    def progress(intermediate_result) -> None:
        log.append({"generation": len(log), "best": float(intermediate_result.fun), "histories": ev.histories})
        print(f"  generation {len(log)}: best {intermediate_result.fun:.3f} ({ev.histories} histories)",
              file=sys.stderr)

    result = differential_evolution(objective, [(0.0, 1.0)] * len(ev.keys), init=start, maxiter=generations,
                                    seed=seed, vectorized=True, updating="deferred", polish=False, tol=0,
                                    callback=progress)
    return result.x, pd.DataFrame(log)


def reevaluate(ev: Evaluator, units: np.ndarray, labels: list[str], replications: int, worlds: int,
               seed: int) -> pd.DataFrame:
    """Each set of ``units`` with fresh seeds, in the world as written and in every draw of the pool:
    its score (all cells, H+M), the cells its history replay drifts on with nothing happening
    (``control_drift``: the control's rule sign not 0) and the calibration's distance
    (:func:`sim.calibrate.distance`, smooth: what ABC-SMC's epsilon bounds)."""
    rows = []
    for w in [None, *range(worlds)]:
        history, control = ev.statistics(units, seeds_for(seed, 3, len(units), replications),
                                         None if w is None else [w] * len(units))
        hit = agreement(ev.target, history)
        drift = (signs_of(control) != 0).sum(axis=1)
        loss = distance(ev.target, history, control)
        for k, label in enumerate(labels):
            missed = [c for c, h in zip(cell_labels(ev.target), hit[k], strict=True) if not h]
            rows.append({"set": label, "world": "as written" if w is None else w, "score": int(hit[k].sum()),
                         "score_hm": int(hit[k, ev.hm].sum()), "control_drift": int(drift[k]),
                         "distance": round(float(loss[k]), 4), "missed": "; ".join(missed)})
    return pd.DataFrame(rows)


def defaults_units(ev: Evaluator) -> np.ndarray:
    """The model's defaults (the calibrated medians, sim.calibrated) as prior quantiles."""
    values = numeric_parameters(ev.target.base)
    return np.array([[p.to_unit(values[k]) for k, p in zip(ev.keys, ev.priors, strict=True)]])


def cell_table(samples: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    rows = []
    for label in labels:
        right = samples[samples[label] == 1]
        rows.append({"cell": label, "share_right": float(samples[label].mean()),
                     "best_score_when_right": int(right["score"].max()) if len(right) else 0})
    return pd.DataFrame(rows)


def tradeoffs(samples: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Every pair of cells over the prior sample: how often each and both are right, and the phi
    coefficient (the correlation of the two 0/1 columns; negative: the model's structure gets one at
    the other's expense), most negative first."""
    x = samples[labels].to_numpy()
    rows = []
    for i in range(len(labels)):
        for j in range(i + 1, len(labels)):
            phi = np.corrcoef(x[:, i], x[:, j])[0, 1] if x[:, i].std() and x[:, j].std() else np.nan
            rows.append({"a": labels[i], "b": labels[j], "p_a": x[:, i].mean(), "p_b": x[:, j].mean(),
                         "p_both": (x[:, i] & x[:, j]).mean(), "phi": phi})
    return pd.DataFrame(rows).sort_values("phi").reset_index(drop=True)


def figure(samples: pd.DataFrame, cells: pd.DataFrame, best: pd.DataFrame, bar: int, warms: int) -> Figure:
    """Left: the prior sample's scores; middle: the best sets again with fresh seeds, in the world as
    written and in each drawn world; right: per cell, the share of the prior sample getting it right."""
    fig = Figure(figsize=(15, 6.5), layout="constrained")
    left, middle, right = fig.subplots(1, 3, width_ratios=(1, 0.8, 1.2))
    counts = samples["score"].value_counts().sort_index()
    left.bar(counts.index, counts.to_numpy(), color="#7f8c8d", label="prior sample (one point each)")
    for ax in (left, middle):
        ax.axvline(bar, color="#c0392b", ls="--", label=f"issue 13's bar ({bar})")
        ax.axvline(warms, color="#e67e22", ls=":", label=f'"every relation warms" ({warms})')
    left.set_xlabel("cells whose sign the rule gets right (of 26)")
    left.set_ylabel("parameter sets")
    left.set_ylim(0, counts.max() * 1.45)
    left.set_title(f"Pattern score of {len(samples):,} prior points")
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    top = int(counts.index.max())
    left.annotate(f"best: {top} ({int(counts[top])} sets)", (top, counts[top]), (top - 6, counts.max() * 0.9),
                  arrowprops={"arrowstyle": "->", "color": "#2c3e50"}, fontsize=8)
    left.legend(loc="upper left", fontsize=8)
    names = list(dict.fromkeys(best["set"]))
    rng = np.random.default_rng(0)
    for y, name in enumerate(names):
        rows = best[best["set"] == name]
        drawn = rows[rows["world"] != "as written"]
        middle.scatter(drawn["score"] + rng.uniform(-0.15, 0.15, len(drawn)), y + rng.uniform(-0.2, 0.2, len(drawn)),
                       s=14, color="#95a5a6", label="in a drawn world" if y == 0 else None)
        written = rows[rows["world"] == "as written"]["score"]
        middle.scatter(written, [y] * len(written), s=70, marker="D", color="#2c3e50",
                       label="in the world as written" if y == 0 else None)
    middle.set_yticks(range(len(names)), names)
    middle.invert_yaxis()
    middle.set_xlabel("cells right, fresh seeds, 4x the replications")
    middle.set_title("The best sets again")
    middle.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=8)
    order = cells.sort_values("share_right")
    y = np.arange(len(order))
    right.barh(y, order["share_right"], color="#2980b9")
    right.set_yticks(y, order["cell"], fontsize=7)
    right.set_xlim(0, 1)
    right.set_xlabel("share of the prior sample getting the cell's sign right")
    right.set_title("Which cells the model reaches (right: best score when right)", fontsize=10)
    for yy, b in zip(y, order["best_score_when_right"], strict=True):
        right.text(1.01, yy, f"{b}", va="center", fontsize=7, clip_on=False)
    fig.suptitle("How far the model can reach: the pattern score of parameter sets drawn from the priors and searched")
    return fig


def check(ev: Evaluator, args: argparse.Namespace, defaults: str) -> int:
    """Step 3 alone for the sets of ``args.check`` and the model's defaults, into ceiling_check.csv."""
    out = args.outdir / "ceiling_check.csv"
    if out.exists():
        raise SystemExit(f"error: {out} exists: a finished check is not overwritten (give another OUTDIR)")
    sets = pd.read_csv(args.check)
    units = np.array([[p.to_unit(float(row[k])) for k, p in zip(ev.keys, ev.priors, strict=True)]
                      for _, row in sets.iterrows()])
    names = [f"{args.check.stem} {i}" for i in range(len(sets))]
    table = reevaluate(ev, np.vstack([units, defaults_units(ev)]), [*names, defaults], 4 * args.replications,
                       args.worlds, args.seed)
    table.to_csv(out, index=False)
    print(table.groupby("set", sort=False)[["score", "score_hm", "control_drift", "distance"]]
          .agg(["min", "median", "max"]).to_string())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--generations", type=int, default=30)
    parser.add_argument("--popsize", type=int, default=64, help="differential evolution's population")
    parser.add_argument("--replications", type=int, default=6)
    parser.add_argument("--worlds", type=int, default=20)
    parser.add_argument("--rivals", action="store_true", help="switch on abandonment, brokerage and shared threat")
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--redraw", action="store_true", help="trade-offs and figure again from OUTDIR's tables")
    parser.add_argument("--check", type=Path, default=None,
                        help="only step 3 for the sets of this CSV (one column per parameter, one row per set) "
                             "and the model's defaults: OUTDIR/ceiling_check.csv")
    args = parser.parse_args(argv)
    if args.redraw:
        samples = pd.read_parquet(args.outdir / "ceiling_samples.parquet")
        best = pd.read_csv(args.outdir / "ceiling_best.csv", dtype={"world": str})
        cells = pd.read_csv(args.outdir / "ceiling_cells.csv")
        tradeoffs(samples, list(cells["cell"])).to_csv(args.outdir / "ceiling_tradeoffs.csv", index=False,
                                                       float_format="%.4f")
        warms = int(sum(label.endswith("+1)") for label in cells["cell"]))
        figure(samples, cells, best, 22, warms).savefig(args.outdir / "ceiling.png", dpi=130)
        return 0
    args.outdir.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    cells, cfg = calibration_cells(["experiment=calibrate"])
    keys = [str(k) for k in cfg.experiment.parameters]
    if args.rivals:
        keys = [*keys, *(f"{PREFIX}{r}.weight" for r in RIVALS)]
    pool = world_pool(cells, args.worlds, args.seed)
    target = prepare_target(cells, tuple(keys), FIT_END, default_patterns(), args.replications,
                            priors=mechanism_priors(), pool=pool)
    ev = Evaluator(target, keys, args.rivals)
    defaults = "model defaults" + (" (rivals on)" if args.rivals else "")
    if args.check is not None:
        return check(ev, args, defaults)
    labels = cell_labels(target)
    samples = prior_sample(ev, args.samples, args.replications, args.worlds, args.seed)
    samples.to_parquet(args.outdir / "ceiling_samples.parquet")
    print(f"prior sample: best {samples['score'].max()} of {len(labels)}, median {samples['score'].median():.0f} "
          f"({time.perf_counter() - began:.0f} s)", file=sys.stderr)
    units = samples[[f"u:{k}" for k in keys]].to_numpy()
    start = units[np.argsort(-samples["score"].to_numpy(), kind="stable")[:args.popsize]]
    found, log = search(ev, start, args.generations, args.replications, args.seed)
    log.to_csv(args.outdir / "ceiling_search.csv", index=False)
    top = np.argsort(-samples["score"].to_numpy(), kind="stable")[:3]
    candidates = np.vstack([found, units[top], defaults_units(ev)])
    names = ["search best", *(f"prior point {k}" for k in top), defaults]
    best = reevaluate(ev, candidates, names, 4 * args.replications, args.worlds, args.seed)
    best.to_csv(args.outdir / "ceiling_best.csv", index=False)
    pd.DataFrame([dict(zip(keys, ev.values(candidates[:1])[0], strict=True))]).to_csv(
        args.outdir / "ceiling_search_values.csv", index=False)
    per_cell = cell_table(samples, labels)
    per_cell.to_csv(args.outdir / "ceiling_cells.csv", index=False)
    tradeoffs(samples, labels).to_csv(args.outdir / "ceiling_tradeoffs.csv", index=False, float_format="%.4f")
    warms = int((target.observed == 1).sum())
    figure(samples, per_cell, best, 22, warms).savefig(args.outdir / "ceiling.png", dpi=130)
    record = {"samples": args.samples, "replications": args.replications, "worlds": args.worlds,
              "rivals": args.rivals, "parameters": keys, "histories": ev.histories,
              "seconds": round(time.perf_counter() - began, 1),
              "prior_best": int(samples["score"].max()),
              "search_best_written_world": int(best.loc[(best["set"] == "search best")
                                                        & (best["world"] == "as written"), "score"].iloc[0])}
    (args.outdir / "ceiling.json").write_text(json.dumps(record, indent=2))
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
