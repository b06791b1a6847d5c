"""The 32 structures of ``experiment=structures`` against history: each one's pattern score over
2018-2025 and the demand game's concessions per period, beside its H1 and H2 verdicts.

    .venv/bin/sim-run experiment=structures hydra.run.dir=DIR      # the verdicts (DIR/report/)
    .venv/bin/python experiments/structures.py DIR [replications]  # this table and figure

For every point of the sweep in DIR (its switches and the third-party weight, read from
``DIR/report/effects.parquet``), runs ``scenario=history`` under the same structure (default 20
replications, seed 2018, nothing fitted), scores its dyads against
``data/history/patterns_2018_2024.csv`` with the fixed rule of :mod:`sim.patterns`, and counts
the verbal and material concessions the demand game made per period (months with at least one,
summed over the three targets, mean over replications). Writes ``DIR/report/structures.md``
(the table) and ``DIR/report/structures_history.png`` (pattern score per structure beside the
two guesses). Nothing here changes a parameter after looking at the outcome.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sim.analysis import PERIODS
from sim.api import checked, compose, scenario_files
from sim.experiment import Cell, prepare, run_cell
from sim.patterns import RULES, default_patterns, load_patterns, score
from sim.plots import COLORS, VERDICT_STYLE, point_label

SEED = 2018


def structure_overrides(point: pd.Series, keys: list[str]) -> list[str]:
    return [f"{k}={str(point[k]).lower() if isinstance(point[k], bool) else point[k]}" for k in keys]


def history_row(overrides: list[str], replications: int, patterns: pd.DataFrame) -> dict[str, float]:
    """Pattern score (all cells) and concessions per period of scenario=history under ``overrides``."""
    cfg = checked(compose(["scenario=history", f"replications={replications}", f"seed={SEED}", *overrides]),
                  scenario_files("history"))
    result = run_cell(Cell("history", cfg), pairs=True)
    _, scores = score(result.dyads, patterns)
    everything = scores[scores["subset"] == "all"].set_index("rule")
    row: dict[str, float] = {"cells": int(everything.loc["model", "cells"])}
    for rule in RULES:
        row[rule] = int(everything.loc[rule, "agree"])
    table = result.table
    month = table["date"].dt.strftime("%Y-%m")
    for period, (start, end) in PERIODS.items():
        inside = table[(month >= start) & (month <= end)]
        per_replication = inside.groupby("replication")[["verbal_concessions", "material_concessions"]].sum()
        row[f"verbal {period}"] = float(per_replication["verbal_concessions"].mean())
        row[f"material {period}"] = float(per_replication["material_concessions"].mean())
    return row


def structures_table(root: Path, replications: int) -> pd.DataFrame:
    effects = pd.read_parquet(root / "report" / "effects.parquet")
    keys = [c for c in effects.columns if c.startswith("model.mechanisms.")]
    base = checked(compose(["scenario=history"]), scenario_files("history"))
    world = prepare(base)[0]
    patterns = load_patterns(default_patterns(), world.codes, (base.horizon.start, base.horizon.end))
    rows = []
    for _, group in effects.groupby("point", sort=False):
        first = group.iloc[0]
        label = point_label(first, keys)
        row: dict[str, object] = {"structure": label}
        for h in ("h1", "h2"):
            e = group[group["hypothesis"] == h].iloc[0]
            row[f"{h.upper()} effect"] = float(e["effect"])
            row[f"{h.upper()} verdict"] = str(e["verdict"])
        row.update(history_row(structure_overrides(first, keys), replications, patterns))
        rows.append(row)
        print(f"{len(rows):2d}/{effects['point'].nunique()} {label}: model {row['model']}/{row['cells']}",
              file=sys.stderr)
    return pd.DataFrame(rows)


def structures_figure(table: pd.DataFrame) -> Figure:
    """Pattern score per structure (bars, marked by the H1 verdict) beside the two guesses."""
    fig = Figure(figsize=(10, 2.0 + 0.28 * len(table)), layout="constrained")
    ax = fig.subplots()
    y = list(range(len(table)))[::-1]
    ax.barh(y, table["model"], color=COLORS[0], alpha=0.7, label="model (agreeing cells)")
    for verdict, (marker, face) in VERDICT_STYLE.items():
        at = table["H1 verdict"] == verdict
        if at.any():
            ax.scatter(table.loc[at, "model"], [y[k] for k in table.index[at]], marker=marker, facecolors=face,
                       edgecolors="black", s=36, zorder=3, label=f"H1 {verdict}")
    for rule, style in (("nothing changes", ":"), ("every relation warms", "--")):
        ax.axvline(table[rule].iloc[0], color="#333333", linestyle=style, label=f"guess: {rule}")
    ax.set_yticks(y, table["structure"], fontsize=7)
    ax.set_xlabel(f"period cells whose observed direction the run matches (of {int(table['cells'].iloc[0])})")
    ax.set_xlim(0, int(table["cells"].iloc[0]))
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("scenario=history 2018-2025 under each structure: agreement with the observed dyad directions")
    return fig


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit(__doc__)
    root = Path(argv[0])
    replications = int(argv[1]) if len(argv) > 1 else 20
    table = structures_table(root, replications)
    shown = table.assign(**{c: table[c].map("{:+.4f}".format) for c in ("H1 effect", "H2 effect")},
                         **{c: table[c].map("{:.1f}".format) for c in table.columns
                            if c.startswith(("verbal", "material"))})
    text = shown.to_markdown(index=False, disable_numparse=True)
    (root / "report" / "structures.md").write_text(f"# Structures against history ({replications} replications)\n\n"
                                                   f"{text}\n")
    fig = structures_figure(table)
    fig.savefig(root / "report" / "structures_history.png", dpi=150)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
