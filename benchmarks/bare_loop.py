"""The model's month as a bare numpy loop: no Mesa, no agents, no recording, no stack.

This is the floor a model run is measured against (``benchmarks/bench_model.py``), and it is
kept, on purpose, as a **frozen specification** of the month rather than derived from
:class:`sim.step.Month`:

- as a floor it must be the least a run can do: local variables, no objects, no stack axis, no
  injection points; deriving it from the step would measure the step against itself and hide
  whatever overhead the step carries;
- as a specification it is a second, independent transcription of the order of the month
  (events, budgets, values, decisions, ties, affinities, dependence) in one page of plain code.
  ``tests/test_performance_floor.py`` holds the step to it bit for bit, so a change to the order
  of the month, or a mechanism added to the step and not here, fails that test until both say
  the same thing. Adding a mechanism therefore touches ``sim/step.py`` and this file; the
  mechanism's formula itself lives once, in ``sim/mechanisms/``, and both call it.

It calls the same functions as :class:`sim.step.Month` (``sim.mechanisms``, ``sim.events``,
``sim.theory``) in the same order, with the same random draws, and skips the same zero terms,
so it ends in the same state. It does what every run must do and nothing else: the
calibration, then one step per month.

    from benchmarks.bare_loop import run_bare
    state = run_bare(world, mechanisms, schedule, seed)   # the final arrays, as a dict
"""

from __future__ import annotations

import numpy as np

from sim.config import MechanismsConfig
from sim.events import (
    Conditions,
    Schedule,
    apply_event,
    outreach_premium,
    participation_vector,
    sanctions_factor,
    sanctions_penalty,
)
from sim.mechanisms.affinity import affinity_anchor, affinity_step
from sim.mechanisms.allocation import allocate, calibrate_fixed_effect, formation_shift
from sim.mechanisms.arrays import transpose, zero_diagonal
from sim.mechanisms.bargaining import conditionality_pressure, dyad_pressure
from sim.mechanisms.budget import budget, trend_factor
from sim.mechanisms.demands import demand_game
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

CALIBRATION_ITERATIONS = 5  # as sim.step


