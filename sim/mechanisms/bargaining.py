"""Conditionality: a state hostile to a partner's partner makes its cooperation conditional.

Dependence, outside shares, power advantage and the concession share are the bargaining
theory of :mod:`sim.theory.bargaining` (Emerson 1962); this module adds the demands and the
pressure they put on ties.
"""

from __future__ import annotations

import numpy as np

from sim.theory.bargaining import concession_share, dependence, outside_share, power_advantage

__all__ = [
    "concession_share",
    "conditionality_pressure",
    "demand",
    "dependence",
    "outside_share",
    "power_advantage",
    "pressure_terms",
    "third_party_leverage",
]


def demand(affinity: np.ndarray, threshold: float) -> np.ndarray:
    """Demand intensity of m against j: h[m, j] = max(0, -S[m, j] - threshold).

    A state hostile enough to j asks its partners to limit their cooperation with j.
    """
    return np.maximum(0.0, -affinity - threshold)


def pressure_terms(
    tie: np.ndarray, affinity: np.ndarray, dep: np.ndarray, outside: np.ndarray, threshold: float
) -> np.ndarray:
    """Pressure m puts on i's tie to j: P[i, m, j] = T[i, m] h[m, j] c[i, m, j].

    ``c`` is :func:`sim.theory.bargaining.concession_share`. Zero for m = i (zero diagonal of T)
    and for m = j (no state demands against itself: h[j, j] = 0 as S[j, j] >= 0). Shape (N, N, N).
    """
    h = demand(affinity, threshold)
    return tie[:, :, None] * h[None, :, :] * concession_share(dep, outside)


def conditionality_pressure(
    tie: np.ndarray, affinity: np.ndarray, dep: np.ndarray, outside: np.ndarray, *, threshold: float, weight: float
) -> np.ndarray:
    """Value i loses on j from its partners' conditions: pressure[i, j] = w sum_m P[i, m, j]."""
    return weight * pressure_terms(tie, affinity, dep, outside, threshold).sum(axis=1)


def third_party_leverage(
    tie: np.ndarray, affinity: np.ndarray, dep: np.ndarray, outside: np.ndarray, i: int, j: int, *, threshold: float
) -> np.ndarray:
    """In-run leverage index of every m over the dyad (i, j): the pressure it can put on both sides,

        lev[m] = P[i, m, j] + P[j, m, i]

    It is the conditional pressure before the mechanism's weight (the value actually removed
    is ``conditionality.weight * lev``), and it is recorded even with conditionality switched
    off, as the leverage m *would* have. Returns shape (N,).
    """
    p = pressure_terms(tie, affinity, dep, outside, threshold)
    return p[i, :, j] + p[j, :, i]
