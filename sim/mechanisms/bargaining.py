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

import itertools

import numpy as np

from sim.mechanisms.arrays import per_slice, transpose
from sim.theory.bargaining import concession, concession_share, dependence, outside_share, power_advantage

__all__ = [
    "concession_share",
    "conditionality_pressure",
    "demand",
    "dependence",
    "dyad_pressure",
    "outside_share",
    "power_advantage",
    "pressure_terms",
    "third_party_leverage",
]

# Up to this many actors the pressure is one (N, N, N) block (N = 48: 0.9 MB); above it, a loop
# over the columns with hostile demanders, whose memory grows as N^2.
DENSE_PRESSURE_MAX_N = 48
# Stacks of at least this many replications visit only the hostile pairs (_stacked_pressure);
# smaller stacks use the one-block layout, which costs fewer numpy calls.
STACKED_PRESSURE_MIN_R = 8
# The guard of sim.theory.bargaining.concession: denominators at or below it give a share of 0.
CONCESSION_EPS = 1e-12


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

    On stacks of R replications (``tie``, ``affinity``, ``dep``: (R, N, N), ``outside``: (R, N))
    up to ``DENSE_PRESSURE_MAX_N`` actors, the block is (R, N, N^2), or for R of at least
    ``STACKED_PRESSURE_MIN_R`` only the pairs (m, j) hostile in some replication are visited
    (:func:`_stacked_pressure`); above, each replication is computed by itself. All give the
    numbers of each replication alone. ``threshold`` and ``weight`` are floats or one per slice
    (shape (R,)).
    """
    n = tie.shape[-1]
    if not (isinstance(threshold, float) and isinstance(weight, float)) and (np.ndim(threshold) or np.ndim(weight)):
        # one per slice: line them up with the matrices
        lead = np.broadcast_shapes(np.shape(threshold), np.shape(weight))
        if n > DENSE_PRESSURE_MAX_N:  # each slice by itself, with its own parameters
            return _per_slice_pressure(tie, affinity, dep, outside, lead, threshold, weight)
        threshold, weight = per_slice(threshold, 2), per_slice(weight, 2)
    if tie.ndim > 2 and n <= DENSE_PRESSURE_MAX_N and int(np.prod(tie.shape[:-2])) >= STACKED_PRESSURE_MIN_R:
        return _stacked_pressure(tie, affinity, dep, outside, threshold=threshold, weight=weight)
    if n <= DENSE_PRESSURE_MAX_N:
        h = demand(affinity, threshold)
        # One block laid out [m, (i, j)] per replication: the sum over m runs down the rows; the
        # concession share is built on contiguous arrays (faster than broadcasting three small axes).
        c = concession(np.repeat(transpose(dep), n, axis=-1), dep.reshape(*dep.shape[:-2], 1, n * n),
                       np.repeat(outside, n, axis=-1)[..., None, :])
        block = transpose(tie)[..., :, :, None] * h[..., :, None, :]
        terms = block.reshape(*block.shape[:-3], n, n * n) * c
        return weight * terms.sum(axis=-2).reshape(*terms.shape[:-2], n, n)
    lead = np.broadcast_shapes(tie.shape[:-2], affinity.shape[:-2], dep.shape[:-2], np.shape(outside)[:-1])
    if lead:
        return _per_slice_pressure(tie, affinity, dep, outside, lead, threshold, weight)
    h = demand(affinity, threshold)
    tie_t = np.ascontiguousarray(tie.T)  # row m holds T[:, m]
    dep_t = np.ascontiguousarray(dep.T)  # row m holds D[:, m]; row j holds D[:, j]
    summed_t = np.zeros((n, n))  # row j holds sum_m P[:, m, j]
    cols, demanders = np.nonzero(h.T)  # sorted by j, then by m
    bounds = np.searchsorted(cols, np.arange(n + 1))
    if not np.greater(outside, CONCESSION_EPS).all():  # some denominators may vanish: guarded path
        for j in np.flatnonzero(np.diff(bounds)):
            m = demanders[bounds[j]:bounds[j + 1]]
            c = concession(dep_t[m], dep_t[j], outside)  # [m, i]: c[i, m, j]
            summed_t[j] = ((tie_t[m] * h[m, j][:, None]) * c).sum(axis=0)
        return weight * summed_t.T
    # The same operations as above (concession's unguarded branch), in preallocated buffers: a
    # fresh (k, N) temporary per column costs page faults that outweigh the arithmetic at large N.
    _pressure_columns(np.flatnonzero(np.diff(bounds)), h, tie_t, dep_t, outside, demanders, bounds, summed_t)
    return weight * summed_t.T


def _per_slice_pressure(
    tie: np.ndarray, affinity: np.ndarray, dep: np.ndarray, outside: np.ndarray, lead: tuple[int, ...],
    threshold: float | np.ndarray, weight: float | np.ndarray,
) -> np.ndarray:
    """:func:`conditionality_pressure` of each slice by itself (worlds above ``DENSE_PRESSURE_MAX_N``)."""
    n = tie.shape[-1]
    lead = np.broadcast_shapes(lead, tie.shape[:-2], affinity.shape[:-2], dep.shape[:-2], np.shape(outside)[:-1])
    out = np.empty((*lead, n, n))
    args = [np.broadcast_to(a, (*lead, *a.shape[a.ndim - k:]))
            for a, k in ((tie, 2), (affinity, 2), (dep, 2), (outside, 1))]
    th, w = np.broadcast_to(threshold, lead), np.broadcast_to(weight, lead)
    for r in np.ndindex(*lead):
        out[r] = conditionality_pressure(*(a[r] for a in args), threshold=float(th[r]), weight=float(w[r]))
    return out


def _pressure_columns(
    columns: np.ndarray, h: np.ndarray, tie_t: np.ndarray, dep_t: np.ndarray, outside: np.ndarray,
    demanders: np.ndarray, bounds: np.ndarray, summed_t: np.ndarray,
) -> None:
    """Rows ``columns`` of summed_t: summed_t[j, i] = sum_m T[i, m] h[m, j] D[i, m] / (D[i, m] + D[i, j] + w_i)
    over the demanders m of column j (``demanders[bounds[j]:bounds[j + 1]]``), each term computed as
    ``(T[i, m] h[m, j]) c`` with c = D[i, m] / ((D[i, m] + D[i, j]) + w_i) and added in increasing m."""
    if not len(columns):
        return
    n = summed_t.shape[1]
    most = int((bounds[columns + 1] - bounds[columns]).max())
    d_im, total, terms = np.empty((most, n)), np.empty((most, n)), np.empty((most, n))
    for j in columns:
        m = demanders[bounds[j]:bounds[j + 1]]
        k = len(m)
        np.take(dep_t, m, axis=0, out=d_im[:k], mode="clip")
        np.add(d_im[:k], dep_t[j], out=total[:k])
        np.add(total[:k], outside, out=total[:k])
        np.divide(d_im[:k], total[:k], out=total[:k])  # c[i, m, j] as [m, i]
        np.take(tie_t, m, axis=0, out=terms[:k], mode="clip")
        np.multiply(terms[:k], h[m, j][:, None], out=terms[:k])
        np.multiply(terms[:k], total[:k], out=terms[:k])
        np.sum(terms[:k], axis=0, out=summed_t[j])


def _stacked_pressure(
    tie: np.ndarray, affinity: np.ndarray, dep: np.ndarray, outside: np.ndarray, *, threshold: float, weight: float
) -> np.ndarray:
    """:func:`conditionality_pressure` of a stack (R, N, N): the terms of the pairs (m, j) with
    h[m, j] > 0 in any replication, added column by column in increasing m.

    The terms are computed at once, shape (R, N, pairs), with the pairs ordered by their rank
    among the demanders of their column; rank k is then added to every column in one step, so
    each pressure[r, i, j] is 0 + P[r, i, m_0, j] + P[r, i, m_1, j] + ..., the sum of the dense
    block with its exact zeros left out (adding 0 changes no float), in the dense block's order.
    """
    h = demand(affinity, threshold)
    n = tie.shape[-1]
    lead = np.broadcast_shapes(tie.shape[:-2], h.shape[:-2], dep.shape[:-2], np.shape(outside)[:-1])
    hostile = (h > 0).reshape(-1, n, n).any(axis=0)  # [m, j]: a demand in some replication
    cols, demanders = np.nonzero(hostile.T)  # sorted by j, then by m
    rank = np.arange(len(cols)) - np.searchsorted(cols, cols)  # position of m among column j's demanders
    order = np.lexsort((cols, rank))  # by rank, then by column
    j, m, rank = cols[order], demanders[order], rank[order]
    c = concession(dep[..., :, m], dep[..., :, j], outside[..., :, None])  # [r, i, pair]: c[r, i, m, j]
    terms = (tie[..., :, m] * h[..., m, j][..., None, :]) * c
    summed = np.zeros((*lead, n, n))
    bounds = np.searchsorted(rank, np.arange(rank.max() + 2 if len(rank) else 1))
    for lo, hi in itertools.pairwise(bounds.tolist()):  # each column appears once per rank
        summed[..., j[lo:hi]] += terms[..., lo:hi]
    return weight * summed


def dyad_pressure(
    tie: np.ndarray, affinity: np.ndarray, dep: np.ndarray, outside: np.ndarray, i: int, j: int, *, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """The pressure every m puts on each side of the dyad (i, j), before the mechanism's weight:

        (P[i, m, j], P[j, m, i]) for every m     (:func:`pressure_terms`)

    Only the two needed slices of P are computed (O(N)). Each has shape (N,), or (R, N) for
    stacks of R replications ((R, N, N) and (R, N) inputs); ``threshold`` may be one per slice.
    """
    threshold = per_slice(threshold, 1)
    p_ij = (tie[..., i, :] * demand(affinity[..., :, j], threshold)) * concession(
        dep[..., i, :], dep[..., i, j, None], outside[..., i, None])
    p_ji = (tie[..., j, :] * demand(affinity[..., :, i], threshold)) * concession(
        dep[..., j, :], dep[..., j, i, None], outside[..., j, None])
    return p_ij, p_ji


def third_party_leverage(
    tie: np.ndarray, affinity: np.ndarray, dep: np.ndarray, outside: np.ndarray, i: int, j: int, *, threshold: float
) -> np.ndarray:
    """In-run leverage index of every m over the dyad (i, j): the pressure it can put on both sides,

        lev[m] = P[i, m, j] + P[j, m, i]      (:func:`dyad_pressure`)

    It is the conditional pressure before the mechanism's weight (the value actually removed
    is ``conditionality.weight * lev``), and it is recorded even with conditionality switched
    off, as the leverage m *would* have. A diagnostic: it grows with i's and j's ties to m
    whatever m's demands achieve (the realized leverage is a counterfactual, see
    ``docs/MODEL.md``). Returns shape (N,), or (R, N) for stacks of R replications ((R, N, N)
    and (R, N) inputs); ``threshold`` may be one per slice (shape (R,)).
    """
    p_ij, p_ji = dyad_pressure(tie, affinity, dep, outside, i, j, threshold=threshold)
    return p_ij + p_ji
