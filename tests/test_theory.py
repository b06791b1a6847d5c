"""sim.theory against published results and hand-computed cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from sim.theory.balance import (
    balance_index,
    constrained_triad_dynamics,
    local_triad_dynamics,
    ltd_stationary_density,
    marvel_blowup_time,
    marvel_drift,
    marvel_factions,
    marvel_solution,
    trace_of_cube,
    triad_counts,
)
from sim.theory.bargaining import (
    concession_share,
    dependence,
    nash_bargaining,
    outside_option_split,
    outside_share,
    power_advantage,
)
from sim.theory.landscape import energy, frustration, local_minima

# ----------------------------------------------------------------------------- balance

POWERS_1907 = ["GBR", "FRA", "RUS", "GER", "AUH", "ITA"]
ENTENTE_1907 = {"GBR", "FRA", "RUS"}


def _camps(members: list[str], camp: set[str]) -> np.ndarray:
    side = np.array([1 if m in camp else -1 for m in members])
    s = np.outer(side, side).astype(float)
    np.fill_diagonal(s, 0.0)
    return s


def test_the_1907_great_power_network_is_fully_balanced() -> None:
    """Triple Entente (Britain, France, Russia) against the Triple Alliance (Germany,
    Austria-Hungary, Italy): friends within, enemies across; every one of the 20 triads balanced."""
    s = _camps(POWERS_1907, ENTENTE_1907)
    assert balance_index(s) == 1.0
    assert balance_index(s, weighted=False) == 1.0
    assert triad_counts(s) == (20, 0)
    s[0, 3] = s[3, 0] = 1.0  # an Anglo-German entente would unbalance the 4 triads through that link
    assert triad_counts(s) == (16, 4)
    assert balance_index(s, weighted=False) == pytest.approx(16 / 20)


@pytest.mark.parametrize("symmetric", [True, False])
def test_trace_of_cube_is_the_trace_of_the_third_power(symmetric: bool) -> None:
    """One product (X X^T for a symmetric X, X X otherwise) gives tr(X^3) to rounding, for one
    matrix and, bit for bit, for each matrix of a stack."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 70, 70))  # above SYRK_MIN_N: X X^T for the symmetric stack
    if symmetric:
        x = x + x.swapaxes(-1, -2)
    expected = np.array([np.trace(np.linalg.matrix_power(m, 3)) for m in x])
    np.testing.assert_allclose(trace_of_cube(x), expected, rtol=1e-12)
    for r in range(len(x)):
        assert trace_of_cube(x[r]) == trace_of_cube(x)[r]
        assert trace_of_cube(x[r]) == pytest.approx(expected[r], rel=1e-12)
    s = _camps(POWERS_1907, ENTENTE_1907)
    assert trace_of_cube(s) == np.trace(s @ s @ s) == 6 * 20  # 20 balanced triads, each six closed walks


def test_weighted_balance_index_hand_case() -> None:
    s = np.array([[0.0, 0.5, 0.5], [0.5, 0.0, -0.5], [0.5, -0.5, 0.0]])
    assert balance_index(s) == 0.0  # the only triad is unbalanced
    s[1, 2] = s[2, 1] = 0.0
    assert balance_index(s) == 1.0  # no closed triad
    assert triad_counts(s) == (0, 0)


def test_marvel_closed_form_matches_numerical_integration() -> None:
    rng = np.random.default_rng(7)
    x0 = rng.normal(0, 1, (6, 6))
    x0 = (x0 + x0.T) / 2
    t_end = 0.5 * marvel_blowup_time(x0)
    sol = solve_ivp(lambda _t, y: marvel_drift(y.reshape(6, 6)).ravel(), (0, t_end), x0.ravel(), rtol=1e-10,
                    atol=1e-12)
    assert np.allclose(sol.y[:, -1].reshape(6, 6), marvel_solution(x0, t_end), rtol=1e-6, atol=1e-8)
    near = marvel_solution(x0, 0.999 * marvel_blowup_time(x0))
    assert np.abs(near).max() > 100 * np.abs(x0).max()  # finite-time blow-up at t* = 1 / lambda_max


