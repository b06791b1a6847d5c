"""Every figure, from result tables only (never from a live model).

Each ``plot_*`` function takes tables and returns a matplotlib Figure; writing them is
:func:`sim.experiment.write_figures`' job. Bands are 95% t-intervals of the mean over replications.
"""

from __future__ import annotations

import matplotlib.colors
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis import paired_bands, time_bands

COLORS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860"]
CAMP_COLORS = ["#4c72b0", "#8172b3", "#937860", "#333333", "#da8bc3", "#8c8c8c"]  # clear of the red-green scale


def _date_axis(ax: plt.Axes) -> None:
    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.set_xlabel("date (one step = one month)")
    ax.grid(alpha=0.3)


def _bands(ax: plt.Axes, table: pd.DataFrame, metric: str) -> None:
    bands = time_bands(table, metric)
    for k, (scenario, b) in enumerate(bands.groupby("scenario", sort=False)):
        color = COLORS[k % len(COLORS)]
        ax.plot(b["date"], b["mean"], color=color, marker="o" if len(b) < 3 else None, label=f"{scenario} (mean)")
        if b["low"].notna().all():  # a band needs at least two replications
            ax.fill_between(b["date"], b["low"], b["high"], color=color, alpha=0.25, linewidth=0,
                            label=f"{scenario} 95% CI")
    _date_axis(ax)


def _replications(table: pd.DataFrame) -> str:
    n = int(table.groupby("scenario")["replication"].nunique().min())
    return f"{n} replication{'s' if n != 1 else ''} per scenario"


def roles(table: pd.DataFrame) -> tuple[str, str, str, list[str]]:
    """Entente pair, outreach actor and targets, read from the metric columns of a results table."""
    a, b = next(c for c in table.columns if c.startswith("affinity_")).removeprefix("affinity_").split("_")
    actor = next(c for c in table.columns if c.startswith("budget_")).removeprefix("budget_")
    targets = [c.removeprefix("leverage_") for c in table.columns
               if c.startswith("leverage_") and "_over_" not in c]
    return a.upper(), b.upper(), actor.upper(), [t.upper() for t in targets]


def plot_entente(table: pd.DataFrame, summary: dict | None = None) -> Figure:
    """Entente strength over time for each scenario with confidence bands; for a paired run, a
    lower panel with the paired difference (treatment - control) and the H1 verdict."""
    scenarios = list(table["scenario"].unique())
    paired = summary is not None and len(scenarios) == 2
    fig, axes = plt.subplots(2 if paired else 1, 1, figsize=(8, 7 if paired else 4.5), layout="constrained",
                             sharex=True, height_ratios=[3, 2] if paired else None, squeeze=False)
    ax = axes[0][0]
    a, b, _, _ = roles(table)
    _bands(ax, table, "entente_strength")
    ax.set_ylabel(f"{a}-{b} tie strength\n(geometric mean of commitment shares)")
    ax.set_title(f"Entente strength ({_replications(table)})")
    ax.legend(loc="best", fontsize=8)
    if paired:
        h = summary["h1"]
        ax2 = axes[1][0]
        d = paired_bands(table, "entente_strength", summary["control"], summary["treatment"])
        ax2.axhline(0, color="#333333", linewidth=0.8)
        ax2.plot(d["date"], d["mean"], color=COLORS[3], label="mean paired difference")
        ax2.fill_between(d["date"], d["low"], d["high"], color=COLORS[3], alpha=0.25, linewidth=0,
                         label="95% CI (t, over replications)")
        _date_axis(ax2)
        ax2.set_ylabel(f"{summary['treatment']} - {summary['control']}\n(same seeds)")
        ax2.legend(loc="lower left", fontsize=8)
        ci = "no CI (< 5 replications)" if h["ci_low"] is None else (
            f"95% BCa CI [{h['ci_low']:+.3f}, {h['ci_high']:+.3f}]")
        rel = "" if h["relative_effect"] is None else f" ({h['relative_effect']:+.0%})"
        ax2.text(0.99, 0.97, f"H1 (dilution) at {summary['horizon']}: effect {h['effect']:+.3f}{rel}\n"
                 f"{ci}, p = {h['p_value']:.2g}: {h['verdict']}",
                 transform=ax2.transAxes, ha="right", va="top", fontsize=8,
                 bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85})
        ax.set_xlabel("")
    return fig


