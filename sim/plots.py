"""Every figure, from result tables only (never from a live model).

Each ``plot_*`` function takes tables and returns a matplotlib Figure; writing them is
:func:`sim.store.write_figures`' job. :func:`headline_figures` are a run's figures,
:func:`sweep_figures` a sweep report's. Bands are 95% t-intervals of the mean over replications.
"""

from __future__ import annotations

import textwrap

import matplotlib.colors
import matplotlib.dates as mdates
import matplotlib.patches
import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis import HYPOTHESES, paired_bands, time_bands
from sim.levers import LEVER_LABELS, SANCTIONS
from sim.patterns import score_table

COLORS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860"]
CAMP_COLORS = ["#4c72b0", "#8172b3", "#937860", "#333333", "#da8bc3", "#8c8c8c"]  # clear of the red-green scale
VERDICT_MARKS = {"supported": "S", "refuted": "R", "inconclusive": "I"}
SIGN_COLORS = {1: COLORS[0], 0: "#d9d9d9", -1: COLORS[1]}  # warmer blue, unchanged grey, cooler orange
SIGN_WORDS = {1: "+1 warmer", 0: "0 unchanged", -1: "-1 cooler"}
SIGN_TEXT = {1: "+1", 0: "0", -1: "-1"}
CONFIDENCE_ALPHA = {"H": 1.0, "M": 0.6, "L": 0.3}  # an observed half's shade: paler for a less sure rating


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