@pytest.mark.parametrize("seed", range(10))
def test_marvel_factions_are_the_sign_classes_of_the_leading_eigenvector(seed: int) -> None:
    """Generic random X0: near the blow-up, sign(X_ij) = sign(u_i u_j), two factions."""
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-0.5, 0.5, (12, 12))
    x0 = (x0 + x0.T) / 2
    factions = marvel_factions(x0)
    x = marvel_solution(x0, (1 - 1e-6) * marvel_blowup_time(x0))
    off = ~np.eye(12, dtype=bool)
    assert np.all(np.sign(x[off]) == np.outer(factions, factions)[off])
    assert 0 < np.sum(factions > 0) < 12
    assert balance_index(np.where(off, x, 0.0), weighted=False) == 1.0


def _random_signs(n: int, rng: np.random.Generator, friendly: float = 0.5) -> np.ndarray:
    s = np.where(rng.random((n, n)) < friendly, 1, -1)
    s = np.triu(s, 1)
    return s + s.T


@pytest.mark.parametrize("p", [0.0, 0.25, 0.4])
def test_local_triad_dynamics_reach_the_mean_field_friendly_density(p: float) -> None:
    """Antal, Krapivsky & Redner (2005): rho_inf = 1 / (sqrt(3 (1 - 2p)) + 1) for p < 1/2.

    40 actors (780 links); density averaged over 40 time units after 20 of burn-in. Its
    fluctuations are about 0.015 per time unit, so 0.02 is several standard errors of the mean."""
    n = 40
    links = n * (n - 1) // 2
    rng = np.random.default_rng(1)
    _, density = local_triad_dynamics(_random_signs(n, rng), p, 60 * links, rng, record_every=links)
    assert density[20:].mean() == pytest.approx(ltd_stationary_density(p), abs=0.02)


def test_local_triad_dynamics_above_one_half_reach_paradise() -> None:
    n = 20
    links = n * (n - 1) // 2
    rng = np.random.default_rng(2)
    _, density = local_triad_dynamics(_random_signs(n, rng), 0.7, 40 * links, rng, record_every=links)
    assert ltd_stationary_density(0.7) == 1.0
    assert density[-1] == 1.0


def test_constrained_triad_dynamics_never_raise_imbalance_and_reach_balance() -> None:
    reached = 0
    for seed in range(10):
        rng = np.random.default_rng(seed)
        s, history = constrained_triad_dynamics(_random_signs(9, rng), 3000, rng)
        assert all(b <= a for a, b in itertools.pairwise(history))
        assert history[-1] == triad_counts(s)[1]
        reached += history[-1] == 0
    assert reached >= 8  # small graphs reach balance; rare jammed states are possible


# --------------------------------------------------------------------------- landscape


def test_energy_is_half_the_ordered_pair_sum_and_frustration_adds_up() -> None:
    rng = np.random.default_rng(3)
    n = 6
    sizes = rng.uniform(0.5, 2, n)
    p = rng.uniform(-1, 1, (n, n))
    p = (p + p.T) / 2
    x = np.array([0, 1, 1, 0, 1, 0])
    ordered = sum(sizes[i] * sizes[j] * p[i, j] * (x[i] != x[j]) for i in range(n) for j in range(n) if i != j)
    assert energy(sizes, p, x) == pytest.approx(ordered / 2)
    assert energy(sizes, p, x) == pytest.approx(0.5 * np.sum(sizes * frustration(sizes, p, x)))
    assert energy(sizes, p, 1 - x) == pytest.approx(energy(sizes, p, x))  # mirror image, same split


