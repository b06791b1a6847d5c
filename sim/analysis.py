"""Paired effects with bootstrap intervals, verdicts, and time bands, from result tables only.

``scipy.stats`` (about 0.6 s to import) is imported by :func:`paired_effect` only, when an
interval or a p-value is computed; time bands use the t quantile of ``scipy.special``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special

HYPOTHESES = {
    "h1": {"metric": "entente_strength", "scale": "entente_strength", "expected": -1,
           "claim": "outreach weakens the Russia-Iran tie (dilution)",
           "estimand": "the entente's tie strength at the horizon, treatment minus control, paired by seed"},
    "h2": {"metric": "realized_leverage", "scale": "entente_strength", "expected": 1,
           "claim": "outreach gives the Sunni states more leverage over the Russia-Iran dyad "
                    "(their demands take more from the entente)",
           "estimand": "realized leverage at the horizon (the entente without the targets' demands minus the "
                       "entente with them, same seed), treatment minus control: a difference in differences"},
}
# Reported beside the hypotheses, without a verdict: the old in-run leverage index, which grows with the
# actor's ties to the targets by construction (its effect says nothing about what the demands achieve).
DIAGNOSTICS = {
    "h2_index": {"metric": "sunni_leverage",
                 "about": "diagnostic, not a test of H2: the targets' in-run leverage index over the dyad, "
                          "which rises with the actor's ties to them whatever their demands achieve"},
}
# Effects averaged over these months (inclusive) are reported beside the horizon effect.
PERIODS = {"2019-2021": ("2019-01", "2021-12"), "2022-2025": ("2022-01", "2025-12")}
MIN_PERIOD_MONTHS = 12  # a period with fewer months in the table is not reported


# The words the claims above use for the default roles (sim.config.RolesConfig); a world whose
# roles are other states gets their codes instead (:func:`claims`).
DEFAULT_ROLES = ("RUS", "IRN", "RUS", ["SAU", "ARE", "EGY", "LNA"])


def roles(table: pd.DataFrame) -> tuple[str, str, str, list[str]]:
    """Entente pair, outreach actor and targets, read from the metric columns of a results table."""
    a, b = next(c for c in table.columns if c.startswith("affinity_")).removeprefix("affinity_").split("_")
    actor = next(c for c in table.columns if c.startswith("budget_")).removeprefix("budget_")
    targets = [c.removeprefix("leverage_") for c in table.columns
               if c.startswith("leverage_") and "_over_" not in c]
    return a.upper(), b.upper(), actor.upper(), [t.upper() for t in targets]


def claims(table: pd.DataFrame) -> dict[str, str]:
    """What H1 and H2 claim, in words, for the roles of ``table``'s world.

    The default roles (Russia and Iran, Russia's outreach to SAU, ARE, EGY and LNA) keep the
    words of :data:`HYPOTHESES`; other roles (a synthetic world's S00, S01, ...) are named by
    their codes, so a summary never speaks of Russia and Iran for other states. A table without
    the role columns gets the default words.
    """
    try:
        found = roles(table)
    except StopIteration:  # a table without the role columns (affinity_<a>_<b>, budget_<actor>)
        found = DEFAULT_ROLES
    if found == DEFAULT_ROLES:
        return {key: h["claim"] for key, h in HYPOTHESES.items()}
    a, b, actor, targets = found
    return {"h1": f"{actor}'s outreach weakens the {a}-{b} tie (dilution)",
            "h2": f"{actor}'s outreach gives its targets ({', '.join(targets)}) more leverage over the {a}-{b} dyad "
                  "(their demands take more from it)"}


def number(x: float, signed: bool = True) -> str:
    """A metric value for people: 4 decimals (``+0.0321``), or 3 significant digits in exponent form
    when 4 decimals would show a nonzero value as 0 (``+2.11e-05``, as in a synthetic world)."""
    if x != 0 and abs(x) < 5e-5:
        return f"{x:+.2e}" if signed else f"{x:.2e}"
    return f"{x:+.4f}" if signed else f"{x:.4f}"


MIN_REPLICATIONS_FOR_CI = 5  # below this a bootstrap interval is not worth reporting


def paired_differences(table: pd.DataFrame, metric: str, control: str, treatment: str,
                       date: Any | None = None) -> np.ndarray:
    """treatment - control of ``metric`` per replication at ``date`` (default: the last date).

    Replication r of both scenarios shares its random stream, so each difference is paired.
    """
    date = table["date"].max() if date is None else pd.Timestamp(date)
    if control == treatment:
        raise ValueError(f"control and treatment are both {control!r}: nothing to compare")
    at = table[table["date"] == date].set_index(["scenario", "replication"])[metric]
    if at.index.has_duplicates:
        raise ValueError(f"several rows per scenario and replication for {metric} at {date:%Y-%m}")
    diff = at.loc[treatment] - at.loc[control]
    if diff.isna().any():
        raise ValueError(f"replications of {treatment} and {control} do not pair up at {date:%Y-%m}")
    return diff.sort_index().to_numpy()


def verdict(ci_low: float | None, ci_high: float | None, expected_sign: int, p_value: float = 0.0,
            alpha: float = 0.05, threshold: float = 0.0) -> str:
    """Verdict on a directional hypothesis from a CI, with a practical-significance threshold.

    With e the expected sign and delta >= 0 the smallest effect that matters:
    'supported' if the whole CI lies beyond delta in the expected direction (e * CI > delta)
    and the permutation test rejects (p < alpha); 'refuted' if the whole CI lies short of delta
    in that direction (e * CI < delta: the effect is opposite or negligible), with p < alpha too
    when delta = 0; 'inconclusive' otherwise, and always without an interval.
    """
    if ci_low is None or ci_high is None:
        return "inconclusive"
    lo, hi = sorted((expected_sign * ci_low, expected_sign * ci_high))
    if lo > threshold and p_value < alpha:
        return "supported"
    if hi < threshold and (threshold > 0 or p_value < alpha):
        return "refuted"
    return "inconclusive"


def paired_effect(diffs: np.ndarray, expected_sign: int, *, confidence: float = 0.95,
                  n_resamples: int = 9999, seed: int = 0, threshold: float = 0.0) -> dict[str, Any]:
    """Mean paired effect, its BCa bootstrap CI (scipy.stats.bootstrap) and a sign-flip p-value.

    The p-value is the two-sided paired permutation test of a zero mean difference
    (scipy.stats.permutation_test, permutation_type='samples', which flips signs; exact for
    n <= 13, 9999 random flips above). Below MIN_REPLICATIONS_FOR_CI differences there is no
    interval (None) and the verdict is inconclusive.

    ``n_resamples`` stays at 9999 (scipy's default): the BCa interval's ends are tail quantiles of
    the resamples, whose Monte Carlo error shrinks as 1/sqrt(n_resamples), and at 9999 both tests
    of the headline (n = 30) take about 0.1 s together, too little to trade the reported interval's
    accuracy (or its reproducibility against earlier results) for.
    """
    from scipy import stats

    diffs = np.asarray(diffs, dtype=float)
    effect = float(diffs.mean())
    low: float | None
    high: float | None
    rng = np.random.default_rng(seed)
    if diffs.size < MIN_REPLICATIONS_FOR_CI:
        low = high = None
    elif np.ptp(diffs) == 0.0:  # identical differences (no noise): the interval is the point itself
        low = high = effect
    else:
        ci = stats.bootstrap((diffs,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                             method="BCa", rng=rng).confidence_interval
        low, high = float(ci.low), float(ci.high)
    if diffs.size < 2 or (effect == 0.0 and np.ptp(diffs) == 0.0):
        p = 1.0
    else:
        p = float(stats.permutation_test((diffs,), np.mean, permutation_type="samples", n_resamples=n_resamples,
                                         alternative="two-sided", rng=rng).pvalue)
    return {"effect": effect, "ci_low": low, "ci_high": high, "p_value": p,
            "verdict": verdict(low, high, expected_sign, p, 1.0 - confidence, threshold), "n": int(diffs.size)}


def summarise(table: pd.DataFrame, control: str, treatment: str, *, direction: int = 1, seed: int = 0,
              min_relative_effect: float = 0.0, confidence: float = 0.95) -> dict[str, Any]:
    """H1 and H2 at the horizon: paired effect, 95% CI, p-values, relative effect and verdict.

    Each hypothesis's estimand is in :data:`HYPOTHESES` (and in the summary). ``direction`` is
    the sign of the treatment's outreach minus the control's: the hypotheses predict the effects
    of *more* outreach, so a treatment with less outreach reverses the expected signs, and with
    equal outreach there is no verdict ('not applicable'). The practical threshold is
    ``min_relative_effect`` times the control mean of the hypothesis's ``scale`` metric (the
    entente for both). The p-values are Holm-adjusted across H1 and H2
    (``statsmodels.stats.multitest.multipletests``) and the verdicts use the adjusted ones.
    Beside the horizon: effects averaged over :data:`PERIODS`, and the :data:`DIAGNOSTICS`
    (no verdict). A hypothesis whose metric the table lacks (a table written before it
    existed) gets the verdict 'not available'.
    """
    from statsmodels.stats.multitest import multipletests

    horizon = table["date"].max()
    out: dict[str, Any] = {"control": control, "treatment": treatment, "horizon": f"{horizon:%Y-%m}",
                           "outreach_direction": int(np.sign(direction)), "min_relative_effect": min_relative_effect,
                           "multiple_testing": "Holm across H1 and H2 (p_value_holm); verdicts use it"}
    words = claims(table)
    tested = [k for k, h in HYPOTHESES.items() if h["metric"] in table.columns]
    for key, h in HYPOTHESES.items():
        if key not in tested:
            out[key] = {"metric": h["metric"], "claim": words[key], "estimand": h["estimand"],
                        "verdict": "not available", "effect": None, "ci_low": None, "ci_high": None,
                        "p_value": None, "p_value_holm": None, "n": 0}
            continue
        sign = h["expected"] * int(np.sign(direction) or 1)
        diffs = paired_differences(table, h["metric"], control, treatment, horizon)
        scale_mean = float(_at(table, control, horizon)[h["scale"]].mean())
        threshold = min_relative_effect * abs(scale_mean)
        e = paired_effect(diffs, sign, seed=seed, threshold=threshold, confidence=confidence)
        means = _means(table, h["metric"], control, treatment, horizon)
        out[key] = {"metric": h["metric"], "claim": words[key], "estimand": h["estimand"], **e,
                    "control_mean": means["control_mean"], "treatment_mean": means["treatment_mean"],
                    "scale": h["scale"], "scale_control_mean": scale_mean,
                    "relative_effect": e["effect"] / scale_mean if scale_mean else None,
                    "threshold": threshold, "expected_sign": sign,
                    "periods": period_effects(table, h["metric"], control, treatment, sign, seed=seed)}
    if tested:
        adjusted = multipletests([out[k]["p_value"] for k in tested], method="holm")[1]
        for key, p in zip(tested, adjusted, strict=True):
            h = out[key]
            h["p_value_holm"] = float(p)
            h["verdict"] = ("not applicable" if direction == 0 else
                            verdict(h["ci_low"], h["ci_high"], h["expected_sign"], h["p_value_holm"],
                                    1.0 - confidence, h["threshold"]))
    out["diagnostics"] = {key: {**d, **_means(table, d["metric"], control, treatment, horizon)}
                          for key, d in DIAGNOSTICS.items() if d["metric"] in table.columns}
    out["targets"] = target_table(table, control, treatment, horizon)
    return out


def _means(table: pd.DataFrame, metric: str, control: str, treatment: str, date: Any) -> dict[str, float]:
    c = float(_at(table, control, date)[metric].mean())
    t = float(_at(table, treatment, date)[metric].mean())
    return {"control_mean": c, "treatment_mean": t, "effect": t - c}


def period_effects(table: pd.DataFrame, metric: str, control: str, treatment: str, expected_sign: int, *,
                   seed: int = 0) -> dict[str, dict[str, Any]]:
    """The paired effect of ``metric`` averaged over each of :data:`PERIODS` (its months in the table,
    per replication, then treatment - control), with its BCa interval and p-value; no verdict.
    A period with fewer than :data:`MIN_PERIOD_MONTHS` months in the table is left out."""
    out = {}
    for name, (start, end) in PERIODS.items():
        rows = table[(table["date"] >= pd.Timestamp(f"{start}-01")) & (table["date"] <= pd.Timestamp(f"{end}-01"))]
        if rows["date"].nunique() < MIN_PERIOD_MONTHS:
            continue
        means = rows.groupby(["scenario", "replication"])[metric].mean()
        diffs = (means.loc[treatment] - means.loc[control]).sort_index().to_numpy()
        e = paired_effect(diffs, expected_sign, seed=seed)
        out[name] = {k: e[k] for k in ("effect", "ci_low", "ci_high", "p_value", "n")} | {
            "months": f"{rows['date'].min():%Y-%m}..{rows['date'].max():%Y-%m}"}
    return out


def target_table(table: pd.DataFrame, control: str, treatment: str, date: Any) -> dict[str, dict[str, float]]:
    """Per outreach target at ``date``, mean over replications in each scenario: its credible exit
    threat ``exit_threat_<t>`` and its Emerson net power advantage over the actor ``power_<t>_over_<actor>``
    (columns absent from older tables are left out)."""
    out: dict[str, dict[str, float]] = {}
    c, t = _at(table, control, date), _at(table, treatment, date)
    for column in table.columns:
        if column.startswith("exit_threat_"):
            code = column.removeprefix("exit_threat_")
            kind = "exit_threat"
        elif column.startswith("power_") and "_over_" in column:
            code = column.removeprefix("power_").split("_over_")[0]
            kind = "power_over_actor"
        else:
            continue
        out.setdefault(code.upper(), {})
        out[code.upper()][f"{kind}_control"] = float(c[column].mean())
        out[code.upper()][f"{kind}_treatment"] = float(t[column].mean())
    return out


def _at(table: pd.DataFrame, scenario: str, date: Any) -> pd.DataFrame:
    return table[(table["scenario"] == scenario) & (table["date"] == date)]


def t_interval(values: pd.core.groupby.SeriesGroupBy, confidence: float) -> pd.DataFrame:
    """Mean per group with a t-interval for the mean; NaN bounds where a group has one value."""
    out = values.agg(mean="mean", sd="std", n="count").reset_index()
    quantile = special.stdtrit(np.maximum(out["n"] - 1, 1), 0.5 + confidence / 2)  # = scipy.stats.t.ppf, bit for bit
    half = quantile * out["sd"] / np.sqrt(out["n"])
    out["low"], out["high"] = out["mean"] - half, out["mean"] + half
    return out


def time_bands(table: pd.DataFrame, metric: str, confidence: float = 0.95) -> pd.DataFrame:
    """Mean of ``metric`` per scenario and date with a t-interval for the mean over replications."""
    return t_interval(table.groupby(["scenario", "date"])[metric], confidence)


def paired_bands(table: pd.DataFrame, metric: str, control: str, treatment: str,
                 confidence: float = 0.95) -> pd.DataFrame:
    """Per date: mean of the paired differences treatment - control with a t-interval."""
    wide = table[table["scenario"].isin([control, treatment])].pivot_table(
        index=["date", "replication"], columns="scenario", values=metric)
    diff = (wide[treatment] - wide[control]).rename("diff").reset_index()
    return t_interval(diff.groupby("date")["diff"], confidence)


def summary_markdown(summary: dict[str, Any], replications: int) -> str:
    """The summary in words, for summary.md."""
    floor = "exact (all 2^n sign flips)" if replications <= 13 else "from 9999 random sign flips, floor about 0.0002"
    lines = [f"# {summary['treatment']} against {summary['control']}", "",
             f"{replications} paired replications (common random numbers); effects are treatment minus "
             f"control at the horizon ({summary['horizon']}), with 95% BCa bootstrap intervals and two-sided "
             f"sign-flip permutation p-values ({floor}). An effect counts only beyond "
             f"{summary['min_relative_effect']:.0%} of the control mean (practical significance).", ""]
    if summary["outreach_direction"] == 0:
        lines += ["The two scenarios have the same outreach, so the effects are reported without a verdict on",
                  "H1 or H2 (the hypotheses are about more outreach).", ""]
    elif summary["outreach_direction"] < 0:
        lines += ["The treatment has *less* outreach than the control, so the expected signs are reversed.", ""]
    for key in HYPOTHESES:
        h = summary[key]
        lines += [f"## {key.upper()}: {h['claim']}", "", f"- estimand: {h['estimand']} (`{h['metric']}`)"]
        if h["verdict"] == "not available":
            lines += [f"- not available: the table has no `{h['metric']}` column (written before it existed)", ""]
            continue
        ci = ("no interval (fewer than 5 replications)" if h["ci_low"] is None
              else f"95% CI {number(h['ci_low'])} to {number(h['ci_high'])}")
        rel = "" if h["relative_effect"] is None else f", {h['relative_effect']:+.1%} of the control's entente"
        lines += [
            f"- control mean {number(h['control_mean'], False)}, treatment mean {number(h['treatment_mean'], False)}",
            f"- effect {number(h['effect'])}{rel} ({ci}), p = {h['p_value']:.4g}, Holm-adjusted "
            f"{h['p_value_holm']:.4g}; threshold {number(h['threshold'], False)} "
            f"({summary['min_relative_effect']:.0%} of the control's entente {number(h['scale_control_mean'], False)})",
        ]
        for name, e in h.get("periods", {}).items():
            pci = "" if e["ci_low"] is None else f" ({number(e['ci_low'])} to {number(e['ci_high'])})"
            lines.append(f"- averaged over {name} ({e['months']}): {number(e['effect'])}{pci}, p = {e['p_value']:.4g}")
        lines += [f"- verdict: **{h['verdict']}**: " + _verdict_words(h), ""]
    for d in summary.get("diagnostics", {}).values():
        lines += [f"Diagnostic `{d['metric']}` ({d['about']}): control {number(d['control_mean'], False)}, "
                  f"treatment {number(d['treatment_mean'], False)}, difference {number(d['effect'])}.", ""]
    if summary.get("targets"):
        lines += ["Per target at the horizon (control -> treatment): credible exit threat "
                  "K = max(0, D[actor, t] - D[t, actor]) and Emerson net power advantage over the actor "
                  "D[actor, t] - D[t, actor] (negative: the actor holds the power).", "",
                  "| target | exit threat | net power advantage |", "| --- | --- | --- |"]
        for code, v in summary["targets"].items():
            lines.append(f"| {code} | {number(v['exit_threat_control'], False)} -> "
                         f"{number(v['exit_threat_treatment'], False)} | {number(v['power_over_actor_control'])} -> "
                         f"{number(v['power_over_actor_treatment'])} |")
        lines.append("")
    lines += ["'supported': the whole interval lies beyond the threshold in the predicted direction and the "
              "Holm-adjusted p < 0.05.",
              "'refuted': the whole interval lies short of it (an opposite or negligible effect). 'inconclusive':",
              "neither. A verdict is a statement about this model under this configuration, not about the world.", ""]
    return "\n".join(lines)


def _verdict_words(h: dict[str, Any]) -> str:
    if h["control_mean"] == 0 and h["treatment_mean"] == 0 and h["effect"] == 0:
        return ("the metric is 0 in both scenarios (for realized leverage: the targets' demands change nothing, "
                "e.g. because they are switched off).")
    return {
        "supported": "the interval lies beyond the threshold in the predicted direction.",
        "refuted": "the interval lies short of the threshold: the effect is opposite to the prediction or negligible.",
        "not applicable": "the two scenarios do not differ in outreach.",
    }.get(h["verdict"], "the interval straddles the threshold, or there are too few replications.")


def affinity_matrix(network: pd.DataFrame, scenario: str, stage: str) -> tuple[list[str], np.ndarray]:
    """The symmetric affinity matrix of one scenario and stage of a network table, with its codes."""
    rows = network[(network["scenario"] == scenario) & (network["stage"] == stage)]
    codes = list(pd.unique(pd.concat([rows["origin"], rows["target"]])))  # the world's order
    index = {c: k for k, c in enumerate(codes)}
    s = np.zeros((len(codes), len(codes)))
    for r in rows.itertuples():
        s[index[r.origin], index[r.target]] = s[index[r.target], index[r.origin]] = r.affinity
    return codes, s


def compare_blocs(codes: list[str], columns: dict[str, np.ndarray], reference: str) -> pd.DataFrame:
    """Bloc membership of each actor under several partitions, oriented alike.

    ``columns`` maps a label to a 0/1 (or +1/-1) partition; each is flipped if needed so that the
    first actor is in bloc "A". The last row, ``agreement``, gives for each column the share of
    actors placed as in ``reference`` (up to the mirror image, which is the same split).
    """
    out = pd.DataFrame(index=codes)
    for label, part in columns.items():
        side = np.asarray(part) > 0 if np.min(part) < 0 else np.asarray(part) == 1
        side = side ^ side[0]
        out[label] = np.where(side, "B", "A")
    ref = out[reference]
    out.loc["agreement"] = [f"{(out[c].iloc[:len(codes)] == ref).mean():.0%}" for c in out.columns]
    return out
