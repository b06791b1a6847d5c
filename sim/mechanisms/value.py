"""Relationship value: what partner j is worth to i."""

from __future__ import annotations

import numpy as np

from sim.mechanisms.arrays import per_slice, transpose, zero_diagonal


def interest_alignment(positions: np.ndarray, salience: np.ndarray) -> np.ndarray:
    """Salience-weighted alignment of i with j:

        align[i, j] = 1 - sum_k w[i, k] |p[i, k] - p[j, k]|

    with positions p in [-1, 1] and i's salience w normalised to sum 1, so align is in
    [-1, 1] (1: identical positions on what i cares about). Not symmetric: i weighs the
    issues by its own salience. ``positions`` and ``salience`` may be stacks (S, N, K) (events that
    move them by a lever that differs by slice); the alignment is then (S, N, N).
    """
    w = salience / salience.sum(axis=-1, keepdims=True)
    gap = np.abs(positions[..., :, None, :] - positions[..., None, :, :])  # (..., i, j, k)
    if w.ndim == 2:
        return 1.0 - np.einsum("ik,...ijk->...ij", w, gap)
    return 1.0 - np.einsum("...ik,...ijk->...ij", w, gap)


def symmetric_alignment(alignment: np.ndarray) -> np.ndarray:
    """Symmetrised interest alignment, the mover of the affinity anchor: (align + align^T) / 2."""
    return (alignment + transpose(alignment)) / 2.0


def third_party_cost(tie: np.ndarray, affinity: np.ndarray) -> np.ndarray:
    """Cost to i of closeness to j, from i's partners hostile to j:

        cost[i, j] = sum_{m != i, j} T[i, m] * max(0, -S[m, j])

    Being close to j costs i in proportion to how much i is tied to partners that are hostile
    to j (the heart of the dilution argument). T has a zero diagonal and S a non-negative one
    (self-appraisal), so the matrix product ``T @ max(0, -S)`` excludes m = i and m = j by itself.
    On stacks (R, N, N) it is one product per replication (``numpy.matmul``).
    """
    return tie @ np.maximum(0.0, -affinity)


def static_value(
    complementarity: np.ndarray, alignment: np.ndarray, *, complementarity_weight: float, alignment_weight: float
) -> np.ndarray:
    """The part of the value that only events move: w_c C + w_a align (see :func:`relationship_value`).

    Weights are floats or one per slice of a stack (shape (S,)); the result is then (S, N, N).
    """
    return per_slice(complementarity_weight, 2) * complementarity + per_slice(alignment_weight, 2) * alignment


def dynamic_value(
    static: np.ndarray,
    reciprocity: np.ndarray,
    third_party: np.ndarray,
    pressure: np.ndarray,
    *,
    reciprocity_weight: float,
    third_party_weight: float,
) -> np.ndarray:
    """V = static + w_r recip - w_t cost - pressure, zero on the diagonal (see :func:`relationship_value`).

    ``static`` is :func:`static_value`; the model keeps it between events, when C and the
    positions do not change. Any input may be a stack (R, N, N) of replications, and the weights
    one per slice (shape (R,)).
    """
    # ``reciprocity`` is usually a transposed view: the sum is laid out in C order whatever the
    # inputs' layouts, because the row sums taken of V later (dependence, allocation) add in an
    # order that follows the layout, and a stack must add as each of its slices alone.
    v = np.add(static, per_slice(reciprocity_weight, 2) * reciprocity, order="C")
    v = v - per_slice(third_party_weight, 2) * third_party - pressure
    return zero_diagonal(v)


def relationship_value(
    complementarity: np.ndarray,
    alignment: np.ndarray,
    reciprocity: np.ndarray,
    third_party: np.ndarray,
    pressure: np.ndarray,
    *,
    complementarity_weight: float,
    alignment_weight: float,
    reciprocity_weight: float,
    third_party_weight: float,
) -> np.ndarray:
    """V = w_c C + w_a align + w_r recip - w_t cost - pressure, zero on the diagonal.

    ``reciprocity[i, j]`` is j's commitment share to i (what j gives back); ``pressure`` is the
    conditionality term (already weighted, see :mod:`sim.mechanisms.bargaining`). Computed as
    :func:`dynamic_value` of :func:`static_value`.
    """
    static = static_value(complementarity, alignment, complementarity_weight=complementarity_weight,
                          alignment_weight=alignment_weight)
    return dynamic_value(static, reciprocity, third_party, pressure, reciprocity_weight=reciprocity_weight,
                         third_party_weight=third_party_weight)
