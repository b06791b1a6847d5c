"""The pattern score: does a run move each rated dyad's tie the way history did?

A *pattern* is one row of a patterns CSV (``data/history/patterns_2018_2024.csv``, columns
``a,b,start,end,sign,confidence``): the observed direction of the relation between states ``a`` and
``b`` over the period ``start..end`` (+1 warmer, 0 roughly unchanged, -1 cooler, comparing the end
month with the month before ``start``), rated with confidence H, M or L. A *cell* is one pattern
scored in one scenario of a run.

The rule is fixed, so that anyone scoring the same run measures the same. For a cell (unordered
pair a, b; period start..end), with ``tie`` the run's tie strength of the pair (``dyads.parquet``)
and ``before`` the month before ``start``:

- per replication r = 1..R:  ``change_r = tie_r(end) - tie_r(before)``;
- ``change = mean_r change_r``, and its 95% interval ``change ± t(0.975, R-1) · sd(change_r) / sqrt(R)``
  (Student t, ``scipy.stats.t``; sd with R - 1 degrees of freedom). With one replication the
  interval is undefined (``ci_low``, ``ci_high`` are NaN) and is *treated as containing 0*, so a
  single replication always gives model sign 0: one run cannot tell a change from noise;
- ``threshold = max(0.05 · |mean_r tie_r(before)|, 0.005)``;
- ``model_sign = 0`` if the interval contains 0 (``ci_low <= 0 <= ci_high``) or ``|change| < threshold``,
  else ``sign(change)``; the cell *agrees* if ``model_sign`` equals the observed sign.

The score of a scenario is the number and share of agreeing cells, over all cells and over the H+M
cells (the ratings are judgements; L cells are weak evidence), beside two guesses scored on the same
cells: "nothing changes" (sign 0 everywhere) and "every relation warms" (+1 everywhere). A model that
does not beat them has not shown it knows which relations moved. :func:`weighted_disagreement` is the
confidence-weighted counterpart that a calibration minimises.

Everything here is pure: tables in, tables out (reading a file is :func:`load_patterns`' one job).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim import project_dir
from sim.analysis import t_interval
from sim.config import ConfigError, month_index, parse_month, shift_month

COLUMNS = ("a", "b", "start", "end", "sign", "confidence")  # a patterns CSV's required columns
DYAD_COLUMNS = ("scenario", "replication", "date", "a", "b", "tie")  # what scoring reads of dyads.parquet
SIGNS = {"-1": -1, "0": 0, "1": 1, "+1": 1}
CONFIDENCES = ("H", "M", "L")
WEIGHTS = {"H": 3, "M": 2, "L": 1}  # weighted_disagreement's weight of a cell by its rating's confidence
CONFIDENCE_LEVEL = 0.95
RELATIVE_THRESHOLD = 0.05  # a change smaller than this share of the tie before start counts as no change
ABSOLUTE_THRESHOLD = 0.005  # ... or smaller than this, in units of tie strength
GUESSES = {"nothing changes": 0, "every relation warms": 1}  # guess -> the sign it predicts everywhere
RULES = ("model", *GUESSES)
SUBSETS = {"all": CONFIDENCES, "H+M": ("H", "M")}  # cells scored -> the confidences they include
PATTERNS_FILE = "history/patterns_2018_2024.csv"


class PatternError(ValueError):
    """A patterns file that cannot be scored. One message names the file, the data row (1-based,
    the header not counted: data row 1 is line 2 of the file), the column and the allowed values."""

    def __init__(self, file: str | Path, problem: str, *, row: int | None = None, line: int | None = None,
                 column: str | None = None, allowed: str | None = None) -> None:
        where = [str(file)]
        if row == 0:
            where.append("header (line 1)")
        elif row is not None:
            where.append(f"data row {row} (line {line if line is not None else row + 1} of the file; "
                         f"data rows count from 1 below the header)")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(", ".join(where) + f": {problem}" + (f"; allowed: {allowed}" if allowed else ""))
        self.file, self.row, self.column, self.allowed = str(file), row, column, allowed


class DyadsError(ValueError):
    """A dyads table that lacks what a pattern needs: a column, a pair, a month or a replication."""


def default_patterns() -> Path:
    """The project's copy of the 2018-2024 patterns (``data/history/``, or ``sim/data/`` in a wheel)."""
    return project_dir("data", PATTERNS_FILE) / PATTERNS_FILE


