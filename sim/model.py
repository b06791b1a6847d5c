"""AllianceModel: the Mesa face of the monthly step, one run with its agents and DataCollector.

Mesa is imported here (and by :mod:`sim.agents`) only: the stacked engine (:mod:`sim.batch`) runs without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import mesa
import numpy as np
import pandas as pd

from sim.agents import StateAgent
from sim.config import MechanismsConfig
from sim.events import Schedule
from sim.metrics import measurer, metric_names
from sim.recording import DeferredMeasure
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


class ArrayDataCollector(mesa.DataCollector):
    """A ``mesa.DataCollector`` whose model variables live in one float array, a row per collect.

    Mesa's own ``collect`` calls one reporter per column and deep-copies every value; with 28
    columns that cost more than the model's whole month. Here ``collect`` copies the arrays the
    metrics read (``model.metric_inputs()``) and ``model.date``; the metrics of the months
    collected are computed together (:class:`DeferredMeasure`, with ``measure``) when the buffer
    is full or the record is read, which gives the numbers a month-by-month measurement gives.
    ``get_model_vars_dataframe()`` gives the table a DataCollector with the reporters in
    ``model_reporters`` would give: ``date`` first, then one float column per metric.
    :meth:`array` (rows collected so far: ``rows``), ``columns`` and ``dates`` are the raw record.
    """

    def __init__(self, columns: Sequence[str], capacity: int, measure: Callable[..., Any]) -> None:
        super().__init__()
        self.columns = tuple(columns)
        self._values = np.empty((max(capacity, 1), len(self.columns)))
        self._pending = DeferredMeasure(measure, len(self.columns), capacity=capacity)
        self.dates: list[str] = []
        self.rows = 0
        # What each column is, as Mesa model reporters (a plain DataCollector given these records
        # the same table); collect() below does their work.
        self.model_reporters = {"date": "date"} | {c: _column(k) for k, c in enumerate(self.columns)}

    @property
    def model_vars(self) -> dict[str, list[Any]]:
        """Mesa's column lists, built from the array on demand."""
        values = self.array()
        out: dict[str, list[Any]] = {"date": list(self.dates)}
        for k, column in enumerate(self.columns):
            out[column] = values[:, k].tolist()
        return out

    @model_vars.setter
    def model_vars(self, value: dict[str, list[Any]]) -> None:
        if value:  # DataCollector.__init__ assigns {}; anything else would be lost
            raise AttributeError("ArrayDataCollector records into an array; model_vars is read-only")

    def collect(self, model: Any) -> None:
        """Record the model's current metric inputs and date (the metrics follow on reading)."""
        if self.rows == len(self._values):  # more collects than planned: grow
            self._values = np.concatenate([self._values, np.empty_like(self._values)])
        self.rows += 1
        self.dates.append(model.date)
        self._collection_steps.append(model.time)
        self._store(self._pending.push(**model.metric_inputs()))

    def array(self) -> np.ndarray:
        """The recorded rows, shape (rows, len(columns)) (a view: copy before the next collect if kept)."""
        self._store(self._pending.flush())
        return self._values[: self.rows]

    def get_model_vars_dataframe(self) -> pd.DataFrame:
        """One row per collect: ``date``, then one column per metric."""
        df = pd.DataFrame(self.array().copy(), columns=list(self.columns))
        df.insert(0, "date", list(self.dates))
        return df

    def _store(self, measured: np.ndarray | None) -> None:
        """Write the metrics of the last ``len(measured)`` months collected into their rows."""
        if measured is not None and len(measured):
            self._values[self.rows - len(measured): self.rows] = measured


def _column(k: int) -> Callable[[Any], float]:
    """A model reporter reading metric ``k`` of the month."""
    return lambda model: float(model.metric_row[k])
