"""Signed affinity dynamics: drift toward interest alignment and toward structural balance."""

from __future__ import annotations

import numpy as np


def balance_drift(affinity: np.ndarray) -> np.ndarray:
    """Structural-balance force dX/dt = X^2 (Marvel, Kleinberg, Kleinberg & Strogatz 2011).

    (X^2)[i, j] = sum_k X[i, k] X[k, j]: i warms to j when they share friends or enemies.
    """
    return affinity @ affinity


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
    """One explicit Euler step, clipped to [-1, 1] with a zero diagonal:

        S' = clip(S + dt [a (S* - S) + b S^2 / (N - 1) + c (T - T0)], -1, 1)

    ``S*`` is the anchor: the calibrated affinity moved by later changes in interest alignment
    and by events. With a = c = 0 this is the Euler scheme of dX/dt = (b / (N - 1)) X^2,
    whose generic outcome is two antagonistic factions.
    """
    n = affinity.shape[0]
    drift = (
        alignment_rate * (anchor - affinity)
        + balance_rate * balance_drift(affinity) / max(n - 1, 1)
        + cooperation_rate * (tie - tie0)
    )
    out = np.clip(affinity + dt * drift, -1.0, 1.0)
    np.fill_diagonal(out, 0.0)
    return out


def marvel_solution(x0: np.ndarray, t: float) -> np.ndarray:
    """Closed form of dX/dt = X^2 for symmetric X0: X(t) = X0 (I - t X0)^{-1}, t < 1/lambda_max."""
    return x0 @ np.linalg.inv(np.eye(x0.shape[0]) - t * x0)


def leading_eigenvector_factions(x0: np.ndarray) -> np.ndarray:
    """Marvel et al.'s prediction: the sign of each entry of X0's leading eigenvector (+1/-1)."""
    w, v = np.linalg.eigh(x0)
    u = v[:, np.argmax(w)]
    return np.where(u >= 0, 1, -1)
