"""Every figure, from result tables only (never from a live model).

Each ``plot_*`` function takes tables and returns a ``matplotlib.figure.Figure`` made with the
object API (no pyplot state: nothing to close, nothing shared between figures); writing them is
:func:`sim.store.write_figures`' job. :func:`headline_figures` are a run's figures,
:func:`sweep_figures` a sweep report's. Every figure has a title, axes with units, and a legend
entry for every kind of mark; where a mark could read as a bug (a line at exactly 0, a band
too narrow to see) its legend entry says why. Time bands are 95% t-intervals of the mean over
replications, month by month; intervals at the horizon are the BCa intervals of ``summary.json``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Collection
from typing import Any

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from sim.analysis import HYPOTHESES, number, paired_bands, roles, time_bands
from sim.headline_process import HEADLINE_FIGURES
from sim.levers import LEVER_LABELS, SANCTIONS
from sim.patterns import score_table

COLORS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860"]
CAMP_COLORS = ["#4c72b0", "#8172b3", "#937860", "#333333", "#da8bc3", "#8c8c8c"]  # clear of the red-green scale
VERDICT_MARKS = {"supported": "S", "refuted": "R", "inconclusive": "I"}
SIGN_COLORS = {1: COLORS[0], 0: "#d9d9d9", -1: COLORS[1]}  # warmer blue, unchanged grey, cooler orange
SIGN_WORDS = {1: "+1 warmer", 0: "0 unchanged", -1: "-1 cooler"}
SIGN_TEXT = {1: "+1", 0: "0", -1: "-1"}
CONFIDENCE_ALPHA = {"H": 1.0, "M": 0.6, "L": 0.3}  # an observed half's shade: paler for a less sure rating
# how each verdict is marked on a point of an effect curve (marker, face colour)
VERDICT_COLORS = {"supported": COLORS[2], "inconclusive": "#d9d9d9", "refuted": COLORS[3]}
VERDICT_STYLE = {"supported": ("o", "black"), "refuted": ("X", "#c44e52"), "inconclusive": ("o", "white"),
                 "not applicable": (".", "#777777")}
TIE_UNIT = "geometric mean of the two commitment shares of base budget, 0 to 1"
LEVERAGE_UNIT = "leverage index, docs/MODEL.md 7.11"
LEVERAGE_DEFINITION = ("index: tie to the dyad's member x hostility to the other beyond the threshold x "
                       "concession share, summed over both sides")

__all__ = ["headline_figures", "plot_blocs", "plot_effect_vs", "plot_effect_vs_outreach", "plot_entente",
           "plot_horizon_vs", "plot_leverage", "plot_network", "plot_pattern_score", "plot_phase_diagram",
           "plot_portfolio", "plot_sensitivity", "roles", "structures_figure", "sweep_figures"]


def _date_axis(ax: Axes) -> None:
    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.set_xlabel("date (one step = one month)")
    ax.grid(alpha=0.3)


def _narrow(low: pd.Series, high: pd.Series, ax: Axes) -> bool:
    """True if a band is at most 2% of the axis' data range wide everywhere (it would not show)."""
    span = np.subtract(*ax.dataLim.intervaly[::-1]) or 1.0
    return bool(float(np.nanmax(high - low)) <= 0.02 * abs(span))


def _bands(ax: Axes, table: pd.DataFrame, metric: str) -> None:
    """Mean per scenario and month with its 95% t band; a band too narrow to see says so in the legend."""
    bands = list(time_bands(table, metric).groupby("scenario", sort=False))
    for k, (scenario, b) in enumerate(bands):
        ax.plot(b["date"], b["mean"], color=COLORS[k % len(COLORS)], marker="o" if len(b) < 3 else None,
                label=f"{scenario} (mean)")
    for k, (scenario, b) in enumerate(bands):
        if b["low"].notna().all():  # a band needs at least two replications
            hidden = " (narrower than the line)" if _narrow(b["low"], b["high"], ax) else ""
            ax.fill_between(b["date"], b["low"], b["high"], color=COLORS[k % len(COLORS)], alpha=0.25, linewidth=0,
                            label=f"{scenario} 95% t-interval{hidden}")
    _date_axis(ax)


def _replications(table: pd.DataFrame) -> str:
    n = int(table.groupby("scenario")["replication"].nunique().min())
    return f"{n} replication{'s' if n != 1 else ''} per scenario"


def plot_entente(table: pd.DataFrame, summary: dict | None = None) -> Figure:
    """Entente strength over time for each scenario with 95% t bands; for a paired run, a lower
    panel with the paired difference (treatment - control) month by month (t band), and at the
    horizon the effect with its 95% BCa interval and the H1 verdict from ``summary``."""
    scenarios = list(table["scenario"].unique())
    paired = summary is not None and len(scenarios) == 2
    fig = Figure(figsize=(8, 7.4 if paired else 4.8), layout="constrained")
    axes = fig.subplots(2 if paired else 1, 1, sharex=True, height_ratios=[3, 2] if paired else None, squeeze=False)
    ax = axes[0][0]
    a, b, _, _ = roles(table)
    _bands(ax, table, "entente_strength")
    ax.set_ylabel(f"{a}-{b} tie strength\n({TIE_UNIT})", fontsize=8)
    fig.suptitle(f"Entente strength: the {a}-{b} tie by month ({_replications(table)})")
    ax.legend(loc="lower left", fontsize=8)
    if paired:
        h = summary["h1"]
        ax2 = axes[1][0]
        d = paired_bands(table, "entente_strength", summary["control"], summary["treatment"])
        ax2.axhline(0, color="#333333", linewidth=0.8)
        ax2.plot(d["date"], d["mean"], color=COLORS[3], label="mean paired difference, by month")
        ax2.fill_between(d["date"], d["low"], d["high"], color=COLORS[3], alpha=0.25, linewidth=0,
                         label="95% t-interval by month (over replications)")
        rel = "" if h["relative_effect"] is None else f" ({h['relative_effect']:+.0%})"
        if h["ci_low"] is not None:
            horizon = pd.Timestamp(d["date"].max())
            ax2.errorbar([horizon], [h["effect"]], yerr=[[h["effect"] - h["ci_low"]], [h["ci_high"] - h["effect"]]],
                         fmt="D", color="black", markersize=4, capsize=4, zorder=4,
                         label=f"at {summary['horizon']}: effect{rel} and 95% BCa interval (summary.json)")
        _date_axis(ax2)
        ax2.set_ylabel(f"{summary['treatment']} - {summary['control']}\n(same seeds, tie strength)", fontsize=8)
        ax2.legend(loc="lower left", fontsize=8)
        ci = "no interval (< 5 replications)" if h["ci_low"] is None else (
            f"BCa [{h['ci_low']:+.4f}, {h['ci_high']:+.4f}]")
        # the verdict as the panel's title: inside the axes it covered the curve wherever the effect plateaus
        ax2.set_title(f"H1 (dilution) at {summary['horizon']}: {h['effect']:+.4f}{rel}, {ci}, "
                      f"sign-flip p = {h['p_value']:.2g}: {h['verdict']}", fontsize=9)
        ax.set_xlabel("")
    return fig