def run_bare(
    world: World, mechanisms: MechanismsConfig, schedule: Schedule, seed: np.random.SeedSequence | int
) -> dict[str, np.ndarray]:
    """Calibrate and run every month of ``schedule``; return the final ``commit``, ``tie``,
    ``affinity``, ``value``, ``budget`` and ``dependence``.

    The generator is seeded like the model's (``numpy.random.default_rng(seed)`` handed to
    ``mesa.Model``, which draws one integer for Python's ``random`` before the model draws).
    """
    p = mechanisms
    rng = np.random.default_rng(seed)
    rng.integers(np.iinfo(np.int32).max)  # mesa.Model seeds Python's random from the stream first
    n = world.n
    b0 = world.budget
    cond = Conditions.from_world(world, schedule.sanctions)
    commit = world.commitment.copy()
    affinity = world.affinity.copy()
    shock = rng.standard_normal((n, n))
    tie0 = tie_strength(commit, b0)
    tie = tie0.copy()
    outside = cond.outside_option.copy()
    factor = cond.budget_factor.copy()
    cw, cc = p.value, p.conditionality

    def refresh() -> tuple[np.ndarray, np.ndarray]:
        align = interest_alignment(cond.positions, cond.salience)
        static = static_value(cond.complementarity, align, complementarity_weight=cw.complementarity_weight,
                              alignment_weight=cw.alignment_weight)
        return static, affinity_anchor(cond.anchor, align, alignment0)

    d = p.demands
    actor, targets = world.roles.outreach_actor, list(world.roles.outreach_targets)
    i, j = world.roles.entente
    partner = j if actor == i else i if actor == j else None
    playing = d.enabled and partner is not None and bool(targets)

    def pressure(dep: np.ndarray, share: np.ndarray) -> np.ndarray:
        press = (conditionality_pressure(tie, affinity, dep, share, threshold=cc.hostility_threshold, weight=cc.weight)
                 if cc.enabled else np.zeros_like(tie))
        # the targets' demands on the entente: played as the demand game, or scaled by demands.scale
        if cc.enabled and partner is not None and targets and (playing or d.scale != 1.0):
            p_ab, p_ba = dyad_pressure(tie, affinity, dep, share, actor, partner, threshold=cc.hostility_threshold)
            press = press.copy()
            press[actor, partner] -= cc.weight * ((1.0 if playing else 1.0 - d.scale) * p_ab[targets].sum())
            press[partner, actor] -= cc.weight * ((1.0 - d.scale) * p_ba[targets].sum())
        if playing:
            press = press + demand_game(tie, affinity, dep, world.capability, actor=actor, partner=partner,
                                        targets=targets, threshold=cc.hostility_threshold, scale=d.scale,
                                        verbal_cost=d.verbal_cost, weight=d.weight).pressure
        return press

    def value_of(press: np.ndarray, dep: np.ndarray) -> np.ndarray:
        v = dynamic_value(static, transpose(commitment_shares(commit, b0)), third_party_cost(tie, affinity), press,
                          reciprocity_weight=cw.reciprocity_weight, third_party_weight=cw.third_party_weight)
        if p.abandonment.enabled and dep0 is not None:  # a loss since the calibration: none while calibrating
            v = v + abandonment_fear(dep, dep0, weight=p.abandonment.weight)
        if p.brokerage.enabled:
            v = v + brokerage_premium(tie, affinity, dep, weight=p.brokerage.weight)
        if p.shared_threat.enabled:
            v = v + shared_threat(affinity, world.capability, weight=p.shared_threat.weight)
        return v

    alignment0 = symmetric_alignment(interest_alignment(world.positions, world.salience))
    static, anchor = refresh()
    anchor0 = anchor.copy()
    formed = None  # the fixed effect moved by formation, once an anchor has moved

    def participation(s: object) -> tuple[np.ndarray, float]:
        if p.participation.enabled:
            return cond.participation[s.lever], p.participation.exposure  # type: ignore[attr-defined]
        return participation_vector(n, (s.sender,)), 1.0  # type: ignore[attr-defined]

    dep0 = None
    value = value_of(np.zeros_like(tie), np.zeros_like(tie))
    for _ in range(CALIBRATION_ITERATIONS):
        dep, share = dependence_shares(value, tie, outside)
        value = value_of(pressure(dep, share), dep)
    value0 = value.copy()
    dep, share = dependence_shares(value, tie, outside)
    dep0 = dep.copy()
    a = p.allocation
    fixed = calibrate_fixed_effect(commit, value0, b0, rationality=a.rationality, max_share=a.max_share)
    lost = alternatives_lost(outside, world.outside_option)
    supply = supply_share(world.industry)
    levels: tuple[float, ...] | None = None
    bud = b0.copy()
    gain = p.budget.gain if p.budget.enabled else 0.0
    o = schedule.outreach
    premium = None

    for month in range(len(schedule.dates)):
        events = schedule.events.get(month, ())
        for e in events:
            apply_event(cond, e)
        now = tuple(schedule.sanctions_intensity(s, month) for s in schedule.sanctions)
        if events or now != levels:
            factor, outside = cond.budget_factor.copy(), cond.outside_option.copy()
            if p.sanctions.enabled:
                for s, level in zip(schedule.sanctions, now, strict=True):
                    factor *= sanctions_factor(n, s.target, level, p.sanctions.budget_cut)
                    outside *= sanctions_factor(n, s.target, level, p.sanctions.outside_option_cut)
            levels = now
            lost = alternatives_lost(outside, world.outside_option)
        if events:
            static, anchor = refresh()
            moved = p.formation.enabled and not np.array_equal(anchor, anchor0)
            formed = fixed + formation_shift(anchor, anchor0, rate=p.formation.rate) if moved else None
        months = schedule.trend_months(month) if world.capability_trend is not None else 0
        trended = factor * trend_factor(world.capability_trend, months) if months else factor
        bud = budget(b0, cond.returns, tie, tie0, trended, gain=gain, cap=p.budget.max_growth)
        # values
        value = value_of(pressure(dep, share), dep) if cw.enabled else value0.copy()
        if p.outreach.enabled:
            level = schedule.outreach_intensity(month)
            if level:
                if premium is None or premium[0] != level:
                    premium = (level, outreach_premium(n, o.actor, o.targets, level, p.outreach.premium))
                value += premium[1]
        if p.scarcity.enabled and lost.any():
            value += scarcity_premium(value, lost, weight=p.scarcity.weight)
        in_force = [s for s in schedule.sanctions if schedule.sanctions_intensity(s, month)]
        hubs = None
        if p.diversion.enabled and lost.any():
            hubs = hub_matrix(n, [(s.target, participation(s)[0]) for s in in_force])
            value += diversion_premium(lost, hubs, weight=p.diversion.weight)
        if p.war.enabled and cond.war.any():
            if hubs is None:
                hubs = hub_matrix(n, [(s.target, participation(s)[0]) for s in in_force])
            value += war_supply(cond.war, supply, hubs, affinity, weight=p.war.weight)
        if p.sanctions.enabled:
            for s in in_force:
                pi, exposure = participation(s)
                value -= sanctions_penalty(tie, pi, s.target, schedule.sanctions_intensity(s, month),
                                           p.sanctions.secondary_cost, exposure)
        innovation = rng.standard_normal((n, n))
        if p.noise.enabled:
            shock = ar1_shock(shock, innovation, persistence=p.noise.persistence)
            value += p.noise.sigma * shock
        zero_diagonal(value)
        # decisions, ties, affinities, dependence
        commit = allocate(commit, value, fixed if formed is None else formed, bud, enabled=a.enabled,
                          rationality=a.rationality, max_share=a.max_share, inertia=a.inertia)
        tie = tie_strength(commit, b0)
        if p.affinity.enabled:
            f = p.affinity
            affinity = affinity_step(affinity, anchor, tie, tie0, alignment_rate=f.alignment_rate,
                                     balance_rate=f.balance_rate, cooperation_rate=f.cooperation_rate)
        else:
            affinity = zero_diagonal(anchor.copy())
        dep, share = dependence_shares(value, tie, outside)
    return {"commit": commit, "tie": tie, "affinity": affinity, "value": value, "budget": bud, "dependence": dep}
