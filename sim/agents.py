"""StateAgent: one state (or flagged non-state actor) that decides its own commitments."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from sim.mechanisms.allocation import adjust, desired_commitment, fit_to_budget

if TYPE_CHECKING:
    from sim.model import AllianceModel


class StateAgent(mesa.Agent):
    """A state. Its attributes live in the model's arrays; the agent owns row ``index``.

    Each month it re-spreads its budget over its partners: it reads what each partner is worth
    to it (its row of the value matrix) and moves its commitments part of the way toward the
    allocation that value implies, within its budget.
    """

    model: AllianceModel

    def __init__(self, model: AllianceModel, index: int, code: str, name: str, camp: str, non_state: bool) -> None:
        super().__init__(model)
        self.index = index
        self.code = code
        self.name = name
        self.camp = camp
        self.non_state = non_state

    def decide(self) -> None:
        """Move my commitment row toward my budget-feasible desired allocation."""
        m, i = self.model, slice(self.index, self.index + 1)
        p = m.params.allocation
        if not p.enabled:  # allocation switched off: commitments stay put, cut only to a shrunk budget
            m.commit[i] = fit_to_budget(m.commit[i], m.budget[i])
            return
        desired = desired_commitment(m.value[i], m.fixed_effect[i], m.budget[i],
                                     rationality=p.rationality, max_share=p.max_share)
        target = fit_to_budget(desired, m.budget[i])
        m.commit[i] = adjust(m.commit[i], target, m.budget[i], inertia=p.inertia)