def _legend_above(ax: Axes, headroom: float = 0.35) -> None:
    """The legend in the upper left, over headroom added above the lines (inside the data range a
    legend covered a line wherever the levels put it: they differ by world and scenario)."""
    low, high = ax.get_ylim()
    ax.set_ylim(low, high + headroom * (high - low))
    ax.legend(loc="upper left", fontsize=8)


def plot_leverage(table: pd.DataFrame) -> Figure:
    """Leverage of the outreach targets over the entente dyad: total per scenario (left), per
    target in the last scenario (right). A target at 0 throughout is named so in the legend."""
    fig = Figure(figsize=(12, 4.9), layout="constrained")
    left, right = fig.subplots(1, 2)
    a, b, actor, targets = roles(table)
    _bands(left, table, "sunni_leverage")
    fig.suptitle(f"Leverage of {actor}'s outreach targets over the {a}-{b} dyad ({_replications(table)})\n"
                 f"{LEVERAGE_DEFINITION}", fontsize=10)
    left.set_ylabel(f"total leverage over the dyad\n({LEVERAGE_UNIT})", fontsize=8)
    left.set_title(f"Sum over {', '.join(targets)}", fontsize=10)
    _legend_above(left)
    last = table["scenario"].unique()[-1]
    sub = table[table["scenario"] == last]
    columns = [c for c in table.columns if c.startswith("leverage_") and "_over_" not in c]
    for k, column in enumerate(columns):
        bands = time_bands(sub, column)
        code = column.removeprefix("leverage_").upper()
        zero = bool((bands["mean"] == 0).all() and (bands["low"].fillna(0) == 0).all())
        label = (f"{code}: 0 throughout (not hostile enough to {a} or {b} to make a demand)" if zero else code)
        color = COLORS[k % len(COLORS)]
        right.plot(bands["date"], bands["mean"], color=color, label=label, linestyle=":" if zero else "-")
        right.fill_between(bands["date"], bands["low"], bands["high"], color=color, alpha=0.2, linewidth=0)
    right.fill_between([], [], [], color="#999999", alpha=0.3, linewidth=0, label="95% t-intervals")
    _date_axis(right)
    right.set_ylabel(f"leverage over the dyad\n({LEVERAGE_UNIT})", fontsize=8)
    right.set_title(f"Each target, scenario {last}", fontsize=10)
    _legend_above(right)
    return fig


def plot_portfolio(table: pd.DataFrame, top: int = 8) -> Figure:
    """The outreach actor's commitments by partner over time (budget units, replication means),
    stacked, under its budget: one panel per scenario. Absolute, so that a growing budget shows.
    The space between the stack and the budget line is budget not committed (hatched: desired
    commitments fall short of the budget, so it does not bind); the legend lists the partners in
    the stack's order, top first."""
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
    fig = Figure(figsize=(6 * len(scenarios) + 1.5, 4.9), layout="constrained")
    axes = fig.subplots(1, len(scenarios), sharey=True, squeeze=False)
    colors = matplotlib.colormaps["tab10"](np.arange(len(keep) + bool(rest)))
    for ax, scenario in zip(axes[0], scenarios, strict=True):
        m = means.loc[scenario]
        stack = [m[c].to_numpy() for c in keep] + ([m[rest].sum(axis=1).to_numpy()] if rest else [])
        labels = [c.removeprefix("share_").upper() for c in keep] + ([f"{len(rest)} others"] if rest else [])
        ax.stackplot(m.index, *stack, labels=labels, colors=colors, alpha=0.9)
        spent, b = np.sum(stack, axis=0), budgets.loc[scenario]
        ax.fill_between(m.index, spent, b.to_numpy(), where=b.to_numpy() > spent, facecolor="none",
                        edgecolor="#888888", hatch="///", linewidth=0, label="budget not committed")
        ax.plot(b.index, b.to_numpy(), color="black", linewidth=1.5, label="budget")
        ax.set_ylim(0, top_value)
        ax.set_title(scenario, fontsize=10)
        _date_axis(ax)
    axes[0][0].set_ylabel(f"{actor}'s commitment by partner\n(budget units; {actor}'s 2018 budget = "
                          f"{float(budgets.iloc[0]):.2f})", fontsize=8)
    handles, labels = axes[0][-1].get_legend_handles_labels()
    n = len(keep) + bool(rest)  # the stack's entries: top of the stack first, as drawn
    order_top_first = [*handles[n:][::-1], *handles[:n][::-1]]
    labels_top_first = [*labels[n:][::-1], *labels[:n][::-1]]
    axes[0][-1].legend(order_top_first, labels_top_first, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8,
                       title="top of the stack first", title_fontsize=8)
    fig.suptitle(f"{actor}'s commitments by partner, stacked under its budget (mean over replications)\n"
                 "hatched: budget not committed (desired commitments add up to less than the budget, which then "
                 "does not bind)", fontsize=10)
    return fig


def _circle(nodes: list[str]) -> dict[str, np.ndarray]:
    """Positions on the unit circle, counter-clockwise from (1, 0), in the order given."""
    theta = np.linspace(0, 2 * np.pi, len(nodes), endpoint=False)
    return {n: np.array([np.cos(t), np.sin(t)]) for n, t in zip(nodes, theta, strict=True)}


def _edges(ax: Axes, pos: dict[str, np.ndarray], pairs: pd.DataFrame, **style: Any) -> None:
    if len(pairs):
        segments = [[pos[o], pos[t]] for o, t in zip(pairs["origin"], pairs["target"], strict=True)]
        ax.add_collection(LineCollection(segments, **style))