def plot_leverage(table: pd.DataFrame) -> Figure:
    """Sunni leverage over the dyad: total per scenario (left), per state in the last scenario (right)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    a, b, actor, targets = roles(table)
    _bands(left, table, "sunni_leverage")
    left.set_ylabel(f"leverage of {', '.join(targets)}\nover the {a}-{b} dyad (value units)")
    left.set_title(f"Total over {actor}'s outreach targets")
    left.legend(loc="best", fontsize=8)
    last = table["scenario"].unique()[-1]
    sub = table[table["scenario"] == last]
    columns = [c for c in table.columns if c.startswith("leverage_") and "_over_" not in c]
    for k, column in enumerate(columns):
        b = time_bands(sub, column)
        right.plot(b["date"], b["mean"], color=COLORS[k % len(COLORS)], label=column.removeprefix("leverage_").upper())
        right.fill_between(b["date"], b["low"], b["high"], color=COLORS[k % len(COLORS)], alpha=0.2, linewidth=0)
    _date_axis(right)
    right.set_ylabel("leverage over the dyad (value units)")
    right.set_title(f"Per state, scenario {last}")
    right.legend(loc="best", fontsize=8)
    return fig


def plot_portfolio(table: pd.DataFrame, top: int = 8) -> Figure:
    """The outreach actor's commitments by partner over time (budget units, replication means),
    stacked, with its budget: one panel per scenario. Absolute, so that a growing budget shows."""
    scenarios = list(table["scenario"].unique())
    _, _, actor, _ = roles(table)
    shares = [c for c in table.columns if c.startswith("share_")]
    total, budget = f"commitment_{actor.lower()}", f"budget_{actor.lower()}"
    absolute = table[shares].mul(table[total], axis=0).assign(scenario=table["scenario"], date=table["date"])
    means = absolute.groupby(["scenario", "date"])[shares].mean()
    budgets = table.groupby(["scenario", "date"])[budget].mean()
    order = means.max().sort_values(ascending=False).index  # by peak, so a partner that grows shows
    keep, rest = list(order[:top]), list(order[top:])
    top_value = 1.05 * max(means.sum(axis=1).max(), budgets.max())
    fig, axes = plt.subplots(1, len(scenarios), figsize=(6 * len(scenarios), 4.5), layout="constrained",
                             sharey=True, squeeze=False)
    for ax, scenario in zip(axes[0], scenarios, strict=True):
        m = means.loc[scenario]
        stack = [m[c].to_numpy() for c in keep] + ([m[rest].sum(axis=1).to_numpy()] if rest else [])
        labels = [c.removeprefix("share_").upper() for c in keep] + (["others"] if rest else [])
        colors = plt.get_cmap("tab10")(np.arange(len(stack)))
        ax.stackplot(m.index, *stack, labels=labels, colors=colors, alpha=0.9)
        ax.plot(budgets.loc[scenario].index, budgets.loc[scenario].to_numpy(), color="black", linewidth=1.5,
                label="budget")
        ax.set_ylim(0, top_value)
        ax.set_title(scenario)
        _date_axis(ax)
    axes[0][0].set_ylabel(f"{actor}'s commitment by partner\n(budget units, mean over replications)")
    axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    return fig


def plot_network(network: pd.DataFrame, min_tie: float = 0.04, min_hostility: float = 0.5,
                 highlight: tuple[str, str] = ("RUS", "IRN")) -> Figure:
    """Tie network at the start (calibration) and at the end of each scenario (replication means).

    Nodes sit on a circle grouped by camp (node colour). Edge width is the mutual tie strength
    (ties below ``min_tie`` hidden), colour its affinity (green friendly, red hostile); thin
    dashed red lines are hostile pairs (affinity <= -min_hostility) without such a tie. The
    ``highlight`` pair is drawn on top in black dashes.
    """
    start = network[network["stage"] == "start"]
    start = start[start["scenario"] == start["scenario"].iloc[0]]
    panels = [("start (calibration)", start)] + [
        (f"end: {s}", g) for s, g in network[network["stage"] == "end"].groupby("scenario", sort=False)
    ]
    camps = dict(zip(start["origin"], start["origin_camp"], strict=False)) | dict(
        zip(start["target"], start["target_camp"], strict=False))
    nodes = sorted(camps, key=lambda c: (camps[c], c))
    pos = nx.circular_layout(nodes)
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 5.6), layout="constrained")
    cmap = plt.get_cmap("RdYlGn")
    for ax, (title, g) in zip(np.atleast_1d(axes), panels, strict=True):
        ties = g[g["tie"] >= min_tie]
        hostile = g[(g["tie"] < min_tie) & (g["affinity"] <= -min_hostility)]
        graph = nx.Graph()
        graph.add_nodes_from(nodes)
        nx.draw_networkx_edges(graph, pos, ax=ax, edgelist=list(zip(hostile["origin"], hostile["target"], strict=True)),
                               style="dashed", edge_color="#c44e52", alpha=0.5, width=0.8)
        pair = g[((g["origin"] == highlight[0]) & (g["target"] == highlight[1]))
                 | ((g["origin"] == highlight[1]) & (g["target"] == highlight[0]))]
        nx.draw_networkx_edges(graph, pos, ax=ax, edgelist=list(zip(ties["origin"], ties["target"], strict=True)),
                               width=(40 * ties["tie"]).tolist(),
                               edge_color=[cmap((a + 1) / 2) for a in ties["affinity"]])
        for row in pair.itertuples():  # on top: black, dashed over the pair's own width
            nx.draw_networkx_edges(graph, pos, ax=ax, edgelist=[(row.origin, row.target)],
                                   width=max(2.0, 40 * row.tie), edge_color="black", style="dashed")
        nx.draw_networkx_nodes(graph, pos, ax=ax, node_size=650, alpha=0.9,
                               node_color=[CAMP_COLORS[sorted(set(camps.values())).index(camps[n])] for n in nodes])
        nx.draw_networkx_labels(graph, pos, ax=ax, font_size=8, font_color="white", font_weight="bold")
        rus_irn = float(pair["tie"].iloc[0]) if len(pair) else float("nan")
        ax.set_title(f"{title}\n{highlight[0]}-{highlight[1]} tie {rus_irn:.3f}")
        ax.set_axis_off()
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=CAMP_COLORS[k], label=camp)
               for k, camp in enumerate(sorted(set(camps.values())))]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=8, title="camp (node colour)")
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(-1, 1))
    fig.colorbar(sm, ax=axes, shrink=0.6, label=f"affinity (edge colour); width = tie strength (>= {min_tie})")
    return fig


def plot_blocs(blocs: pd.DataFrame) -> Figure:
    """Bloc of each actor (rows) under each partition (columns), from a :func:`compare_blocs` table
    whose reference is its first column."""
    body = blocs.drop(index="agreement")
    grid = (body == "B").to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(1.6 + 1.5 * grid.shape[1], 0.9 + 0.32 * grid.shape[0]), layout="constrained")
    ax.imshow(grid, cmap=matplotlib.colors.ListedColormap([COLORS[0], COLORS[1]]), aspect="auto", vmin=0, vmax=1)
    for (r, c), value in np.ndenumerate(body.to_numpy()):
        ax.text(c, r, value, ha="center", va="center", color="white", fontsize=8, fontweight="bold")
    ax.set_xticks(range(grid.shape[1]), [f"{col}\n({blocs.loc['agreement', col]} agree with column 1)"
                                         for col in body.columns], fontsize=7)
    ax.set_yticks(range(grid.shape[0]), body.index, fontsize=8)
    ax.set_title("Two blocs: agent model against landscape theory", fontsize=10)
    return fig


def headline_figures(table: pd.DataFrame, network: pd.DataFrame, summary: dict | None = None) -> dict[str, Figure]:
    """The figures of a run, by file stem."""
    return {
        "entente_strength": plot_entente(table, summary),
        "sunni_leverage": plot_leverage(table),
        "portfolio": plot_portfolio(table),
        "network": plot_network(network, highlight=roles(table)[:2]),
    }
