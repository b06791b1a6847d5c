"""Structural balance: indices, the Marvel et al. (2011) model, and triad dynamics (Antal et al. 2005).

A signed network is a symmetric matrix S with zero diagonal: S[i, j] > 0 friends, < 0 enemies,
0 no relation. A triad (i, j, k) is balanced when S_ij S_jk S_ki > 0 ("the friend of my friend
is my friend, the enemy of my enemy is my friend").
"""

from __future__ import annotations

import numpy as np

# From this many states on, trace_of_cube squares a symmetric matrix as X X^T (BLAS syrk).
SYRK_MIN_N = 64


def balance_index(affinity: np.ndarray, *, weighted: bool = True) -> float | np.ndarray:
    """Share of balanced triads, in [0, 1]:

        B = (1 + tr(X^3) / tr(|X|^3)) / 2,   X = S (weighted) or X = sign(S) (unweighted)

    tr(X^3) sums X_ij X_jk X_ki over closed walks of length three, i.e. six times the sum over
    triads of the sign of the triad times its weight |X_ij X_jk X_ki|; tr(|X|^3) is six times the
    total weight. Unweighted, B is the plain fraction of balanced triads among closed ones (all
    three relations non-zero). 1 for a network with no closed triad. A float for one network; an
    array of shape (R,) for a stack of R networks (R, N, N).

    Each trace takes one matrix product (:func:`trace_of_cube`), not two.
    """
    x = np.sign(affinity) if not weighted else np.asarray(affinity, dtype=float)
    total = trace_of_cube(np.abs(x))
    signed = trace_of_cube(x)
    if np.ndim(total) == 0:  # one network
        return 1.0 if total <= 0 else float(_balance_share(signed, total))
    closed = total > 0
    return np.where(closed, _balance_share(signed, np.where(closed, total, 1.0)), 1.0)


def trace_of_cube(x: np.ndarray) -> np.ndarray:
    """tr(X^3) with one matrix product:

        tr(X^3) = sum_i sum_j (X^2)[i, j] X[j, i],   X^2 = X @ X

    summed over j (each row) and then over i. Above ``SYRK_MIN_N`` states, for a symmetric X
    (every signed network), X^2 is computed as X X^T, which numpy hands to BLAS's symmetric
    rank-k update (half the work of a general product); below, the symmetry check would cost
    more than it saves. The same number as the trace of X @ X @ X up to rounding (about 1e-16
    relative). Shape (...) for a stack (..., N, N).
    """
    xt = x.swapaxes(-1, -2)
    square = x @ xt if x.shape[-1] >= SYRK_MIN_N and bool((x == xt).all()) else x @ x
    return (square * xt).sum(axis=-1).sum(axis=-1)


def _balance_share(signed: np.ndarray, total: np.ndarray) -> np.ndarray:
    """(1 + tr(X^3) / tr(|X|^3)) / 2, for ``total`` > 0 (see :func:`balance_index`)."""
    return (1.0 + signed / total) / 2.0


def triad_counts(affinity: np.ndarray) -> tuple[int, int]:
    """(balanced, unbalanced) closed triads of sign(S), each triad counted once."""
    x = np.sign(affinity)
    closed = round(np.trace(np.linalg.matrix_power(np.abs(x), 3)) / 6)
    signed = round(np.trace(np.linalg.matrix_power(x, 3)) / 6)
    return (closed + signed) // 2, (closed - signed) // 2


# ------------------------------------------------------------ Marvel et al. 2011


def marvel_drift(x: np.ndarray) -> np.ndarray:
    """Right-hand side of dX/dt = X^2 (Marvel, Kleinberg, Kleinberg & Strogatz, PNAS 2011).

    (X^2)[i, j] = sum_k X[i, k] X[k, j]: i warms to j when they share friends or enemies.
    """
    return x @ x


def marvel_solution(x0: np.ndarray, t: float) -> np.ndarray:
    """Closed form of dX/dt = X^2 for symmetric X0: X(t) = X0 (I - t X0)^{-1}, for t < 1 / lambda_max."""
    return x0 @ np.linalg.inv(np.eye(x0.shape[0]) - t * x0)


def marvel_blowup_time(x0: np.ndarray) -> float:
    """Finite time at which X(t) blows up: t* = 1 / lambda_max(X0) (inf if lambda_max <= 0)."""
    top = float(np.linalg.eigvalsh(x0).max())
    return 1.0 / top if top > 0 else float("inf")


