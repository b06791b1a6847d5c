"""AllianceModel: the Mesa model. It owns the arrays and the order of a monthly step."""

from __future__ import annotations

from collections.abc import Callable

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
from sim.mechanisms.affinity import affinity_step
from sim.mechanisms.allocation import calibrate_fixed_effect
from sim.mechanisms.bargaining import conditionality_pressure, dependence, outside_share
from sim.mechanisms.budget import budget
from sim.mechanisms.noise import ar1_shock
from sim.mechanisms.scarcity import alternatives_lost, scarcity_premium
from sim.mechanisms.ties import commitment_shares, tie_strength
from sim.mechanisms.value import interest_alignment, relationship_value, third_party_cost
from sim.metrics import step_metrics
from sim.world import World

CALIBRATION_ITERATIONS = 5


class AllianceModel(mesa.Model):
    """States re-spread their commitments each month as values, affinities and budgets move.

    One step is one month: dated events -> budgets -> relationship values (with drivers,
    conditionality and noise) -> every state decides its commitments -> affinities move ->
    metrics are recorded. Construction calibrates a fixed effect so that, with nothing
    changing, the 2018 commitments are where the allocation wants to be.
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
        self.alignment0 = self._alignment()
        self.outside_option = world.outside_option.copy()
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
        self.metrics: dict[str, float] = self.measure()
        self.datacollector = mesa.DataCollector(
            model_reporters={"date": "date"} | {k: _reporter(k) for k in self.metrics}
        )

    # ------------------------------------------------------------------ the step

    def step(self) -> None:
        month = self.steps - 1  # Mesa counts steps from 1 and increments before calling step
        self.date = self.schedule.dates[month]
        self.apply_events(month)
        self.update_budgets(month)
        self.value = self.appraise(month)
        self.agents.do("decide")
        self.tie = tie_strength(self.commit, self.world.budget)
        self.update_affinity()
        self.observe()
        self.metrics = self.measure()
        self.datacollector.collect(self)

    def run(self) -> None:
        """Step through every remaining month of the schedule."""
        while self.steps < len(self.schedule.dates):
            self.step()

    def observe(self) -> None:
        """Dependence on each partner and on outside options, from the current value and ties."""
        self.dependence = dependence(self.value, self.tie, self.outside_option)
        self.outside_share = outside_share(self.value, self.tie, self.outside_option)

    def measure(self) -> dict[str, float]:
        r = self.world.roles
        return step_metrics(
            codes=self.world.codes, entente=r.entente, outreach_actor=r.outreach_actor,
            outreach_targets=r.outreach_targets, commit=self.commit, tie=self.tie, affinity=self.affinity,
            dep=self.dependence, outside=self.outside_share, budget=self.budget,
            hostility_threshold=self.params.conditionality.hostility_threshold,
        )

    # ------------------------------------------------------------ the mechanisms

    def apply_events(self, month: int) -> None:
        for event in self.schedule.events.get(month, ()):
            apply_event(self.conditions, event)
        factor = self.conditions.budget_factor.copy()
        outside = self.conditions.outside_option.copy()
        if self.params.sanctions.enabled:
            p = self.params.sanctions
            for s in self.schedule.sanctions:
                level = self.schedule.sanctions_intensity(s, month)
                factor *= sanctions_factor(self.world.n, s.target, level, p.budget_cut)
                outside *= sanctions_factor(self.world.n, s.target, level, p.outside_option_cut)
        self.budget_factor = factor
        self.outside_option = outside

    def update_budgets(self, month: int) -> None:
        p = self.params.budget
        self.budget = budget(self.world.budget, self.conditions.returns, self.tie, self.tie0, self.budget_factor,
                             gain=p.gain if p.enabled else 0.0, cap=p.max_growth)

    def appraise(self, month: int) -> np.ndarray:
        """Relationship values this month: mechanisms, outreach, scarcity, sanctions, then noise."""
        p = self.params
        value = self._value(self._pressure()) if p.value.enabled else self.value0.copy()
        n = self.world.n
        if p.outreach.enabled:
            o = self.schedule.outreach
            value += outreach_premium(n, o.actor, o.targets, self.schedule.outreach_intensity(month),
                                      p.outreach.premium)
        if p.scarcity.enabled:
            lost = alternatives_lost(self.outside_option, self.world.outside_option)
            value += scarcity_premium(value, lost, weight=p.scarcity.weight)
        if p.sanctions.enabled:
            for s in self.schedule.sanctions:
                value -= sanctions_penalty(self.tie, s.sender, s.target, self.schedule.sanctions_intensity(s, month),
                                           p.sanctions.secondary_cost)
        # Draw every month whatever is switched on, so paired scenarios share the stream.
        innovation = self.rng.standard_normal((n, n))
        if p.noise.enabled:
            self.shock = ar1_shock(self.shock, innovation, persistence=p.noise.persistence)
            value += p.noise.sigma * self.shock
        np.fill_diagonal(value, 0.0)
        return value

    def update_affinity(self) -> None:
        """Affinities move toward their anchor, toward balance and with cooperation."""
        c = self.conditions
        anchor = np.clip(c.anchor + (self._alignment() - self.alignment0), -1.0, 1.0)
        if not self.params.affinity.enabled:
            self.affinity = anchor
            np.fill_diagonal(self.affinity, 0.0)
            return
        p = self.params.affinity
        self.affinity = affinity_step(self.affinity, anchor, self.tie, self.tie0, alignment_rate=p.alignment_rate,
                                      balance_rate=p.balance_rate, cooperation_rate=p.cooperation_rate)

    # ---------------------------------------------------------------- helpers

    def _alignment(self) -> np.ndarray:
        """Symmetrised interest alignment (mean of both directions), the affinity anchor's mover."""
        a = interest_alignment(self.conditions.positions, self.world.salience)
        return (a + a.T) / 2.0

    def _pressure(self) -> np.ndarray:
        p = self.params.conditionality
        if not p.enabled:
            return np.zeros_like(self.tie)
        return conditionality_pressure(self.tie, self.affinity, self.dependence, self.outside_share,
                                       threshold=p.hostility_threshold, weight=p.weight)

    def _value(self, pressure: np.ndarray) -> np.ndarray:
        p = self.params.value
        return relationship_value(
            self.conditions.complementarity,
            interest_alignment(self.conditions.positions, self.world.salience),
            commitment_shares(self.commit, self.world.budget).T,
            third_party_cost(self.tie, self.affinity),
            pressure,
            complementarity_weight=p.complementarity_weight,
            alignment_weight=p.alignment_weight,
            reciprocity_weight=p.reciprocity_weight,
            third_party_weight=p.third_party_weight,
        )


def _reporter(key: str) -> Callable[[AllianceModel], float]:
    """A DataCollector model reporter reading one metric of the month."""
    return lambda model: model.metrics[key]
