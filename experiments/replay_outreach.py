"""What the outreach does to the Russia-Iran tie in the history replay, and through which mechanism.

    .venv/bin/python experiments/replay_outreach.py [replications]

Runs ``scenario=history`` (default 20 replications, seed 2018, the defaults: nothing is fitted)
with the outreach lever at 0 and at 1 (``policy.outreach``; the dated milestones stay in both),
under the full model and with one mechanism or lever switched off at a time, and prints a
Markdown table: the replication mean of the Russia-Iran tie (``entente_strength``) at 2022-01,
2024-11 and 2025-12 under each lever, and its change over the rated period P2 (2022-02..2024-11,
from the month before its start). docs/MODEL.md ("Replay") quotes it. Nothing is tuned here.
"""

from __future__ import annotations

import sys

import pandas as pd
from history_ablation import SEED, history_config

from sim.experiment import Cell, run_cell

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


def entente_by_month(replications: int, overrides: list[str]) -> pd.Series:
    """The replication mean of the Russia-Iran tie by month ('YYYY-MM') of the history replay."""
    table = run_cell(Cell("history", history_config(replications, overrides))).table
    means = table.groupby("date")["entente_strength"].mean()
    means.index = pd.to_datetime(means.index).strftime("%Y-%m")
    return means


def outreach_table(replications: int) -> pd.DataFrame:
    rows = []
    for name, overrides in VARIANTS.items():
        ties = {o: entente_by_month(replications, [*overrides, f"policy.outreach={o}"])[list(MONTHS)]
                for o in (0, 1)}
        row: dict[str, object] = {"variant": name}
        for month in MONTHS:
            row[f"tie {month} (outreach 0 / 1)"] = f"{ties[0][month]:.4f} / {ties[1][month]:.4f}"
        for o in (0, 1):
            row[f"P2 change, outreach {o}"] = f"{ties[o]['2024-11'] - ties[o]['2022-01']:+.4f}"
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv: list[str]) -> None:
    replications = int(argv[0]) if argv else 20
    print(f"## Russia-Iran in scenario=history, outreach 0 against 1 ({replications} replications, seed {SEED})\n")
    print(outreach_table(replications).to_markdown(index=False))


if __name__ == "__main__":
    main(sys.argv[1:])
