"""The calibration's screen (issue 13): which parameters move the distance to history at all.

ABC-SMC's importance weights degenerate with the number of free parameters (docs/CALIBRATION.md,
"Why it collapsed"), so ``sim-run experiment=calibrate`` first screens its candidate parameters
with a Morris design (SALib, :func:`sim.design.sensitivity_sample` and :func:`sim.design.analyse`)
on the calibration's own distance, then fits only the ``keep`` most influential with the rest at
their defaults.

- Each parameter varies over its prior, in quantile space: the Morris grid's ``levels`` levels over
  ``[Q_LOW, Q_HIGH]`` of the prior quantile u, mapped to values by the prior
  (:meth:`sim.config.Prior.from_unit`), so an elementary effect is the change of the distance when
  one parameter moves by a share of its prior's mass.
- Every point is simulated with the same seeds (common random numbers), so an elementary effect is
  the parameter's, not the Monte Carlo noise's: a parameter that changes nothing has mu* = 0. With a
  world pool (``experiment.calibration.worlds``), trajectory j runs in draw j mod W of it, every
  point of the trajectory in the same drawn world: an elementary effect still compares two points
  that differ in one parameter alone, and mu* averages over the drawn worlds.
- Output: per parameter mu* (mean |elementary effect|, with SALib's 95% bootstrap interval), mu and
  sigma on the distance, and mu* on the signs' distance (the reported score's), ranked by mu*.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

Q_LOW, Q_HIGH = 0.02, 0.98  # the screened share of each prior (its 2%..98% quantiles)


def screen(target: Any, keys: Sequence[str], trajectories: int, levels: int, seed: int,
           kind: str = "smooth") -> pd.DataFrame:
    """Morris screen of ``keys`` on the calibration distance of ``target``
    (:class:`sim.calibrate.Target`; its own ``keys`` are ignored): ``trajectories`` x (len(keys) + 1)
    simulated histories, all with the seeds ``SeedSequence([seed, 17])`` (and with ``target.worlds``,
    trajectory j in draw j mod W). One row per parameter,
    columns ``parameter, mu_star, mu_star_conf, mu, sigma, mu_star_signs, rank``, most influential first."""
    from sim.calibrate import distance, simulate_statistics, with_values
    from sim.design import analyse, sensitivity_sample

    priors = target.priors  # the schema's, or experiment.priors where given
    problem = {"num_vars": len(keys), "names": list(keys), "bounds": [[Q_LOW, Q_HIGH]] * len(keys)}
    x = sensitivity_sample(problem, "morris", trajectories, levels, seed)
    params = [with_values(target.base, {k: priors[k].from_unit(u) for k, u in zip(keys, row, strict=True)})
              for row in x]
    common = np.random.SeedSequence([seed, 17]).spawn(target.replications)
    # SALib's Morris sample: trajectory j is rows j (D + 1) .. j (D + 1) + D
    worlds = [row // (len(keys) + 1) % len(target.worlds) for row in range(len(x))] if target.worlds else None
    history, control = simulate_statistics(target, params, [common] * len(params), worlds)
    y = distance(target, history, control, kind)
    signs = distance(target, history, control, "signs")
    table = analyse(problem, "morris", x, y, levels, seed)
    table["mu_star_signs"] = analyse(problem, "morris", x, signs, levels, seed)["mu_star"].to_numpy()
    table = table.sort_values("mu_star", ascending=False, kind="stable").reset_index(drop=True)
    table["rank"] = np.arange(1, len(table) + 1)
    return table[["parameter", "mu_star", "mu_star_conf", "mu", "sigma", "mu_star_signs", "rank"]]


def influential(table: pd.DataFrame, keep: int, always: Sequence[str] = ()) -> tuple[str, ...]:
    """The ``keep`` parameters of largest mu* among those with mu* > 0 (a parameter that changes
    nothing is never kept) and not in ``always``, in the screen's order, then ``always`` (fitted
    whatever their rank)."""
    moving = table[(table["mu_star"] > 0) & ~table["parameter"].isin(list(always))]
    return (*moving["parameter"].head(keep), *always)
