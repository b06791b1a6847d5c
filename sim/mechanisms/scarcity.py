"""Scarcity of alternatives: a state that loses outside options values the partners it keeps more."""

from __future__ import annotations

import numpy as np

from sim.mechanisms.arrays import per_slice


def alternatives_lost(outside_option: np.ndarray, base_outside_option: np.ndarray) -> np.ndarray:
    """Share of its calibrated outside options each state has lost: l_i = max(0, 1 - o_i / o0_i), 0 if o0_i = 0."""
    ratio = np.divide(outside_option, base_outside_option, out=np.ones_like(outside_option),
                      where=base_outside_option > 0)
    return np.maximum(0.0, 1.0 - ratio)


def scarcity_premium(value: np.ndarray, lost: np.ndarray, *, weight: float) -> np.ndarray:
    """Extra value of the partners a state keeps when its alternatives shrink:

        premium[i, j] = w * l_i * max(0, V[i, j])

    Emerson (1962): dependence on a partner rises as alternatives to it fall; a state cut off
    from its outside options (sanctions) holds on to, and invests in, the partners still worth
    something to it. Partners of no positive value gain nothing. Zero when nothing was lost.
    """
    return per_slice(weight, 2) * lost[..., :, None] * np.maximum(0.0, value)


def hub_matrix(n: int, regimes: list[tuple[int, np.ndarray]]) -> np.ndarray:
    """Who keeps dealing with a sanctioned state: hub[i, j] = 1 - max_r pi_r[j] over the regimes r
    in force whose target is i (1 where no regime targets i), 0 on the diagonal.

    ``regimes`` lists (target, pi) of the regimes in force, pi of shape (N,) or (S, N); the
    result is (N, N), or (S, N, N) if some pi is one per slice.
    """
    lead = np.broadcast_shapes(*(np.shape(pi)[:-1] for _, pi in regimes)) if regimes else ()
    hub = np.ones((*lead, n, n))
    for target, pi in regimes:
        hub[..., target, :] = np.minimum(hub[..., target, :], 1.0 - pi)
    idx = np.arange(n)
    hub[..., idx, idx] = 0.0
    return hub


def diversion_premium(lost: np.ndarray, hub: np.ndarray, *, weight: float | np.ndarray) -> np.ndarray:
    """Value a state that lost alternatives and the states still dealing with it gain to each other:

        D[i, j] = w * l_i * hub[i, j],   premium = D + D^T

    Trade diversion (the hubs of a sanctioned economy): a state i cut off from a share l_i of
    its outside options reroutes its business through the partners that do not join the
    sanctions on it (:func:`hub_matrix`), and those partners profit from it, so the value rises
    on both sides and whatever the pair's value was before (unlike :func:`scarcity_premium`,
    which raises only i's value of partners already worth something to it). Two states that
    both lost alternatives and keep dealing with each other gain w (l_i + l_j) each way.
    ``lost`` is (N,) or (S, N), ``hub`` (N, N) or (S, N, N), ``weight`` a float or one per slice.
    """
    d = per_slice(weight, 2) * lost[..., :, None] * hub
    return d + np.swapaxes(d, -1, -2)
