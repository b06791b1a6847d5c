"""StateAgent: one state (or flagged non-state actor) that decides its own commitments."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.mechanisms.allocation import allocate

if TYPE_CHECKING:
    from sim.model import AllianceModel


class StateAgent(mesa.Agent):
    """A state. Its attributes live in the model's arrays; the agent owns row ``index``.

    Each month it re-spreads its budget over its partners: it reads what each partner is worth
    to it (its row of the value matrix) and moves its commitments part of the way toward the
    allocation that value implies, within its budget (:func:`sim.mechanisms.allocation.allocate`).
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
        m.commit[i] = _allocate(m, i)

    @classmethod
    def decide_all(cls, model: AllianceModel) -> None:
        """Every state decides at once: the same as ``model.agents.do("decide")``, in one call.

        A state reads only V, B and b, which no state changes during this phase, and writes only
        its own row, so the decisions are synchronous and their order does not matter. The
        allocation is a row-wise pure function, so applying it to all rows in one call gives the
        numbers of N single-row calls (``tests/test_model.py`` checks this) without N rounds of
        small-array overhead, which dominated the cost of a month.
        """
        model.commit = _allocate(model, slice(None))


def _allocate(m: AllianceModel, rows: slice) -> np.ndarray:
    """The allocation of rows ``rows`` from the model's arrays and parameters."""
    p = m.params.allocation
    return allocate(m.commit[rows], m.value[rows], m.fixed_effect[rows], m.budget[rows], enabled=p.enabled,
                    rationality=p.rationality, max_share=p.max_share, inertia=p.inertia)
