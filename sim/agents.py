"""StateAgent: one state (or flagged non-state actor) of the world, as a Mesa agent."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

if TYPE_CHECKING:
    from sim.model import AllianceModel


class StateAgent(mesa.Agent):
    """A state: its identity, and its row of the model's arrays.

    Agents hold identity (code, name, camp, non-state flag) and read their own row of the
    month's arrays; they do not each run a decision method. The decisions are made by the model
    for every state in one call (:meth:`sim.step.Month.decide`): each state re-spreads its own
    budget over its partners by :func:`sim.mechanisms.allocation.allocate`, which is row-wise
    (state i reads only its row of values, fixed effects and commitments and its budget, and
    writes only its row), so one call on all rows is every agent deciding, synchronously, and
    the same call steps a stack of runs.
    """

    model: AllianceModel

    def __init__(self, model: AllianceModel, index: int, code: str, name: str, camp: str, non_state: bool) -> None:
        super().__init__(model)
        self.index = index
        self.code = code
        self.name = name
        self.camp = camp
        self.non_state = non_state

    @property
    def commitments(self) -> np.ndarray:
        """What this state commits to each partner this month, A[i, :] (budget units)."""
        return self.model.commit[self.index]

    @property
    def budget(self) -> float:
        """This state's budget this month, b_i."""
        return float(self.model.budget[self.index])

    @property
    def ties(self) -> np.ndarray:
        """This state's mutual tie with each partner, T[i, :]."""
        return self.model.tie[self.index]
