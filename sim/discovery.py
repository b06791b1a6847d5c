"""Scenario discovery: PRIM boxes of parameter space where a verdict holds (EMA Workbench).

A ``prior`` design (:mod:`sim.design`) runs the paired test at parameter sets drawn from the
schema's priors; :func:`discover` then asks, for each verdict of a hypothesis (supported,
refuted), which region of parameter space holds it, with the Patient Rule Induction Method
(Friedman and Fisher 1999) as scenario discovery uses it (Bryant and Lempert 2010), through EMA
Workbench's maintained implementation (``ema_workbench.analysis.prim.Prim``).

PRIM starts from the box holding every draw and peels, step by step, the slice of ``peel_alpha``
of the points along one parameter's edge that most raises the share of cases of interest in
what is left, until the box holds less than ``mass_min`` of the points; then it pastes back
what helps. Each step of this *peeling trajectory* is a box with

- coverage = (cases of interest inside) / (cases of interest in all),
- density = (cases of interest inside) / (points inside),
- mass = (points inside) / (all points),
- res_dim = the number of parameters the box restricts.

Each restricted limit carries PRIM's quasi-p value: the binomial probability of the box's
density, or more, were that limit absent. Late steps restrict parameters on the strength of a
handful of points (quasi-p near 1), so the box reported is, by a fixed rule that anyone applies
to the same sample alike, the densest step of the trajectory that keeps at least
``min_coverage`` of the cases and whose every restriction has a quasi-p below ``max_quasi_p``
(ties: the larger coverage); the first box (everything) when no step qualifies.

PRIM's peeling depends on the order of values only, so boxes are found on the parameters' own
values whatever their prior's shape.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

TARGETS = ("supported", "refuted")


@dataclass
class Discovery:
    """PRIM's findings for each target verdict.

    ``trajectory``: one row per target and peeling step (``target, step, coverage, density,
    mass, res_dim, quasi_p, chosen``); ``boxes``: one row per target and parameter of the chosen box
    (``target, parameter, low, high, restricted, qp_value, sample_low, sample_high``);
    ``summary``: one row per target (``target, cases, points, base_density, step, coverage,
    density, mass, res_dim``: the chosen box; NaN without cases of interest).
    """

    trajectory: pd.DataFrame
    boxes: pd.DataFrame
    summary: pd.DataFrame
    rule: str = ""  # how the box reported was chosen, in words
    hypothesis: str = ""  # whose verdicts these are (h1, h2), for titles
    priors: dict[str, tuple[str, float, float]] = field(default_factory=dict)  # parameter -> (shape, low, high)


def prior_quantile(value: np.ndarray, shape: str, low: float, high: float) -> np.ndarray:
    """Where ``value`` lies in its prior: (v - low) / (high - low), or ln(v / low) / ln(high / low)
    for a log-uniform prior (the prior's CDF)."""
    value = np.asarray(value, dtype=float)
    if shape == "loguniform":
        return np.log(value / low) / np.log(high / low)
    return (value - low) / (high - low)


def choose(trajectory: pd.DataFrame, min_coverage: float, max_quasi_p: float = 1.0) -> int:
    """The step of ``trajectory`` reported (columns coverage, density, quasi_p: the largest quasi-p
    of the step's restrictions, NaN for none): the densest step with coverage >= ``min_coverage``
    and quasi_p < ``max_quasi_p``, the larger coverage among equally dense ones; 0 (the box of
    everything) when no step qualifies."""
    qp = trajectory["quasi_p"].fillna(0.0) if "quasi_p" in trajectory else pd.Series(0.0, trajectory.index)
    keep = trajectory[(trajectory["coverage"] >= min_coverage - 1e-12) & (qp < max_quasi_p)]
    if keep.empty:
        return 0
    best = keep.sort_values(["density", "coverage"], ascending=[False, False], kind="stable")
    return int(best.index[0])


def prim_box(x: pd.DataFrame, y: np.ndarray, *, peel_alpha: float = 0.05, paste_alpha: float = 0.05,
             mass_min: float = 0.05, min_coverage: float = 0.5, max_quasi_p: float = 0.05
             ) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """PRIM's first box for the cases ``y`` (bool, one per row of ``x``, float columns).

    Returns the peeling trajectory (columns coverage, density, mass, res_dim, quasi_p; one row
    per step), the limits of the chosen step's box (one row per column of ``x``: low, high,
    restricted, qp_value) and the chosen step (:func:`choose`). ``y`` must hold at least one case.
    """
    with warnings.catch_warnings():  # its package announces optional parallel back ends on import
        warnings.simplefilter("ignore")
        from ema_workbench.analysis.prim import Prim

    logging.getLogger("EMA").setLevel(logging.WARNING)  # its progress lines would land in the run's log
    y = np.asarray(y, dtype=bool)
    if not y.any():
        raise ValueError("PRIM needs at least one case of interest")
    x = x.astype(float).reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' deprecation warnings from inside the package
        prim = Prim(x, y.astype(int), peel_alpha=peel_alpha, paste_alpha=paste_alpha, mass_min=mass_min)
        box = prim.find_box()
    trajectory = box.peeling_trajectory[["coverage", "density", "mass", "res_dim"]].reset_index(drop=True)
    qps = [_quasi_p(box, i) for i in range(len(trajectory))]
    trajectory["quasi_p"] = [max(q.values()) if q else np.nan for q in qps]
    step = choose(trajectory, min_coverage, max_quasi_p)
    lims = box.box_lims[step]
    full = box.box_lims[0]
    rows = []
    qp = qps[step]
    for name in x.columns:
        low, high = float(lims.loc[0, name]), float(lims.loc[1, name])
        restricted = low > float(full.loc[0, name]) or high < float(full.loc[1, name])
        rows.append({"parameter": name, "low": low, "high": high, "restricted": restricted,
                     "qp_value": qp.get(name, np.nan) if restricted else np.nan})
    return trajectory, pd.DataFrame(rows), step


def _quasi_p(box: object, step: int) -> dict[str, float]:
    """PRIM's quasi-p value of each parameter ``step`` restricts (the larger of its restricted ends':
    a limit on both sides counts as significant only if both are)."""
    if step == 0:
        return {}
    table = box.inspect(step, style="data")[0][1]  # type: ignore[attr-defined]
    values = table.xs("qp value", axis=1, level=1)  # columns (box i, min | max | qp value | qp value)
    return {str(name): float(np.nanmax(row.to_numpy(dtype=float))) for name, row in values.iterrows()
            if not np.isnan(row.to_numpy(dtype=float)).all()}


def discover(x: pd.DataFrame, verdicts: Sequence[str], targets: Sequence[str] = TARGETS, *,
             peel_alpha: float = 0.05, paste_alpha: float = 0.05, mass_min: float = 0.05,
             min_coverage: float = 0.5, max_quasi_p: float = 0.05) -> Discovery:
    """PRIM's box for each verdict in ``targets`` over the sample ``x`` (rows: parameter sets,
    columns: parameters) whose paired test gave ``verdicts`` (one per row). A target no draw
    reached gets a summary row with 0 cases and no box."""
    verdicts = np.asarray(verdicts, dtype=object)
    if len(verdicts) != len(x):
        raise ValueError(f"{len(verdicts)} verdicts for {len(x)} parameter sets")
    paths, limits, summary = [], [], []
    for target in targets:
        y = verdicts == target
        row = {"target": target, "cases": int(y.sum()), "points": len(y), "base_density": float(y.mean())}
        if not y.any() or y.all():  # nothing to find, or nothing to peel away
            summary.append(row | {"step": np.nan, "coverage": np.nan, "density": np.nan, "mass": np.nan,
                                  "res_dim": np.nan})
            continue
        trajectory, box, step = prim_box(x, y, peel_alpha=peel_alpha, paste_alpha=paste_alpha, mass_min=mass_min,
                                         min_coverage=min_coverage, max_quasi_p=max_quasi_p)
        paths.append(trajectory.assign(target=target, step=np.arange(len(trajectory)),
                                       chosen=np.arange(len(trajectory)) == step))
        limits.append(box.assign(target=target, sample_low=x.min().to_numpy(dtype=float),
                                 sample_high=x.max().to_numpy(dtype=float)))
        summary.append(row | {"step": step, **trajectory.loc[step, ["coverage", "density", "mass"]].astype(float),
                              "res_dim": int(trajectory.loc[step, "res_dim"])})
    columns = ["target", "step", "coverage", "density", "mass", "res_dim", "quasi_p", "chosen"]
    trajectory = pd.concat(paths, ignore_index=True)[columns] if paths else pd.DataFrame(columns=columns)
    box_columns = ["target", "parameter", "low", "high", "restricted", "qp_value", "sample_low", "sample_high"]
    boxes = pd.concat(limits, ignore_index=True)[box_columns] if limits else pd.DataFrame(columns=box_columns)
    rule = f"the densest step with coverage >= {min_coverage:g} and every quasi-p < {max_quasi_p:g}"
    return Discovery(trajectory, boxes, pd.DataFrame(summary), rule)