def plot_network(network: pd.DataFrame, min_tie: float = 0.04, min_hostility: float = 0.5,
                 highlight: tuple[str, str] = ("RUS", "IRN"), min_change: float = 0.005) -> Figure:
    """Tie network at the start (calibration) and at the end of each scenario (replication means),
    and, for two scenarios, the change at the end (second minus first).

    Nodes sit on a circle grouped by camp (node colour). Edge width is the mutual tie strength
    (ties below ``min_tie`` hidden), colour its affinity (green friendly, red hostile); thin
    dashed grey lines are hostile pairs (affinity <= -min_hostility) without such a tie; the
    ``highlight`` pair is drawn on top in black dashes. In the change panel, edges whose tie
    differs by at least ``min_change`` are blue (stronger) or orange (weaker), width by size.
    """
    start = network[network["stage"] == "start"]
    start = start[start["scenario"] == start["scenario"].iloc[0]]
    ends = list(network[network["stage"] == "end"].groupby("scenario", sort=False))
    panels = [("start (calibration)", start)] + [(f"end: {s}", g) for s, g in ends]
    camps = dict(zip(start["origin"], start["origin_camp"], strict=False)) | dict(
        zip(start["target"], start["target_camp"], strict=False))
    camp_names = sorted(set(camps.values()))
    nodes = sorted(camps, key=lambda c: (camps[c], c))
    pos = _circle(nodes)
    change = len(ends) == 2
    fig = Figure(figsize=(4.3 * (len(panels) + change) + 1.2, 5.6), layout="constrained")
    axes = list(np.atleast_1d(fig.subplots(1, len(panels) + change)))
    cmap = matplotlib.colormaps["RdYlGn"]
    node_colors = [CAMP_COLORS[camp_names.index(camps[n]) % len(CAMP_COLORS)] for n in nodes]
    xy = np.array([pos[n] for n in nodes])

    def pair_of(g: pd.DataFrame) -> pd.DataFrame:
        return g[((g["origin"] == highlight[0]) & (g["target"] == highlight[1]))
                 | ((g["origin"] == highlight[1]) & (g["target"] == highlight[0]))]

    def nodes_on(ax: Axes) -> None:
        ax.scatter(xy[:, 0], xy[:, 1], s=520, c=node_colors, zorder=3, edgecolors="white", linewidths=0.8)
        for n, (x, y) in zip(nodes, xy, strict=True):
            ax.text(x, y, n, ha="center", va="center", fontsize=7, color="white", fontweight="bold", zorder=4)
        ax.set_xlim(-1.2, 1.2)
        ax.set_ylim(-1.2, 1.2)
        ax.set_aspect("equal")
        ax.set(xticks=[], yticks=[])  # no ticks to lay out (most of a panel's drawing time otherwise)
        ax.set_axis_off()

    for ax, (title, g) in zip(axes, panels, strict=False):
        ties = g[g["tie"] >= min_tie]
        hostile = g[(g["tie"] < min_tie) & (g["affinity"] <= -min_hostility)]
        _edges(ax, pos, hostile, linestyles="dashed", colors="#999999", linewidths=0.6, alpha=0.6)
        _edges(ax, pos, ties, linewidths=(30 * ties["tie"]).tolist(),
               colors=[cmap((s + 1) / 2) for s in ties["affinity"]])
        pair = pair_of(g)
        _edges(ax, pos, pair, linewidths=max(2.0, 30 * float(pair["tie"].max())) if len(pair) else 2.0,
               colors="black", linestyles="dashed", zorder=2)
        nodes_on(ax)
        tie = float(pair["tie"].iloc[0]) if len(pair) else float("nan")
        ax.set_title(f"{title}\n{highlight[0]}-{highlight[1]} tie {tie:.3f}", fontsize=10)
    if change:
        (first, g0), (second, g1) = ends
        ax = axes[-1]
        key = ["origin", "target"]
        diff = g1.set_index(key)["tie"] - g0.set_index(key)["tie"]
        diff = diff.reset_index(name="change")
        for sign, color in ((1, COLORS[0]), (-1, COLORS[1])):
            moved = diff[sign * diff["change"] >= min_change]
            _edges(ax, pos, moved, colors=color, linewidths=(30 * moved["change"].abs()).clip(lower=0.8).tolist())
        nodes_on(ax)
        pair = pair_of(diff.rename(columns={"change": "tie"}))
        delta = float(pair["tie"].iloc[0]) if len(pair) else float("nan")
        ax.set_title(f"change at the end: {second} - {first}\n{highlight[0]}-{highlight[1]} {delta:+.3f}",
                     fontsize=10)
    handles = [Line2D([], [], marker="o", linestyle="", color=CAMP_COLORS[k % len(CAMP_COLORS)], label=camp)
               for k, camp in enumerate(camp_names)]
    handles += [Line2D([], [], color="#999999", linestyle="--", linewidth=0.8,
                       label=f"hostile, no tie (affinity <= -{min_hostility:g})"),
                Line2D([], [], color="black", linestyle="--", linewidth=2, label=f"{highlight[0]}-{highlight[1]}")]
    if change:
        handles += [Line2D([], [], color=COLORS[0], linewidth=3, label=f"change: tie stronger by >= {min_change:g}"),
                    Line2D([], [], color=COLORS[1], linewidth=3, label=f"change: tie weaker by >= {min_change:g}")]
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 6), fontsize=8,
               title="node colour = camp; edges", title_fontsize=8)
    fig.colorbar(ScalarMappable(cmap=cmap, norm=Normalize(-1, 1)), ax=axes, shrink=0.6, location="right",
                 label=f"affinity (edge colour); width = tie strength\n(ties >= {min_tie:g}; change: same width scale)")
    fig.suptitle("Tie network, replication means: the start, the end of each scenario"
                 + (", and the change" if change else ""))
    return fig


def plot_blocs(blocs: pd.DataFrame) -> Figure:
    """Bloc of each actor (rows) under each partition (columns), from a :func:`compare_blocs` table
    whose reference is its first column."""
    body = blocs.drop(index="agreement")
    grid = (body == "B").to_numpy(dtype=float)
    fig = Figure(figsize=(1.6 + 1.5 * grid.shape[1], 0.9 + 0.32 * grid.shape[0]), layout="constrained")
    ax = fig.subplots()
    ax.imshow(grid, cmap=ListedColormap([COLORS[0], COLORS[1]]), aspect="auto", vmin=0, vmax=1)
    for (r, c), value in np.ndenumerate(body.to_numpy()):
        ax.text(c, r, value, ha="center", va="center", color="white", fontsize=8, fontweight="bold")
    ax.set_xticks(range(grid.shape[1]), [f"{col}\n({blocs.loc['agreement', col]} agree with column 1)"
                                         for col in body.columns], fontsize=7)
    ax.set_yticks(range(grid.shape[0]), body.index, fontsize=8)
    ax.set_title("Two blocs: agent model against landscape theory", fontsize=10)
    return fig


