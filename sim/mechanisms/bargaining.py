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
    alternatives, the less it depends on any one partner. In [0, 1), rows sum to < 1.
    """
    u = realised_value(value, tie)
    return u / (u.sum(axis=1, keepdims=True) + outside_option[:, None])


def bilateral_leverage(dep: np.ndarray) -> np.ndarray:
    """Leverage of i over j as asymmetric dependence: L[i, j] = D[j, i] - D[i, j] in (-1, 1)."""
    return dep.T - dep


def demand(affinity: np.ndarray, threshold: float) -> np.ndarray:
    """Demand intensity of m against j: h[m, j] = max(0, -S[m, j] - threshold).

    A state hostile enough to j asks its partners to limit their cooperation with j.
    """
    return np.maximum(0.0, -affinity - threshold)


def concession_share(dep: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """How far i yields to m against j, by power-dependence:

        c[i, m, j] = D[i, m] / (D[i, m] + D[i, j])

    i balances the demander m against the target j: it concedes more the more it depends on m
    relative to j; the side with the better outside option for i wins more. Zero when i depends
    on neither. Shape (N, N, N).
    """
    dim = dep[:, :, None]
    dij = dep[:, None, :]
    total = dim + dij
    return np.where(total > eps, dim / np.where(total > eps, total, 1.0), 0.0)


def pressure_terms(tie: np.ndarray, affinity: np.ndarray, dep: np.ndarray, threshold: float) -> np.ndarray:
    """Pressure m puts on i's tie to j: P[i, m, j] = T[i, m] h[m, j] c[i, m, j].

    Zero for m = i and m = j (zero diagonals of T and h). Shape (N, N, N).
    """
    h = demand(affinity, threshold)
    return tie[:, :, None] * h[None, :, :] * concession_share(dep)


def conditionality_pressure(
    tie: np.ndarray, affinity: np.ndarray, dep: np.ndarray, *, threshold: float, weight: float
) -> np.ndarray:
    """Value i loses on j from its partners' conditions: pressure[i, j] = w sum_m P[i, m, j]."""
    return weight * pressure_terms(tie, affinity, dep, threshold).sum(axis=1)


def third_party_leverage(
    tie: np.ndarray, affinity: np.ndarray, dep: np.ndarray, i: int, j: int, *, threshold: float
) -> np.ndarray:
    """In-run leverage of every m over the dyad (i, j): the pressure it puts on both sides,

        lev[m] = P[i, m, j] + P[j, m, i]

    i.e. how much value m can take off the i-j tie through its conditions. Returns shape (N,).
    """
    p = pressure_terms(tie, affinity, dep, threshold)
    return p[i, :, j] + p[j, :, i]