def previous_month(month: str) -> str:
    """The month before ``month`` (``YYYY-MM``)."""
    return shift_month(month, -1)


def next_month(month: str) -> str:
    """The month after ``month`` (``YYYY-MM``)."""
    return shift_month(month, 1)


def load_patterns(path: str | Path, codes: Sequence[str], horizon: tuple[str, str]) -> pd.DataFrame:
    """Read and check a patterns CSV for a world with state ``codes`` and a run over ``horizon``.

    ``horizon`` is ``(horizon.start, horizon.end)`` of the run (``YYYY-MM``); the run records the
    month before ``horizon.start`` as its start state, so a period may begin at ``horizon.start``
    at the earliest (its "before" month is then that start state) and end at ``horizon.end`` at the
    latest. Columns other than :data:`COLUMNS` are ignored; blank lines are skipped.

    Returns one row per pattern: ``a``, ``b`` (put in the order of ``codes``, the order of
    ``dyads.parquet``, whichever order the file gives), ``start``, ``end``, ``sign`` (int),
    ``confidence`` and ``row`` (the data row it came from). The first problem found raises one
    :class:`PatternError`: an unreadable file, a missing column, an unknown state code, a pair of a
    state with itself, a malformed month, a start after the end, a period outside the horizon, a
    sign outside {-1, 0, 1}, a confidence outside {H, M, L}, or a second row for the same pair and
    period.
    """
    path = Path(path)
    codes = list(codes)
    order = {c: k for k, c in enumerate(codes)}
    first, last = (month_index(parse_month(m, "horizon", k)) for m, k in zip(horizon, ("start", "end"), strict=True))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise PatternError(path, f"cannot be read ({e})") from None
    reader = csv.reader(text.splitlines())
    header = [h.strip() for h in next(reader, [])]
    for column in COLUMNS:
        if column not in header:
            raise PatternError(path, f"column '{column}' is missing (header: {','.join(header) or 'empty'})", row=0,
                               column=column, allowed=f"a header naming the columns {','.join(COLUMNS)}")
    at = {c: header.index(c) for c in COLUMNS}
    rows: list[dict[str, object]] = []
    seen: dict[tuple[frozenset[str], str, str], int] = {}
    row = 0
    for fields in reader:
        if not any(f.strip() for f in fields):
            continue
        row += 1

        def fail(column: str, value: str, allowed: str, why: str = "is not allowed", row: int = row,
                 line: int = reader.line_num) -> PatternError:
            return PatternError(path, f"{value!r} {why}", row=row, line=line, column=column, allowed=allowed)

        value = {c: fields[k].strip() if k < len(fields) else "" for c, k in at.items()}
        for column in ("a", "b"):
            if value[column] not in order:
                raise fail(column, value[column], f"a state code of the world: {', '.join(codes)}", "is not a state")
        if value["a"] == value["b"]:
            raise fail("b", value["b"], f"a state other than a ({value['a']})", "pairs a state with itself")
        months = {}
        for column in ("start", "end"):
            try:
                months[column] = month_index(parse_month(value[column], str(path), column))
            except ConfigError:
                raise fail(column, value[column], "a month written YYYY-MM, e.g. 2018-11", "is not a month") from None
        if months["start"] > months["end"]:
            raise fail("start", value["start"], f"a month no later than end ({value['end']})", "is after end")
        if months["start"] < first:
            raise fail("start", value["start"], f"a month from horizon.start ({horizon[0]}; the run's first recorded "
                       f"month, {previous_month(horizon[0])}, is then the month before) to {horizon[1]}",
                       "is before the run's horizon")
        if months["end"] > last:
            raise fail("end", value["end"], f"a month up to horizon.end ({horizon[1]})", "is after the run's horizon")
        if value["sign"] not in SIGNS:
            raise fail("sign", value["sign"], "-1 (cooler), 0 (unchanged) or 1 (warmer)")
        if value["confidence"] not in CONFIDENCES:
            raise fail("confidence", value["confidence"], "H, M or L (high, medium, low)")
        key = (frozenset((value["a"], value["b"])), value["start"], value["end"])
        if key in seen:
            raise fail("start", value["start"], "one row per pair and period",
                       f"repeats the period of {value['a']}-{value['b']} of data row {seen[key]}")
        seen[key] = row
        a, b = sorted((value["a"], value["b"]), key=order.__getitem__)
        rows.append({"a": a, "b": b, "start": value["start"], "end": value["end"], "sign": SIGNS[value["sign"]],
                     "confidence": value["confidence"], "row": row})
    if not rows:
        raise PatternError(path, "has no data rows", row=0, allowed="one row per pair and period below the header")
    return pd.DataFrame(rows)


