"""The month: the one implementation of the model's monthly step, for one run or a stack of runs.

A :class:`Month` holds the state of one run as (N, N) and (N,) arrays, or of a *stack* of S
runs as (S, N, N) and (S, N) arrays (slice s is run s), and steps it one month at a time:

    dated events -> budgets (capability trends) -> relationship values (conditionality, the rivals of dilution if
    on, drivers, scarcity, diversion, wartime supply, sanctions with their participants, noise)
    -> every state re-spreads its commitments (fixed effects moved by formation) -> ties -> affinities -> dependence

The Mesa model (:class:`sim.model.AllianceModel`) runs one; the stacked runner
(:mod:`sim.batch`) runs S at once, so a numpy call's overhead is paid once a month for all S.
The slices of a stack may be replications of one cell (different random streams) or different
parameter sets (a Sobol' sample, a grid of mechanism weights, a calibration population), or
both: every numeric mechanism parameter may be a float shared by every slice or an array of
shape (S,), one value per slice (:func:`stack_parameters`). The mechanisms take such
parameters as they are (:func:`sim.mechanisms.arrays.per_slice`). Switches (``enabled``) are
structural and shared by the whole stack.

Two things are injected, and nothing else differs between the engines:

- ``draw(month)``: the month's standard-normal innovations, shaped like the state
  ((N, N) or (S, N, N)); the Mesa model draws them from its own generator, the stacked runner
  from one generator per slice;
- recording: the caller reads :meth:`Month.metric_inputs` after each :meth:`Month.step` (the
  model's DataCollector, the stacked runner's deferred measurement).

What does not depend on the random draws or the slice (conditions moved by events, drivers) is
computed once and broadcast; what depends on a parameter that differs by slice gets the stack
axis by broadcasting, as the formulas meet the (S,) parameters. Slice s of a stack gives the
numbers of a run alone with slice s's parameters and innovations, bit for bit
(``tests/test_batch.py``): every elementwise operation is the same operation on the same
operands, stacked products call the same BLAS kernel per slice, and sums run in the same order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np

from sim.config import MechanismsConfig
from sim.events import (
    Conditions,
    Sanctions,
    Schedule,
    apply_event,
    outreach_premium,
    participation_vector,
    same_value,
    sanctions_factor,
    sanctions_penalty,
)
from sim.mechanisms.affinity import affinity_anchor, affinity_step
from sim.mechanisms.allocation import allocate, calibrate_fixed_effect, formation_shift
from sim.mechanisms.arrays import per_slice, transpose, zero_diagonal
from sim.mechanisms.bargaining import conditionality_pressure, dyad_pressure
from sim.mechanisms.budget import budget, trend_factor
from sim.mechanisms.demands import MATERIAL, REFUSE, VERBAL, DemandOutcome, demand_game
from sim.mechanisms.noise import ar1_shock
from sim.mechanisms.rivals import abandonment_fear, brokerage_premium, shared_threat
from sim.mechanisms.scarcity import alternatives_lost, diversion_premium, hub_matrix, scarcity_premium
from sim.mechanisms.ties import commitment_shares, tie_strength
from sim.mechanisms.value import (
    dynamic_value,
    interest_alignment,
    static_value,
    symmetric_alignment,
    third_party_cost,
)
from sim.mechanisms.war import supply_share, war_supply
from sim.theory.bargaining import dependence_shares
from sim.world import World

# Fixed-point iterations of the calibration (value needs dependence through conditionality,
# dependence needs value).
CALIBRATION_ITERATIONS = 5

Draw = Callable[[int], np.ndarray]


class Month:
    """The state of one run, or of a stack of ``stack`` runs, and its monthly :meth:`step`.

    Construction calibrates: it solves value and dependence of the start year jointly, then a
    fixed effect that makes the start year's commitments a fixed point of the allocation (with
    nothing changing, nothing moves). ``shock`` is the AR(1) value shock's starting state, drawn
    from its stationary distribution by the caller, shaped like the state.

    Attributes a step moves, per slice: ``commit``, ``tie``, ``affinity``, ``budget``,
    ``value``, ``dependence``, ``outside_share``, ``shock``. Calibrated once: ``value0``,
    ``fixed_effect`` (per slice only where a parameter differs by slice). What only events and
    levers move (``conditions``, ``static_value``, the affinity anchor, budget factors, outside
    options, the alternatives lost) is recomputed when an event or a lever level changes it.
    """

    def __init__(
        self,
        world: World,
        params: MechanismsConfig,
        schedule: Schedule,
        *,
        shock: np.ndarray,
        draw: Draw,
        stack: int | None = None,
    ) -> None:
        self.world = world
        self.params = params
        self.schedule = schedule
        self.draw = draw
        self.lead: tuple[int, ...] = () if stack is None else (stack,)
        self.shock = shock
        self.conditions = Conditions.from_world(world, schedule.sanctions)
        self.tie0 = tie_strength(world.commitment, world.budget)
        self.alignment0 = symmetric_alignment(interest_alignment(world.positions, world.salience))
        # The calibration year has no sanctions: the drivers' factors start at the world's own.
        self.budget_factor = self.conditions.budget_factor.copy()
        self.outside_option = self.conditions.outside_option.copy()
        self._lost = alternatives_lost(self.outside_option, world.outside_option)
        self._supply = supply_share(world.industry)  # what each partner can supply a state at war
        self._levels: tuple[float | np.ndarray, ...] | None = None  # sanctions levels of the drivers
        self._outreach_level: float | np.ndarray | None = None
        self._formed: np.ndarray | None = None  # the fixed effect moved by formation, once an anchor moved
        self.game: DemandOutcome | None = None  # this month's demand game (sim.mechanisms.demands), if played
        self._refresh_conditions()
        self._anchor0 = self._anchor.copy()
        # Calibration, on the start year's arrays: per slice only where a parameter differs.
        self.commit = world.commitment.copy()
        self.affinity = world.affinity.copy()
        self.tie = self.tie0.copy()
        self.dependence = np.zeros_like(self.tie)  # none yet: the first pass has no demands and no brokerage
        self._dep0: np.ndarray | None = None  # abandonment fear's reference: none while calibrating
        self.value = self._value(np.zeros_like(self.tie))
        for _ in range(CALIBRATION_ITERATIONS):
            self.observe()
            self.value = self._value(self._pressure())
        self.value0 = self.value.copy()
        self.observe()
        self._dep0 = self.dependence.copy()
        a = params.allocation
        self.fixed_effect = calibrate_fixed_effect(world.commitment, self.value0, world.budget,
                                                   rationality=a.rationality, max_share=a.max_share)
        # From here on, one slice per run.
        self.commit = self.stacked(self.commit)
        self.affinity = self.stacked(self.affinity)
        self.tie = self.stacked(self.tie)
        self.dependence = self.stacked(self.dependence)
        self.outside_share = self.stacked(self.outside_share, core=1)
        self.budget = self.stacked(world.budget, core=1)

    # ------------------------------------------------------------------ the month

    def step(self, month: int) -> None:
        """One month of every slice; ``month`` indexes ``schedule.dates``."""
        self.apply_events(month)
        self.update_budgets(month)
        self.value = self.appraise(month)
        self.decide()
        self.tie = tie_strength(self.commit, self.world.budget)
        self.update_affinity()
        self.observe()

    def apply_events(self, month: int) -> None:
        """The month's dated events, then the drivers' factors if an event or a lever level changed."""
        events = self.schedule.events.get(month, ())
        for event in events:
            apply_event(self.conditions, event)
        self._update_drivers(month, force=bool(events))
        if events:
            self._refresh_conditions()

    def update_budgets(self, month: int) -> None:
        """Budgets this month: the drivers' and events' factors, the capability trends' (if the
        scenario runs them) and what partnerships bring back (:func:`sim.mechanisms.budget.budget`)."""
        p = self.params.budget
        factor = self.budget_factor
        months = self.schedule.trend_months(month)
        if months and self.world.capability_trend is not None:
            factor = factor * trend_factor(self.world.capability_trend, months)
        self.budget = budget(self.world.budget, self.conditions.returns, self.tie, self.tie0, factor,
                             gain=p.gain if p.enabled else 0.0, cap=p.max_growth)

    def appraise(self, month: int) -> np.ndarray:
        """Relationship values this month: mechanisms, outreach, scarcity, diversion, wartime supply,
        sanctions, then noise.

        A driver whose level is 0 adds exactly 0 and is skipped. The innovation is drawn every
        month whatever is switched on, so paired scenarios share the random stream.
        """
        p = self.params
        value = self._value(self._pressure()) if p.value.enabled else self.stacked(self.value0)
        if p.outreach.enabled:
            o = self.schedule.outreach
            level = self.schedule.outreach_intensity(month)
            if not same_value(level, self._outreach_level):
                self._outreach = outreach_premium(self.world.n, o.actor, o.targets, level, p.outreach.premium)
                self._outreach_level = level
            if _on(level):
                value += self._outreach
        if p.scarcity.enabled and self._lost.any():
            value += scarcity_premium(value, self._lost, weight=p.scarcity.weight)
        in_force = [s for s in self.schedule.sanctions if _on(self.schedule.sanctions_intensity(s, month))]
        hubs = None
        if p.diversion.enabled and self._lost.any():
            hubs = self._hubs(in_force, month)
            value += diversion_premium(self._lost, hubs, weight=p.diversion.weight)
        war = self.conditions.war
        if p.war.enabled and war.any():
            hubs = self._hubs(in_force, month) if hubs is None else hubs
            value += war_supply(war, self._supply, hubs, self.affinity, weight=p.war.weight)
        if p.sanctions.enabled:
            for s in in_force:
                participation, exposure = self._participation(s)
                level = self.schedule.sanctions_intensity(s, month)
                value -= sanctions_penalty(self.tie, participation, s.target, level, p.sanctions.secondary_cost,
                                           exposure)
        innovation = self.draw(month)
        if p.noise.enabled:
            self.shock = ar1_shock(self.shock, innovation, persistence=p.noise.persistence)
            value += per_slice(p.noise.sigma, 2) * self.shock
        return zero_diagonal(value)

    def decide(self) -> None:
        """Every state of every slice re-spreads its budget (:func:`sim.mechanisms.allocation.allocate`).

        The allocation is row-wise: state i reads only its own row of V, B and A and its budget,
        and no state's decision changes what another reads this month, so the decisions are
        synchronous and one call on all rows is every agent deciding.
        """
        p = self.params.allocation
        fixed = self.fixed_effect if self._formed is None else self._formed
        self.commit = allocate(self.commit, self.value, fixed, self.budget, enabled=p.enabled,
                               rationality=p.rationality, max_share=p.max_share, inertia=p.inertia)

    def update_affinity(self) -> None:
        """Affinities move toward their anchor, toward balance and with cooperation."""
        if not self.params.affinity.enabled:
            self.affinity = self.stacked(zero_diagonal(self._anchor.copy()))
            return
        p = self.params.affinity
        self.affinity = affinity_step(self.affinity, self._anchor, self.tie, self.tie0,
                                      alignment_rate=p.alignment_rate, balance_rate=p.balance_rate,
                                      cooperation_rate=p.cooperation_rate)

    def observe(self) -> None:
        """Dependence on each partner and on outside options, from the current value and ties."""
        self.dependence, self.outside_share = dependence_shares(self.value, self.tie, self.outside_option)

    def metric_inputs(self) -> dict[str, np.ndarray]:
        """The arrays this month's metrics are computed from (:func:`sim.metrics.measure_into`)."""
        game = self.game
        if game is None:
            none = np.zeros((*self.lead, len(self.world.roles.outreach_targets)))
            demand = refused = verbal = material = none
        else:
            demand = np.broadcast_to(game.demand, (*self.lead, game.demand.shape[-1]))
            refused, verbal, material = (np.broadcast_to(game.count(k), demand.shape)
                                         for k in (REFUSE, VERBAL, MATERIAL))
        return {"commit": self.commit, "tie": self.tie, "affinity": self.affinity, "dep": self.dependence,
                "outside": self.outside_share, "budget": self.budget, "demand": demand, "refused": refused,
                "verbal": verbal, "material": material}

    # ---------------------------------------------------------------- helpers

    def stacked(self, x: np.ndarray, core: int = 2) -> np.ndarray:
        """A writable copy of ``x`` (core shape: its last ``core`` axes) with the stack's leading axis."""
        return np.broadcast_to(x, (*self.lead, *x.shape[x.ndim - core:])).copy()

    def _update_drivers(self, month: int, *, force: bool) -> None:
        """Budget factors, outside options and alternatives lost under this month's sanctions levels."""
        s = self.params.sanctions
        levels = tuple(self.schedule.sanctions_intensity(x, month) for x in self.schedule.sanctions)
        if not force and self._levels is not None and all(map(same_value, levels, self._levels)):
            return
        factor = self.conditions.budget_factor.copy()
        outside = self.conditions.outside_option.copy()
        if s.enabled:
            for x, level in zip(self.schedule.sanctions, levels, strict=True):
                factor = factor * sanctions_factor(self.world.n, x.target, level, s.budget_cut)
                outside = outside * sanctions_factor(self.world.n, x.target, level, s.outside_option_cut)
        self.budget_factor = factor
        self.outside_option = outside
        self._levels = levels
        self._lost = alternatives_lost(self.outside_option, self.world.outside_option)

    def _refresh_conditions(self) -> None:
        """What follows from the event-driven conditions alone: alignment, static value, anchor."""
        c, v = self.conditions, self.params.value
        self.alignment = interest_alignment(c.positions, c.salience)
        self.static_value = static_value(c.complementarity, self.alignment,
                                         complementarity_weight=v.complementarity_weight,
                                         alignment_weight=v.alignment_weight)
        # The anchor: the calibrated affinity moved by events and by later changes in alignment.
        self._anchor = affinity_anchor(c.anchor, self.alignment, self.alignment0)
        # Formation: the fixed effect as the anchor has moved since calibration, computed when an
        # event moves it (not every month); at construction there is no fixed effect yet.
        f = self.params.formation
        anchor0 = getattr(self, "_anchor0", None)
        moved = anchor0 is not None and not np.array_equal(self._anchor, anchor0)
        self._formed = (self.fixed_effect + formation_shift(self._anchor, anchor0, rate=f.rate)
                        if f.enabled and moved else None)

    def _hubs(self, in_force: list[Sanctions], month: int) -> np.ndarray:
        """Who keeps dealing with each sanctioned state this month (:func:`sim.mechanisms.scarcity.hub_matrix`)."""
        return hub_matrix(self.world.n, [(s.target, _where_on(self._participation(s)[0],
                                                              self.schedule.sanctions_intensity(s, month)))
                                         for s in in_force])

    def _participation(self, s: Sanctions) -> tuple[np.ndarray, float | np.ndarray]:
        """Participation pi in regime ``s`` and the exposure of non-participants: the regime's own
        (events may add participants), or the sender alone with exposure 1 when the mechanism is off."""
        p = self.params.participation
        if p.enabled:
            return self.conditions.participation[s.lever], p.exposure
        return participation_vector(self.world.n, (s.sender,)), 1.0

    def _pressure(self) -> np.ndarray:
        """Value removed by demands: every state's conditionality, with the outreach targets' demands
        on the entente played as the demand game (or scaled, :class:`sim.config.DemandsParams`)."""
        p = self.params.conditionality
        pressure = (conditionality_pressure(self.tie, self.affinity, self.dependence, self.outside_share,
                                            threshold=p.hostility_threshold, weight=p.weight)
                    if p.enabled else np.zeros_like(self.tie))
        return self._demands(pressure)

    def _demands(self, pressure: np.ndarray) -> np.ndarray:
        """The conditionality ``pressure`` with the targets' demands on the entente dyad (a, b) taken out
        where the game plays them or ``demands.scale`` shrinks them, plus the game's answers.

        The targets' conditionality terms on a against b are removed when the game plays them, else
        scaled by s; their terms on b against a (the game does not play those) are scaled by s. With
        the game off and s = 1 nothing changes.
        """
        d, c = self.params.demands, self.params.conditionality
        roles = self.world.roles
        a, targets = roles.outreach_actor, list(roles.outreach_targets)
        b = _partner(roles.entente, a)
        playing = d.enabled and b is not None and bool(targets)
        self.game = (demand_game(self.tie, self.affinity, self.dependence, self.world.capability, actor=a, partner=b,
                                 targets=targets, threshold=c.hostility_threshold, scale=d.scale,
                                 verbal_cost=d.verbal_cost, weight=d.weight) if playing else None)
        scaled = not (isinstance(d.scale, float) and d.scale == 1.0)
        if c.enabled and b is not None and targets and (playing or scaled):
            p_ab, p_ba = dyad_pressure(self.tie, self.affinity, self.dependence, self.outside_share, a, b,
                                       threshold=c.hostility_threshold)
            kept = per_slice(d.scale, 0)
            shape = np.broadcast_shapes(pressure.shape, (*np.shape(kept), 1, 1), (*p_ab.shape[:-1], 1, 1))
            out = np.broadcast_to(pressure, shape).copy()
            w = per_slice(c.weight, 0)
            out[..., a, b] -= w * ((1.0 if playing else 1.0 - kept) * p_ab[..., targets].sum(axis=-1))
            out[..., b, a] -= w * ((1.0 - kept) * p_ba[..., targets].sum(axis=-1))
            pressure = out
        if self.game is not None:
            pressure = pressure + self.game.pressure
        return pressure

    def _value(self, pressure: np.ndarray) -> np.ndarray:
        p = self.params.value
        value = dynamic_value(
            self.static_value,
            transpose(commitment_shares(self.commit, self.world.budget)),
            third_party_cost(self.tie, self.affinity),
            pressure,
            reciprocity_weight=p.reciprocity_weight,
            third_party_weight=p.third_party_weight,
        )
        return self._add_rivals(value)

    def _add_rivals(self, value: np.ndarray) -> np.ndarray:
        """``value`` plus the rivals of dilution switched on (docs/MODEL.md 7.2b), from last month's
        T, S and D. Called by :meth:`_value`, so the calibration includes brokerage and shared
        threat, which are levels (with nothing changing they move nothing); abandonment fear is a
        loss since the calibration, so it has no reference, and no term, while calibrating.
        """
        p = self.params
        if p.abandonment.enabled and self._dep0 is not None:
            value = value + abandonment_fear(self.dependence, self._dep0, weight=p.abandonment.weight)
        if p.brokerage.enabled:
            value = value + brokerage_premium(self.tie, self.affinity, self.dependence, weight=p.brokerage.weight)
        if p.shared_threat.enabled:
            value = value + shared_threat(self.affinity, self.world.capability, weight=p.shared_threat.weight)
        return value


