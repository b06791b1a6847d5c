"""Rivals of the dilution account: three value terms that can make outreach *strengthen* a tie.

Each is off by default (``model.mechanisms.<group>.enabled``) and adds to the relationship value
V[i, j] (what j is worth to i); docs/MODEL.md 7.2b gives the theory and the default weights.
Every function takes one run's (N, N) arrays or a stack's (..., N, N), and its weight as a float
or one per slice (shape (S,), :func:`sim.mechanisms.arrays.per_slice`); each returns a zero diagonal,
laid out in C order (the row sums later taken of V add in the order of its layout, and a stack
must add as each of its slices alone; see :func:`sim.mechanisms.value.dynamic_value`).
"""

from __future__ import annotations

import numpy as np

from sim.mechanisms.arrays import per_slice, transpose, zero_diagonal
from sim.mechanisms.value import third_party_cost


def abandonment_fear(dep: np.ndarray, dep0: np.ndarray, *, weight: float | np.ndarray) -> np.ndarray:
    """Fear of abandonment (Snyder 1984): i values j more as j comes to need i less than it did.

        fear[i, j] = kappa * D0[i, j] * max(0, 1 - D[j, i] / D0[j, i])     (0 where D0[j, i] = 0)

    D is Emerson dependence, D0 its calibrated (2018) level. The second factor is the risk: the
    share of its calibrated dependence on i that the patron j has lost (it diversified, or needs
    i less); the first is the stake: what being abandoned would cost i, its dependence on j.
    Both factors are in [0, 1]; the term is 0 at the calibration and whenever j needs i at
    least as much as then (a patron needing i more is no reassurance beyond the start).

    Only j's side moves the term. i's own dependence on j contains i's own valuation of j, which
    this term raises: a fear read from it feeds itself, and turns a patron's courting of new
    partners into its fear of losing them (docs/MODEL.md 7.2b, measured). i's own lost
    alternatives are the scarcity premium's (7.9b).
    """
    theirs, theirs0 = transpose(dep), transpose(dep0)
    kept = np.divide(theirs, theirs0, out=np.ones(np.broadcast_shapes(dep.shape, dep0.shape)), where=theirs0 > 0)
    return per_slice(weight, 2) * dep0 * np.maximum(0.0, 1.0 - kept)


def brokerage_premium(tie: np.ndarray, affinity: np.ndarray, dep: np.ndarray, *,
                      weight: float | np.ndarray) -> np.ndarray:
    """Brokerage (pivot) premium: i gains from j when i is also tied to j's enemies and j needs i.

        broker[i, j] = lambda * sum_m T[i, m] max(0, -S[m, j]) * D[j, i]
                     = lambda * cost[i, j] * D[j, i]

    with ``cost`` the third-party cost (:func:`sim.mechanisms.value.third_party_cost`): the same
    ties to j's enemies that cost i in the dilution account are, for a pivot (Crawford 2003;
    Burt 1992's structural hole), the position from which it extracts a premium from j, in
    proportion to how much j depends on it. D[j, i] > 0 needs a tie between i and j, so only a
    state tied to both sides of a rivalry gains. Applies to every state, as every other term does.
    """
    # laid out in C order whatever the operands' layouts: V's row sums add in the order of its layout
    return per_slice(weight, 2) * np.multiply(third_party_cost(tie, affinity), transpose(dep), order="C")


def shared_threat(affinity: np.ndarray, capability: np.ndarray, *, weight: float | np.ndarray) -> np.ndarray:
    """Balance of threat (Walt 1987): a common adversary raises the value of a tie.

        threat[i, j] = mu * sum_m max(0, -S[i, m]) max(0, -S[j, m]) cap_m,   0 on the diagonal

    m is a state both i and j are hostile to, weighted by its capability (aggregate power, a share
    of the world's). Symmetric. S's diagonal is non-negative, so m = i or m = j adds nothing.
    ``capability`` is (N,); ``affinity`` (N, N) or a stack.
    """
    hostile = np.maximum(0.0, -affinity)
    return zero_diagonal(per_slice(weight, 2) * ((hostile * capability) @ transpose(hostile)))
