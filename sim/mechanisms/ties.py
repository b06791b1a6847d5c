"""Mutual tie strength from directed commitments."""

from __future__ import annotations

import numpy as np

from sim.mechanisms.arrays import transpose


def commitment_shares(commit: np.ndarray, base_budget: np.ndarray) -> np.ndarray:
    """Share of each origin's base budget committed to each partner: a[i, j] = A[i, j] / b0_i."""
    return commit / base_budget[..., None]


def tie_strength(commit: np.ndarray, base_budget: np.ndarray) -> np.ndarray:
    """Mutual tie T[i, j] = sqrt(a[i, j] * a[j, i]) with a = A / b0 (rows by base budget).

    The geometric mean needs reciprocity: a one-sided investment gives no tie. Using the
    *base* budget keeps T comparable over time when budgets grow. Symmetric, zero diagonal.
    Works on a stack of commitments (..., N, N) with one base budget (N,) or a stack (..., N).
    """
    a = commitment_shares(commit, base_budget)
    return np.sqrt(a * transpose(a))
