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
    "h1": {"metric": "entente_strength", "expected": -1, "claim": "outreach weakens the Russia-Iran tie (dilution)"},
    "h2": {"metric": "sunni_leverage", "expected": 1,
           "claim": "outreach gives the Sunni states more leverage over the Russia-Iran dyad"},
}


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
            "h2": f"{actor}'s outreach gives its targets ({', '.join(targets)}) more leverage over the {a}-{b} dyad"}


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
              min_relative_effect: float = 0.0) -> dict[str, Any]:
    """H1 and H2 at the horizon: paired effect, 95% CI, p-value, relative effect and verdict.

    ``direction`` is the sign of the treatment's outreach minus the control's: the hypotheses
    predict the effects of *more* outreach, so a treatment with less outreach reverses the
    expected signs, and with equal outreach there is no verdict ('not applicable'). The
    practical threshold is ``min_relative_effect`` times the control mean's magnitude.
    """
    horizon = table["date"].max()
    out: dict[str, Any] = {"control": control, "treatment": treatment, "horizon": f"{horizon:%Y-%m}",
                           "outreach_direction": int(np.sign(direction)), "min_relative_effect": min_relative_effect}
    words = claims(table)
    for key, h in HYPOTHESES.items():
        diffs = paired_differences(table, h["metric"], control, treatment, horizon)
        control_mean = float(_at(table, control, horizon)[h["metric"]].mean())
        threshold = min_relative_effect * abs(control_mean)
        e = paired_effect(diffs, h["expected"] * int(np.sign(direction) or 1), seed=seed, threshold=threshold)
        if direction == 0:
            e["verdict"] = "not applicable"
        out[key] = {"metric": h["metric"], "claim": words[key], **e, "control_mean": control_mean,
                    "treatment_mean": float(_at(table, treatment, horizon)[h["metric"]].mean()),
                    "relative_effect": e["effect"] / control_mean if control_mean else None,
                    "threshold": threshold}
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
        ci = ("no interval (fewer than 5 replications)" if h["ci_low"] is None
              else f"95% CI {number(h['ci_low'])} to {number(h['ci_high'])}")
        rel = "" if h["relative_effect"] is None else f", {h['relative_effect']:+.1%} of the control mean"
        lines += [
            f"## {key.upper()}: {h['claim']}", "",
            f"- metric: `{h['metric']}`; control mean {number(h['control_mean'], False)}, treatment mean "
            f"{number(h['treatment_mean'], False)}",
            f"- effect {number(h['effect'])}{rel} ({ci}), p = {h['p_value']:.4g}; "
            f"threshold {number(h['threshold'], False)}",
            f"- verdict: **{h['verdict']}**: " + _verdict_words(h), "",
        ]
    lines += ["'supported': the whole interval lies beyond the threshold in the predicted direction and p < 0.05.",
              "'refuted': the whole interval lies short of it (an opposite or negligible effect). 'inconclusive':",
              "neither. A verdict is a statement about this model under this configuration, not about the world.", ""]
    return "\n".join(lines)


def _verdict_words(h: dict[str, Any]) -> str:
    if h["control_mean"] == 0 and h["treatment_mean"] == 0 and h["effect"] == 0:
        return "the metric is 0 in both scenarios (for leverage: no target makes a demand against the dyad)."
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