def dyads_codes(dyads: pd.DataFrame) -> list[str]:
    """The world's state codes in its order, read from a dyads table (a before b in that order).

    The k-th state (from 0) is ``a`` in N - 1 - k of the N (N - 1) / 2 pairs, so counting each
    code's pairs as ``a`` recovers the order.
    """
    pairs = dyads[["a", "b"]].drop_duplicates()
    as_a = pairs["a"].value_counts()
    codes = pd.unique(pd.concat([pairs["a"], pairs["b"]], ignore_index=True))
    return sorted(codes, key=lambda c: -int(as_a.get(c, 0)))


def dyads_horizon(dyads: pd.DataFrame) -> tuple[str, str]:
    """``(horizon.start, horizon.end)`` of the run that wrote a dyads table: the month after its first
    date (the start state) and its last date."""
    dates = dyads["date"].astype(str)
    return next_month(dates.min()), dates.max()


def _ties_at(ties: pd.DataFrame, cells: pd.DataFrame, month: str) -> pd.Series:
    """Each cell's tie at its ``month`` column (``before`` or ``end``), per scenario and replication."""
    m = cells[["cell", "a", "b", month]].merge(ties, left_on=["a", "b", month], right_on=["a", "b", "date"])
    return m.set_index(["scenario", "cell", "replication"])["tie"]


