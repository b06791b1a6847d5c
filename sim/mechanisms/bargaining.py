"""Dependence and conditionality: who can make its cooperation conditional, and who concedes."""

from __future__ import annotations

import numpy as np


def realised_value(value: np.ndarray, tie: np.ndarray) -> np.ndarray:
    """u[i, j] = max(0, V[i, j]) * T[i, j]: value i actually draws from j through their tie."""
    return np.maximum(0.0, value) * tie


def dependence(value: np.ndarray, tie: np.ndarray, outside_option: np.ndarray) -> np.ndarray:
    """Dependence of i on j (Emerson 1962), the share of i's value that j provides:

        D[i, j] = u[i, j] / (sum_k u[i, k] + o_i),    u = max(0, V) * T

    ``o_i`` is i's outside option (partners outside the modelled world): the better i's
    alternatives, the less it depends on any one partner. In [0, 1]; zero for a state with
    neither ties nor an outside option.
    """
    u = realised_value(value, tie)
    total = u.sum(axis=1, keepdims=True) + outside_option[:, None]
    return np.divide(u, total, out=np.zeros_like(u), where=total > 0)


def outside_share(value: np.ndarray, tie: np.ndarray, outside_option: np.ndarray) -> np.ndarray:
    """Share of i's value that comes from outside the modelled world: w_i = o_i / (sum_k u[i, k] + o_i).

    With the dependences D[i, :] it sums to 1 (for a state with any value at all).
    """
    total = realised_value(value, tie).sum(axis=1) + outside_option
    return np.divide(outside_option, total, out=np.zeros_like(total), where=total > 0)


def bilateral_leverage(dep: np.ndarray) -> np.ndarray:
    """Leverage of i over j as asymmetric dependence: L[i, j] = D[j, i] - D[i, j] in (-1, 1)."""
    return dep.T - dep


def demand(affinity: np.ndarray, threshold: float) -> np.ndarray:
    """Demand intensity of m against j: h[m, j] = max(0, -S[m, j] - threshold).

    A state hostile enough to j asks its partners to limit their cooperation with j.
    """
    return np.maximum(0.0, -affinity - threshold)


def concession_share(dep: np.ndarray, outside: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """How far i yields to m's demand against j, by power-dependence (Emerson 1962):

        c[i, m, j] = D[i, m] / (D[i, m] + D[i, j] + w_i)

    i weighs what refusing m would cost it (its dependence on m) against what cutting j would
    cost it (its dependence on j) and what it can fall back on (w_i, the share of its value from
    outside options, :func:`outside_share`). It concedes more the more it depends on the
    demander; better outside options let it refuse more. Zero when it depends on neither. Shape
    (N, N, N), indexed [i, m, j].
    """
    dim = dep[:, :, None]
    total = dim + dep[:, None, :] + outside[:, None, None]
    return np.where(total > eps, dim / np.where(total > eps, total, 1.0), 0.0)


def pressure_terms(
    tie: np.ndarray, affinity: np.ndarray, dep: np.ndarray, outside: np.ndarray, threshold: float
) -> np.ndarray:
    """Pressure m puts on i's tie to j: P[i, m, j] = T[i, m] h[m, j] c[i, m, j].

    Zero for m = i and m = j (zero diagonals of T and h). Shape (N, N, N).
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
