"""Experiment designs: the points at which a sweep runs the paired test.

A *point* is a mapping from dotted config keys to values. A ``grid`` design is the Cartesian
product of its keys' values, written in Hydra's sweep syntax and parsed by Hydra's own override
parser, so ``sim-run experiment=X`` and ``sim-run -m experiment=X`` visit the same points.
``sobol`` and ``morris`` designs are SALib samples of the numeric model parameters over
``default * (1 - span, 1 + span)``, clipped to each parameter's allowed range. A ``prior``
design draws its points from the parameters' priors (the schema's ``prior=``) by Latin hypercube:
the sample of scenario discovery (:mod:`sim.discovery`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from hydra.core.override_parser.overrides_parser import OverridesParser

from sim.config import ConfigError, Prior, numeric_parameters, parameter_spec

SENSITIVITY_DESIGNS = ("sobol", "morris")
PRIOR_DESIGN = "prior"
SAMPLED_DESIGNS = (*SENSITIVITY_DESIGNS, PRIOR_DESIGN)  # points drawn, not listed: not a grid of jobs


def parse_values(key: str, text: str) -> list[Any]:
    """The values of one grid key, parsed like ``sim-run -m key=text`` (Hydra's grammar)."""
    (override,) = OverridesParser.create().parse_overrides([f"{key}={text}"])
    if override.is_sweep_override():
        return list(override.sweep_iterator())
    return [override.value()]


def grid_points(grid: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, the first key varying slowest."""
    keys = list(grid)
    values = [parse_values(k, str(grid[k])) for k in keys]
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values)]


def sensitivity_problem(parameters: Sequence[str], span: float, defaults: Mapping[str, float] | None = None,
                        file: str = "experiment config") -> dict[str, Any]:
    """SALib problem: names and bounds ``[max(lo, d (1 - span)), min(hi, d (1 + span))]``.

    ``lo`` and ``hi`` are the parameter's declared range (:func:`sim.config.parameter_spec`) and
    ``d`` its value in ``defaults`` (default: the schema's). ``parameters`` empty means every
    numeric model parameter. A parameter whose default is 0 (no relative span) gets
    ``[0, span]``, clipped the same way. Every sampled value must be allowed, so a ConfigError
    is raised when a bound would fall on an open end of the range (e.g. ``max_share`` 0 at
    ``span`` 1) or leaves no room (low >= high).
    """
    defaults = dict(defaults or numeric_parameters())
    names = list(parameters) or list(defaults)
    bounds = []
    for name in names:
        d = defaults[name]
        spec = parameter_spec(name)
        around = (d * (1 - span), d * (1 + span)) if d else (0.0, span)
        low, high = max(spec.low, around[0]), min(spec.high, around[1])
        if (spec.low_open and low <= spec.low) or (spec.high_open and high >= spec.high):
            raise ConfigError(file, "experiment.span", span, f"a span that keeps {name} inside {spec.allowed} "
                              "(or leave it out of experiment.parameters)")
        if not low < high:
            raise ConfigError(file, "experiment.parameters", name, "parameters with room to vary (low < high)")
        bounds.append([low, high])
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def sensitivity_sample(problem: Mapping[str, Any], design: str, samples: int, levels: int, seed: int) -> np.ndarray:
    """The SALib sample matrix (rows are points): Saltelli/Sobol' N (D + 2) rows, or Morris r (D + 1)."""
    if design == "sobol":
        from SALib.sample import sobol

        return sobol.sample(dict(problem), samples, calc_second_order=False, seed=seed)
    if design == "morris":
        from SALib.sample import morris

        return morris.sample(dict(problem), samples, num_levels=levels, seed=seed)
    raise ValueError(f"not a sensitivity design: {design!r}; one of {SENSITIVITY_DESIGNS}")


def drawable(name: str, priors: Mapping[str, Prior] | None = None) -> bool:
    """Whether parameter ``name`` has a prior to draw from (declared, or in ``priors``, and not fixed)."""
    prior = (priors or {}).get(name) or parameter_spec(name).prior
    return prior is not None and not prior.fixed


def prior_problem(parameters: Sequence[str], file: str = "experiment config",
                  priors: Mapping[str, Prior] | None = None) -> dict[str, Any]:
    """The problem of a ``prior`` design: names, each prior (``[shape, low, high]``: the one in
    ``priors``, e.g. :func:`sim.priors.mechanism_priors` with ``experiment.priors``, else the
    schema's) and its range as ``bounds``. A parameter with a fixed prior (a device of the model,
    never drawn) or none is refused with a ConfigError naming its place in ``experiment.parameters``."""
    rows = []
    for i, name in enumerate(parameters):
        if not drawable(name, priors):
            raise ConfigError(file, f"experiment.parameters[{i}]", name,
                              "a parameter with a prior to draw from (not a fixed one such as demands.scale)")
        prior = (priors or {}).get(name) or parameter_spec(name).prior
        rows.append([prior.shape, prior.low, prior.high])
    return {"num_vars": len(rows), "names": list(parameters), "priors": rows,
            "bounds": [[low, high] for _, low, high in rows]}


def prior_sample(problem: Mapping[str, Any], samples: int, seed: int) -> np.ndarray:
    """``samples`` parameter sets from the priors of ``problem`` (:func:`prior_problem`), the
    parameters independent: a Latin hypercube of prior quantiles (``scipy.stats.qmc``, each
    parameter's ``samples`` strata hit once), each column mapped through its prior's inverse CDF
    (:meth:`sim.config.Prior.from_unit`)."""
    from scipy.stats import qmc

    u = qmc.LatinHypercube(d=int(problem["num_vars"]), seed=np.random.default_rng(seed)).random(samples)
    columns = [Prior(shape, low, high, "").from_unit(u[:, j])
               for j, (shape, low, high) in enumerate(problem["priors"])]
    return np.column_stack(columns)


def sensitivity_points(problem: Mapping[str, Any], x: np.ndarray) -> list[dict[str, Any]]:
    return [dict(zip(problem["names"], map(float, row), strict=True)) for row in x]


def analyse(problem: Mapping[str, Any], design: str, x: np.ndarray, y: np.ndarray, levels: int,
            seed: int) -> pd.DataFrame:
    """Sensitivity indices of the outputs ``y`` (one per row of ``x``) with 95% bootstrap intervals.

    Sobol: first-order S1 = V[E(Y|X_i)] / V(Y) and total-order ST = E[V(Y|X_~i)] / V(Y)
    (Saltelli 2010 / Jansen estimators, SALib). Morris: mu* = mean |elementary effect| and sigma.
    One row per parameter.
    """
    problem = dict(problem)
    if design == "sobol":
        from SALib.analyze import sobol

        r = sobol.analyze(problem, y, calc_second_order=False, seed=seed)
        return pd.DataFrame({"parameter": problem["names"], "S1": r["S1"], "S1_conf": r["S1_conf"],
                             "ST": r["ST"], "ST_conf": r["ST_conf"]})
    from SALib.analyze import morris

    r = morris.analyze(problem, x, y, num_levels=levels, seed=seed)
    return pd.DataFrame({"parameter": problem["names"], "mu_star": r["mu_star"], "mu_star_conf": r["mu_star_conf"],
                         "sigma": r["sigma"], "mu": r["mu"]})


