"""Bargaining: Nash's solution, the outside-option principle, Emerson's power-dependence.

The agent model's dependence, leverage and conditionality (``sim.mechanisms.bargaining``) are
built from :func:`dependence`, :func:`power_advantage` and :func:`concession_share` here.
"""

from __future__ import annotations

import numpy as np


def nash_bargaining(surplus: float, d1: float, d2: float) -> tuple[float, float] | None:
    """Nash (1950) bargaining solution over a surplus S with disagreement points (d1, d2):

        argmax (u1 - d1)(u2 - d2)  s.t.  u1 + u2 = S   =>   u_k = d_k + (S - d1 - d2) / 2

    each side gets its disagreement payoff plus half the gains from agreement. None when
    S < d1 + d2 (no agreement beats disagreement).
    """
    gain = surplus - d1 - d2
    if gain < 0:
        return None
    return d1 + gain / 2.0, d2 + gain / 2.0


def outside_option_split(surplus: float, o1: float, o2: float) -> tuple[float, float] | None:
    """The outside-option principle (Binmore, Rubinstein & Wolinsky, RAND J. Econ. 1986).

    In alternating-offers bargaining over S with equal patience (in the limit of frequent
    offers) and outside options o1, o2 a player may take instead of continuing, the outcome is

        u1 = min(max(S / 2, o1), S - o2),   u2 = S - u1

    An outside option is *not* a disagreement point: it changes the split only when it exceeds
    what the player would get anyway (the equal split S / 2), and then it gives exactly the
    option. None when o1 + o2 > S (both do better outside).
    """
    if o1 + o2 > surplus:
        return None
    u1 = min(max(surplus / 2.0, o1), surplus - o2)
    return u1, surplus - u1


def dependence_shares(
    value: np.ndarray, tie: np.ndarray, outside_option: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Dependence of i on each partner and on its outside options, from one pass (Emerson 1962):

        u = max(0, V) * T,   t_i = sum_k u[i, k] + o_i
        D[i, j] = u[i, j] / t_i,   w_i = o_i / t_i     (both 0 where t_i = 0)

    ``D`` is :func:`dependence` and ``w`` is :func:`outside_share`; the model needs both every
    month, so they share ``u`` and ``t``. For a state with any value at all, sum_j D[i, j] + w_i = 1.
    ``value`` and ``tie`` may be stacks (R, N, N) (then D is (R, N, N) and w is (R, N)).
    """
    u = np.maximum(0.0, value) * tie
    total = u.sum(axis=-1) + outside_option
    positive = total > 0
    if positive.all():  # the usual case: no 0/0 to guard (same numbers as the guarded division)
        return u / total[..., None], outside_option / total
    dep = np.divide(u, total[..., None], out=np.zeros_like(u), where=positive[..., None])
    share = np.divide(np.broadcast_to(outside_option, total.shape), total, out=np.zeros_like(total), where=positive)
    return dep, share


def dependence(value: np.ndarray, tie: np.ndarray, outside_option: np.ndarray) -> np.ndarray:
    """Dependence of i on j (Emerson 1962), the share of i's value that j provides:

        D[i, j] = u[i, j] / (sum_k u[i, k] + o_i),    u = max(0, V) * T

    ``o_i`` is i's outside option (partners outside the modelled world): the better i's
    alternatives, the less it depends on any one partner. In [0, 1]; zero for a state with
    neither ties nor an outside option. Computed by :func:`dependence_shares`.
    """
    return dependence_shares(value, tie, outside_option)[0]


def outside_share(value: np.ndarray, tie: np.ndarray, outside_option: np.ndarray) -> np.ndarray:
    """Share of i's value that comes from outside options: w_i = o_i / (sum_k u[i, k] + o_i).

    With the dependences D[i, :] it sums to 1 (for a state with any value at all). Computed by
    :func:`dependence_shares`.
    """
    return dependence_shares(value, tie, outside_option)[1]


def power_advantage(dep: np.ndarray) -> np.ndarray:
    """Emerson's power advantage of i over j: P[i, j] = D[j, i] - D[i, j] in (-1, 1).

    The power of i over j is j's dependence on i (Emerson 1962: P_ij = D_ji); the advantage is
    the asymmetry. Antisymmetric; zero for balanced (mutual) dependence. Also on stacks (..., N, N).
    """
    return dep.swapaxes(-1, -2) - dep


def concession(d_im: np.ndarray, d_ij: np.ndarray, w_i: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Concession share from its three inputs, elementwise (numpy broadcasting):

        c = D[i, m] / (D[i, m] + D[i, j] + w_i),   0 where the denominator is <= eps

    :func:`concession_share` is this on every triple; the mechanisms call it on blocks of
    triples so that no (N, N, N) array is needed. When every w_i exceeds eps no denominator
    can be <= eps (the inputs are >= 0), and the guard is skipped (same numbers).
    """
    total = d_im + d_ij + w_i
    if np.greater(w_i, eps).all():
        return d_im / total
    ok = total > eps
    return np.where(ok, d_im / np.where(ok, total, 1.0), 0.0)


def concession_share(dep: np.ndarray, outside: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """How far i yields to m's demand against j, by power-dependence:

        c[i, m, j] = D[i, m] / (D[i, m] + D[i, j] + w_i)

    i weighs the power m has over it (its dependence on m) against the power of j over it (its
    dependence on j) and its alternatives (w_i, :func:`outside_share`). It concedes more the
    more it depends on the demander, and better outside options let it refuse both. With equal
    dependence and no alternatives it meets the demand half way, as in the symmetric Nash
    solution; with no dependence on j and no alternatives it concedes fully. Zero when it
    depends on neither. Shape (N, N, N), indexed [i, m, j]: for small N and tests; the model
    uses :func:`concession` on blocks.
    """
    return concession(dep[:, :, None], dep[:, None, :], outside[:, None, None], eps)
