"""Commitment allocation: each state re-spreads its budget toward valuable partners, gradually."""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logit

from sim.mechanisms.arrays import per_slice, zero_diagonal


def desired_commitment(
    value: np.ndarray, fixed_effect: np.ndarray, budget: np.ndarray, *, rationality: float, max_share: float
) -> np.ndarray:
    """Desired commitment of i to j before the budget constraint:

        D[i, j] = b_i * s_max * sigmoid(beta * V[i, j] + B[i, j])

    Each partner is judged on its own value (bounded rationality: a logistic, not an argmax),
    so a new partner does not crowd out an old one unless the budget binds (see
    :func:`fit_to_budget`). ``B`` is the calibrated fixed effect (:func:`calibrate_fixed_effect`);
    its diagonal is -inf, so no state commits to itself. Works on any block of rows, and on stacks
    with beta and s_max one per slice (shape (S,)).
    """
    return budget[..., None] * per_slice(max_share, 2) * expit(per_slice(rationality, 2) * value + fixed_effect)


def fit_to_budget(desired: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """Scale each row down proportionally if it exceeds the budget: A*_i = D_i min(1, b_i / sum_j D_ij)."""
    total = desired.sum(axis=-1)
    # min(1, b / t), divided only where t > b: a tiny total (a subnormal row) would overflow b / t
    # to inf for a scale of 1 anyway
    shape = np.broadcast_shapes(np.shape(budget), total.shape)
    scale = np.divide(budget, total, out=np.ones(shape), where=total > budget)
    return desired * scale[..., None]


def adjust(commit: np.ndarray, target: np.ndarray, budget: np.ndarray, *, inertia: float) -> np.ndarray:
    """Gradual adjustment A' = inertia * fit(A) + (1 - inertia) * A*.

    The current row is first fitted to the (possibly smaller) new budget, so that with A* within
    budget every row of A' is within budget too (a convex combination of two feasible rows).
    """
    inertia = per_slice(inertia, 2)
    return inertia * fit_to_budget(commit, budget) + (1.0 - inertia) * target


def allocate(
    commit: np.ndarray,
    value: np.ndarray,
    fixed_effect: np.ndarray,
    budget: np.ndarray,
    *,
    enabled: bool,
    rationality: float,
    max_share: float,
    inertia: float,
) -> np.ndarray:
    """A state's new commitment row(s) for the month, for any block of rows:

        A' = inertia * fit(A) + (1 - inertia) * fit(D(V)),   fit = :func:`fit_to_budget`,
        D = :func:`desired_commitment`

    With the allocation switched off commitments stay put, cut only to a shrunk budget:
    A' = fit(A). Each row uses only its own V, B, b and A, so one call on all rows gives the
    same numbers as one call per row; a stack (R, N, N) of replications likewise (``fixed_effect``
    may be one (N, N) matrix shared by all).
    """
    if not enabled:
        return fit_to_budget(commit, budget)
    desired = desired_commitment(value, fixed_effect, budget, rationality=rationality, max_share=max_share)
    return adjust(commit, fit_to_budget(desired, budget), budget, inertia=inertia)


def calibrate_fixed_effect(
    commit0: np.ndarray,
    value0: np.ndarray,
    budget0: np.ndarray,
    *,
    rationality: float,
    max_share: float,
    floor: float = 1e-3,
) -> np.ndarray:
    """Fixed effect B that makes the calibrated commitments a fixed point of the allocation:

        B[i, j] = logit(clip(A0[i, j] / (b0_i s_max), floor, 1 - floor)) - beta * V0[i, j]

    so that D(V0) = A0 (up to the clip). B carries what the mechanisms do not explain of the
    2018 ties (history, institutions); outcomes then move only through changes in value.
    With beta and s_max one per slice (shape (S,)), or V0 a stack, B is (S, N, N).
    """
    share = np.clip(commit0 / (budget0[..., None] * per_slice(max_share, 2)), floor, 1.0 - floor)
    b = logit(share) - per_slice(rationality, 2) * value0
    return zero_diagonal(b, -np.inf)


def formation_shift(anchor: np.ndarray, anchor0: np.ndarray, *, rate: float | np.ndarray) -> np.ndarray:
    """Shift of the allocation's fixed effect as the affinity anchor moves:

        dB[i, j] = kappa (S*[i, j] - S*_0[i, j])

    Ties form, re-form and break as the level affinities tend to moves: the anchor S* (the
    calibrated affinity moved by events and by changes in interest alignment,
    :func:`sim.mechanisms.affinity.affinity_anchor`) against its level at calibration S*_0. A
    pair pinned near zero by a fixed effect at the calibration floor (a rupture: no embassy, a
    blockade) regains access when a rapprochement lifts its anchor: with the default kappa = 4.7
    (the logit gap between the calibration floor, a share of 0.001, and the median tied pair of
    2018, a share of 0.06 of a budget with s_max = 0.6) an anchor gain from -1 to 0 takes a
    ruptured pair to a typical 2018 tie, and a gain of 0.5 multiplies the odds of the desired
    share by e^2.35 = 10.5. The anchor, not the
    affinity itself, moves it, so that cooperation's feedback on affinity does not feed back
    into ties a second time. Zero when no event or interest has moved an anchor.
    """
    return per_slice(rate, 2) * (anchor - anchor0)
