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


# The world's budget rule: b_i = sqrt(CINC_i / CINC_RUS) (configs/world/mena_2018.yaml, and
# sim.world.synthetic_world), so a budget moves as the square root of its state's capability.
BUDGET_EXPONENT = 0.5


def trend_factor(trend: np.ndarray, months: int, *, exponent: float = BUDGET_EXPONENT) -> np.ndarray:
    """Budget factors of states whose capabilities follow their trends: f_i = exp(e * g_i * m / 12).

    ``trend`` g (N,) is each state's annual log-growth of capability (CINC share: the OLS slope of
    log CINC on the year over the data's years), ``months`` m the months the trends have run (0
    before their start, 1 in their first month). A state's capability after m months is
    CINC_i * exp(g_i m / 12); under the world's budget rule b ∝ CINC^e (e = 1/2,
    :data:`BUDGET_EXPONENT`) its budget is then b_i * exp(e g_i m / 12). With m = 0 or g = 0 every
    factor is exactly 1.
    """
    return np.exp(exponent * np.asarray(trend, dtype=float) * (max(int(months), 0) / 12.0))
