"""The demand game: the outreach targets' demands on the outreach actor at its entente partner's expense.

Each month every outreach target t (a Sunni state) hostile enough to the entente partner b
(Iran) demands that the outreach actor a (Russia) limit its cooperation with b, and threatens
to scale back its own cooperation with a if refused. Carrying the threat out costs t too. Russia
answers with the cheapest of a refusal, a verbal concession (a statement: cheap, no material
effect) and a material concession (less commitment to b). With the roles a, b and the targets
t, and D the Emerson dependence (:func:`sim.theory.bargaining.dependence_shares`):

    demand       x_t = s max(0, -S[t, b] - theta)                 (s: the demands' scale)
    losses       L_a = D[a, t],  L_t = D[t, a]                     (to a and to t if t walks away)
    exit threat  K_t = max(0, L_a - L_t)                           (credible if walking away costs a more)
    credibility  q_t = kappa_t L_a / (L_a + L_t),  kappa_t = c_t / (c_t + c_a)   (0 if L_a + L_t = 0)
    costs to a   refuse: q_t x_t L_a;  material: x_t D[a, b];  verbal: v x_t D[a, b]

A target with a credible exit threat (K_t > 0) insists on deeds: a concedes materially if
that costs it no more than refusing (D[a, b] <= q_t L_a), and refuses otherwise. A target
without one accepts words: a concedes verbally if v D[a, b] <= q_t L_a, and refuses otherwise.
(x_t cancels from both comparisons: the size of a demand sets what is at stake, not who wins.)
The answers move values, in the units of the conditionality pressure (weight w):

    material:  V[a, b] -= w x_t T[a, t]          (a values b less: it commits less to it)
    refusal:   V[t, a] -= w q_t x_t T[a, t]      (t carries its threat out with probability q_t)
    verbal:    nothing

The game is one-shot each month and deterministic given the state (the state's noise makes
answers differ between replications). It is the bargaining the 2018 argument needs: Russia's
ties to the Sunni states raise L_a (what a refusal risks), their dependence on Russia raises
L_t (what their threat costs them), and capability decides whose threats are carried out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.mechanisms.arrays import per_slice
from sim.mechanisms.bargaining import demand

REFUSE, VERBAL, MATERIAL = 0, 1, 2


@dataclass(frozen=True)
class DemandOutcome:
    """One month of the game, per target (arrays of shape (..., K), K = number of targets).

    ``demand`` x_t (0: no demand), ``credibility`` q_t, ``exit_threat`` K_t, ``answer`` one of
    ``REFUSE``, ``VERBAL``, ``MATERIAL`` (meaningful only where ``demand > 0``) and ``pressure``:
    the value the answers remove, an (..., N, N) matrix added to the conditionality pressure.
    """

    demand: np.ndarray
    credibility: np.ndarray
    exit_threat: np.ndarray
    answer: np.ndarray
    pressure: np.ndarray

    def count(self, answer: int) -> np.ndarray:
        """Per target: 1.0 where a demand got ``answer`` this month, else 0.0."""
        return ((self.demand > 0) & (self.answer == answer)).astype(float)


def credibility(dep: np.ndarray, capability: np.ndarray, actor: int, targets: list[int]) -> np.ndarray:
    """q_t = kappa_t L_a / (L_a + L_t), kappa_t = c_t / (c_t + c_a), L_a = D[a, t], L_t = D[t, a]; 0 where
    L_a + L_t = 0 (neither depends on the other: no threat to make). Shape (..., K)."""
    loss_a, loss_t = dep[..., actor, targets], dep[..., targets, actor]
    total = loss_a + loss_t
    share = np.divide(loss_a, total, out=np.zeros_like(total), where=total > 0)
    kappa = capability[targets] / (capability[targets] + capability[actor])
    return kappa * share


def exit_threat(dep: np.ndarray, actor: int, targets: list[int]) -> np.ndarray:
    """Credible exit threat of each target t against the actor a: K_t = max(0, D[a, t] - D[t, a]),
    what walking away costs a beyond what it costs t. Shape (..., K)."""
    return np.maximum(0.0, dep[..., actor, targets] - dep[..., targets, actor])


def demand_game(
    tie: np.ndarray, affinity: np.ndarray, dep: np.ndarray, capability: np.ndarray, *, actor: int, partner: int,
    targets: list[int], threshold: float | np.ndarray, scale: float | np.ndarray, verbal_cost: float | np.ndarray,
    weight: float | np.ndarray,
) -> DemandOutcome:
    """One month of the demand game (module docstring) on (N, N) arrays or stacks (S, N, N);
    parameters are floats or one per slice (shape (S,))."""
    x = per_slice(scale, 1) * demand(affinity[..., targets, partner], per_slice(threshold, 1))
    q = credibility(dep, capability, actor, targets)
    threat = exit_threat(dep, actor, targets)
    refusal_cost = q * dep[..., actor, targets]  # per unit of demand
    material_cost = dep[..., actor, partner, None]
    verbal_ok = per_slice(verbal_cost, 1) * material_cost <= refusal_cost
    answer = np.where(threat > 0, np.where(material_cost <= refusal_cost, MATERIAL, REFUSE),
                      np.where(verbal_ok, VERBAL, REFUSE))
    stake = per_slice(weight, 1) * x * tie[..., actor, targets]
    # the stack's shape from every input that may be stacked alone (ties, dependences, parameters)
    lead = np.broadcast_shapes(stake.shape, answer.shape, q.shape)[:-1]
    pressure = np.zeros(np.broadcast_shapes(tie.shape, (*lead, 1, 1)))
    pressure[..., actor, partner] = np.where(answer == MATERIAL, stake, 0.0).sum(axis=-1)
    pressure[..., targets, actor] = np.where(answer == REFUSE, q * stake, 0.0)
    return DemandOutcome(demand=x, credibility=q, exit_threat=threat, answer=answer, pressure=pressure)