def cell_changes(dyads: pd.DataFrame, patterns: pd.DataFrame) -> pd.DataFrame:
    """Score every pattern in every scenario of ``dyads`` by the fixed rule (module docstring).

    ``dyads`` has :data:`DYAD_COLUMNS` (more are ignored); ``patterns`` has ``a, b, start, end, sign,
    confidence`` (:func:`load_patterns`). A pattern matches its unordered pair whichever order
    either table gives it. Returns one row per scenario and pattern: ``scenario, a, b, start, end,
    observed, confidence, replications, tie_before, tie_end`` (means over replications), ``change,
    ci_low, ci_high, threshold, model_sign, agree``. Raises :class:`DyadsError` if a column, a
    pair's tie at a month a pattern needs, or a replication is missing.
    """
    missing = [c for c in DYAD_COLUMNS if c not in dyads.columns]
    if missing:
        raise DyadsError(f"the dyads table has no column {', '.join(missing)}; it needs {', '.join(DYAD_COLUMNS)}")
    if dyads.empty:
        raise DyadsError("the dyads table has no rows")
    cells = patterns.reset_index(drop=True)
    cells = cells.assign(cell=np.arange(len(cells)), before=[previous_month(str(s)) for s in cells["start"]],
                         end=cells["end"].astype(str))
    ties = dyads[list(DYAD_COLUMNS)].assign(date=dyads["date"].astype(str))
    ties = pd.concat([ties, ties.rename(columns={"a": "b", "b": "a"})], ignore_index=True)  # either order matches
    paths = pd.concat({"tie_before": _ties_at(ties, cells, "before"), "tie_end": _ties_at(ties, cells, "end")}, axis=1)
    scenarios = pd.unique(dyads["scenario"])
    expected = pd.MultiIndex.from_tuples(
        [(s, c, r) for s in scenarios for c in cells["cell"]
         for r in sorted(pd.unique(dyads.loc[dyads["scenario"] == s, "replication"]))],
        names=["scenario", "cell", "replication"])
    paths = paths.reindex(expected)
    gaps = paths[paths.isna().any(axis=1)]
    if not gaps.empty:
        scenario, cell, replication = gaps.index[0]
        c = cells.loc[cell]
        month = c["before"] if np.isnan(gaps.iloc[0]["tie_before"]) else c["end"]
        raise DyadsError(f"the dyads table has no tie for {c['a']}-{c['b']} at {month} (scenario {scenario}, "
                         f"replication {replication}), which the pattern {c['start']}..{c['end']} needs")
    paths["change"] = paths["tie_end"] - paths["tie_before"]
    grouped = paths.groupby(level=["scenario", "cell"], sort=False)
    stats = t_interval(grouped["change"], CONFIDENCE_LEVEL).set_index(["scenario", "cell"])
    out = stats.join(grouped[["tie_before", "tie_end"]].mean()).reset_index()
    out = out.merge(cells[["cell", "a", "b", "start", "end", "sign", "confidence"]], on="cell")
    change, low, high = out["mean"], out["low"], out["high"]
    threshold = np.maximum(RELATIVE_THRESHOLD * out["tie_before"].abs(), ABSOLUTE_THRESHOLD)
    model = sign_rule(change.to_numpy(), low.to_numpy(), high.to_numpy(), out["tie_before"].to_numpy())
    out = out.assign(observed=out["sign"].astype(int), replications=out["n"].astype(int), change=change,
                     ci_low=low, ci_high=high, threshold=threshold, model_sign=model)
    out["agree"] = out["model_sign"] == out["observed"]
    return out[["scenario", "a", "b", "start", "end", "observed", "confidence", "replications", "tie_before",
                "tie_end", "change", "ci_low", "ci_high", "threshold", "model_sign", "agree"]]


def sign_rule(change: np.ndarray, low: np.ndarray, high: np.ndarray, tie_before: np.ndarray) -> np.ndarray:
    """The rule's model sign of each cell (module docstring), elementwise on arrays of any shape:
    0 if ``low <= 0 <= high`` (NaN bounds, one replication, count as containing 0) or
    ``|change| < max(0.05 |tie_before|, 0.005)``, else ``sign(change)``. The one place the rule decides."""
    threshold = np.maximum(RELATIVE_THRESHOLD * np.abs(tie_before), ABSOLUTE_THRESHOLD)
    contains_zero = ~((low > 0) | (high < 0))
    return np.where(contains_zero | (np.abs(change) < threshold), 0, np.sign(change)).astype(int)


def rule_statistics(before: np.ndarray, end: np.ndarray) -> np.ndarray:
    """What the rule reads of per-replication ties: ``before`` and ``end`` are (..., R, C) (R
    replications, C cells); the result is (..., 3, C): the mean change over R, the half-width of
    its Student-t 95% interval (sd with R - 1 degrees of freedom; NaN for R = 1) and the mean tie
    before start (whose share sets the threshold)."""
    from scipy import special

    change = end - before
    r = change.shape[-2]
    mean = change.mean(axis=-2)
    if r > 1:
        half = special.stdtrit(r - 1, 0.5 + CONFIDENCE_LEVEL / 2) * change.std(axis=-2, ddof=1) / np.sqrt(r)
    else:
        half = np.full_like(mean, np.nan)
    return np.stack([mean, half, before.mean(axis=-2)], axis=-2)