def marvel_factions(x0: np.ndarray) -> np.ndarray:
    """Marvel et al.'s prediction for generic X0: near t*, X(t) ~ u u^T / (t* - t) with u the
    leading eigenvector of X0, so the factions are the sign classes of u. Returns +1/-1 per actor."""
    w, v = np.linalg.eigh(x0)
    u = v[:, np.argmax(w)]
    return np.where(u >= 0, 1, -1)


# ------------------------------------------------------- Antal, Krapivsky & Redner 2005


def ltd_stationary_density(p: float) -> float:
    """Mean-field stationary density of friendly links under local triad dynamics:

        rho_inf = 1 / (sqrt(3 (1 - 2p)) + 1)   for p < 1/2,   1 for p >= 1/2

    (Antal, Krapivsky & Redner, Phys. Rev. E 72, 036121, 2005, eq. 8).
    """
    return 1.0 if p >= 0.5 else 1.0 / (np.sqrt(3.0 * (1.0 - 2.0 * p)) + 1.0)


def local_triad_dynamics(
    signs: np.ndarray, p: float, updates: int, rng: np.random.Generator, *, record_every: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Local triad dynamics on a complete signed graph (Antal, Krapivsky & Redner 2005).

    Each update picks a triad uniformly at random. A balanced triad is left alone. An
    unbalanced triad with one unfriendly link becomes all-friendly with probability p (the
    unfriendly link turns friendly) and otherwise gets a second unfriendly link (a random
    friendly link of the triad turns unfriendly); an all-unfriendly triad turns one random
    link friendly. ``signs`` is a symmetric +1/-1 matrix (the diagonal is ignored). Returns the
    final signs and, if ``record_every`` > 0, the friendly-link density every that many updates.
    """
    s = signs.copy()
    n = s.shape[0]
    triads = rng.choice(n, size=(updates, 3), replace=True)
    coins = rng.random((updates, 2))
    density = []
    friendly = int(np.sum(np.triu(s, 1) > 0))
    links = n * (n - 1) // 2
    for t in range(updates):
        i, j, k = triads[t]
        if i in (j, k) or j == k:
            i, j, k = _distinct(rng, n)
        edges = ((i, j), (j, k), (k, i))
        values = [s[a, b] for a, b in edges]
        if values[0] * values[1] * values[2] < 0:
            negative = [e for e, v in zip(edges, values, strict=True) if v < 0]
            positive = [e for e, v in zip(edges, values, strict=True) if v > 0]
            if len(negative) == 1:
                if coins[t, 0] < p:
                    a, b = negative[0]
                    new = 1
                else:
                    a, b = positive[int(coins[t, 1] * 2)]
                    new = -1
            else:
                a, b = negative[int(coins[t, 1] * 3)]
                new = 1
            s[a, b] = s[b, a] = new
            friendly += new
        if record_every and (t + 1) % record_every == 0:
            density.append(friendly / links)
    return s, np.array(density)


def _distinct(rng: np.random.Generator, n: int) -> tuple[int, int, int]:
    i, j, k = rng.choice(n, size=3, replace=False)
    return int(i), int(j), int(k)


def unbalanced_triads_through(signs: np.ndarray, i: int, j: int) -> int:
    """Unbalanced triads that contain the link (i, j): #k with s_ij s_jk s_ki < 0."""
    prod = signs[i, j] * signs[j, :] * signs[:, i]
    prod[[i, j]] = 0
    return int(np.sum(prod < 0))


def constrained_triad_dynamics(
    signs: np.ndarray, updates: int, rng: np.random.Generator
) -> tuple[np.ndarray, list[int]]:
    """Constrained triad dynamics (Antal, Krapivsky & Redner 2005) on a complete signed graph.

    Each update picks a link at random; flipping it is done if it lowers the total number of
    unbalanced triads, done with probability 1/2 if it leaves that number unchanged, and never
    done if it raises it. Returns the final signs and the number of unbalanced triads after each
    update (non-increasing by construction).
    """
    s = signs.copy()
    n = s.shape[0]
    history = []
    total = triad_counts(s)[1]
    pairs = rng.choice(n, size=(updates, 2))
    coins = rng.random(updates)
    for t in range(updates):
        i, j = int(pairs[t, 0]), int(pairs[t, 1])
        if i != j:
            before = unbalanced_triads_through(s, i, j)
            after = (n - 2) - before  # flipping (i, j) flips the balance of every triad through it
            if after < before or (after == before and coins[t] < 0.5):
                s[i, j] = s[j, i] = -s[i, j]
                total += after - before
        history.append(total)
    return s, history