def test_frustrated_triangle_has_three_minima() -> None:
    """Three mutual rivals: every split that isolates one actor costs -2; together costs 0."""
    p = -np.ones((3, 3))
    minima = local_minima(np.ones(3), p)
    assert len(minima) == 3
    assert all(m.energy == pytest.approx(-2.0) for m in minima)
    assert sum(m.basin for m in minima) == pytest.approx(1.0)
    # steepest descent from "all together" breaks the tie toward the lowest actor: isolating actor 0
    basins = {m.blocs: m.basin for m in minima}
    assert basins[(0, 1, 1)] == pytest.approx(0.5)


def test_balanced_propensities_have_the_camps_as_their_only_minimum() -> None:
    p = _camps(POWERS_1907, ENTENTE_1907)
    minima = local_minima(np.array([1.0, 0.8, 0.9, 1.2, 0.5, 0.4]), p)
    assert len(minima) == 1
    assert minima[0].blocs == (0, 0, 0, 1, 1, 1)
    assert minima[0].basin == pytest.approx(1.0)


def test_local_minima_agree_with_a_brute_force_check() -> None:
    rng = np.random.default_rng(5)
    n = 9
    sizes = rng.uniform(0.5, 2, n)
    p = rng.uniform(-1, 1, (n, n))
    p = (p + p.T) / 2
    found = {m.blocs for m in local_minima(sizes, p)}
    expected = set()
    for bits in itertools.product([0, 1], repeat=n - 1):
        x = np.array((0, *bits))
        e = energy(sizes, p, x)
        if all(energy(sizes, p, np.where(np.arange(n) == i, 1 - x, x)) >= e - 1e-12 for i in range(n)):
            expected.add(tuple(int(b) for b in x))
    assert found == expected


# --------------------------------------------------------------------------- bargaining


def test_nash_bargaining_hand_case() -> None:
    assert nash_bargaining(10.0, 2.0, 4.0) == pytest.approx((4.0, 6.0))
    assert nash_bargaining(5.0, 3.0, 3.0) is None


def test_the_outside_option_binds_only_when_it_exceeds_the_equal_split() -> None:
    """Binmore, Rubinstein & Wolinsky (1986): unlike a disagreement point, an outside option
    below S/2 leaves the split at S/2; above it, the player gets exactly the option."""
    assert outside_option_split(10.0, 3.0, 0.0) == pytest.approx((5.0, 5.0))
    assert outside_option_split(10.0, 4.99, 2.0) == pytest.approx((5.0, 5.0))
    assert outside_option_split(10.0, 7.0, 0.0) == pytest.approx((7.0, 3.0))
    assert outside_option_split(10.0, 0.0, 6.0) == pytest.approx((4.0, 6.0))
    assert outside_option_split(10.0, 6.0, 5.0) is None
    # the same 3.0 as a disagreement point does move the Nash split
    assert nash_bargaining(10.0, 3.0, 0.0) == pytest.approx((6.5, 3.5))


def test_power_dependence_and_concession_limits() -> None:
    value = np.array([[0.0, 1.0, 0.5], [0.2, 0.0, -1.0], [0.4, 0.4, 0.0]])
    tie = np.array([[0.0, 0.2, 0.4], [0.2, 0.0, 0.1], [0.4, 0.1, 0.0]])
    out = np.array([0.1, 0.0, 0.2])
    d = dependence(value, tie, out)
    assert d[0, 1] == pytest.approx(0.4) and d[1, 0] == pytest.approx(1.0)
    assert np.allclose(d.sum(axis=1) + outside_share(value, tie, out), 1.0)
    adv = power_advantage(d)
    assert adv[0, 1] == pytest.approx(0.6) and np.allclose(adv, -adv.T)
    equal = np.array([[0.0, 0.3, 0.3], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    assert concession_share(equal, np.zeros(3))[0, 1, 2] == pytest.approx(0.5)  # the symmetric Nash split
    only_m = np.array([[0.0, 0.3, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    assert concession_share(only_m, np.zeros(3))[0, 1, 2] == pytest.approx(1.0)  # nothing to lose by yielding
    assert concession_share(equal, np.array([0.4, 0, 0]))[0, 1, 2] == pytest.approx(0.3)  # alternatives resist
