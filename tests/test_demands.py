"""The demand game (sim/mechanisms/demands.py) on hand-computed cases, on stacks, and the H2 estimand
built on it: realized leverage is what the targets' demands take from the entente, so without
demands it is exactly zero however Russia's ties to the targets grow."""

from __future__ import annotations

import numpy as np
import pytest

from sim.analysis import summarise
from sim.api import run_scenarios
from sim.mechanisms.demands import MATERIAL, REFUSE, VERBAL, credibility, demand_game, exit_threat

RUS, IRN, SAU = 0, 1, 2
CAPABILITY = np.array([0.6, 0.2, 0.2])  # kappa_SAU = 0.2 / (0.2 + 0.6) = 0.25


def _state(loss_actor: float, loss_target: float, dep_on_partner: float, hostility: float = 0.8
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ties, affinities and dependences of a triangle: D[RUS, SAU] = L_a, D[SAU, RUS] = L_t,
    D[RUS, IRN] the actor's dependence on its entente partner, S[SAU, IRN] = -hostility."""
    tie = np.array([[0.0, 0.5, 0.4], [0.5, 0.0, 0.0], [0.4, 0.0, 0.0]])
    affinity = np.zeros((3, 3))
    affinity[SAU, IRN] = affinity[IRN, SAU] = -hostility
    dep = np.zeros((3, 3))
    dep[RUS, SAU], dep[SAU, RUS], dep[RUS, IRN] = loss_actor, loss_target, dep_on_partner
    return tie, affinity, dep


def _play(tie: np.ndarray, affinity: np.ndarray, dep: np.ndarray, **kw: float):
    args = {"threshold": 0.2, "scale": 1.0, "verbal_cost": 0.1, "weight": 0.5, **kw}
    return demand_game(tie, affinity, dep, CAPABILITY, actor=RUS, partner=IRN, targets=[SAU], **args)


# `value`: the pressure, the value the answer removes from V[where] (dynamic_value subtracts it)
@pytest.mark.parametrize(("loss_a", "loss_t", "dep_ab", "answer", "where", "value"), [
    # K = 0.3 - 0.1 > 0 (credible exit): q = 0.25 * 0.3 / 0.4 = 0.1875, refusing costs q L_a = 0.05625
    (0.3, 0.1, 0.05, MATERIAL, (RUS, IRN), 0.5 * 0.6 * 0.4),  # deeds cost 0.05 <= 0.05625: w x T = 0.12
    (0.3, 0.1, 0.40, REFUSE, (SAU, RUS), 0.5 * 0.1875 * 0.6 * 0.4),  # deeds cost 0.4: refused, w q x T
    # K = 0 (no credible exit): q = 0.25 * 0.1 / 0.4 = 0.0625, refusing costs q L_a = 0.00625
    (0.1, 0.3, 0.05, VERBAL, None, 0.0),  # words cost v D[a, b] = 0.005 <= 0.00625: nothing moves
    (0.1, 0.3, 0.40, REFUSE, (SAU, RUS), 0.5 * 0.0625 * 0.6 * 0.4),  # words cost 0.04: refused
])
def test_the_game_on_hand_computed_cases(loss_a: float, loss_t: float, dep_ab: float, answer: int,
                                         where: tuple[int, int] | None, value: float) -> None:
    tie, affinity, dep = _state(loss_a, loss_t, dep_ab)
    out = _play(tie, affinity, dep)
    assert out.demand[0] == pytest.approx(0.6)  # x = max(0, 0.8 - 0.2)
    assert out.exit_threat[0] == pytest.approx(max(0.0, loss_a - loss_t))
    assert out.credibility[0] == pytest.approx(0.25 * loss_a / (loss_a + loss_t))
    assert out.answer[0] == answer
    expected = np.zeros((3, 3))
    if where is not None:
        expected[where] = value
    np.testing.assert_allclose(out.pressure, expected, atol=1e-15)
    assert out.count(answer)[0] == 1.0 and sum(out.count(k)[0] for k in (REFUSE, VERBAL, MATERIAL)) == 1.0


def test_no_hostility_no_demand_and_nothing_moves() -> None:
    tie, affinity, dep = _state(0.3, 0.1, 0.05, hostility=0.1)  # below the threshold 0.2
    out = _play(tie, affinity, dep)
    assert out.demand[0] == 0.0 and not out.pressure.any()
    assert sum(out.count(k)[0] for k in (REFUSE, VERBAL, MATERIAL)) == 0.0


def test_neither_depending_on_the_other_leaves_no_threat() -> None:
    dep = np.zeros((3, 3))
    assert credibility(dep, CAPABILITY, RUS, [SAU])[0] == 0.0 and exit_threat(dep, RUS, [SAU])[0] == 0.0


def test_the_size_of_a_demand_sets_the_stake_not_the_answer() -> None:
    tie, affinity, dep = _state(0.3, 0.1, 0.05)
    half, whole = _play(tie, affinity, dep, scale=0.5), _play(tie, affinity, dep)
    assert half.answer[0] == whole.answer[0] == MATERIAL
    np.testing.assert_allclose(half.pressure, 0.5 * whole.pressure)
    assert not _play(tie, affinity, dep, scale=0.0).pressure.any()


def test_a_stack_with_a_parameter_per_slice_is_each_slice_alone() -> None:
    rng = np.random.default_rng(4)
    n, s = 6, 5
    tie = rng.uniform(0, 1, (s, n, n))
    affinity = rng.uniform(-1, 1, (s, n, n))
    dep = rng.uniform(0, 0.5, (s, n, n))
    cap = rng.uniform(0.1, 1, n)
    params = {"threshold": rng.uniform(0, 0.5, s), "scale": rng.uniform(0, 1, s),
              "verbal_cost": rng.uniform(0, 1, s), "weight": rng.uniform(0, 2, s)}
    whole = demand_game(tie, affinity, dep, cap, actor=0, partner=1, targets=[2, 3, 5], **params)
    for r in range(s):
        one = demand_game(tie[r], affinity[r], dep[r], cap, actor=0, partner=1, targets=[2, 3, 5],
                          **{k: float(v[r]) for k, v in params.items()})
        for field in ("demand", "credibility", "exit_threat", "answer", "pressure"):
            np.testing.assert_array_equal(getattr(whole, field)[r], getattr(one, field), err_msg=field)
    assert len({int(a) for a in whole.answer.ravel()}) > 1  # the cases differ: not one answer everywhere


def test_a_stack_of_dependences_alone_gives_each_slice_its_own_pressure() -> None:
    """Ties and affinities shared (N, N), dependences stacked (S, N, N), parameters floats: how the
    calibration fixed point of a stack differing only in conditionality.weight calls the game."""
    tie, affinity, _ = _state(0.3, 0.1, 0.05)
    deps = np.stack([_state(0.3, 0.1, d)[2] for d in (0.05, 0.40)])  # MATERIAL, then REFUSE (the cases above)
    whole = _play(tie, affinity, deps)
    assert whole.pressure.shape == (2, 3, 3)
    for r in range(2):
        np.testing.assert_array_equal(whole.pressure[r], _play(tie, affinity, deps[r]).pressure)
    assert whole.pressure[0, RUS, IRN] > 0 and whole.pressure[1, SAU, RUS] > 0


def test_without_demands_the_realized_leverage_is_zero_while_the_old_index_still_rises() -> None:
    """The circularity the old H2 had: sunni_leverage grows with Russia's ties to the targets by
    construction. Realized leverage (the entente without the targets' demands minus with them, per
    replication) is exactly zero when there are no demands, so H2 cannot be supported that way."""
    table = run_scenarios(["replications=4", "horizon.end=2021-12", "model.mechanisms.demands.scale=0"])
    assert (table["realized_leverage"] == 0.0).all()
    assert (table["entente_without_demands"] == table["entente_strength"]).all()
    s = summarise(table, "baseline", "sunni_outreach")
    assert s["h2"]["effect"] == 0.0 and s["h2"]["verdict"] != "supported"
    d = s["diagnostics"]["h2_index"]
    assert d["metric"] == "sunni_leverage" and d["treatment_mean"] > d["control_mean"]  # the index still rises
