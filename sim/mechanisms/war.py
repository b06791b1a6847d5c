"""Wartime supply: a state at war values the partners that can and will supply what its war consumes."""

from __future__ import annotations

import numpy as np

from sim.mechanisms.arrays import per_slice, transpose


def supply_share(industry: np.ndarray) -> np.ndarray:
    """Share of a pair's industrial capacity that the partner holds: what j can supply that i lacks,

        supply[i, j] = x_j / (x_i + x_j)     (0 where x_i + x_j = 0, and on the diagonal)

    ``x`` (N,) is each state's industrial capacity to produce materiel (the world's ``industry``:
    NMC iron and steel production, docs/DATA.md). In [0, 1]; supply + supply^T = 1 off the
    diagonal where either holds some. The same ratio form as the demand game's credibility
    (:func:`sim.mechanisms.demands.credibility`), on another capacity.
    """
    x = np.asarray(industry, dtype=float)
    total = x[:, None] + x[None, :]
    share = np.divide(np.broadcast_to(x[None, :], total.shape), total, out=np.zeros_like(total), where=total > 0)
    np.fill_diagonal(share, 0.0)
    return share


def war_supply(war: np.ndarray, supply: np.ndarray, hub: np.ndarray, affinity: np.ndarray, *,
               weight: float | np.ndarray) -> np.ndarray:
    """Value a belligerent and the partners able and willing to supply its war gain to each other:

        W[i, j] = omega * war_i * supply[i, j] * hub[i, j] * max(0, S[i, j]),   premium = W + W^T

    A state at war (``war_i`` in [0, 1], set by events) consumes materiel faster than it makes
    it, and values a partner by what the partner can supply that it lacks (``supply``,
    :func:`supply_share`): the capability aggregation view of alliances (so named by Morrow
    1991), read at war, when a partner's capability is worth most. The partner supplies only if
    it is willing: it does not join a sanctions regime on the belligerent (``hub``,
    :func:`sim.mechanisms.scarcity.hub_matrix`; participants do not arm the target) and it is
    friendly, in proportion to its affinity (arms follow alignment; Early 2015, *Busted
    Sanctions*: aid-based sanctions busters support a sanctioned state for political reasons,
    where trade-based ones, the hubs of diversion, do it for profit). What deters a willing
    supplier, its exposure to the sanctions' participants, is already in its value of the
    target (docs/MODEL.md 7.9d), so it is not counted again. The exchange pays both sides (the
    supplier is paid, in money, technology or cover), so the value rises both ways, as in
    :func:`sim.mechanisms.scarcity.diversion_premium`.

    ``war`` is (N,) or (S, N); ``supply`` (N, N); ``hub`` and ``affinity`` (N, N) or stacks
    (S, N, N); ``weight`` a float or one per slice. Zero where no state is at war; zero diagonal.
    """
    w = per_slice(weight, 2) * war[..., :, None] * supply * hub * np.maximum(0.0, affinity)
    return w + transpose(w)