def headline_figures(table: pd.DataFrame, network: pd.DataFrame | None, summary: dict | None = None,
                     *, only: Collection[str] | None = None) -> dict[str, Figure]:
    """The figures of a run, by file stem (:data:`HEADLINE_FIGURES`; the network's only if there is a
    network table); ``only``: just those stems."""
    if only is not None and not set(only) <= set(HEADLINE_FIGURES):
        raise ValueError(f"headline figures are {', '.join(HEADLINE_FIGURES)}; asked for {', '.join(only)}")
    makers = {
        "entente_strength": lambda: plot_entente(table, summary),
        "sunni_leverage": lambda: plot_leverage(table),
        "portfolio": lambda: plot_portfolio(table),
        "network": lambda: plot_network(network, highlight=roles(table)[:2]),
    }
    if network is None or not len(network):
        del makers["network"]
    return {stem: make() for stem, make in makers.items() if only is None or stem in only}


def _key_label(key: str) -> str:
    """``outreach (policy.outreach)`` for a lever, ``noise.sigma`` for a mechanism parameter,
    ``treatment (compare)`` for a grid over treatment scenarios."""
    if key == "compare":
        return "treatment (compare)"
    return f"{LEVER_LABELS[key]} ({key})" if key in LEVER_LABELS else key.removeprefix("model.mechanisms.")


