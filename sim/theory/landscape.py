"""Landscape theory of aggregation (Axelrod & Bennett, British Journal of Political Science 23(2), 1993).

Actors of sizes s_i with pairwise propensities p_ij (symmetric; > 0 to be together, < 0 to be
apart) split into two blocs. A configuration is a 0/1 vector x (bloc of each actor); the
distance d_ij(x) is 0 within a bloc and 1 across. Configurations x and 1 - x are the same
split; functions return each split once, with actor 0 in bloc 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_EXHAUSTIVE = 22


def weights(sizes: np.ndarray, propensity: np.ndarray) -> np.ndarray:
    """W[i, j] = s_i s_j p_ij with a zero diagonal."""
    w = np.outer(sizes, sizes) * propensity
    np.fill_diagonal(w, 0.0)
    return w


def energy(sizes: np.ndarray, propensity: np.ndarray, blocs: np.ndarray) -> np.ndarray | float:
    """Energy of one configuration (or of each row of a batch):

        E(x) = sum_{i < j} s_i s_j p_ij d_ij(x)

    The sum runs over *unordered* pairs; Axelrod & Bennett's sum over ordered pairs is exactly
    twice this, which changes no comparison or minimum. Computed as E = x.r - x^T W x with
    W[i, j] = s_i s_j p_ij and r = W 1, since d_ij = x_i + x_j - 2 x_i x_j. Low energy means
    friends together and rivals apart.
    """
    w = weights(sizes, propensity)
    x = np.asarray(blocs, dtype=float)
    r = w.sum(axis=1)
    if x.ndim == 1:
        return float(x @ r - x @ w @ x)
    return x @ r - np.einsum("ci,ij,cj->c", x, w, x)


def frustration(sizes: np.ndarray, propensity: np.ndarray, blocs: np.ndarray) -> np.ndarray:
    """Frustration of each actor: F_i(x) = sum_{j != i} s_j p_ij d_ij(x).

    Positive when i sits apart from those it is drawn to (or with those it repels). Then
    E(x) = (1/2) sum_i s_i F_i(x).
    """
    x = np.asarray(blocs, dtype=float)
    d = np.abs(x[:, None] - x[None, :])
    p = propensity.copy()
    np.fill_diagonal(p, 0.0)
    return (p * d) @ sizes


@dataclass(frozen=True)
class Minimum:
    """A local minimum: its blocs (actor 0 in bloc 0), energy and basin of attraction."""

    blocs: tuple[int, ...]
    energy: float
    basin: float  # share of all 2^n configurations whose steepest descent ends here (or in its mirror)


def all_configurations(n: int) -> np.ndarray:
    """Every 0/1 configuration of n actors, row c holding the bits of c (actor i = bit i)."""
    codes = np.arange(2**n, dtype=np.int64)
    return ((codes[:, None] >> np.arange(n)) & 1).astype(np.int8)


def local_minima(sizes: np.ndarray, propensity: np.ndarray) -> list[Minimum]:
    """All local minima under single-actor switches, by exhaustive enumeration, lowest first.

    A configuration is a local minimum when no single actor's switch lowers the energy. Its
    basin of attraction is the share of all 2^n configurations from which steepest descent
    (each step the single switch that lowers the energy most, ties to the lowest actor index)
    ends at it or at its mirror image. Exhaustive, so for up to about 20 actors (2^20
    configurations).
    """
    sizes = np.asarray(sizes, dtype=float)
    n = sizes.size
    if n > MAX_EXHAUSTIVE:
        raise ValueError(f"exhaustive search needs n <= {MAX_EXHAUSTIVE} actors, got {n}")
    x = all_configurations(n)
    e = energy(sizes, propensity, x)
    codes = np.arange(2**n, dtype=np.int64)
    best = e.copy()
    succ = codes.copy()
    for i in range(n):
        neighbour = codes ^ (1 << i)
        better = e[neighbour] < best - 1e-12
        best = np.where(better, e[neighbour], best)
        succ = np.where(better, neighbour, succ)
    minima = np.flatnonzero(succ == codes)
    end = succ
    while True:  # pointer jumping to each configuration's end point
        nxt = end[end]
        if np.array_equal(nxt, end):
            break
        end = nxt
    counts = np.bincount(end, minlength=2**n)
    full = (1 << n) - 1
    out = []
    for c in minima:
        if c & 1:  # report each split once, with actor 0 in bloc 0; the mirror carries its basin
            continue
        mirror = c ^ full
        out.append(Minimum(tuple(int(b) for b in x[c]), float(e[c]), float((counts[c] + counts[mirror]) / 2**n)))
    return sorted(out, key=lambda m: m.energy)