def _partner(entente: tuple[int, int], actor: int) -> int | None:
    """The entente member that is not the outreach actor (None if the actor is not in the entente)."""
    i, j = entente
    return j if actor == i else i if actor == j else None


def _where_on(pi: np.ndarray, level: float | np.ndarray) -> np.ndarray:
    """Participation ``pi`` in the slices where the regime's level is not 0, and none elsewhere
    (a regime off in a slice has no participants there, as in a run of that slice alone)."""
    if isinstance(level, float):
        return pi
    return pi * (np.asarray(level) != 0)[:, None]


def _on(level: float | np.ndarray) -> bool:
    """A driver is on in some slice (its level is not 0 everywhere)."""
    return level != 0.0 if isinstance(level, float) else bool(np.any(level))


# ------------------------------------------------------------ stacked parameters


def stack_parameters(sets: Sequence[MechanismsConfig]) -> MechanismsConfig:
    """One :class:`MechanismsConfig` for a stack whose slice s has the parameters ``sets[s]``.

    Each numeric parameter is a float where every slice has the same value, else an array of
    shape (S,). Switches must agree across the stack: a ValueError names the first that does
    not (stacks are grouped by their switches).
    """
    if not sets:
        raise ValueError("no parameter sets to stack")
    first = sets[0]
    groups = {}
    for group in dataclasses.fields(first):
        values = [getattr(m, group.name) for m in sets]
        fields = {}
        for f in dataclasses.fields(values[0]):
            column = [getattr(v, f.name) for v in values]
            if isinstance(column[0], bool):
                if any(x != column[0] for x in column):
                    raise ValueError(f"model.mechanisms.{group.name}.{f.name} differs within a stack; "
                                     "switches must be shared by every slice")
                fields[f.name] = column[0]
            elif all(x == column[0] for x in column):
                fields[f.name] = column[0]
            else:
                fields[f.name] = np.array(column, dtype=float)
        groups[group.name] = type(values[0])(**fields)
    return type(first)(**groups)