def _x_values(values: pd.Series) -> tuple[np.ndarray, list[str] | None]:
    """Numeric x positions of a swept key's values, and tick labels when they are not numbers (in
    the order they first appear: the grid's order)."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        return numeric.to_numpy(dtype=float), None
    levels = list(dict.fromkeys(values.astype(str)))
    return np.array([levels.index(str(v)) for v in values], dtype=float), levels


def plot_effect_vs(effects: pd.DataFrame, keys: list[str], x_key: str) -> Figure:
    """H1 and H2 effects against one swept key with 95% BCa bands, one line per value of the other
    keys (at most six; beyond, the points alone), each point marked by its verdict. Against a key
    whose values are names (``compare``: treatments), no line joins them: each point has its
    interval as a bar."""
    others = [k for k in keys if k != x_key]
    fig = Figure(figsize=(11, 4.6), layout="constrained")
    axes = fig.subplots(1, 2)
    grouped = bool(others) and effects.groupby(others).ngroups <= 6
    for ax, (h, spec) in zip(axes, HYPOTHESES.items(), strict=True):
        sub = effects[effects["hypothesis"] == h]
        groups = sub.groupby(others, sort=True) if grouped else [((), sub)]
        for n, (label, g) in enumerate(groups):
            x, ticks = _x_values(g[x_key])
            g = g.assign(_x=x).sort_values("_x", kind="stable")
            color = COLORS[n % len(COLORS)]
            name = ", ".join(f"{_key_label(k)} {v}" for k, v in
                             zip(others, label if isinstance(label, tuple) else (label,), strict=True)
                             ) if grouped else ""
            line = "-" if (grouped or not others) and ticks is None else "none"
            ax.plot(g["_x"], g["effect"], color=color, linestyle=line, marker=None if line == "-" else "_",
                    markersize=16, label=name or "mean paired effect")
            if g["ci_low"].notna().all() and ticks is not None:
                low, high = g["ci_low"].astype(float), g["ci_high"].astype(float)
                ax.errorbar(g["_x"], g["effect"], yerr=[g["effect"] - low, high - g["effect"]], fmt="none",
                            ecolor=color, elinewidth=1.5, capsize=4, label="95% BCa interval" if n == 0 else None)
            elif g["ci_low"].notna().all() and line == "-":
                ax.fill_between(g["_x"], g["ci_low"].astype(float), g["ci_high"].astype(float), color=color,
                                alpha=0.2, linewidth=0, label="95% BCa interval" if n == 0 else None)
            for verdict, (marker, face) in VERDICT_STYLE.items():
                at = g[g["verdict"] == verdict]
                ax.scatter(at["_x"], at["effect"], s=36, marker=marker, facecolors=face, edgecolors="black",
                           linewidths=0.8, zorder=3)
            if ticks is not None:
                ax.set_xticks(range(len(ticks)), ticks)
        ax.axhline(0, color="#333333", linewidth=0.8)
        span = np.subtract(*ax.get_ylim()[::-1])
        if "threshold" in sub and sub["threshold"].notna().any():
            threshold = spec["expected"] * float(sub["threshold"].max())
            on_zero = abs(threshold) < 0.02 * abs(span)
            ax.axhline(threshold, color="#333333", linewidth=0.8, linestyle="--",
                       label=f"practical threshold ({threshold:+.2g}"
                             + (": on the zero line at this scale)" if on_zero else ")"))
        for verdict, (marker, face) in VERDICT_STYLE.items():
            if (sub["verdict"] == verdict).any():
                ax.scatter([], [], s=36, marker=marker, facecolors=face, edgecolors="black", linewidths=0.8,
                           label=f"verdict: {verdict}" + (" (equal outreach)" if verdict == "not applicable" else ""))
        ax.set_xlabel(_key_label(x_key))
        ax.set_ylabel(f"effect on {spec['metric']} at the horizon\n(treatment - control, same seeds)")
        ax.set_title(textwrap.fill(f"{h.upper()}: {spec['claim']}", 60), fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"Paired effects at the horizon against {_key_label(x_key)}")
    return fig


def plot_effect_vs_outreach(effects: pd.DataFrame, keys: list[str]) -> Figure:
    """H1 and H2 effects against outreach (:func:`plot_effect_vs` on ``policy.outreach``)."""
    return plot_effect_vs(effects, keys, "policy.outreach")


def plot_horizon_vs(table: pd.DataFrame, keys: list[str], x_key: str) -> Figure:
    """Unpaired sweeps: the H1 and H2 metrics at the horizon against one swept key, one line per
    scenario (means over replications, and over the other swept keys, with a 95% t-interval)."""
    horizon = table[table["date"] == table["date"].max()]
    fig = Figure(figsize=(11, 4.4), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, (h, spec) in zip(axes, HYPOTHESES.items(), strict=True):
        for n, (scenario, g) in enumerate(horizon.groupby("scenario", sort=False)):
            bands = time_bands(g.assign(date=g[x_key]), spec["metric"])  # "date" = the key's value
            x, ticks = _x_values(bands["date"])
            order = np.argsort(x)
            color = COLORS[n % len(COLORS)]
            ax.plot(x[order], bands["mean"].to_numpy()[order], marker="o", color=color, label=f"{scenario} (mean)")
            if bands["low"].notna().all():
                ax.fill_between(x[order], bands["low"].to_numpy()[order], bands["high"].to_numpy()[order],
                                color=color, alpha=0.2, linewidth=0, label=f"{scenario} 95% t-interval")
            if ticks is not None:
                ax.set_xticks(range(len(ticks)), ticks)
        ax.set_xlabel(_key_label(x_key))
        unit = TIE_UNIT if spec["metric"] == "entente_strength" else LEVERAGE_UNIT
        ax.set_ylabel(f"{spec['metric']} at {table['date'].max():%Y-%m}\n({unit})", fontsize=8)
        ax.set_title(f"{h.upper()} metric: {spec['metric']}", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    others = [k for k in keys if k != x_key]
    fig.suptitle(f"The H1 and H2 metrics at the horizon against {_key_label(x_key)} (no pairing: levels, not effects"
                 + (f"; mean over {', '.join(map(_key_label, others))})" if others else ")"), fontsize=10)
    return fig


def plot_phase_diagram(effects: pd.DataFrame, keys: list[str], hypothesis: str = "h1") -> Figure:
    """Heatmap of one effect over the two sanctions levers, a panel per outreach level.

    Each cell's text is the effect and the verdict's initial (S supported, R refuted, I
    inconclusive). A cell whose 95% CI includes 0 (no detectable effect) is outlined with dots;
    the title says how many there are.
    """
    x_key, y_key = (f"policy.{name}" for name in SANCTIONS)
    sub = effects[effects["hypothesis"] == hypothesis]
    levels = sorted(sub["policy.outreach"].unique()) if "policy.outreach" in keys else [None]
    limit = float(np.nanmax(np.abs(sub["effect"]))) or 1.0
    fig = Figure(figsize=(4.2 * len(levels) + 1.2, 4.4), layout="constrained")
    axes = fig.subplots(1, len(levels), squeeze=False)
    image = None
    includes_zero = 0
    for ax, level in zip(axes[0], levels, strict=True):
        g = sub if level is None else sub[sub["policy.outreach"] == level]
        xs, ys = sorted(g[x_key].unique()), sorted(g[y_key].unique())
        grid = g.pivot_table(index=y_key, columns=x_key, values="effect").reindex(index=ys, columns=xs)
        image = ax.imshow(grid.to_numpy(), origin="lower", cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
        for r in g.itertuples(index=False):
            row = dict(zip(g.columns, r, strict=True))
            i, j = ys.index(row[y_key]), xs.index(row[x_key])
            known = row["ci_low"] is not None and not pd.isna(row["ci_low"])
            if known and row["ci_low"] <= 0 <= row["ci_high"]:
                includes_zero += 1
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=1.5,
                                       linestyle=":"))
            dark = abs(row["effect"]) > 0.6 * limit
            ax.text(j, i, f"{row['effect']:+.3f}\n{VERDICT_MARKS.get(row['verdict'], '')}", ha="center",
                    va="center", fontsize=7, color="white" if dark else "black")
        ax.set_xticks(range(len(xs)), [f"{v:g}" for v in xs])
        ax.set_yticks(range(len(ys)), [f"{v:g}" for v in ys])
        ax.set_xlabel(LEVER_LABELS[x_key])
        ax.set_ylabel(LEVER_LABELS[y_key])
        ax.set_title("all points" if level is None else f"outreach {level:g} vs 0", fontsize=10)
    spec = HYPOTHESES[hypothesis]
    fig.colorbar(image, ax=axes[0].tolist(), label=f"{hypothesis.upper()} effect on {spec['metric']}\n"
                                                   "(treatment - control at the horizon)")
    outlined = (f"dotted outline: 95% CI includes 0 ({includes_zero} cell{'s' if includes_zero != 1 else ''})"
                if includes_zero else "every cell's 95% CI excludes 0")
    fig.suptitle(f"{hypothesis.upper()} effect at the horizon by sanctions condition\n"
                 f"text: effect and verdict (S supported, R refuted, I inconclusive); {outlined}", fontsize=10)
    return fig


def plot_sensitivity(sensitivity: pd.DataFrame, design: str) -> Figure:
    """Sobol first- and total-order indices (or Morris mu*) of the H1 and H2 effects, with 95% CIs."""
    hs = list(sensitivity["hypothesis"].unique())
    n = sensitivity["parameter"].nunique()
    fig = Figure(figsize=(6 * len(hs), 0.28 * n + 1.9), layout="constrained")
    axes = fig.subplots(1, len(hs), sharey=True, squeeze=False)
    columns = [("S1", "first order S1"), ("ST", "total order ST")] if design == "sobol" else [("mu_star", "mu*")]
    order = (sensitivity[sensitivity["hypothesis"] == hs[0]]
             .sort_values(columns[-1][0])["parameter"].tolist())
    y = np.arange(len(order))
    height = 0.8 / len(columns)
    for ax, h in zip(axes[0], hs, strict=True):
        s = sensitivity[sensitivity["hypothesis"] == h].set_index("parameter").loc[order]
        for k, (col, label) in enumerate(columns):
            ax.barh(y + (k - (len(columns) - 1) / 2) * height, s[col], height=height, xerr=s[f"{col}_conf"],
                    color=COLORS[k], label=label, error_kw={"elinewidth": 0.8, "capsize": 2})
        ax.set_yticks(y, [p.removeprefix("model.mechanisms.") for p in order], fontsize=7)
        ax.axvline(0, color="#333333", linewidth=0.8)
        ax.set_title(f"{h.upper()} effect on {HYPOTHESES[h]['metric']}", fontsize=9)
        ax.set_xlabel("Sobol index (bars: 95% bootstrap CI)" if design == "sobol"
                      else "Morris mu* (effect units; bars: 95% CI)")
        ax.grid(alpha=0.3, axis="x")
        ax.legend(fontsize=8, loc="lower right")
    idle = sensitivity.groupby("parameter")[columns[-1][0]].apply(lambda v: bool((v.abs() < 1e-12).all()))
    note = (f"\nno bar ({int(idle.sum())} parameters): no effect at all in this pair, e.g. sanctions parameters "
            "where no sanctions lever is on" if idle.any() else "")
    fig.suptitle(f"Sensitivity of the H1 and H2 effects to the mechanism parameters ({design}){note}",
                 fontsize=10)
    return fig


def plot_discovery(discovery: Any, effects: pd.DataFrame) -> Figure:
    """Scenario discovery (:class:`sim.discovery.Discovery`): per target verdict with a box, the
    peeling trajectory (density against coverage, coloured by the number of restricted
    parameters, the box reported circled, the share of all draws dashed) and the limits of that
    box for each parameter it restricts, as prior quantiles (0 to 1 spans the whole prior)."""
    from sim.discovery import prior_quantile

    targets = [t for t in discovery.summary["target"] if t in set(discovery.trajectory["target"])]
    h = discovery.hypothesis or "h1"
    fig = Figure(figsize=(11, 3.4 * len(targets) + 0.8), layout="constrained")
    axes = fig.subplots(len(targets), 2, squeeze=False, width_ratios=[1, 1.25])
    dims = int(discovery.trajectory["res_dim"].max())
    cmap = matplotlib.colormaps["viridis"].resampled(max(dims + 1, 2))
    norm = Normalize(-0.5, max(dims, 1) + 0.5)
    for (left, right), target in zip(axes, targets, strict=True):
        row = discovery.summary.set_index("target").loc[target]
        t = discovery.trajectory[discovery.trajectory["target"] == target]
        left.plot(t["coverage"], t["density"], color="#999999", linewidth=0.8, zorder=1)
        left.scatter(t["coverage"], t["density"], c=t["res_dim"], cmap=cmap, norm=norm, s=18, zorder=2)
        chosen = t[t["chosen"]].iloc[0]
        left.scatter([chosen["coverage"]], [chosen["density"]], s=140, facecolors="none", edgecolors="black",
                     linewidths=1.5, zorder=3, label=f"box reported: coverage {chosen['coverage']:.2f}, "
                     f"density {chosen['density']:.2f}\n({discovery.rule})")
        left.axhline(row["base_density"], color="#333333", linestyle="--", linewidth=0.9,
                     label=f"share of all draws: {row['base_density']:.2f}")
        left.set_xlim(-0.02, 1.02)
        left.set_ylim(0, 1.02)
        left.set_xlabel("coverage (cases in the box / all cases)")
        left.set_ylabel("density (cases in the box / draws in it)")
        left.set_title(f"{h.upper()} {target}: {int(row['cases'])} of {int(row['points'])} draws; "
                       "PRIM's peeling trajectory", fontsize=9)
        left.grid(alpha=0.3)
        left.legend(fontsize=7, loc="lower left")
        fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=left, ticks=range(dims + 1),
                     label="parameters restricted")
        box = discovery.boxes[(discovery.boxes["target"] == target) & discovery.boxes["restricted"]]
        y = np.arange(len(box))
        for k, b in enumerate(box.itertuples(index=False)):
            shape, low, high = discovery.priors.get(b.parameter, ("uniform", b.sample_low, b.sample_high))
            q = prior_quantile(np.array([b.low, b.high]), shape, low, high)
            right.barh(k, 1, left=0, color="#eeeeee", edgecolor="#bbbbbb", height=0.6)
            right.barh(k, q[1] - q[0], left=q[0], color=VERDICT_COLORS.get(target, COLORS[0]), height=0.6)
            right.text(q[0], k + 0.36, f"{number(b.low)}", ha="left", va="bottom", fontsize=7)
            right.text(q[1], k + 0.36, f"{number(b.high)}", ha="right", va="bottom", fontsize=7)
            right.text(1.01, k, f"qp {b.qp_value:.1g}", va="center", fontsize=7)
        right.set_yticks(y, [p.removeprefix("model.mechanisms.") for p in box["parameter"]], fontsize=8)
        right.set_ylim(-0.6, max(len(box), 1) - 0.3)
        right.set_xlim(0, 1.2)
        right.set_xticks([0, 0.25, 0.5, 0.75, 1])
        right.set_xlabel("prior quantile (0 to 1: the whole prior; grey: outside the box)")
        right.set_title(f"limits of the box reported ({len(box)} parameter(s) restricted)\n"
                        "values at the bar ends; PRIM's quasi-p at the right", fontsize=9)
        if box.empty:
            right.text(0.5, 0, "no parameter restricted", ha="center", va="center", fontsize=8)
    n = effects["point"].nunique()
    fig.suptitle(f"Scenario discovery (PRIM) over {n} parameter sets drawn from the priors: where {h.upper()} is "
                 + " and where it is ".join(targets), fontsize=10)
    return fig


def sweep_figures(effects: pd.DataFrame, keys: list[str], design: str,
                  sensitivity: pd.DataFrame | None = None, table: pd.DataFrame | None = None) -> dict[str, Figure]:
    """The figures of a sweep report (``sim.report.Report``'s tables), by file stem.

    Effect against outreach for a grid over ``policy.outreach`` (with at most six other
    conditions), phase diagrams when both sanctions levers are swept, the sensitivity indices
    when there are any; for a grid over other keys, the effects against each key
    (``effect_vs_<key>``); and for a sweep without pairs (no effects), the H1 and H2 metrics at
    the horizon against each swept key from ``table`` (``horizon_vs_<key>``).
    """
    out: dict[str, Figure] = {}
    if effects.empty:
        if table is not None and not table.empty:
            for key in keys:
                out[f"horizon_vs_{_stem(key)}"] = plot_horizon_vs(table, keys, key)
        return out
    if "policy.outreach" in keys and design == "grid":
        others = [k for k in keys if k != "policy.outreach"]
        if not others or effects.groupby(others).ngroups <= 6:
            out["effect_vs_outreach"] = plot_effect_vs_outreach(effects, keys)
    if {f"policy.{name}" for name in SANCTIONS} <= set(keys):
        out["phase_diagram_h1"] = plot_phase_diagram(effects, keys, "h1")
        out["phase_diagram_h2"] = plot_phase_diagram(effects, keys, "h2")
    if sensitivity is not None:
        out["sensitivity"] = plot_sensitivity(sensitivity, design)
    if not out and design == "grid":
        if len(keys) >= FOREST_KEYS:  # lines against one key would mix too many other settings
            out["effects_by_point"] = plot_effects_by_point(effects, keys)
        else:
            for key in keys:
                out[f"effect_vs_{_stem(key)}"] = plot_effect_vs(effects, keys, key)
    return out


FOREST_KEYS = 4  # a grid over this many keys or more is shown point by point (plot_effects_by_point)


def point_label(point: Any, keys: list[str]) -> str:
    """A grid point's settings in a few words: ``abandonment + demand game``, ``third_party_weight=0.3``;
    ``all off`` when every swept switch is off. ``point``: a row (or mapping) holding each key's value."""
    return " + ".join(x for x in (_setting(k, point[k]) for k in keys) if x) or "all off"


def _setting(key: str, value: Any) -> str:
    """A swept key's value in a few words: ``abandonment`` (switched on), ``""`` (off), ``third_party_weight=0.3``."""
    name = key.removeprefix("model.mechanisms.").removeprefix("policy.").removeprefix("value.")
    if str(value).lower() in ("true", "false"):
        name = name.removesuffix(".enabled")
        return {"demands": "demand game"}.get(name, name) if str(value).lower() == "true" else ""
    return f"{name}={value}"


def plot_effects_by_point(effects: pd.DataFrame, keys: list[str]) -> Figure:
    """Every grid point's H1 and H2 effects with their 95% BCa intervals, one row per point (labelled
    by the switches on and the values set), marked by verdict; the practical thresholds dashed."""
    points = effects[effects["hypothesis"] == "h1"].reset_index(drop=True)
    labels = [point_label(row, keys) for _, row in points.iterrows()]
    fig = Figure(figsize=(12, 2.0 + 0.28 * len(points)), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(points))[::-1]
    for ax, (h, spec) in zip(axes, HYPOTHESES.items(), strict=True):
        sub = effects[effects["hypothesis"] == h].set_index("point").loc[points["point"]]
        ax.hlines(y, sub["ci_low"].astype(float), sub["ci_high"].astype(float), color=COLORS[0], linewidth=2,
                  label="95% BCa interval")
        for verdict, (marker, face) in VERDICT_STYLE.items():
            at = (sub["verdict"] == verdict).to_numpy()
            if at.any():
                ax.scatter(sub["effect"].to_numpy()[at], y[at], s=36, marker=marker, facecolors=face,
                           edgecolors="black", linewidths=0.8, zorder=3, label=f"verdict: {verdict}")
        ax.axvline(0, color="#333333", linewidth=0.8)
        if sub["threshold"].notna().any():
            ax.axvline(spec["expected"] * float(sub["threshold"].median()), color="#333333", linewidth=0.8,
                       linestyle="--", label="practical threshold (median over points)")
        ax.set_xlabel(f"effect on {spec['metric']} at the horizon\n(treatment - control, same seeds)")
        ax.set_title(textwrap.fill(f"{h.upper()}: {spec['claim']}", 48), fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=2)  # below: clear of the rows
    axes[0].set_yticks(y, labels, fontsize=7)
    fig.suptitle(f"Paired effects at the horizon at each of {len(points)} points of the grid")
    return fig


def _stem(key: str) -> str:
    """A file stem for a swept key: ``model.mechanisms.noise.sigma`` -> ``noise_sigma``."""
    return key.removeprefix("model.mechanisms.").removeprefix("policy.").replace(".", "_")


def _score_words(scores: pd.DataFrame, scenario: str) -> str:
    """'model agrees on 12/26 cells (H+M: 10/20); guesses: ...' for one scenario of a score table."""
    s = scores[scores["scenario"] == scenario].set_index(["subset", "rule"])

    def got(rule: str) -> str:
        return f"{s.loc[('all', rule), 'agree']}/{s.loc[('all', rule), 'cells']} " \
               f"(H+M: {s.loc[('H+M', rule), 'agree']}/{s.loc[('H+M', rule), 'cells']})"

    return (f"model agrees on {got('model')} cells; guesses: nothing changes {got('nothing changes')}, "
            f"every relation warms {got('every relation warms')}")


def plot_pattern_score(cells: pd.DataFrame) -> Figure:
    """Observed against model direction of each rated dyad (rows) in each period (columns), one panel
    per scenario, from a :func:`sim.patterns.cell_changes` table.

    Each cell is split in two: the left half is the observed sign (shaded by its rating's confidence,
    letter H/M/L), the right half the model's sign with its mean change of tie strength; a black
    frame marks a cell where the two agree. Each panel's title gives the score and the two guesses'.
    """
    scores = score_table(cells)
    scenarios = list(pd.unique(cells["scenario"]))
    dyads = list(dict.fromkeys(zip(cells["a"], cells["b"], strict=True)))
    periods = sorted(set(zip(cells["start"], cells["end"], strict=True)))
    width = 2.3 * len(periods) + 1.4
    fig = Figure(figsize=(max(width * len(scenarios), 7.5), 2.4 + 0.42 * len(dyads)), layout="constrained")
    axes = fig.subplots(1, len(scenarios), squeeze=False)
    for ax, scenario in zip(axes[0], scenarios, strict=True):
        for c in cells[cells["scenario"] == scenario].itertuples(index=False):
            i, j = dyads.index((c.a, c.b)), periods.index((c.start, c.end))
            ax.add_patch(Rectangle((j - 0.45, i - 0.42), 0.45, 0.84, facecolor=SIGN_COLORS[c.observed],
                                       alpha=CONFIDENCE_ALPHA[c.confidence], linewidth=0))
            ax.add_patch(Rectangle((j, i - 0.42), 0.45, 0.84, facecolor=SIGN_COLORS[c.model_sign], linewidth=0))
            ax.text(j - 0.225, i, f"{SIGN_TEXT[c.observed]} {c.confidence}", ha="center", va="center", fontsize=8)
            ax.text(j + 0.225, i, f"{SIGN_TEXT[c.model_sign]}\n{c.change:+.3f}", ha="center", va="center",
                    fontsize=7, linespacing=0.95)
            if c.agree:
                ax.add_patch(Rectangle((j - 0.45, i - 0.42), 0.9, 0.84, fill=False, edgecolor="black",
                                           linewidth=2))
        ax.set_xlim(-0.5, len(periods) - 0.5)
        ax.set_ylim(len(dyads) - 0.5, -0.5)
        ax.set_xticks(range(len(periods)), [f"{a}..{b}\nobserved | model" for a, b in periods], fontsize=8)
        ax.set_yticks(range(len(dyads)), [f"{a}-{b}" for a, b in dyads], fontsize=8)
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_xlabel("period: sign of tie(end) - tie(month before start);\nmodel half: sign and mean change "
                      "(tie strength, 0-1)", fontsize=8)
        ax.set_title(f"{scenario}\n" + textwrap.fill(_score_words(scores, scenario), 60), fontsize=9)
    signs = [Patch(facecolor=SIGN_COLORS[s], label=SIGN_WORDS[s]) for s in (1, 0, -1)]
    signs.append(Patch(fill=False, edgecolor="black", linewidth=2, label="model agrees"))
    shades = [Patch(facecolor=SIGN_COLORS[1], alpha=a, label=f"observed, confidence {k}")
              for k, a in CONFIDENCE_ALPHA.items()]
    shades.append(Patch(visible=False, label=" "))
    handles = [h for pair in zip(signs, shades, strict=True) for h in pair]  # the legend fills column by column
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle("Pattern score: observed direction of each dyad's tie (left half) against the model's (right half)",
                 fontsize=10)
    return fig


def calibration_figure(posterior: pd.DataFrame, priors: dict[str, Any], verdicts: pd.DataFrame,
                       forecast: pd.DataFrame | None, score: pd.DataFrame) -> Figure:
    """The calibration on one page: each calibrated parameter's posterior (weighted histogram) over
    its whole prior range (the x axis; log10 for a log-uniform prior) with the prior's density, flat
    on that axis, for comparison; the probability of
    each H1 and H2 verdict under the posterior; the forecast's sign probabilities per dyad; and the
    posterior-predictive agreement with the fitted cells beside the two guesses (title). Under model
    choice (a ``structure`` column) a parameter's posterior is over the structures that fit it (the
    others' rows are NaN), and its title names them."""
    keys = [c for c in posterior.columns if c not in ("structure", "weight", "distance")]
    columns = min(4, len(keys))
    rows = -(-len(keys) // columns)
    fig = Figure(figsize=(12, 2.3 * rows + 4.2), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[2.3 * rows, 4.2])
    axes = np.atleast_1d(top.subplots(rows, columns, squeeze=False)).ravel()
    for ax, key in zip(axes, keys, strict=False):
        prior = priors[key]
        fitted = posterior[posterior[key].notna()]
        weights = fitted["weight"].to_numpy()
        log = prior.shape == "loguniform"  # shown in log10: its prior is flat there
        low, high = (np.log10(prior.low), np.log10(prior.high)) if log else (prior.low, prior.high)
        values = np.log10(fitted[key]) if log else fitted[key]
        ax.hist(values, bins=np.linspace(low, high, 16), weights=weights, density=True, color=COLORS[0], alpha=0.7,
                label="posterior")
        ax.hlines(1 / (high - low), low, high, color="#333333", linestyle="--", label="prior")
        ax.set_xlim(low, high)
        within = ""
        if "structure" in posterior and len(fitted) < len(posterior):
            within = "\nin " + ", ".join(pd.unique(fitted["structure"])) if len(fitted) else "\nin no structure alive"
        ax.set_title(("log10 " if log else "") + key.removeprefix("model.mechanisms.") + within, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[len(keys):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7)
    top.suptitle("posterior density (bars) against prior density (dashed) of each calibrated parameter, over its "
                 "prior range",
                 fontsize=9)
    left, right = bottom.subplots(1, 2, width_ratios=[1, 2])

    y = np.arange(len(verdicts))
    start = np.zeros(len(verdicts))
    for v, color in VERDICT_COLORS.items():
        share = verdicts[f"p_{v}"].to_numpy()
        left.barh(y, share, left=start, color=color, label=v, edgecolor="white")
        start += share
    left.set_yticks(y, [h.upper() for h in verdicts["hypothesis"]])
    left.set_xlim(0, 1)
    left.set_xlabel("probability under the posterior (share of draws)")
    left.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3)
    left.set_title("verdicts under the posterior", fontsize=9)
    if forecast is not None:
        labels = [f"{a}-{b}" for a, b in zip(forecast["a"], forecast["b"], strict=True)]
        y = np.arange(len(forecast))[::-1]
        start = np.zeros(len(forecast))
        for s, column in ((1, "p_plus"), (0, "p_zero"), (-1, "p_minus")):
            share = forecast[column].to_numpy()
            right.barh(y, share, left=start, color=SIGN_COLORS[s], label=SIGN_WORDS[s], edgecolor="white")
            start += share
        right.set_yticks(y, labels, fontsize=7)
        right.set_xlim(0, 1)
        right.set_xlabel("probability of the sign under the posterior (share of draws)")
        right.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3)
        right.set_title(f"forecast {forecast['start'].iloc[0]}..{forecast['end'].iloc[0]}", fontsize=9)
    else:
        right.set_visible(False)
    text = "; ".join(f"{r.rule} {r.agree}/{r.cells}" for r in score[score["subset"] == "all"].itertuples())
    hm = "; ".join(f"{r.rule} {r.agree}/{r.cells}" for r in score[score["subset"] == "H+M"].itertuples())
    bottom.suptitle(f"fitted cells, all: {text}\nH+M: {hm}", fontsize=9)
    return fig


def structures_figure(structures: pd.DataFrame, particles: int) -> Figure:
    """Model choice on one page (``structures.csv``): each structure's posterior probability at the last
    generation (bars, against the uniform prior 1/M, dashed), and how it evolved over the generations
    (lines; a structure whose line reaches 0 has died out: ABC-SMC draws no more particles from it)."""
    generations = [c for c in structures.columns if c.startswith("p_generation_")]
    t = np.array([int(c.removeprefix("p_generation_")) for c in generations])
    names = structures["structure"].tolist()
    fig = Figure(figsize=(11, 0.35 * len(names) + 3.2), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.3])
    y = np.arange(len(names))[::-1]
    colors = [COLORS[k % len(COLORS)] for k in range(len(names))]
    left.barh(y, structures["probability"], color=colors)
    for yk, p in zip(y, structures["probability"], strict=True):
        left.text(min(p + 0.01, 0.9), yk, f"{p:.2f}", va="center", fontsize=8)
    left.axvline(1 / len(names), color="#333333", linestyle="--", linewidth=1, label=f"prior 1/{len(names)}")
    left.set_yticks(y, names, fontsize=8)
    left.set_xlim(0, 1)
    left.set_xlabel(f"posterior probability at the last generation (t = {t[-1]})")
    left.legend(fontsize=8, loc="lower right")
    left.grid(alpha=0.3, axis="x")
    markers = ["o", "s", "^", "D", "v", "P", "X"]
    for k, (label, row) in enumerate(zip(names, structures[generations].to_numpy(), strict=True)):
        right.plot(t, row, color=colors[k], marker=markers[k // len(COLORS) % len(markers)], label=label)
    right.axhline(1 / len(names), color="#333333", linestyle="--", linewidth=1, label=f"prior 1/{len(names)}")
    right.set_xticks(t)
    right.set_ylim(-0.02, 1.02)
    right.set_xlabel("ABC-SMC generation (epsilon falls from one to the next)")
    right.set_ylabel("posterior probability")
    right.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    right.grid(alpha=0.3)
    fig.suptitle(f"Model choice among {len(names)} structures (ABC-SMC, {particles} particles shared by them; "
                 "a uniform prior over the structures)", fontsize=10)
    return fig
