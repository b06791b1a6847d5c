"""Mechanisms on hand-computed cases and against the published limits."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from sim.config import MechanismsConfig
from sim.events import outreach_premium, participation_vector, sanctions_factor, sanctions_penalty
from sim.mechanisms.affinity import affinity_step
from sim.mechanisms.allocation import adjust, calibrate_fixed_effect, desired_commitment, fit_to_budget
from sim.mechanisms.bargaining import (
    concession_share,
    conditionality_pressure,
    demand,
    dependence,
    outside_share,
    power_advantage,
    third_party_leverage,
)
from sim.mechanisms.budget import BUDGET_EXPONENT, budget, trend_factor
from sim.mechanisms.noise import ar1_shock
from sim.mechanisms.rivals import abandonment_fear, brokerage_premium, shared_threat
from sim.mechanisms.ties import tie_strength
from sim.mechanisms.value import interest_alignment, relationship_value, third_party_cost
from sim.theory.balance import marvel_blowup_time, marvel_drift, marvel_factions, marvel_solution


def test_tie_strength_is_geometric_mean_of_shares() -> None:
    commit = np.array([[0.0, 0.2, 0.0], [0.1, 0.0, 0.3], [0.0, 0.0, 0.0]])
    b0 = np.array([1.0, 0.5, 1.0])
    t = tie_strength(commit, b0)
    # a01 = 0.2, a10 = 0.1 / 0.5 = 0.2 -> sqrt(0.04) = 0.2; a12 = 0.6, a21 = 0 -> 0 (no reciprocity)
    assert t[0, 1] == pytest.approx(0.2)
    assert t[1, 0] == pytest.approx(0.2)
    assert t[1, 2] == 0.0
    assert np.allclose(t, t.T)


def test_interest_alignment_hand_case() -> None:
    pos = np.array([[1.0, 0.0], [-1.0, 0.0], [1.0, 1.0]])
    sal = np.array([[3.0, 1.0], [1.0, 1.0], [1.0, 0.0]])  # normalised inside: [0.75, 0.25], [0.5, 0.5], [1, 0]
    a = interest_alignment(pos, sal)
    assert a[0, 1] == pytest.approx(1 - 0.75 * 2)  # -0.5
    assert a[1, 0] == pytest.approx(1 - 0.5 * 2)  # 0.0: not symmetric, own salience
    assert a[0, 2] == pytest.approx(1 - 0.25 * 1)
    assert a[2, 0] == pytest.approx(1.0)  # 2 only cares about issue 0, where they agree
    assert np.allclose(np.diag(a), 1.0)


def test_third_party_cost_hand_case() -> None:
    # 0 is tied to 1 (0.5) and 2 (0.2); 1 hates 2 (-0.8); 2 hates nobody.
    tie = np.array([[0.0, 0.5, 0.2], [0.5, 0.0, 0.0], [0.2, 0.0, 0.0]])
    aff = np.array([[0.0, 0.3, 0.1], [0.3, 0.0, -0.8], [0.1, -0.8, 0.0]])
    c = third_party_cost(tie, aff)
    assert c[0, 2] == pytest.approx(0.5 * 0.8)  # closeness to 2 costs 0 through its tie to 1
    assert c[0, 1] == pytest.approx(0.2 * 0.8)  # and closeness to 1 through its tie to 2
    assert c[1, 2] == 0.0  # 1 has no partner hostile to 2 (its own hostility is not a third party)
    assert c[1, 0] == 0.0


def test_relationship_value_combines_terms_and_zeroes_diagonal() -> None:
    one = np.ones((2, 2))
    v = relationship_value(0.4 * one, 0.2 * one, 0.1 * one, 0.3 * one, 0.05 * one, complementarity_weight=1.0,
                           alignment_weight=0.5, reciprocity_weight=2.0, third_party_weight=0.5)
    assert v[0, 1] == pytest.approx(0.4 + 0.1 + 0.2 - 0.15 - 0.05)
    assert v[0, 0] == 0.0


def test_allocation_fixed_point_and_budget() -> None:
    commit0 = np.array([[0.0, 0.3, 0.1], [0.2, 0.0, 0.2], [0.05, 0.05, 0.0]])
    b0 = np.array([1.0, 0.8, 0.5])
    v0 = np.array([[0.0, 0.5, -0.2], [0.3, 0.0, 0.1], [0.0, 0.4, 0.0]])
    fe = calibrate_fixed_effect(commit0, v0, b0, rationality=4.0, max_share=0.6)
    d = desired_commitment(v0, fe, b0, rationality=4.0, max_share=0.6)
    assert np.allclose(d, commit0)  # the calibration is a fixed point
    # raising one value raises only that desired commitment (no crowding out before the budget binds)
    v1 = v0.copy()
    v1[0, 2] += 0.5
    d1 = desired_commitment(v1, fe, b0, rationality=4.0, max_share=0.6)
    assert d1[0, 2] > commit0[0, 2]
    assert d1[0, 1] == pytest.approx(commit0[0, 1])


def test_fit_to_budget_scales_only_rows_over_budget() -> None:
    desired = np.array([[0.0, 0.6, 0.6], [0.1, 0.0, 0.1]])
    out = fit_to_budget(desired, np.array([1.0, 1.0]))
    assert out[0] == pytest.approx([0.0, 0.5, 0.5])
    assert out[1] == pytest.approx(desired[1])


def test_adjust_stays_within_a_shrinking_budget() -> None:
    commit = np.array([[0.0, 0.5, 0.4]])
    target = np.array([[0.0, 0.1, 0.3]])
    out = adjust(commit, target, np.array([0.45]), inertia=0.8)
    # current row refitted to 0.45 -> [0, 0.25, 0.2]; 0.8 * that + 0.2 * target
    assert out[0] == pytest.approx([0.0, 0.8 * 0.25 + 0.02, 0.8 * 0.2 + 0.06])
    assert out.sum() <= 0.45 + 1e-12


def test_budget_positive_sum_with_cap_and_floor() -> None:
    b0 = np.array([1.0, 2.0])
    g = np.array([[0.0, 0.5], [0.5, 0.0]])
    t0 = np.array([[0.0, 0.2], [0.2, 0.0]])
    t = np.array([[0.0, 0.6], [0.6, 0.0]])
    f = np.array([1.0, 0.5])
    assert budget(b0, g, t, t0, f, gain=1.0) == pytest.approx([1.2, 2.0 * 0.5 * 1.2])
    assert budget(b0, g, t, t0, f, gain=10.0, cap=2.0) == pytest.approx([2.0, 2.0])
    assert budget(b0, g, t0, t, f, gain=10.0, floor=0.05) == pytest.approx([0.05, 0.05])
    assert budget(b0, g, t, t0, f, gain=0.0) == pytest.approx(b0 * f)


def test_trend_factor_moves_a_budget_as_the_square_root_of_capability() -> None:
    g = np.array([0.02, -0.04, 0.0])
    # six months: capability x exp(g / 2), budget x exp(g / 4) under b ~ sqrt(CINC)
    assert trend_factor(g, 6) == pytest.approx([np.exp(0.005), np.exp(-0.01), 1.0], rel=1e-15)
    # two years of a 2.81%/year trend (China's): capability x 1.0578, budget x sqrt(1.0578) = 1.0285
    assert trend_factor(np.array([0.0281]), 24)[0] == pytest.approx(np.sqrt(np.exp(2 * 0.0281)), rel=1e-15)
    assert (trend_factor(g, 0) == 1.0).all() and (trend_factor(g, -3) == 1.0).all()  # before the trends start
    assert BUDGET_EXPONENT == 0.5
    assert trend_factor(g, 12, exponent=1.0) == pytest.approx(np.exp(g))


def test_dependence_and_bilateral_leverage_hand_case() -> None:
    value = np.array([[0.0, 1.0, 0.5], [0.2, 0.0, -1.0], [0.4, 0.4, 0.0]])
    tie = np.array([[0.0, 0.2, 0.4], [0.2, 0.0, 0.1], [0.4, 0.1, 0.0]])
    out = np.array([0.1, 0.0, 0.2])
    d = dependence(value, tie, out)
    # u0 = [0, 0.2, 0.2] -> D01 = 0.2 / 0.5; u1 = [0.04, 0, 0] (negative value counts 0) -> D10 = 1
    assert d[0, 1] == pytest.approx(0.4)
    assert d[1, 0] == pytest.approx(1.0)
    assert d[1, 2] == 0.0
    lev = power_advantage(d)
    assert lev[0, 1] == pytest.approx(1.0 - 0.4)  # 1 depends on 0 more than 0 on 1
    assert np.allclose(lev, -lev.T)


def test_better_outside_option_means_less_dependence() -> None:
    value = np.array([[0.0, 1.0], [1.0, 0.0]])
    tie = np.array([[0.0, 0.5], [0.5, 0.0]])
    low = dependence(value, tie, np.array([0.1, 0.1]))
    high = dependence(value, tie, np.array([1.0, 0.1]))
    assert high[0, 1] < low[0, 1]
    assert high[1, 0] == pytest.approx(low[1, 0])


def test_conditionality_hand_case() -> None:
    # i=0 (Russia) tied to m=1 (Saudi) and j=2 (Iran); Saudi hates Iran (-0.9).
    tie = np.array([[0.0, 0.3, 0.5], [0.3, 0.0, 0.0], [0.5, 0.0, 0.0]])
    aff = np.array([[0.0, 0.4, 0.5], [0.4, 0.0, -0.9], [0.5, -0.9, 0.0]])
    dep = np.array([[0.0, 0.2, 0.6], [0.1, 0.0, 0.0], [0.3, 0.0, 0.0]])
    out = np.array([0.2, 0.9, 0.7])  # Russia draws 20% of its value from outside options
    h = demand(aff, 0.2)
    assert h[1, 2] == pytest.approx(0.7)
    assert h[0, 1] == 0.0
    c = concession_share(dep, out)
    assert c[0, 1, 2] == pytest.approx(0.2 / 1.0)  # Russia yields to Saudi against Iran by 1/5
    assert c[0, 2, 1] == pytest.approx(0.6 / 1.0)
    p = conditionality_pressure(tie, aff, dep, out, threshold=0.2, weight=2.0)
    assert p[0, 2] == pytest.approx(2.0 * 0.3 * 0.7 * 0.2)  # Saudi's price on Russia's tie to Iran
    assert p[0, 1] == pytest.approx(2.0 * 0.5 * 0.7 * 0.6)  # Iran's price on Russia's tie to Saudi
    lev = third_party_leverage(tie, aff, dep, out, 0, 2, threshold=0.2)
    assert lev[1] == pytest.approx(0.3 * 0.7 * 0.2)  # Iran is not tied to Saudi: only Russia's side counts
    assert lev[0] == 0.0 and lev[2] == 0.0
    # if Russia depended on Saudi more, Saudi's leverage would be larger (power-dependence)
    dep2 = dep.copy()
    dep2[0, 1] = 0.6
    assert third_party_leverage(tie, aff, dep2, out, 0, 2, threshold=0.2)[1] > lev[1]
    # and with better outside options Russia concedes less to both sides
    better = out.copy()
    better[0] = 0.8
    assert concession_share(dep, better)[0, 1, 2] < c[0, 1, 2]
    assert concession_share(dep, better)[0, 2, 1] < c[0, 2, 1]


def test_outside_share_completes_the_dependences() -> None:
    value = np.array([[0.0, 1.0, 0.5], [0.2, 0.0, -1.0], [0.4, 0.4, 0.0]])
    tie = np.array([[0.0, 0.2, 0.4], [0.2, 0.0, 0.1], [0.4, 0.1, 0.0]])
    out = np.array([0.1, 0.0, 0.2])
    w = outside_share(value, tie, out)
    assert w[0] == pytest.approx(0.1 / 0.5)
    assert np.allclose(dependence(value, tie, out).sum(axis=1) + w, 1.0)
    assert dependence(np.zeros((2, 2)), np.zeros((2, 2)), np.zeros(2)).sum() == 0.0  # no 0/0


def test_concession_share_is_zero_when_depending_on_neither() -> None:
    assert concession_share(np.zeros((3, 3)), np.zeros(3))[0, 1, 2] == 0.0


def test_affinity_step_reduces_to_balance_euler_with_other_forces_off() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(-0.3, 0.3, (5, 5))
    x = np.triu(x, 1) + np.triu(x, 1).T
    out = affinity_step(x, np.zeros_like(x), np.zeros_like(x), np.zeros_like(x), alignment_rate=0.0,
                        balance_rate=0.4, cooperation_rate=0.0, dt=0.1)
    assert np.allclose(out, x + 0.1 * 0.4 * marvel_drift(x) / 4)


def test_model_balance_step_converges_to_the_marvel_closed_form() -> None:
    """With every other force off, the model's affinity step is Euler's method for
    dX/dt = (b / (N - 1)) X^2: halving dt halves its distance to Marvel et al.'s closed form."""
    rng = np.random.default_rng(4)
    n = 8
    x0 = rng.uniform(-0.1, 0.1, (n, n))
    x0 = np.triu(x0, 1) + np.triu(x0, 1).T
    rate = n - 1.0  # so that b / (N - 1) = 1 and model time equals Marvel's time
    t_end = 0.5 * marvel_blowup_time(x0)
    exact = marvel_solution(x0, t_end)
    assert np.abs(exact).max() < 1.0  # before any clipping
    errors = []
    for steps in (2000, 4000):
        x = x0.copy()
        zeros = np.zeros_like(x)
        for _ in range(steps):
            x = affinity_step(x, zeros, zeros, zeros, alignment_rate=0.0, balance_rate=rate,
                              cooperation_rate=0.0, dt=t_end / steps)
        errors.append(np.abs(x - exact).max())
    assert errors[1] < 1e-3 * np.abs(exact).max()
    assert errors[0] / errors[1] == pytest.approx(2.0, rel=0.1)  # first order


