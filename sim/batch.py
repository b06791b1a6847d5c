"""The batched engine: R replications of one cell stepped together on stacked arrays.

A replication of the 2018 world is ~100 numpy calls a month on 13 x 13 matrices, and at that
size a call costs about the same whatever its size: the per-call overhead, not the arithmetic,
sets the speed of one replication. This engine steps all R replications of a cell at once,
with the state of replication r in slice r of (R, N, N) and (R, N) arrays, so the overhead is
paid once per month for all R replications.

It runs the month of :class:`sim.model.AllianceModel` (the reference), calling the same pure
functions (``sim.mechanisms``, ``sim.events``, ``sim.theory``, ``sim.metrics``), which work on
one world's arrays or on stacks of them. Everything that does not depend on the random draws
(the calibration, events, drivers and what follows from them) is the same for every
replication, so it is computed once as (N, N) and (N,) arrays that broadcast. Replication r
draws from its own ``numpy.random.default_rng(seeds[r])`` exactly what the model draws (the
integer ``mesa.Model`` takes for Python's ``random``, the stationary shock, then one (N, N)
innovation a month), so its numbers are the model's, bit for bit
(``tests/test_batch.py`` compares the tables of both).

    result = run_batch(world, mechanisms, schedule, seeds)
    result.metrics   # (R, months, columns): what each model's DataCollector records
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.config import MechanismsConfig
from sim.events import (
    Conditions,
    Schedule,
    apply_event,
    outreach_premium,
    sanctions_factor,
    sanctions_penalty,
)
from sim.mechanisms.affinity import affinity_anchor, affinity_step
from sim.mechanisms.allocation import allocate, calibrate_fixed_effect
from sim.mechanisms.arrays import transpose, zero_diagonal
from sim.mechanisms.bargaining import DENSE_PRESSURE_MAX_N, conditionality_pressure
from sim.mechanisms.budget import budget
from sim.mechanisms.noise import ar1_shock
from sim.mechanisms.scarcity import alternatives_lost, scarcity_premium
from sim.mechanisms.ties import commitment_shares, tie_strength
from sim.mechanisms.value import (
    dynamic_value,
    interest_alignment,
    static_value,
    symmetric_alignment,
    third_party_cost,
)
from sim.metrics import measurer, metric_names
from sim.model import CALIBRATION_ITERATIONS
from sim.recording import DeferredMeasure
from sim.theory.bargaining import dependence_shares
from sim.world import World

# Memory a stack may take (bytes): run_prepared runs the replications of a cell in stacks of at
# most batch_size(n) replications.
STACK_BYTES = 256 * 2**20
# Memory of the innovations drawn ahead (bytes).
INNOVATION_BYTES = 16 * 2**20
# Beyond this many replications a stack gets no faster per replication (the per-call overhead is
# already small) but its arrays outgrow the caches.
MAX_BATCH = 256
# Working arrays per replication, in units of N^2 float64 (state, temporaries, the month's
# values), and of N^3 for the pressure block of worlds up to DENSE_PRESSURE_MAX_N actors.
_MATRICES_PER_REPLICATION = 40
_CUBES_PER_REPLICATION = 4


def batch_size(n: int, *, stack_bytes: int = STACK_BYTES, max_batch: int = MAX_BATCH) -> int:
    """How many replications of an n-actor world one stack holds: at most ``max_batch``, and few
    enough that the stack's working arrays stay under ``stack_bytes`` (at least 1)."""
    per = 8 * n * n * _MATRICES_PER_REPLICATION
    if n <= DENSE_PRESSURE_MAX_N:
        per += 8 * n**3 * _CUBES_PER_REPLICATION
    return max(1, min(max_batch, stack_bytes // per))


@dataclass
class BatchResult:
    """What R replications leave: their recorded metrics and their final network."""

    metrics: np.ndarray  # (R, months, columns), row t of replication r = the model's collect at month t
    columns: tuple[str, ...]  # metric names, in the model's order
    dates: tuple[str, ...]  # the month of each row, "YYYY-MM"
    tie: np.ndarray  # (R, N, N) final ties
    affinity: np.ndarray  # (R, N, N) final affinities


def run_batch(
    world: World,
    mechanisms: MechanismsConfig,
    schedule: Schedule,
    seeds: Sequence[np.random.SeedSequence | int],
) -> BatchResult:
    """Run one replication per seed to the horizon, all together; the numbers of
    ``sim.experiment.run_replication(world, mechanisms, schedule, seed)`` for each seed."""
    return ReplicationStack(world, mechanisms, schedule, seeds).run()


class ReplicationStack:
    """R replications of :class:`sim.model.AllianceModel` as stacked arrays.

    The attributes are the model's, with a leading replication axis on what the random draws
    move (commitments, ties, affinities, budgets, values, dependence, shocks) and without one
    on what they do not (conditions, drivers, calibration). The methods are the model's
    methods of the same name.
    """

    def __init__(
        self,
        world: World,
        mechanisms: MechanismsConfig,
        schedule: Schedule,
        seeds: Sequence[np.random.SeedSequence | int],
    ) -> None:
        self.world = world
        self.params = mechanisms
        self.schedule = schedule
        n, r = world.n, len(seeds)
        self.r = r
        # One generator per replication, drawn from as mesa.Model and AllianceModel draw: mesa
        # seeds Python's random from the stream first, then the model draws the AR(1) shocks.
        self.rngs = [np.random.default_rng(s) for s in seeds]
        self.shock = np.empty((r, n, n))
        for k, g in enumerate(self.rngs):
            g.integers(np.iinfo(np.int32).max)
            g.standard_normal(out=self.shock[k])
        # Each replication's monthly innovations, drawn a block of months at a time: a generator
        # fills an array element after element, so (months, N, N) at once is the same stream as
        # one (N, N) draw a month, in fewer calls.
        self.months_per_draw = max(1, min(len(schedule.dates), INNOVATION_BYTES // (8 * n * n * r)))
        self.innovations = np.empty((r, self.months_per_draw, n, n))
        self.conditions = Conditions.from_world(world)
        self.tie0 = tie_strength(world.commitment, world.budget)
        self.alignment0 = symmetric_alignment(interest_alignment(world.positions, world.salience))
        self.budget_factor = self.conditions.budget_factor.copy()
        self.outside_option = self.conditions.outside_option.copy()
        self._levels: tuple[float, ...] | None = None
        self._lost = alternatives_lost(self.outside_option, world.outside_option)
        self._outreach_level: float | None = None
        self._refresh_conditions()
        # Calibration: the same for every replication (no random draw), so done once on (N, N).
        self.commit = world.commitment.copy()
        self.affinity = world.affinity.copy()
        self.tie = self.tie0.copy()
        self.value = self._value(np.zeros_like(self.tie))
        for _ in range(CALIBRATION_ITERATIONS):
            self.observe()
            self.value = self._value(self._pressure())
        self.value0 = self.value.copy()
        self.observe()
        p = mechanisms.allocation
        self.fixed_effect = calibrate_fixed_effect(
            world.commitment, self.value0, world.budget, rationality=p.rationality, max_share=p.max_share
        )
        # From here on, one slice per replication.
        self.commit = _stack(self.commit, r)
        self.affinity = _stack(self.affinity, r)
        self.tie = _stack(self.tie, r)
        self.dependence = _stack(self.dependence, r)
        self.outside_share = _stack(self.outside_share, r)
        self.budget = _stack(world.budget, r)
        roles = world.roles
        self.metric_names = metric_names(world.codes, roles.entente, roles.outreach_actor, roles.outreach_targets)
        self.metrics = np.empty((r, len(schedule.dates), len(self.metric_names)))
        measure = measurer(roles, mechanisms.conditionality.hostility_threshold)
        self._pending = DeferredMeasure(measure, len(self.metric_names), capacity=len(schedule.dates), batch=(r,))

    def run(self) -> BatchResult:
        """Every month of the schedule, as the model's ``run``; returns the record and final network."""
        for month in range(len(self.schedule.dates)):
            self.step(month)
        self._store(len(self.schedule.dates) - 1, self._pending.flush())
        return BatchResult(self.metrics, self.metric_names, self.schedule.dates, self.tie, self.affinity)

    def step(self, month: int) -> None:
        """One month of every replication: :meth:`sim.model.AllianceModel.step`."""
        self.apply_events(month)
        self.update_budgets(month)
        self.value = self.appraise(month)
        self.decide()
        self.tie = tie_strength(self.commit, self.world.budget)
        self.update_affinity()
        self.observe()
        self._store(month, self._pending.push(commit=self.commit, tie=self.tie, affinity=self.affinity,
                                              dep=self.dependence, outside=self.outside_share, budget=self.budget))

    # ------------------------------------------------------------ the mechanisms

    def apply_events(self, month: int) -> None:
        events = self.schedule.events.get(month, ())
        for event in events:
            apply_event(self.conditions, event)
        sanctions = self.params.sanctions
        levels = tuple(self.schedule.sanctions_intensity(s, month) for s in self.schedule.sanctions)
        if events or levels != self._levels:
            factor = self.conditions.budget_factor.copy()
            outside = self.conditions.outside_option.copy()
            if sanctions.enabled:
                for s, level in zip(self.schedule.sanctions, levels, strict=True):
                    factor *= sanctions_factor(self.world.n, s.target, level, sanctions.budget_cut)
                    outside *= sanctions_factor(self.world.n, s.target, level, sanctions.outside_option_cut)
            self.budget_factor = factor
            self.outside_option = outside
            self._levels = levels
            self._lost = alternatives_lost(self.outside_option, self.world.outside_option)
        if events:
            self._refresh_conditions()

    def update_budgets(self, month: int) -> None:
        p = self.params.budget
        self.budget = budget(self.world.budget, self.conditions.returns, self.tie, self.tie0, self.budget_factor,
                             gain=p.gain if p.enabled else 0.0, cap=p.max_growth)

    def appraise(self, month: int) -> np.ndarray:
        """Every replication's values this month: :meth:`sim.model.AllianceModel.appraise`."""
        p = self.params
        value = self._value(self._pressure()) if p.value.enabled else _stack(self.value0, self.r)
        n = self.world.n
        if p.outreach.enabled:
            o = self.schedule.outreach
            level = self.schedule.outreach_intensity(month)
            if level != self._outreach_level:
                self._outreach = outreach_premium(n, o.actor, o.targets, level, p.outreach.premium)
                self._outreach_level = level
            if level:
                value += self._outreach
        if p.scarcity.enabled and self._lost.any():
            value += scarcity_premium(value, self._lost, weight=p.scarcity.weight)
        if p.sanctions.enabled:
            for s in self.schedule.sanctions:
                level = self.schedule.sanctions_intensity(s, month)
                if level:
                    value -= sanctions_penalty(self.tie, s.sender, s.target, level, p.sanctions.secondary_cost)
        # Every replication draws every month, from its own stream, as the model does.
        block = month % self.months_per_draw
        if block == 0:
            for k, g in enumerate(self.rngs):
                g.standard_normal(out=self.innovations[k])
        innovation = self.innovations[:, block]
        if p.noise.enabled:
            self.shock = ar1_shock(self.shock, innovation, persistence=p.noise.persistence)
            value += p.noise.sigma * self.shock
        return zero_diagonal(value)

    def decide(self) -> None:
        """Every state of every replication decides: :meth:`sim.agents.StateAgent.decide_all`."""
        p = self.params.allocation
        self.commit = allocate(self.commit, self.value, self.fixed_effect, self.budget, enabled=p.enabled,
                               rationality=p.rationality, max_share=p.max_share, inertia=p.inertia)

    def update_affinity(self) -> None:
        if not self.params.affinity.enabled:
            self.affinity = _stack(zero_diagonal(self._anchor.copy()), self.r)
            return
        p = self.params.affinity
        self.affinity = affinity_step(self.affinity, self._anchor, self.tie, self.tie0,
                                      alignment_rate=p.alignment_rate, balance_rate=p.balance_rate,
                                      cooperation_rate=p.cooperation_rate)

    def observe(self) -> None:
        self.dependence, self.outside_share = dependence_shares(self.value, self.tie, self.outside_option)

    def _store(self, month: int, measured: np.ndarray | None) -> None:
        """Metrics of the ``len(measured)`` months up to ``month``, shape (k, R, columns), into ``metrics``."""
        if measured is not None and len(measured):
            self.metrics[:, month + 1 - len(measured): month + 1] = measured.swapaxes(0, 1)

    # ---------------------------------------------------------------- helpers

    def _refresh_conditions(self) -> None:
        c, v = self.conditions, self.params.value
        self.alignment = interest_alignment(c.positions, self.world.salience)
        self.static_value = static_value(c.complementarity, self.alignment,
                                         complementarity_weight=v.complementarity_weight,
                                         alignment_weight=v.alignment_weight)
        self._anchor = affinity_anchor(c.anchor, self.alignment, self.alignment0)

    def _pressure(self) -> np.ndarray:
        p = self.params.conditionality
        if not p.enabled:
            return np.zeros_like(self.tie)
        return conditionality_pressure(self.tie, self.affinity, self.dependence, self.outside_share,
                                       threshold=p.hostility_threshold, weight=p.weight)

    def _value(self, pressure: np.ndarray) -> np.ndarray:
        p = self.params.value
        return dynamic_value(
            self.static_value,
            transpose(commitment_shares(self.commit, self.world.budget)),
            third_party_cost(self.tie, self.affinity),
            pressure,
            reciprocity_weight=p.reciprocity_weight,
            third_party_weight=p.third_party_weight,
        )


def _stack(x: np.ndarray, r: int) -> np.ndarray:
    """R writable copies of ``x`` along a new leading axis."""
    return np.repeat(x[None], r, axis=0)
