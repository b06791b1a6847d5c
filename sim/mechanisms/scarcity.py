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