def test_affinity_stays_in_bounds_and_moves_toward_anchor() -> None:
    x = np.array([[0.0, 0.95, -0.95], [0.95, 0.0, 0.9], [-0.95, 0.9, 0.0]])
    out = affinity_step(x, np.ones((3, 3)), np.zeros((3, 3)), np.zeros((3, 3)), alignment_rate=0.5,
                        balance_rate=5.0, cooperation_rate=0.0)
    assert out.max() <= 1.0 and out.min() >= -1.0
    anchored = affinity_step(x, np.zeros((3, 3)), np.zeros((3, 3)), np.zeros((3, 3)), alignment_rate=0.5,
                             balance_rate=0.0, cooperation_rate=0.0)
    assert anchored[0, 1] == pytest.approx(0.475)


def _random_symmetric(seed: int, n: int, diagonal: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.5, 0.5, (n, n))
    x = np.triu(x, 1) + np.triu(x, 1).T
    if diagonal:
        np.fill_diagonal(x, rng.uniform(-0.5, 0.5, n))
    return x


def _clipped_balance_run(seed: int, n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Run the model's affinity step alone until every relation is +-1; return its final matrix
    and Marvel et al.'s predicted factions for the start."""
    x = _random_symmetric(seed, n, diagonal=False)
    factions = marvel_factions(x)
    zeros = np.zeros_like(x)
    off = ~np.eye(n, dtype=bool)
    for _ in range(20000):
        x = affinity_step(x, zeros, zeros, zeros, alignment_rate=0.0, balance_rate=1.0, cooperation_rate=0.0,
                          dt=0.05)
        if np.all(np.abs(x[off]) == 1.0):
            break
    return x, factions


@pytest.mark.parametrize("seed", range(10))
def test_model_affinity_step_alone_ends_in_two_antagonistic_factions(seed: int) -> None:
    """The model's step (clipped to [-1, 1]) with every other force off ends fully balanced: two
    camps, friendly inside, hostile across."""
    x, _ = _clipped_balance_run(seed)
    n = x.shape[0]
    off = ~np.eye(n, dtype=bool)
    camp = np.sign(x[0])
    camp[0] = 1.0
    assert np.all(np.abs(x[off]) == 1.0)
    assert np.all(x[off] == np.outer(camp, camp)[off])  # friends inside a camp, enemies across
    assert 0 < np.sum(camp > 0) < n  # two camps, not one


def test_most_clipped_runs_end_in_the_eigenvector_factions() -> None:
    """Once entries saturate, clipping can change *which* camps form: most random starts still
    give Marvel et al.'s leading-eigenvector factions, not all."""
    agree = 0
    for seed in range(10):
        x, factions = _clipped_balance_run(seed)
        camp = np.sign(x[0])
        camp[0] = 1.0
        agree += bool(np.all(factions == camp) or np.all(factions == -camp))
    assert agree >= 6


def test_ar1_shock_has_unit_stationary_variance() -> None:
    rng = np.random.default_rng(0)
    xi = np.zeros(20000)
    for _ in range(200):
        xi = ar1_shock(xi, rng.standard_normal(xi.shape), persistence=0.8)
    assert xi.var() == pytest.approx(1.0, abs=0.05)


def test_outreach_premium_and_sanctions_hand_cases() -> None:
    o = outreach_premium(4, 0, (2, 3), 0.5, 0.4)
    assert o[0, 2] == o[0, 3] == pytest.approx(0.2)
    assert o.sum() == pytest.approx(0.4)
    tie = np.array([[0.0, 0.1, 0.0], [0.1, 0.0, 0.5], [0.0, 0.5, 0.0]])
    p = sanctions_penalty(tie, participation_vector(3, (1,)), target=0, intensity=1.0, cost=0.6)
    assert p[2, 0] == pytest.approx(0.6 * 0.5)  # 2 is tied to the sender
    assert p[1, 0] == pytest.approx(0.6 * 1.0)  # the sender itself
    assert p[0, 0] == 0.0 and p[:, 1:].sum() == 0.0
    assert sanctions_factor(3, 2, 0.5, 0.6) == pytest.approx([1.0, 1.0, 0.7])


def test_events_move_levels_by_their_lever_and_add_scaled_changes() -> None:
    from sim.events import Conditions, Event, apply_event

    c = Conditions(anchor=np.array([[0.0, -0.8], [-0.8, 0.0]]), complementarity=np.zeros((2, 2)),
                   returns=np.full((2, 2), 0.1), budget_factor=np.ones(2), outside_option=np.array([0.5, 0.5]),
                   positions=np.zeros((2, 3)), salience=np.full((2, 3), 1 / 3),
                   participation={"us_sanctions_on_iran": np.array([1.0, 0.0])})
    apply_event(c, Event(step=0, name="joins", states=(1,), scale=0.5, joins="us_sanctions_on_iran"))
    np.testing.assert_array_equal(c.participation["us_sanctions_on_iran"], [1.0, 0.5])  # half way to joining
    apply_event(c, Event(step=0, name="rapprochement", states=(0, 1), scale=0.5, affinity=-0.2,
                         complementarity=0.1, returns=-0.3))
    assert c.anchor[0, 1] == c.anchor[1, 0] == pytest.approx(-0.5)  # half way from -0.8 to -0.2
    assert c.complementarity[0, 1] == pytest.approx(0.1)
    assert c.returns[0, 1] == 0.0  # floored at zero
    apply_event(c, Event(step=0, name="regime change", states=(1,), scale=0.5, outside_option=0.8,
                         positions={2: 1.0}))
    assert c.outside_option == pytest.approx([0.5, 0.4])
    assert c.positions[1] == pytest.approx([0.0, 0.0, 0.5])
    np.testing.assert_array_equal(c.war, [0.0, 0.0])  # at peace unless an event says otherwise
    apply_event(c, Event(step=0, name="invasion", states=(1,), scale=0.5, war=1.0))
    np.testing.assert_array_equal(c.war, [0.0, 0.5])  # half way to full war
    apply_event(c, Event(step=0, name="ceasefire", states=(1,), war=0.0))
    np.testing.assert_array_equal(c.war, [0.0, 0.0])
    apply_event(c, Event(step=0, name="invasion by lever", states=(0,), scale=np.array([0.0, 1.0]), war=1.0))
    np.testing.assert_array_equal(c.war, [[0.0, 0.0], [1.0, 0.0]])  # one level per slice


def test_scarcity_premium_hand_case() -> None:
    from sim.mechanisms.scarcity import alternatives_lost, scarcity_premium

    lost = alternatives_lost(np.array([0.2, 0.5, 0.0, 0.3]), np.array([0.5, 0.5, 0.0, 0.2]))
    assert lost == pytest.approx([0.6, 0.0, 0.0, 0.0])  # more options than calibrated is no loss; o0 = 0 is none
    value = np.array([[0.0, 0.5, -0.2, 0.1], [0.3, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    p = scarcity_premium(value, lost, weight=2.0)
    assert p[0] == pytest.approx([0.0, 2.0 * 0.6 * 0.5, 0.0, 2.0 * 0.6 * 0.1])  # hostile partner gains nothing
    assert p[1:].sum() == 0.0


# ------------------------------------------------ participation, diversion, formation, events


def test_sanctions_penalty_with_participants_and_exposure_by_hand() -> None:
    """P[k, t] = s cost (pi_k + (1 - pi_k) e min(1, sum_m T[k, m] pi_m))."""
    tie = np.array([[0.0, 0.1, 0.0, 0.2],
                    [0.1, 0.0, 0.5, 0.4],
                    [0.0, 0.5, 0.0, 0.8],
                    [0.2, 0.4, 0.8, 0.0]])
    pi = participation_vector(4, (1, 3))  # states 1 and 3 sanction state 0
    p = sanctions_penalty(tie, pi, target=0, intensity=0.5, cost=0.6, exposure=0.25)
    assert p[1, 0] == pytest.approx(0.3) and p[3, 0] == pytest.approx(0.3)  # participants pay in full
    # state 2: ties to participants 0.5 + 0.8 = 1.3, capped at 1 -> 0.3 * 0.25 * 1
    assert p[2, 0] == pytest.approx(0.3 * 0.25)
    assert p[0, 0] == 0.0 and p[:, 1:].sum() == 0.0
    # the sender-only rule, exactly: pi = sender, e = 1
    old = sanctions_penalty(tie, participation_vector(4, (1,)), target=0, intensity=0.5, cost=0.6)
    expected = 0.5 * 0.6 * (tie[:, 1] + np.array([0.0, 1.0, 0.0, 0.0]))
    expected[0] = 0.0
    np.testing.assert_array_equal(old[:, 0], expected)


def test_hubs_and_diversion_by_hand() -> None:
    """hub[i, j] = 1 - max_r pi_r[j] for regimes on i; D = w l_i hub[i, j]; premium = D + D^T."""
    from sim.mechanisms.scarcity import diversion_premium, hub_matrix

    pi = participation_vector(4, (2,))  # state 2 sanctions state 0
    hub = hub_matrix(4, [(0, pi)])
    np.testing.assert_array_equal(hub[0], [0.0, 1.0, 0.0, 1.0])
    np.testing.assert_array_equal(hub[1], [1.0, 0.0, 1.0, 1.0])  # no regime on 1
    lost = np.array([0.6, 0.0, 0.0, 0.2])
    d = diversion_premium(lost, hub, weight=0.5)
    assert d[0, 1] == pytest.approx(0.5 * 0.6) and d[1, 0] == pytest.approx(0.5 * 0.6)  # both sides gain
    assert d[0, 2] == 0.0 and d[2, 0] == pytest.approx(0.5 * 0.2 * 0.0)  # the participant is no hub for 0
    assert d[0, 3] == pytest.approx(0.5 * 0.6 + 0.5 * 0.2)  # both lost alternatives, neither sanctions the other
    assert np.diag(d).sum() == 0.0
    assert d[1, 2] == 0.0  # neither lost anything


def test_supply_share_and_war_supply_by_hand() -> None:
    """supply[i, j] = x_j / (x_i + x_j); W[i, j] = omega war_i supply[i, j] hub[i, j] max(0, S[i, j]);
    premium = W + W^T."""
    from sim.mechanisms.scarcity import hub_matrix
    from sim.mechanisms.war import supply_share, war_supply

    supply = supply_share(np.array([4.0, 1.0, 4.0, 0.0]))
    assert supply[0, 1] == pytest.approx(0.2) and supply[1, 0] == pytest.approx(0.8)
    assert supply[0, 2] == 0.5 and supply[0, 3] == 0.0 and supply[3, 1] == 1.0  # no industry: supplies nothing
    assert not np.diag(supply).any()
    off = ~np.eye(4, dtype=bool)
    np.testing.assert_allclose((supply + supply.T)[off], 1.0)
    assert supply_share(np.zeros(3)).sum() == 0.0  # nobody has industry: no supply, no NaN
    hub = hub_matrix(4, [(0, participation_vector(4, (2,)))])  # state 2 sanctions state 0
    affinity = np.array([[0.0, 0.5, 0.8, -0.4],
                         [0.5, 0.0, 0.1, 0.6],
                         [0.8, 0.1, 0.0, 0.0],
                         [-0.4, 0.6, 0.0, 0.0]])
    war = np.array([1.0, 0.0, 0.0, 0.5])
    p = war_supply(war, supply, hub, affinity, weight=0.2)
    assert p[0, 1] == p[1, 0] == pytest.approx(0.2 * 1.0 * 0.2 * 1.0 * 0.5)  # both sides gain
    assert p[0, 2] == p[2, 0] == 0.0  # a participant in the sanctions on 0 does not supply it
    assert p[0, 3] == p[3, 0] == 0.0  # a hostile partner does not supply it (nor has it anything to supply)
    assert p[1, 3] == p[3, 1] == pytest.approx(0.2 * 0.5 * 1.0 * 1.0 * 0.6)  # half at war: half the value
    assert p[1, 2] == 0.0 and not np.diag(p).any()  # neither at war
    np.testing.assert_array_equal(p, p.T)
    assert not war_supply(np.zeros(4), supply, hub, affinity, weight=0.2).any()  # no war, no term


def test_formation_shift_by_hand() -> None:
    from sim.mechanisms.allocation import formation_shift

    anchor0 = np.array([[0.0, -0.85], [-0.85, 0.0]])
    anchor = np.array([[0.0, -0.3], [-0.3, 0.0]])
    shift = formation_shift(anchor, anchor0, rate=4.5)
    assert shift[0, 1] == pytest.approx(4.5 * 0.55) and shift[0, 0] == 0.0
    np.testing.assert_array_equal(formation_shift(anchor, anchor0, rate=np.array([0.0, 2.0]))[0], 0.0)


def test_salience_event_sets_one_weight_and_rescales_the_others() -> None:
    from sim.events import _set_salience

    sal = np.array([[0.5, 0.3, 0.2], [1.0, 0.0, 0.0]])
    out = _set_salience(sal, 0, 2, 0.6)
    np.testing.assert_allclose(out[0], [0.5 * 0.4 / 0.8, 0.3 * 0.4 / 0.8, 0.6])
    assert out[0].sum() == pytest.approx(1.0) and sal[0, 2] == 0.2  # a copy
    out = _set_salience(sal, 1, 0, 0.5)  # all weight was on issue 0: the rest shared equally
    np.testing.assert_allclose(out[1], [0.5, 0.25, 0.25])
    stacked = _set_salience(sal, 0, 2, np.array([0.2, 0.6]))
    assert stacked.shape == (2, 2, 3)
    np.testing.assert_allclose(stacked[0, 0], sal[0]) and np.testing.assert_allclose(stacked[1, 0], out[0] * 0 + [
        0.25, 0.15, 0.6])


# ------------------------------------------------ rivals of dilution (off by default)


def test_abandonment_fear_by_hand() -> None:
    """fear[i, j] = kappa D0[i, j] max(0, 1 - D[j, i] / D0[j, i]), 0 where D0[j, i] = 0."""
    dep0 = np.array([[0.0, 0.4, 0.2],
                     [0.3, 0.0, 0.0],
                     [0.5, 0.1, 0.0]])
    dep = np.array([[0.0, 0.6, 0.1],
                    [0.15, 0.0, 0.3],
                    [0.5, 0.2, 0.0]])
    f = abandonment_fear(dep, dep0, weight=2.0)
    assert f[0, 1] == pytest.approx(2.0 * 0.4 * (1 - 0.15 / 0.3))  # 1 needs 0 half as much: 0 fears
    assert f[2, 0] == pytest.approx(2.0 * 0.5 * (1 - 0.1 / 0.2))
    assert f[1, 0] == 0.0  # 0 needs 1 more than in 2018 (0.6 > 0.4): no fear, and no bonus either
    assert f[0, 2] == 0.0  # 2 needs 0 as much as ever
    assert f[2, 1] == 0.0 and f[1, 2] == 0.0  # 1 never depended on 2 (D0 = 0): no reference, no fear
    assert np.diag(f).sum() == 0.0
    assert not abandonment_fear(dep0, dep0, weight=2.0).any()  # zero at the calibration
    full = abandonment_fear(np.zeros((3, 3)), dep0, weight=1.0)  # every patron abandons its partner
    np.testing.assert_array_equal(full, dep0 * (dep0.T > 0))


def test_brokerage_premium_by_hand() -> None:
    """broker[i, j] = lambda sum_m T[i, m] max(0, -S[m, j]) D[j, i] = lambda cost[i, j] D[j, i]."""
    # 0 is tied to 1 (0.5) and 2 (0.2); 1 and 2 are enemies (-0.8): 0 sits between them
    tie = np.array([[0.0, 0.5, 0.2], [0.5, 0.0, 0.0], [0.2, 0.0, 0.0]])
    aff = np.array([[0.0, 0.3, 0.1], [0.3, 0.0, -0.8], [0.1, -0.8, 0.0]])
    dep = np.array([[0.0, 0.2, 0.1], [0.5, 0.0, 0.0], [0.3, 0.0, 0.0]])
    b = brokerage_premium(tie, aff, dep, weight=10.0)
    assert b[0, 2] == pytest.approx(10.0 * 0.5 * 0.8 * 0.3)  # 2 needs 0 (0.3), and 0 is tied to 2's enemy 1
    assert b[0, 1] == pytest.approx(10.0 * 0.2 * 0.8 * 0.5)
    assert b[1, 2] == 0.0 and b[2, 1] == 0.0  # the enemies themselves broker nothing
    assert b[1, 0] == 0.0  # 1 has no tie to an enemy of 0
    dep[2, 0] = 0.0
    assert brokerage_premium(tie, aff, dep, weight=10.0)[0, 2] == 0.0  # a side that does not need 0 pays nothing


def test_shared_threat_by_hand() -> None:
    """threat[i, j] = mu sum_m max(0, -S[i, m]) max(0, -S[j, m]) cap_m, symmetric, 0 on the diagonal."""
    cap = np.array([0.1, 0.2, 0.3, 0.4])
    aff = np.array([[0.5, -0.1, -0.2, -0.5],
                    [-0.1, 0.2, 0.3, -0.4],
                    [-0.2, 0.3, 0.0, -1.0],
                    [-0.5, -0.4, -1.0, 1.0]])
    t = shared_threat(aff, cap, weight=2.0)
    assert t[0, 1] == pytest.approx(2.0 * 0.5 * 0.4 * 0.4)  # 3 threatens both (their mutual hostility adds nothing)
    assert t[0, 2] == pytest.approx(2.0 * 0.5 * 1.0 * 0.4)  # 3 again; 1 is 0's enemy but 2's friend
    assert t[1, 2] == pytest.approx(2.0 * (0.1 * 0.2 * 0.1 + 0.4 * 1.0 * 0.4))  # 0 and 3
    assert t[0, 3] == pytest.approx(2.0 * (0.1 * 0.4 * 0.2 + 0.2 * 1.0 * 0.3))  # 1 and 2 are hostile to both
    np.testing.assert_allclose(t, t.T)
    assert np.diag(t).sum() == 0.0
    assert not shared_threat(np.abs(aff), cap, weight=2.0).any()  # no enemies, no shared threat


def test_the_rivals_default_weights_are_the_equal_footing_rule() -> None:
    """Each default weight is experiments/rival_weights.py's, to two significant digits: the term's
    mean size over the ordered dyads at the calibrated 2018 state equals the third-party cost's."""
    path = Path(__file__).resolve().parents[1] / "experiments" / "rival_weights.py"
    spec = importlib.util.spec_from_file_location("rival_weights", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    rule = module.equal_footing_weights([])
    defaults = MechanismsConfig()
    for group in ("abandonment", "brokerage", "shared_threat"):
        weight = getattr(defaults, group).weight
        assert weight == float(f"{rule[group][1]:.2g}"), group
        size = rule[group][0] * weight  # the term at its default weight, against the cost's
        assert size == pytest.approx(rule["third-party cost w_t cost"][0], rel=0.05), group  # rounding: < 5%
