"""AllianceModel: the Mesa face of the monthly step, one run with its agents and DataCollector."""

from __future__ import annotations

import mesa
import numpy as np

from sim.agents import StateAgent
from sim.config import MechanismsConfig
from sim.events import Schedule
from sim.metrics import measurer, metric_names
from sim.recording import ArrayDataCollector
from sim.step import Month
from sim.world import World


class AllianceModel(mesa.Model):
    """States re-spread their commitments each month as values, affinities and budgets move.

    The month itself is :class:`sim.step.Month` (``self.month``), the one implementation that
    the stacked runner (:mod:`sim.batch`) steps for many runs at once: dated events -> budgets
    -> relationship values (drivers, conditionality, scarcity, sanctions, noise) -> every state
    re-spreads its commitments -> ties -> affinities -> dependence. This class adds what Mesa
    users expect: a seeded ``rng`` (the month's random innovations come from it), one
    :class:`sim.agents.StateAgent` per actor, ``step()``/``run()``, and a DataCollector whose
    table has one row per month (the metrics of the months are measured together when read:
    the same numbers in fewer calls). The state arrays (``tie``, ``affinity``, ``commit``, ...)
    are read-only views of ``self.month``.
    """

    def __init__(
        self,
        world: World,
        mechanisms: MechanismsConfig,
        schedule: Schedule,
        rng: np.random.Generator | np.random.SeedSequence | int | None = None,
    ) -> None:
        super().__init__(rng=rng)
        self.world = world
        self.params = mechanisms
        self.schedule = schedule
        n = world.n
        # The AR(1) shocks start in their stationary distribution (unit variance from month one);
        # then one (N, N) innovation a month, from the model's own generator.
        self.month = Month(world, mechanisms, schedule, shock=self.rng.standard_normal((n, n)),
                           draw=lambda month: self.rng.standard_normal((n, n)))
        StateAgent.create_agents(
            self, n, index=list(range(n)), code=list(world.codes),
            name=list(world.names), camp=list(world.camp), non_state=list(world.non_state),
        )
        self.date = schedule.dates[0]
        r = world.roles
        self.metric_names = metric_names(world.codes, r.entente, r.outreach_actor, r.outreach_targets)
        # measure(out, **inputs): the metrics of one month, or of a stack of months, from metric_inputs()
        self.measure = measurer(r, mechanisms.conditionality.hostility_threshold)
        self.datacollector = ArrayDataCollector(self.metric_names, capacity=len(schedule.dates),
                                                measure=self.measure)

    def step(self) -> None:
        """One month (:meth:`sim.step.Month.step`), then record it."""
        month = self.steps - 1  # Mesa counts steps from 1 and increments before calling step
        self.date = self.schedule.dates[month]
        self.month.step(month)
        self.datacollector.collect(self)  # the arrays the metrics read; measured in one call per run

    def run(self) -> None:
        """Step through every remaining month of the schedule."""
        while self.steps < len(self.schedule.dates):
            self.step()

    def metric_inputs(self) -> dict[str, np.ndarray]:
        """The arrays this month's metrics are computed from (:func:`sim.metrics.measure_into`)."""
        return self.month.metric_inputs()

    @property
    def metric_row(self) -> np.ndarray:
        """This month's metrics, named by ``metric_names`` (computed when asked)."""
        return self.measure(np.empty(len(self.metric_names)), **self.metric_inputs())

    @property
    def metrics(self) -> dict[str, float]:
        """This month's metrics by column name."""
        return dict(zip(self.metric_names, self.metric_row.tolist(), strict=True))

    # The state of the month, by the names the mechanisms give it (read-only views of self.month).
    commit = property(lambda self: self.month.commit, doc="commitments A[i, j] (budget units)")
    tie = property(lambda self: self.month.tie, doc="mutual tie strength T[i, j]")
    affinity = property(lambda self: self.month.affinity, doc="signed affinity S[i, j] in [-1, 1]")
    budget = property(lambda self: self.month.budget, doc="this month's budgets b_i")
    value = property(lambda self: self.month.value, doc="relationship values V[i, j]")
    dependence = property(lambda self: self.month.dependence, doc="dependence D[i, j] (Emerson)")
    outside_share = property(lambda self: self.month.outside_share, doc="share of value from outside options")
    shock = property(lambda self: self.month.shock, doc="the AR(1) value shock xi[i, j]")
    outside_option = property(lambda self: self.month.outside_option, doc="outside options o_i under sanctions")
    tie0 = property(lambda self: self.month.tie0, doc="calibrated ties of the start year")
    value0 = property(lambda self: self.month.value0, doc="calibrated values of the start year")
    fixed_effect = property(lambda self: self.month.fixed_effect, doc="calibrated fixed effect B[i, j]")
