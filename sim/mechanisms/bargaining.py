"""Conditionality: a state hostile to a partner's partner makes its cooperation conditional.

Dependence, outside shares, power advantage and the concession share are the bargaining
theory of :mod:`sim.theory.bargaining` (Emerson 1962); this module adds the demands and the
pressure they put on ties.

The pressure is a sum over triads (i, m, j). It is computed without the (N, N, N) array of
its terms: in one block for small worlds, and column by column over the hostile pairs only
for large ones, in O(N^2) memory. Both give the same numbers (each term is computed the same
way and the terms are added in the same order, skipping only exact zeros).
"""

from __future__ import annotations

import numpy as np

from sim.theory.bargaining import concession, concession_share, dependence, outside_share, power_advantage

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

# Up to this many actors the pressure is one (N, N, N) block (N = 48: 0.9 MB); above it, a loop
# over the columns with hostile demanders, whose memory grows as N^2.
DENSE_PRESSURE_MAX_N = 48


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
    and for m = j (no state demands against itself: h[j, j] = 0 as S[j, j] >= 0). Shape (N, N, N),
    so for small worlds and tests; the model sums it with :func:`conditionality_pressure` and
    reads it with :func:`third_party_leverage`, neither of which builds it.
    """
    h = demand(affinity, threshold)
    return tie[:, :, None] * h[None, :, :] * concession_share(dep, outside)


def conditionality_pressure(
    tie: np.ndarray, affinity: np.ndarray, dep: np.ndarray, outside: np.ndarray, *, threshold: float, weight: float
) -> np.ndarray:
    """Value i loses on j from its partners' conditions: pressure[i, j] = w sum_m P[i, m, j].

    P is :func:`pressure_terms`, summed over m in increasing order. Up to
    ``DENSE_PRESSURE_MAX_N`` actors the terms are one block laid out [m, (i, j)]; above, for
    each column j only the demanders m with h[m, j] > 0 are visited (every other term is 0),
    so the work is N^2 times the number of hostile demanders per state and the memory N^2.
    """
    h = demand(affinity, threshold)
    n = tie.shape[0]
    if n <= DENSE_PRESSURE_MAX_N:
        # One block laid out [m, (i, j)]: the sum over m runs down the rows; the concession
        # share is built on contiguous 2-d arrays (faster than broadcasting three small axes).
        c = concession(np.repeat(dep.T, n, axis=1), dep.reshape(-1), np.repeat(outside, n))
        terms = (tie.T[:, :, None] * h[:, None, :]).reshape(n, n * n) * c
        return weight * terms.sum(axis=0).reshape(n, n)
    tie_t = np.ascontiguousarray(tie.T)  # row m holds T[:, m]
    dep_t = np.ascontiguousarray(dep.T)  # row m holds D[:, m]; row j holds D[:, j]
    summed_t = np.zeros((n, n))  # row j holds sum_m P[:, m, j]
    cols, demanders = np.nonzero(h.T)  # sorted by j, then by m
    bounds = np.searchsorted(cols, np.arange(n + 1))
    for j in np.flatnonzero(np.diff(bounds)):
        m = demanders[bounds[j]:bounds[j + 1]]
        c = concession(dep_t[m], dep_t[j], outside)  # [m, i]: c[i, m, j]
        summed_t[j] = ((tie_t[m] * h[m, j][:, None]) * c).sum(axis=0)
    return weight * summed_t.T


def third_party_leverage(
    tie: np.ndarray, affinity: np.ndarray, dep: np.ndarray, outside: np.ndarray, i: int, j: int, *, threshold: float
) -> np.ndarray:
    """In-run leverage index of every m over the dyad (i, j): the pressure it can put on both sides,

        lev[m] = P[i, m, j] + P[j, m, i]

    It is the conditional pressure before the mechanism's weight (the value actually removed
    is ``conditionality.weight * lev``), and it is recorded even with conditionality switched
    off, as the leverage m *would* have. Only the two needed slices of P are computed (O(N)).
    Returns shape (N,).
    """
    p_ij = (tie[i] * demand(affinity[:, j], threshold)) * concession(dep[i], dep[i, j], outside[i])
    p_ji = (tie[j] * demand(affinity[:, i], threshold)) * concession(dep[j], dep[j, i], outside[j])
    return p_ij + p_ji
