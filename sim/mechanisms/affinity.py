"""Signed affinity dynamics: drift toward interest alignment and toward structural balance."""

from __future__ import annotations

import numpy as np

from sim.mechanisms.arrays import per_slice
from sim.mechanisms.value import symmetric_alignment
from sim.theory.balance import marvel_drift


def affinity_anchor(event_anchor: np.ndarray, alignment: np.ndarray, alignment0: np.ndarray) -> np.ndarray:
    """The level affinities drift toward: the calibrated affinity moved by events and by later
    changes in interest alignment,

        S* = clip(A_e + sym(align) - sym0, -1, 1),   sym(a) = (a + a^T) / 2

    ``A_e`` is the calibrated affinity as events left it, ``align`` today's interest alignment
    and ``sym0`` the symmetrised alignment of the calibration year
    (:func:`sim.mechanisms.value.symmetric_alignment`).
    """
    return np.clip(event_anchor + (symmetric_alignment(alignment) - alignment0), -1.0, 1.0)


def affinity_step(
    affinity: np.ndarray,
    anchor: np.ndarray,
    tie: np.ndarray,
    tie0: np.ndarray,
    *,
    alignment_rate: float,
    balance_rate: float,
    cooperation_rate: float,
    dt: float = 1.0,
) -> np.ndarray:
    """One explicit Euler step, clipped to [-1, 1]:

        S' = clip(S + dt [a (S* - S) + b S^2 / (N - 1) + c (T - T0)], -1, 1)

    ``S*`` is the anchor: the calibrated affinity moved by later changes in interest alignment
    and by events. S^2 is :func:`sim.theory.balance.marvel_drift`. The diagonal is Marvel et
    al.'s self-appraisal: it starts at 0, S^2 only adds to it and the anchor (0 there) pulls it
    back, so it stays in [0, 1] and never creates a hostility; the mechanisms read only the
    off-diagonal relations. With a = c = 0 and before any entry reaches +-1, this is the Euler
    scheme of dX/dt = (b / (N - 1)) X^2, whose generic outcome is two antagonistic factions.
    Works on a stack (R, N, N) of replications with a shared (N, N) anchor and T0, and with the
    rates one per slice (shape (R,)).
    """
    n = affinity.shape[-1]
    drift = (
        per_slice(alignment_rate, 2) * (anchor - affinity)
        + per_slice(balance_rate, 2) * marvel_drift(affinity) / max(n - 1, 1)
        + per_slice(cooperation_rate, 2) * (tie - tie0)
    )
    return np.clip(affinity + dt * drift, -1.0, 1.0)