def signs_of(statistics: np.ndarray) -> np.ndarray:
    """:func:`sign_rule` on :func:`rule_statistics`' (..., 3, C) array: the (..., C) model signs."""
    change, half, tie_before = statistics[..., 0, :], statistics[..., 1, :], statistics[..., 2, :]
    return sign_rule(change, change - half, change + half, tie_before)


def model_signs(before: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The rule's model signs from per-replication ties: ``before`` and ``end`` are (..., R, C) (R
    replications, C cells), the result (..., C). The same numbers as :func:`cell_changes`'
    ``model_sign`` without a table: mean change over R, its Student-t interval (sd with R - 1
    degrees of freedom; none for R = 1), then :func:`sign_rule`. For the calibration, which scores
    thousands of simulated histories."""
    return signs_of(rule_statistics(before, end))


def rule_gap(observed: np.ndarray, statistics: np.ndarray) -> np.ndarray:
    """How far each cell's mean change is from where :func:`sign_rule` gives the observed sign, in
    units of the rule's threshold ``tau = max(0.05 |tie_before|, 0.005)``; (..., C) from
    :func:`rule_statistics`' (..., 3, C). With ``m = max(tau, half)`` (``half`` the interval's
    half-width; NaN, one replication, counts as infinite):

    - observed +1 or -1 (s): ``gap = max(0, m - s change) / tau`` (the rule gives s when
      ``s change`` clears both the threshold and the interval);
    - observed 0: ``gap = max(0, |change| - m) / tau`` (the rule gives 0 inside either).

    0 wherever the rule agrees with the observed sign (and on the rule's boundary itself), > 0
    wherever it disagrees; a change of the wrong sign costs at least 2 for a +-1 cell."""
    change, half, tie_before = statistics[..., 0, :], statistics[..., 1, :], statistics[..., 2, :]
    tau = np.maximum(RELATIVE_THRESHOLD * np.abs(tie_before), ABSOLUTE_THRESHOLD)
    m = np.maximum(tau, np.where(np.isnan(half), np.inf, half))
    s = np.broadcast_to(np.asarray(observed, dtype=int), change.shape)
    moved = np.maximum(0.0, m - s * change)
    still = np.maximum(0.0, np.abs(change) - m)
    with np.errstate(invalid="ignore"):  # inf - inf where half is NaN and the cell is 0: gap 0
        return np.nan_to_num(np.where(s == 0, still, moved) / tau, nan=0.0, posinf=np.inf)


GAP_CAP = 2.0  # smooth_disagreement: a missed cell's graded part saturates GAP_CAP thresholds away


def smooth_disagreement(observed: Sequence[int] | np.ndarray, statistics: np.ndarray,
                        confidence: Sequence[str] | np.ndarray | pd.Series) -> np.ndarray:
    """The confidence-weighted loss with more resolution than the signs (for the calibration):
    ``L = sum_c w_c cost_c / sum_c w_c``, with the weights of :func:`weighted_disagreement` (H 3, M 2,
    L 1) and, from :func:`rule_gap`, ``cost = 0`` where the rule agrees (gap 0), else
    ``(1 + min(gap, 2) / 2) / 2``; (...) from :func:`rule_statistics`' (..., 3, C).

    A missed cell costs 1/2 however close it came and up to 1 by how far its change is from
    agreement (1 from two thresholds away, e.g. a +-1 cell moved the wrong way): the count of misses
    still dominates (a near miss is not nearly free, which would favour changes just short of the
    rule's threshold) and the graded half orders parameter sets that miss the same cells.
    ``L <= weighted_disagreement`` of the rule's signs, and ``L >= half`` of it. The reported score
    stays the signs' (:func:`weighted_disagreement`)."""
    weights = np.array([WEIGHTS[c] for c in confidence], dtype=float)
    gap = rule_gap(np.asarray(observed), statistics)
    cost = np.where(gap > 0, (1.0 + np.minimum(gap, GAP_CAP) / GAP_CAP) / 2.0, 0.0)
    return (cost * weights).sum(axis=-1) / weights.sum()


def weighted_disagreement(observed: Sequence[int] | np.ndarray | pd.Series,
                          predicted: Sequence[int] | np.ndarray | pd.Series | int,
                          confidence: Sequence[str] | np.ndarray | pd.Series) -> float:
    """Confidence-weighted share of cells where ``predicted`` differs from ``observed``.

    ``D = sum_c w_c [predicted_c != observed_c] / sum_c w_c`` with ``w = 3`` for an H rating, 2 for
    M and 1 for L (:data:`WEIGHTS`): 0 when every cell agrees, 1 when none does; missing a high-
    confidence cell costs three times what missing a low one does. ``predicted`` may be one sign for
    every cell (a guess). NaN when there are no cells. This is the loss the calibration minimises.
    """
    observed = np.asarray(observed, dtype=int)
    predicted = np.broadcast_to(np.asarray(predicted, dtype=int), observed.shape)
    weights = np.array([WEIGHTS[c] for c in confidence], dtype=float)
    total = weights.sum()
    return float((weights * (predicted != observed)).sum() / total) if total else float("nan")


def score_table(cells: pd.DataFrame) -> pd.DataFrame:
    """Agreement of the model and of the two guesses with the observed signs, per scenario.

    One row per scenario, cell subset (``all``; ``H+M``: the H and M cells) and rule (``model``, the
    run's ``model_sign``; ``nothing changes``, 0 everywhere; ``every relation warms``, +1 everywhere):
    ``cells`` (how many), ``agree`` (how many the rule gets right), ``share`` (agree / cells) and
    ``weighted_disagreement`` (:func:`weighted_disagreement`).
    """
    rows = []
    for scenario, group in cells.groupby("scenario", sort=False):
        for subset, confidences in SUBSETS.items():
            g = group[group["confidence"].isin(confidences)]
            for rule in RULES:
                predicted = g["model_sign"].to_numpy() if rule == "model" else GUESSES[rule]
                agree = int((np.broadcast_to(predicted, len(g)) == g["observed"].to_numpy()).sum())
                rows.append({"scenario": scenario, "subset": subset, "rule": rule, "cells": len(g), "agree": agree,
                             "share": agree / len(g) if len(g) else float("nan"),
                             "weighted_disagreement": weighted_disagreement(g["observed"], predicted,
                                                                            g["confidence"])})
    return pd.DataFrame(rows)


def score(dyads: pd.DataFrame, patterns: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-cell table (:func:`cell_changes`) and the scores (:func:`score_table`) of a run's dyads."""
    cells = cell_changes(dyads, patterns)
    return cells, score_table(cells)


def score_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """The scores as one row per scenario and subset, one ``agree/cells (share)`` column per rule."""
    text = scores.assign(text=[f"{r.agree}/{r.cells} ({r.share:.0%})" if r.cells else "0/0"
                               for r in scores.itertuples()])
    wide = text.pivot(index=["scenario", "subset"], columns="rule", values="text")[list(RULES)]
    model = scores[scores["rule"] == "model"].set_index(["scenario", "subset"])["weighted_disagreement"]
    wide["model weighted disagreement"] = model.map("{:.3f}".format)
    order = {s: k for k, s in enumerate(pd.unique(scores["scenario"]))}
    return wide.reset_index().sort_values(["scenario", "subset"], key=lambda c: c.map(order) if c.name == "scenario"
                                          else c.map(list(SUBSETS).index)).reset_index(drop=True)
