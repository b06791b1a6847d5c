"""AllianceModel: the Mesa model. It owns the arrays and the order of a monthly step."""

from __future__ import annotations

import mesa
import numpy as np

from sim.agents import StateAgent
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
from sim.mechanisms.allocation import calibrate_fixed_effect
from sim.mechanisms.arrays import transpose, zero_diagonal
from sim.mechanisms.bargaining import conditionality_pressure
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
from sim.recording import ArrayDataCollector
from sim.theory.bargaining import dependence_shares
from sim.world import World

CALIBRATION_ITERATIONS = 5


class AllianceModel(mesa.Model):
    """States re-spread their commitments each month as values, affinities and budgets move.

    One step is one month: dated events -> budgets -> relationship values (with drivers,
    conditionality and noise) -> every state decides its commitments -> affinities move ->
    metrics are recorded (the DataCollector keeps the arrays they are computed from and measures
    the months together when read: the same numbers in fewer calls). Construction calibrates a
    fixed effect so that, with nothing changing, the 2018 commitments are where the allocation
    wants to be.

    What only events change (interest alignment, the static part of the value, the affinity
    anchor, budget factors, outside options and the alternatives lost) is recomputed when an
    event or a sanctions lever changes it, not every month.
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
        self.conditions = Conditions.from_world(world)
        self.commit = world.commitment.copy()
        self.affinity = world.affinity.copy()
        self.budget = world.budget.copy()
        # Start the AR(1) shocks in their stationary distribution (unit variance from month one).
        self.shock = self.rng.standard_normal((world.n, world.n))
        self.tie0 = tie_strength(world.commitment, world.budget)
        self.tie = self.tie0.copy()
        self.alignment0 = symmetric_alignment(interest_alignment(world.positions, world.salience))
        self.budget_factor = self.conditions.budget_factor.copy()
        self.outside_option = self.conditions.outside_option.copy()
        self._levels: tuple[float, ...] | None = None  # sanctions levels the drivers were computed for
        self._lost = alternatives_lost(self.outside_option, world.outside_option)
        self._outreach_level: float | None = None
        self._refresh_conditions()
        # Calibration: value and dependence of the 2018 world, solved jointly by a few fixed-point
        # iterations (value needs dependence through conditionality, dependence needs value).
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
        StateAgent.create_agents(
            self, world.n, index=list(range(world.n)), code=list(world.codes),
            name=list(world.names), camp=list(world.camp), non_state=list(world.non_state),
        )
        self.date = schedule.dates[0]
        r = world.roles
        self.metric_names = metric_names(world.codes, r.entente, r.outreach_actor, r.outreach_targets)
        # measure(out, **inputs): the metrics of one month, or of a stack of months, from metric_inputs()
        self.measure = measurer(r, mechanisms.conditionality.hostility_threshold)
        self.datacollector = ArrayDataCollector(self.metric_names, capacity=len(schedule.dates),
                                                measure=self.measure)

    # ------------------------------------------------------------------ the step

    def step(self) -> None:
        month = self.steps - 1  # Mesa counts steps from 1 and increments before calling step
        self.date = self.schedule.dates[month]
        self.apply_events(month)
        self.update_budgets(month)
        self.value = self.appraise(month)
        # All agents decide in one vectorised call; identical to self.agents.do("decide"), see decide_all.
        StateAgent.decide_all(self)
        self.tie = tie_strength(self.commit, self.world.budget)
        self.update_affinity()
        self.observe()
        self.datacollector.collect(self)  # the arrays the metrics read; measured in one call per run

    def run(self) -> None:
        """Step through every remaining month of the schedule."""
        while self.steps < len(self.schedule.dates):
            self.step()

    def observe(self) -> None:
        """Dependence on each partner and on outside options, from the current value and ties."""
        self.dependence, self.outside_share = dependence_shares(self.value, self.tie, self.outside_option)

    def metric_inputs(self) -> dict[str, np.ndarray]:
        """The arrays this month's metrics are computed from (:func:`sim.metrics.measure_into`)."""
        return {"commit": self.commit, "tie": self.tie, "affinity": self.affinity, "dep": self.dependence,
                "outside": self.outside_share, "budget": self.budget}

    @property
    def metric_row(self) -> np.ndarray:
        """This month's metrics, named by ``metric_names`` (computed when asked)."""
        return self.measure(np.empty(len(self.metric_names)), **self.metric_inputs())

    @property
    def metrics(self) -> dict[str, float]:
        """This month's metrics by column name."""
        return dict(zip(self.metric_names, self.metric_row.tolist(), strict=True))

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
        """Relationship values this month: mechanisms, outreach, scarcity, sanctions, then noise.

        A driver whose level is 0 adds exactly 0 and is skipped.
        """
        p = self.params
        value = self._value(self._pressure()) if p.value.enabled else self.value0.copy()
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
        # Draw every month whatever is switched on, so paired scenarios share the stream.
        innovation = self.rng.standard_normal((n, n))
        if p.noise.enabled:
            self.shock = ar1_shock(self.shock, innovation, persistence=p.noise.persistence)
            value += p.noise.sigma * self.shock
        return zero_diagonal(value)

    def update_affinity(self) -> None:
        """Affinities move toward their anchor, toward balance and with cooperation."""
        if not self.params.affinity.enabled:
            self.affinity = zero_diagonal(self._anchor.copy())
            return
        p = self.params.affinity
        self.affinity = affinity_step(self.affinity, self._anchor, self.tie, self.tie0,
                                      alignment_rate=p.alignment_rate, balance_rate=p.balance_rate,
                                      cooperation_rate=p.cooperation_rate)

    # ---------------------------------------------------------------- helpers

    def _refresh_conditions(self) -> None:
        """What follows from the event-driven conditions alone: alignment, static value, anchor."""
        c, v = self.conditions, self.params.value
        self.alignment = interest_alignment(c.positions, self.world.salience)
        self.static_value = static_value(c.complementarity, self.alignment,
                                         complementarity_weight=v.complementarity_weight,
                                         alignment_weight=v.alignment_weight)
        # The anchor: the calibrated affinity moved by events and by later changes in alignment.
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
