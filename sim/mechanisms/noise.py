"""Seeded value shocks."""

from __future__ import annotations

import numpy as np

from sim.mechanisms.arrays import per_slice


def ar1_shock(previous: np.ndarray, innovation: np.ndarray, *, persistence: float) -> np.ndarray:
    """xi_t = phi xi_{t-1} + sqrt(1 - phi^2) eps_t, eps ~ N(0, 1).

    The stationary variance is 1; started from xi_0 ~ N(0, 1) it is 1 at every t. phi may be one
    per slice of a stack (shape (S,)).
    """
    persistence = per_slice(persistence, 2)
    # phi * phi, not phi**2: a float's ** is libm's pow, which is not always the correctly rounded
    # square that an array's ** is (0.8298825696110725 ** 2 is 1 ulp above), and slice s of a
    # stack must be the run alone with the float phi[s]
    return persistence * previous + np.sqrt(1.0 - persistence * persistence) * innovation
