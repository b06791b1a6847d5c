"""Why the 26-parameter ABC-SMC collapses (issue 13): the same sampler and parameterisation on toy
simulators with no model, beside pyabc's own SingleCoreSampler. Prints tables; writes nothing.

1. ``weights``: the importance weight ABC-SMC gives a generation-1 particle, ``prior(z) / q(z)``
   with ``q`` pyabc's multivariate normal kernel density (Silverman bandwidth) around a population
   drawn from the prior itself (the data told nothing). Its effective sample size
   ``(sum w)^2 / sum w^2`` per dimension d: no simulator, no distance, no sampler.
2. ``toy``: a 26-cell sign simulator, cell i's sign the rule's on ``u_i + noise`` (u_i the prior
   quantile of parameter i, so each parameter moves exactly one cell), the distance the weighted
   disagreement (or the smooth loss) with the signs at u = 0.8: ABC-SMC with
   :class:`sim.calibrate.SeededSampler` and with pyabc's SingleCoreSampler, for d free parameters
   (the other cells' parameters at their prior median), reporting ESS and epsilon per generation.

    nice -n 19 .venv/bin/python experiments/abc_toy.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

CELLS = 26
TRUTH = 0.8
NOISE = 0.15
THRESHOLD = 0.1  # a cell moves (+1 / -1) when u + noise leaves 0.5 +- THRESHOLD


def weight_ess(d: int, n: int, seed: int) -> float:
    """ESS of prior / kernel-density weights of n proposals around n prior draws in d dimensions."""
    import pandas as pd
    import pyabc
    from scipy import stats

    rng = np.random.default_rng(seed)
    np.random.seed(seed)
    population = pd.DataFrame(rng.logistic(size=(n, d)), columns=[f"z{i}" for i in range(d)])
    kernel = pyabc.MultivariateNormalTransition()
    kernel.fit(population, np.full(n, 1.0 / n))
    proposals = kernel.rvs(n)
    w = np.exp(stats.logistic.logpdf(proposals.to_numpy()).sum(axis=1)) / kernel.pdf(proposals)
    return float(w.sum() ** 2 / (w**2).sum())


def toy_signs(u: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = u + NOISE * rng.standard_normal(u.shape)
    return np.where(x > 0.5 + THRESHOLD, 1, np.where(x < 0.5 - THRESHOLD, -1, 0))


def make_model(d: int):
    def model(parameter: dict[str, float]) -> dict[str, np.ndarray]:
        u = np.full(CELLS, 0.5)
        u[:d] = 1.0 / (1.0 + np.exp(-np.array([parameter[f"z{i}"] for i in range(d)])))
        return {"signs": toy_signs(u, np.random.default_rng(np.random.randint(2**31)))}
    return model


def disagreement(x: dict[str, np.ndarray], x0: dict[str, np.ndarray]) -> float:
    return float((x["signs"] != x0["signs"]).mean())


def run_toy(d: int, particles: int, generations: int, sampler_name: str, seed: int) -> list[tuple[float, float]]:
    import pyabc

    from sim.calibrate import _make_sampler_base

    np.random.seed(seed)
    sampler = (_make_sampler_base()(seed, 1) if sampler_name == "seeded" else pyabc.SingleCoreSampler())
    prior = pyabc.Distribution(**{f"z{i}": pyabc.RV("logistic", 0.0, 1.0) for i in range(d)})
    abc = pyabc.ABCSMC(make_model(d), prior, disagreement, population_size=particles, sampler=sampler,
                       eps=pyabc.MedianEpsilon())
    observed = {"signs": toy_signs(np.where(np.arange(CELLS) < d, TRUTH, 0.5), np.random.default_rng(1))}
    with tempfile.TemporaryDirectory() as tmp:
        abc.new(f"sqlite:///{Path(tmp) / 'toy.db'}", observed)
        history = abc.run(max_nr_populations=generations)
        out = []
        populations = history.get_all_populations()
        for t in range(history.max_t + 1):
            _, w = history.get_distribution(m=0, t=t)
            eps = float(populations.loc[populations["t"] == t, "epsilon"].iloc[0])
            out.append((float(w.sum() ** 2 / (w**2).sum()), eps))
    return out


def main(argv: list[str]) -> None:
    import logging

    logging.getLogger("ABC").setLevel(logging.WARNING)
    logging.getLogger("Sampler").setLevel(logging.WARNING)
    logging.getLogger("Epsilon").setLevel(logging.WARNING)
    logging.getLogger("History").setLevel(logging.WARNING)
    what = argv[1] if len(argv) > 1 else "all"
    if what in ("weights", "all"):
        print("1. ESS of generation-1 weights prior/q around a prior-drawn population (3 seeds)")
        for n in (100, 200, 1000):
            for d in (2, 6, 8, 12, 26):
                ess = [weight_ess(d, n, s) for s in range(3)]
                print(f"  n={n:5d} d={d:2d}: ESS {' '.join(f'{e:7.1f}' for e in ess)}  ({np.mean(ess) / n:.1%} of n)")
    if what in ("toy", "all"):
        print("2. sign toy, ABC-SMC: ESS / epsilon per generation")
        for d in (26, 8):
            for sampler in ("seeded", "single"):
                trace = run_toy(d, 100, 4, sampler, 3)
                print(f"  d={d:2d} {sampler:6s}: " + "  ".join(f"{e:6.1f}/{eps:.3f}" for e, eps in trace))


if __name__ == "__main__":
    main(sys.argv)
