"""What the outreach does to the Russia-Iran tie in the history replay, and through which mechanism.

    .venv/bin/python experiments/replay_outreach.py [replications]

Runs ``scenario=history`` (default 20 replications, seed 2018, the defaults: nothing is fitted)
with the outreach lever at 0 and at 1 (``policy.outreach``; the dated milestones stay in both),
under the full model and with one mechanism or lever switched off at a time, and prints a
Markdown table: the replication mean of the Russia-Iran tie (``entente_strength``) at 2022-01,
2024-11 and 2025-12 under each lever, and its change over the rated period P2 (2022-02..2024-11)
as the pattern score computes it (:func:`sim.patterns.cell_changes`: from the month before the
period's start to its end). docs/MODEL.md ("Replay") quotes it. Nothing is tuned here.
"""

from __future__ import annotations

import sys

import pandas as pd
from history_ablation import SEED, history_config

from sim.experiment import Cell, run_cell
from sim.patterns import cell_changes, default_patterns, dyads_codes, dyads_horizon, load_patterns

M = "model.mechanisms."
VARIANTS: dict[str, list[str]] = {
    "full model (defaults)": [],
    "no scarcity": [M + "scarcity.enabled=false"],
    "no Western sanctions on Russia": ["policy.western_sanctions_on_russia=0"],
    "no sanctions' budget cut": [M + "sanctions.budget_cut=0"],
    "no diversion": [M + "diversion.enabled=false"],
    "no wartime supply": [M + "war.enabled=false"],
    "fixed budgets": [M + "budget.enabled=false"],
}
MONTHS = ("2022-01", "2024-11", "2025-12")  # the month before P2, P2's end, the horizon


PAIR = ("RUS", "IRN")
P2 = "2022-02"  # the start of the rated period P2 in data/history/patterns


def replay(replications: int, overrides: list[str]) -> tuple[pd.Series, float]:
    """The replication mean of the Russia-Iran tie by month ('YYYY-MM') of the history replay, and its
    P2 change (:func:`sim.patterns.cell_changes`)."""
    result = run_cell(Cell("history", history_config(replications, overrides)), pairs=True)
    means = result.table.groupby("date")["entente_strength"].mean()
    means.index = pd.to_datetime(means.index).strftime("%Y-%m")
    patterns = load_patterns(default_patterns(), dyads_codes(result.dyads), dyads_horizon(result.dyads))
    rated = patterns[(patterns["a"] == PAIR[0]) & (patterns["b"] == PAIR[1]) & (patterns["start"].astype(str) == P2)]
    return means, float(cell_changes(result.dyads, rated)["change"].iloc[0])


def outreach_table(replications: int) -> pd.DataFrame:
    rows = []
    for name, overrides in VARIANTS.items():
        runs = {o: replay(replications, [*overrides, f"policy.outreach={o}"]) for o in (0, 1)}
        row: dict[str, object] = {"variant": name}
        for month in MONTHS:
            row[f"tie {month} (outreach 0 / 1)"] = f"{runs[0][0][month]:.4f} / {runs[1][0][month]:.4f}"
        for o in (0, 1):
            row[f"P2 change, outreach {o}"] = f"{runs[o][1]:+.4f}"
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv: list[str]) -> None:
    replications = int(argv[0]) if argv else 20
    print(f"## Russia-Iran in scenario=history, outreach 0 against 1 ({replications} replications, seed {SEED})\n")
    print(outreach_table(replications).to_markdown(index=False))


if __name__ == "__main__":
    main(sys.argv[1:])
