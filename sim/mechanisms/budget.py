"""Positive-sum budgets: partnerships can bring resources back."""

from __future__ import annotations

import numpy as np

from sim.mechanisms.arrays import per_slice


def budget(
    base_budget: np.ndarray,
    returns: np.ndarray,
    tie: np.ndarray,
    tie0: np.ndarray,
    factor: np.ndarray,
    *,
    gain: float,
    cap: float = 2.0,
    floor: float = 0.05,
) -> np.ndarray:
    """b_i = f_i * b0_i * clip(1 + gain * sum_j G[i, j] (T[i, j] - T0[i, j]), floor, cap).

    ``G`` holds the economic returns of each pair (investment, oil revenue kept up by
    coordination, arms sales); ties stronger than calibrated enlarge the budget, weaker ones
    shrink it. ``f`` is the product of exogenous factors (sanctions, events). With gain = 0
    budgets are fixed and the allocation is zero-sum once it binds. The cap bounds the feedback
    loop (ties -> budget -> commitments -> ties): partnerships can at most multiply a budget by
    ``cap``.

    ``tie`` may be a stack (R, N, N) of replications' ties, and ``gain`` and ``cap`` one per slice
    (shape (R,)); the budgets are then (R, N).
    """
    growth = 1.0 + per_slice(gain, 1) * (returns * (tie - tie0)).sum(axis=-1)
    return factor * base_budget * np.clip(growth, floor, per_slice(cap, 1))
