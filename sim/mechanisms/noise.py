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
    return persistence * previous + np.sqrt(1.0 - persistence**2) * innovation