def plot_effect_vs_outreach(effects: pd.DataFrame, keys: list[str]) -> Figure:
    """H1 and H2 effects against outreach with 95% CI bands, one line per other condition."""
    others = [k for k in keys if k != "policy.outreach"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
    for ax, (h, spec) in zip(axes, HYPOTHESES.items(), strict=True):
        sub = effects[effects["hypothesis"] == h]
        groups = sub.groupby(others, sort=True) if others else [((), sub)]
        for n, (label, g) in enumerate(groups):
            g = g.sort_values("policy.outreach")
            color = COLORS[n % len(COLORS)]
            name = ", ".join(f"{LEVER_LABELS.get(k, k)} {v}" for k, v in
                             zip(others, label if isinstance(label, tuple) else (label,), strict=True))
            ax.plot(g["policy.outreach"], g["effect"], marker="o", color=color, label=name or "mean paired effect")
            if g["ci_low"].notna().all():
                ax.fill_between(g["policy.outreach"], g["ci_low"].astype(float), g["ci_high"].astype(float),
                                color=color, alpha=0.2, linewidth=0, label="95% BCa CI" if not others else None)
            held = g[g["verdict"] == "supported"]
            ax.scatter(held["policy.outreach"], held["effect"], s=60, facecolors="none", edgecolors="black",
                       zorder=3, label="supported" if n == 0 and len(held) else None)
        ax.axhline(0, color="#333333", linewidth=0.8)
        if "threshold" in sub and sub["threshold"].notna().any():
            ax.axhline(spec["expected"] * float(sub["threshold"].max()), color="#333333", linewidth=0.8,
                       linestyle="--", label="practical threshold")
        ax.set_xlabel("Russian outreach intensity (policy.outreach)")
        ax.set_ylabel(f"effect on {spec['metric']} at the horizon\n(outreach - baseline, same seeds)")
        ax.set_title(textwrap.fill(f"{h.upper()}: {spec['claim']}", 55), fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    return fig


def plot_phase_diagram(effects: pd.DataFrame, keys: list[str], hypothesis: str = "h1") -> Figure:
    """Heatmap of one effect over the two sanctions levers, a panel per outreach level.

    A cell outlined in black has a 95% CI that excludes 0; its text is the effect and the verdict's
    initial (S supported, R refuted, I inconclusive).
    """
    x_key, y_key = (f"policy.{name}" for name in SANCTIONS)
    sub = effects[effects["hypothesis"] == hypothesis]
    levels = sorted(sub["policy.outreach"].unique()) if "policy.outreach" in keys else [None]
    limit = float(np.nanmax(np.abs(sub["effect"]))) or 1.0
    fig, axes = plt.subplots(1, len(levels), figsize=(4.2 * len(levels) + 1, 4), layout="constrained", squeeze=False)
    image = None
    for ax, level in zip(axes[0], levels, strict=True):
        g = sub if level is None else sub[sub["policy.outreach"] == level]
        xs, ys = sorted(g[x_key].unique()), sorted(g[y_key].unique())
        grid = g.pivot_table(index=y_key, columns=x_key, values="effect").reindex(index=ys, columns=xs)
        image = ax.imshow(grid.to_numpy(), origin="lower", cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
        for r in g.itertuples(index=False):
            row = dict(zip(g.columns, r, strict=True))
            i, j = ys.index(row[y_key]), xs.index(row[x_key])
            excludes = row["ci_low"] is not None and not pd.isna(row["ci_low"]) and (
                row["ci_low"] > 0 or row["ci_high"] < 0)
            if excludes:
                ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=2))
            dark = abs(row["effect"]) > 0.6 * limit
            ax.text(j, i, f"{row['effect']:+.3f}\n{VERDICT_MARKS.get(row['verdict'], '')}", ha="center",
                    va="center", fontsize=7, color="white" if dark else "black")
        ax.set_xticks(range(len(xs)), [f"{v:g}" for v in xs])
        ax.set_yticks(range(len(ys)), [f"{v:g}" for v in ys])
        ax.set_xlabel(LEVER_LABELS[x_key])
        ax.set_ylabel(LEVER_LABELS[y_key])
        ax.set_title("all points" if level is None else f"outreach {level:g} vs 0")
    spec = HYPOTHESES[hypothesis]
    fig.colorbar(image, ax=axes[0].tolist(), label=f"{hypothesis.upper()} effect on {spec['metric']}")
    fig.suptitle(f"{hypothesis.upper()} effect at the horizon by condition (outlined: 95% CI excludes 0; "
                 "S supported, R refuted, I inconclusive)", fontsize=10)
    return fig


def plot_sensitivity(sensitivity: pd.DataFrame, design: str) -> Figure:
    """Sobol first- and total-order indices (or Morris mu*) of the H1 and H2 effects, with 95% CIs."""
    hs = list(sensitivity["hypothesis"].unique())
    n = sensitivity["parameter"].nunique()
    fig, axes = plt.subplots(1, len(hs), figsize=(6 * len(hs), 0.28 * n + 1.5), layout="constrained", sharey=True,
                             squeeze=False)
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
        ax.set_xlabel("Sobol index (95% bootstrap CI)" if design == "sobol" else "Morris mu* (95% CI)")
        ax.grid(alpha=0.3, axis="x")
        ax.legend(fontsize=8, loc="lower right")
    return fig


def sweep_figures(effects: pd.DataFrame, keys: list[str], design: str,
                  sensitivity: pd.DataFrame | None = None) -> dict[str, Figure]:
    """The figures of a sweep report (``sim.report.Report``'s tables), by file stem.

    Effect against outreach for a grid over ``policy.outreach`` (with at most six other
    conditions), phase diagrams when both sanctions levers are swept, and the sensitivity
    indices when there are any; none without effects.
    """
    out: dict[str, Figure] = {}
    if effects.empty:
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
    return out


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
    fig, axes = plt.subplots(1, len(scenarios), figsize=(max(width * len(scenarios), 7.5), 2.4 + 0.42 * len(dyads)),
                             layout="constrained", squeeze=False)
    for ax, scenario in zip(axes[0], scenarios, strict=True):
        for c in cells[cells["scenario"] == scenario].itertuples(index=False):
            i, j = dyads.index((c.a, c.b)), periods.index((c.start, c.end))
            ax.add_patch(plt.Rectangle((j - 0.45, i - 0.42), 0.45, 0.84, facecolor=SIGN_COLORS[c.observed],
                                       alpha=CONFIDENCE_ALPHA[c.confidence], linewidth=0))
            ax.add_patch(plt.Rectangle((j, i - 0.42), 0.45, 0.84, facecolor=SIGN_COLORS[c.model_sign], linewidth=0))
            ax.text(j - 0.225, i, f"{SIGN_TEXT[c.observed]} {c.confidence}", ha="center", va="center", fontsize=8)
            ax.text(j + 0.225, i, f"{SIGN_TEXT[c.model_sign]}\n{c.change:+.3f}", ha="center", va="center",
                    fontsize=7, linespacing=0.95)
            if c.agree:
                ax.add_patch(plt.Rectangle((j - 0.45, i - 0.42), 0.9, 0.84, fill=False, edgecolor="black",
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
    signs = [matplotlib.patches.Patch(facecolor=SIGN_COLORS[s], label=SIGN_WORDS[s]) for s in (1, 0, -1)]
    signs.append(matplotlib.patches.Patch(fill=False, edgecolor="black", linewidth=2, label="model agrees"))
    shades = [matplotlib.patches.Patch(facecolor=SIGN_COLORS[1], alpha=a, label=f"observed, confidence {k}")
              for k, a in CONFIDENCE_ALPHA.items()]
    shades.append(matplotlib.patches.Patch(visible=False, label=" "))
    handles = [h for pair in zip(signs, shades, strict=True) for h in pair]  # the legend fills column by column
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle("Pattern score: observed direction of each dyad's tie (left half) against the model's (right half)",
                 fontsize=10)
    return fig
