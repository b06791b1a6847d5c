"""The batched engine gives the Mesa model's numbers, bit for bit, and the mechanisms broadcast.

``sim.batch`` steps R replications together on (R, N, N) stacks; the Mesa model
(``sim.model.AllianceModel``, one per replication) is the reference. Equality here is exact
(``check_exact=True``, ``assert_array_equal``), never approximate.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf
from scipy.stats import qmc

from sim import batch as batch_module
from sim import experiment
from sim.api import compose
from sim.batch import MAX_BATCH, STACK_BYTES, batch_size, run_batch
from sim.config import LEVERS, validate
from sim.design import sensitivity_problem
from sim.events import (
    build_schedule,
    outreach_premium,
    participation_vector,
    sanctions_factor,
    sanctions_penalty,
    stack_schedules,
)
from sim.experiment import prepare, replication_seeds, run_prepared, run_replication
from sim.mechanisms import bargaining
from sim.mechanisms.affinity import affinity_step
from sim.mechanisms.allocation import allocate, calibrate_fixed_effect
from sim.mechanisms.bargaining import conditionality_pressure, third_party_leverage
from sim.mechanisms.budget import budget
from sim.mechanisms.noise import ar1_shock
from sim.mechanisms.rivals import abandonment_fear, brokerage_premium, shared_threat
from sim.mechanisms.scarcity import scarcity_premium
from sim.mechanisms.ties import tie_strength
from sim.mechanisms.value import dynamic_value, static_value, third_party_cost
from sim.mechanisms.war import supply_share, war_supply
from sim.metrics import measure_into, metric_names, portfolio_shares
from sim.step import stack_parameters
from sim.theory.balance import balance_index
from sim.theory.bargaining import dependence_shares, power_advantage

ALL_LEVERS = ["scenario=western_sanctions_2022", "policy.outreach=1", "policy.us_sanctions_on_iran=1",
              "policy.western_sanctions_on_russia=1"]
MECHANISMS = ("value", "allocation", "budget", "conditionality", "affinity", "scarcity", "noise", "outreach",
              "sanctions", "participation", "diversion", "war", "formation")  # on by default
RIVALS = [f"model.mechanisms.{name}.enabled=true" for name in ("abandonment", "brokerage", "shared_threat")]
CONFIGS = {
    "default": [],
    "sunni_outreach": ["scenario=sunni_outreach"],
    "all_levers": ALL_LEVERS,
    "us_sanctions": ["scenario=us_sanctions", "policy.outreach=0.5"],
    **{f"no_{name}": [*ALL_LEVERS, f"model.mechanisms.{name}.enabled=false"] for name in MECHANISMS},
    "synthetic_30": ["world=synthetic", "world.n_states=30", "scenario=outreach", "horizon.end=2020-06"],
    "history": ["scenario=history"],  # wars: wartime supply
    "history_war_without_diversion": ["scenario=history", "model.mechanisms.diversion.enabled=false"],
    "rivals": [*ALL_LEVERS, *RIVALS],
}


def _prepared(overrides: list[str]):
    cfg = compose(overrides)
    validate(cfg)
    return prepare(cfg)


def _both(overrides: list[str], replications: int, seed: int = 2018):
    world, mechanisms, schedule = _prepared(overrides)
    batched = run_prepared("s", world, mechanisms, schedule, seed, replications)
    mesa = run_prepared("s", world, mechanisms, schedule, seed, replications, engine="mesa")
    return batched, mesa


@pytest.mark.parametrize("replications", [1, 7])
@pytest.mark.parametrize("overrides", CONFIGS.values(), ids=CONFIGS.keys())
def test_the_batched_cell_is_the_mesa_cell(overrides: list[str], replications: int) -> None:
    """run_prepared's tables (metrics and network) from both engines are equal to the bit."""
    batched, mesa = _both(overrides, replications)
    assert len(mesa.table) == replications * mesa.table["date"].nunique()
    pd.testing.assert_frame_equal(batched.table, mesa.table, check_exact=True)
    pd.testing.assert_frame_equal(batched.network, mesa.network, check_exact=True)


@pytest.mark.parametrize("overrides", [ALL_LEVERS, CONFIGS["synthetic_30"]], ids=["all_levers", "synthetic_30"])
def test_a_cell_of_many_replications_is_the_mesa_cell(overrides: list[str]) -> None:
    """20 replications: a stack large enough for the hostile-pairs pressure (STACKED_PRESSURE_MIN_R)."""
    assert bargaining.STACKED_PRESSURE_MIN_R <= 20
    batched, mesa = _both(overrides, 20, seed=3)
    pd.testing.assert_frame_equal(batched.table, mesa.table, check_exact=True)
    pd.testing.assert_frame_equal(batched.network, mesa.network, check_exact=True)


def test_the_batch_is_each_models_record_and_final_network() -> None:
    """run_batch's slice r is AllianceModel r: its DataCollector rows, dates, final ties and affinities."""
    world, mechanisms, schedule = _prepared([*ALL_LEVERS, "model.mechanisms.noise.sigma=0.5"])
    seeds = replication_seeds(5, 4)
    result = run_batch(world, mechanisms, schedule, seeds)
    assert result.metrics.shape[:2] == (4, len(schedule.dates))
    for r, seed in enumerate(seeds):
        model = run_replication(world, mechanisms, schedule, seed)
        recorder = model.datacollector
        assert result.columns == recorder.columns
        assert list(result.dates) == recorder.dates
        np.testing.assert_array_equal(result.metrics[r], recorder.array())
        np.testing.assert_array_equal(result.tie[r], model.tie)
        np.testing.assert_array_equal(result.affinity[r], model.affinity)
    # the replications differ (their own streams), so equality above is not one run copied
    assert not np.array_equal(result.metrics[0], result.metrics[1])


def test_a_batch_without_metrics_steps_the_same_months_and_records_the_pair_fields_asked_for() -> None:
    """metrics=False and pairs=("tie",) (the calibration's run): the same final network and the same
    ties every month as the full record, bit for bit; no metric column; an unknown field refused."""
    world, mechanisms, schedule = _prepared([*ALL_LEVERS, "model.mechanisms.noise.sigma=0.5"])
    seeds = replication_seeds(5, 3)
    full = run_batch(world, mechanisms, schedule, seeds, pairs=True)
    lean = run_batch(world, mechanisms, schedule, seeds, pairs=("tie",), metrics=False)
    assert lean.metrics.shape == (3, len(schedule.dates), 0) and lean.columns == ()
    assert lean.pairs.shape == (*full.pairs.shape[:2], 1, full.pairs.shape[3])
    np.testing.assert_array_equal(lean.pairs[:, :, 0], full.pairs[:, :, 0])
    np.testing.assert_array_equal(lean.tie, full.tie)
    np.testing.assert_array_equal(lean.affinity, full.affinity)
    backwards = run_batch(world, mechanisms, schedule, seeds, pairs=("commitment_ba", "affinity"), metrics=False)
    np.testing.assert_array_equal(backwards.pairs, full.pairs[:, :, [2, 3]])
    rows = [0, 7, len(schedule.dates)]  # the start, after month 6, after the last month
    some = run_batch(world, mechanisms, schedule, seeds, pairs=("tie",), pair_rows=rows, metrics=False)
    np.testing.assert_array_equal(some.pairs, full.pairs[:, rows][:, :, [0]])
    with pytest.raises(ValueError, match="pair fields \\['bogus'\\]"):
        run_batch(world, mechanisms, schedule, seeds, pairs=("tie", "bogus"))
    for bad in ([7, 0], [0, 0], [len(schedule.dates) + 1]):
        with pytest.raises(ValueError, match="pair rows"):
            run_batch(world, mechanisms, schedule, seeds, pairs=True, pair_rows=bad)


def test_a_large_world_runs_each_replication_by_itself_with_the_same_numbers() -> None:
    """Above DENSE_PRESSURE_MAX_N the stacked pressure goes replication by replication (column path);
    from SYRK_MIN_N (64) states on the balance index squares the relations as S S^T."""
    overrides = ["world=synthetic", "world.n_states=70", "scenario=outreach", "horizon.end=2019-04"]
    batched, mesa = _both(overrides, 3)
    pd.testing.assert_frame_equal(batched.table, mesa.table, check_exact=True)
    pd.testing.assert_frame_equal(batched.network, mesa.network, check_exact=True)


def test_stacks_of_a_few_replications_and_innovations_drawn_month_by_month_change_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cell in stacks of 3 (3 + 3 + 1) with innovations drawn 1, or 5 and 15, months at a time
    (86 months: the last block is partly unused) equals the cell in one stack."""
    world, mechanisms, schedule = _prepared(["scenario=sunni_outreach"])
    whole = run_prepared("s", world, mechanisms, schedule, 9, 7)
    assert batch_size(world.n) >= 7 and len(schedule.dates) == 86
    monkeypatch.setattr(experiment, "batch_size", lambda n: 3)
    for months_of_3_replications in (1, 5):
        monkeypatch.setattr(batch_module, "INNOVATION_BYTES", months_of_3_replications * 8 * 13 * 13 * 3)
        pieces = run_prepared("s", world, mechanisms, schedule, 9, 7)
        pd.testing.assert_frame_equal(pieces.table, whole.table, check_exact=True)
        pd.testing.assert_frame_equal(pieces.network, whole.network, check_exact=True)


def test_batch_size_bounds_a_stacks_memory() -> None:
    assert batch_size(13) == MAX_BATCH
    assert batch_size(1000) == 1  # one replication at a time: 40 N^2 floats are already 305 MB
    for n in (13, 48, 49, 100, 300):
        k = batch_size(n)
        assert 1 <= k <= MAX_BATCH
        per = 8 * n * n * batch_module._MATRICES_PER_REPLICATION
        if n <= bargaining.DENSE_PRESSURE_MAX_N:
            per += 8 * n**3 * batch_module._CUBES_PER_REPLICATION
        assert k == 1 or k * per <= STACK_BYTES


def test_an_unknown_engine_is_refused() -> None:
    world, mechanisms, schedule = _prepared([])
    with pytest.raises(ValueError, match="engine"):
        run_prepared("s", world, mechanisms, schedule, 1, 1, engine="ray")


# ------------------------------------------------ the mechanisms on stacks


def _stack_inputs(n: int, r: int, seed: int) -> dict[str, np.ndarray]:
    """R random worlds' arrays of the shapes the model holds, with the edge cases the guards handle."""
    rng = np.random.default_rng(seed)
    tie = rng.random((r, n, n)) * (rng.random((r, n, n)) < 0.7)
    tie = np.sqrt(tie * np.swapaxes(tie, -1, -2))
    tie[:, np.arange(n), np.arange(n)] = 0.0
    affinity = rng.uniform(-1, 1, (r, n, n))
    affinity = (affinity + np.swapaxes(affinity, -1, -2)) / 2
    affinity[:, np.arange(n), np.arange(n)] = 0.1
    dep = rng.random((r, n, n)) * (tie > 0)
    dep /= dep.sum(axis=-1, keepdims=True) + 0.3
    outside = rng.random((r, n)) * 0.3
    outside[0, 0] = 0.0  # a state with no outside option in one replication only
    dep[0, 0] = 0.0
    commit = rng.random((r, n, n)) * 2
    commit[:, np.arange(n), np.arange(n)] = 0.0
    commit[1, 2] = 0.0  # a state that commits nothing
    value = rng.normal(size=(r, n, n))
    value[2, 3] = -1.0  # a state with no positive value (no ties count)
    return {"tie": tie, "affinity": affinity, "dep": dep, "outside": outside, "commit": commit, "value": value,
            "budget": rng.random((r, n)) + 0.5}


@pytest.mark.parametrize("n", [5, 13, 60])
def test_every_mechanism_on_a_stack_is_the_mechanism_on_each_slice(n: int) -> None:
    """Called on (R, N, N) stacks, each stacked function returns slice r = its value on replication r's arrays."""
    x = _stack_inputs(n, 4, n)
    base = np.random.default_rng(0).random(n) + 0.5
    shared = np.random.default_rng(1).random((n, n))
    hostile_free = np.abs(x["affinity"])  # no demands at all: the pressure is exactly 0
    dep0 = np.where(shared > 0.3, x["dep"][0] + 0.05, 0.0)  # a shared calibration, with pairs of no dependence
    width = len(metric_names(tuple(f"s{k}" for k in range(n)), (0, 1), 2, (3, 4)))
    calls = {
        "pressure": lambda s: conditionality_pressure(s["tie"], s["affinity"], s["dep"], s["outside"],
                                                      threshold=0.2, weight=0.5),
        "pressure_no_hostility": lambda s: conditionality_pressure(s["tie"], s["calm"], s["dep"], s["outside"],
                                                                   threshold=0.2, weight=0.5),
        "leverage": lambda s: third_party_leverage(s["tie"], s["affinity"], s["dep"], s["outside"], 1, 2,
                                                   threshold=0.2),
        "dependence": lambda s: dependence_shares(s["value"], s["tie"], s["outside"])[0],
        "outside_share": lambda s: dependence_shares(s["value"], s["tie"], s["outside"])[1],
        "power": lambda s: power_advantage(s["dep"]),
        "balance": lambda s: np.asarray(balance_index(s["affinity"])),
        "balance_empty": lambda s: np.asarray(balance_index(s["tie"] * 0.0)),
        "tie": lambda s: tie_strength(s["commit"], base),
        "third_party": lambda s: third_party_cost(s["tie"], s["affinity"]),
        "value": lambda s: dynamic_value(shared, s["dep"], s["tie"], s["value"], reciprocity_weight=0.3,
                                         third_party_weight=0.7),
        "allocate": lambda s: allocate(s["commit"], s["value"], shared, s["budget"], enabled=True, rationality=2.0,
                                       max_share=0.5, inertia=0.8),
        "allocate_off": lambda s: allocate(s["commit"], s["value"], shared, s["budget"], enabled=False,
                                           rationality=2.0, max_share=0.5, inertia=0.8),
        "budget": lambda s: budget(base, shared, s["tie"], shared * 0.5, base * 0.9, gain=0.4, cap=1.5),
        "affinity": lambda s: affinity_step(s["affinity"], shared, s["tie"], shared * 0.5, alignment_rate=0.1,
                                            balance_rate=0.2, cooperation_rate=0.3),
        "sanctions": lambda s: sanctions_penalty(s["tie"], participation_vector(n, (1, 4)), 3, 0.5, 0.2, 0.3),
        "shares": lambda s: portfolio_shares(s["commit"], 2),
        "abandonment": lambda s: abandonment_fear(s["dep"], dep0, weight=0.7),
        "brokerage": lambda s: brokerage_premium(s["tie"], s["affinity"], s["dep"], weight=11.0),
        "shared_threat": lambda s: shared_threat(s["affinity"], base, weight=4.9),
        "war": lambda s: war_supply(s["budget"] - 0.5, supply_share(base), (shared > 0.3) * 1.0, s["affinity"],
                                    weight=0.25),
        "war_shared": lambda s: war_supply(base - 0.5, supply_share(base), shared, s["affinity"], weight=0.25),
        "metrics": lambda s: measure_into(np.empty((*s["tie"].shape[:-2], width)), entente=(0, 1),
                                          outreach_actor=2, outreach_targets=(3, 4), commit=s["commit"],
                                          tie=s["tie"], affinity=s["affinity"], dep=s["dep"], outside=s["outside"],
                                          budget=s["budget"], hostility_threshold=0.2),
    }
    stack = {**x, "calm": hostile_free}
    for name, call in calls.items():
        whole = call(stack)
        for r in range(4):
            np.testing.assert_array_equal(whole[r], call({k: v[r] for k, v in stack.items()}), err_msg=name)
    assert not conditionality_pressure(x["tie"], hostile_free, x["dep"], x["outside"], threshold=0.2,
                                       weight=0.5).any()


@pytest.mark.parametrize("hostile_pairs_only", [True, False])
def test_the_stacked_pressure_is_the_dense_block(monkeypatch: pytest.MonkeyPatch, hostile_pairs_only: bool) -> None:
    """Both stacked layouts (hostile pairs only, one block) equal the (N, N, N) block and the column
    path, slice by slice."""
    x = _stack_inputs(13, 9, 3)
    x["affinity"][4] = np.abs(x["affinity"][4])  # one replication without any demand
    monkeypatch.setattr(bargaining, "STACKED_PRESSURE_MIN_R", 9 if hostile_pairs_only else 10)
    stacked = conditionality_pressure(x["tie"], x["affinity"], x["dep"], x["outside"], threshold=0.2, weight=0.5)
    assert not stacked[4].any() and stacked[3].any()
    for limit in (0, 10_000):  # the column path, then the one-block path, for each slice alone
        monkeypatch.setattr(bargaining, "DENSE_PRESSURE_MAX_N", limit)
        for r in range(9):
            alone = conditionality_pressure(x["tie"][r], x["affinity"][r], x["dep"][r], x["outside"][r],
                                            threshold=0.2, weight=0.5)
            np.testing.assert_array_equal(stacked[r], alone)
    full = bargaining.pressure_terms(x["tie"][2], x["affinity"][2], x["dep"][2], x["outside"][2], 0.2)
    np.testing.assert_array_equal(stacked[2], 0.5 * full.sum(axis=1))


@pytest.mark.parametrize("n", [5, 13, 60])
def test_a_parameter_given_per_slice_is_each_slice_with_its_own_parameter(n: int) -> None:
    """With a mechanism parameter of shape (S,), slice s of the result is the mechanism called with
    the float parameter[s] on slice s's arrays, bit for bit (shared (N, N) inputs broadcast)."""
    x = _stack_inputs(n, 4, n)
    q = np.array([0.1, 0.35, 0.6, 0.85])
    shared = np.random.default_rng(1).random((n, n))
    base = np.random.default_rng(0).random(n) + 0.5
    lost = np.random.default_rng(2).random(n) * (np.arange(n) % 2)
    width = len(metric_names(tuple(f"s{k}" for k in range(n)), (0, 1), 2, (3, 4)))
    calls = {
        "pressure": lambda s, p: conditionality_pressure(s["tie"], s["affinity"], s["dep"], s["outside"],
                                                         threshold=p / 2, weight=1 - p),
        "pressure_shared_tie": lambda s, p: conditionality_pressure(shared, s["affinity"], s["dep"], s["outside"],
                                                                    threshold=p / 2, weight=0.5),
        "leverage": lambda s, p: third_party_leverage(s["tie"], s["affinity"], s["dep"], s["outside"], 1, 2,
                                                      threshold=p / 2),
        "static_value": lambda s, p: static_value(shared, s["value"], complementarity_weight=p,
                                                  alignment_weight=1 - p),
        "value": lambda s, p: dynamic_value(shared, s["dep"], s["tie"], s["value"], reciprocity_weight=p,
                                            third_party_weight=2 * p),
        "allocate": lambda s, p: allocate(s["commit"], s["value"], shared, s["budget"], enabled=True,
                                          rationality=1 + 4 * p, max_share=p, inertia=1 - p),
        "fixed_effect": lambda s, p: calibrate_fixed_effect(shared, s["value"], base, rationality=1 + 4 * p,
                                                            max_share=0.2 + p / 2),
        "budget": lambda s, p: budget(base, shared, s["tie"], shared * 0.5, base * 0.9, gain=p, cap=1 + p),
        "affinity": lambda s, p: affinity_step(s["affinity"], shared, s["tie"], shared * 0.5, alignment_rate=p,
                                               balance_rate=p / 3, cooperation_rate=1 - p),
        "noise": lambda s, p: ar1_shock(s["value"], s["dep"], persistence=p),
        "scarcity": lambda s, p: scarcity_premium(s["value"], lost, weight=p),
        "abandonment": lambda s, p: abandonment_fear(s["dep"], np.where(shared > 0.3, shared / n, 0.0), weight=p),
        "brokerage": lambda s, p: brokerage_premium(s["tie"], s["affinity"], s["dep"], weight=10 * p),
        "shared_threat": lambda s, p: shared_threat(s["affinity"], base, weight=5 * p),
        "shared_threat_shared": lambda s, p: shared_threat(2 * shared - 1, base, weight=p),
        "war": lambda s, p: war_supply(s["budget"] - 0.5, supply_share(base), shared, s["affinity"], weight=p),
        "war_shared": lambda s, p: war_supply(base - 0.5, supply_share(base), shared, 2 * shared - 1, weight=p)
        * np.ones_like(s["tie"]),
        "sanctions": lambda s, p: sanctions_penalty(s["tie"], participation_vector(n, (1,)), 3, p, 0.6, p),
        "sanctions_factor": lambda s, p: sanctions_factor(n, 2, 0.5, p) * np.ones_like(s["budget"]),
        "outreach": lambda s, p: outreach_premium(n, 0, (2, 3), 1.0, p) + np.zeros_like(s["tie"]),
        "metrics": lambda s, p: measure_into(np.empty((*s["tie"].shape[:-2], width)), entente=(0, 1),
                                             outreach_actor=2, outreach_targets=(3, 4), commit=s["commit"],
                                             tie=s["tie"], affinity=s["affinity"], dep=s["dep"],
                                             outside=s["outside"], budget=s["budget"], hostility_threshold=p / 2),
    }
    for name, call in calls.items():
        whole = call(x, q)
        assert whole.shape[0] == 4, name
        for r in range(4):
            np.testing.assert_array_equal(whole[r], call({k: v[r] for k, v in x.items()}, float(q[r])), err_msg=name)
    assert not np.array_equal(calls["value"](x, q)[0], calls["value"](x, q[::-1])[0])  # the parameter matters


def test_the_value_shock_with_a_persistence_per_slice_is_each_slice_with_its_float() -> None:
    """For phi = 0.8298825696110725 libm's pow(phi, 2) (a float's **) is 1 ulp above phi * phi (an
    array's **, and the exact square rounded): the shock must not depend on which one it took."""
    phi = np.array([0.8298825696110725, 0.8])
    assert float(phi[0]) ** 2 != float(phi[0]) * float(phi[0])  # the case this test is about
    rng = np.random.default_rng(0)
    previous, innovation = rng.standard_normal((2, 2, 3, 3))
    whole = ar1_shock(previous, innovation, persistence=phi)
    for s in range(2):
        np.testing.assert_array_equal(whole[s], ar1_shock(previous[s], innovation[s], persistence=float(phi[s])))


def _parameter_sets(mechanisms, count: int, seed: int) -> list:
    """``count`` copies of ``mechanisms`` with every numeric parameter from a Sobol' sample (+-50%)."""
    problem = sensitivity_problem([], 0.5)
    low, high = np.array(problem["bounds"]).T
    x = qmc.scale(qmc.Sobol(problem["num_vars"], seed=seed).random_base2(max(count - 1, 1).bit_length())[:count],
                  low, high)
    sets = []
    for row in x:
        groups = {f.name: copy.copy(getattr(mechanisms, f.name)) for f in dataclasses.fields(mechanisms)}
        for name, v in zip(problem["names"], row, strict=True):
            _, _, group, key = name.split(".")
            setattr(groups[group], key, float(v))
        sets.append(type(mechanisms)(**groups))
    return sets


def test_a_stack_of_64_parameter_sets_is_64_separate_runs() -> None:
    """64 different parameter sets (a Sobol' sample of every numeric mechanism parameter, +-50%, and
    of the three lever levels, some exactly 0), each with its own seed, stepped as one stack:
    slice s equals set s run alone (a stack of one for all, the Mesa model for some), bit for bit:
    metrics and final network. The scenario has events scaled by the outreach lever; the rivals of
    dilution, off by default, are on."""
    cfg = compose(["scenario=sunni_outreach", *RIVALS])
    validate(cfg)
    world, mechanisms, _ = prepare(cfg)
    sets = _parameter_sets(mechanisms, 64, seed=1)
    assert len({s.allocation.rationality for s in sets}) == 64
    levels = qmc.Sobol(3, seed=3).random_base2(6)
    levels[::7] = 0.0  # every lever at 0 in some slices: their outreach events change nothing there
    policies = [OmegaConf.create(dict(zip(LEVERS, map(float, row), strict=True))) for row in levels]

    def schedule(policy, keep_unscaled: bool):
        return build_schedule(cfg.scenario, policy, cfg.horizon, world, keep_unscaled=keep_unscaled)

    seeds = replication_seeds(5, 64)
    stacked = run_batch(world, sets, [schedule(p, True) for p in policies], seeds)
    for s, (params, policy, seed) in enumerate(zip(sets, policies, seeds, strict=True)):
        alone = run_batch(world, params, schedule(policy, False), [seed])
        np.testing.assert_array_equal(stacked.metrics[s], alone.metrics[0], err_msg=f"slice {s}")
        np.testing.assert_array_equal(stacked.tie[s], alone.tie[0])
        np.testing.assert_array_equal(stacked.affinity[s], alone.affinity[0])
        if s % 16 == 0:  # and the Mesa model, the reference, for a few of them
            model = run_replication(world, params, schedule(policy, False), seed)
            np.testing.assert_array_equal(stacked.metrics[s], model.datacollector.array())
    assert not np.array_equal(stacked.metrics[0], stacked.metrics[1])


def test_schedules_of_different_scenarios_do_not_stack() -> None:
    _, _, baseline = _prepared([])
    _, _, outreach = _prepared(["scenario=sunni_outreach"])
    with pytest.raises(ValueError, match="only lever levels may differ within a stack"):
        stack_schedules([baseline, outreach])


def test_parameter_sets_stack_on_a_large_world_slice_by_slice() -> None:
    """Above DENSE_PRESSURE_MAX_N the pressure of each slice is computed alone with its own parameters."""
    world, mechanisms, schedule = _prepared(["world=synthetic", "world.n_states=60", "scenario=outreach",
                                             "horizon.end=2019-04"])
    sets = _parameter_sets(mechanisms, 3, seed=2)
    seeds = replication_seeds(1, 3)
    stacked = run_batch(world, sets, schedule, seeds)
    for s in range(3):
        np.testing.assert_array_equal(stacked.metrics[s], run_batch(world, sets[s], schedule, [seeds[s]]).metrics[0])


def test_switches_must_agree_within_a_stack() -> None:
    _, mechanisms, _ = _prepared([])
    off = copy.deepcopy(mechanisms)
    off.noise.enabled = False
    with pytest.raises(ValueError, match=r"model\.mechanisms\.noise\.enabled differs within a stack"):
        stack_parameters([mechanisms, off])
    same = stack_parameters([mechanisms, copy.deepcopy(mechanisms)])
    assert same.allocation.rationality == mechanisms.allocation.rationality  # shared: a float, not an array


def test_a_metric_is_one_entry_of_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """Appending one Metric to sim.metrics.METRICS gives a named column in both engines' tables,
    computed by its formula from each month's arrays (here the strongest tie, checked at the
    horizon against each Mesa model's final ties)."""
    from sim import metrics

    extra = metrics.Metric("strongest_tie", lambda m: m.tie.max(axis=(-2, -1)), "the largest T[i, j]")
    monkeypatch.setattr(metrics, "METRICS", (*metrics.METRICS, extra))
    world, mechanisms, schedule = _prepared(["scenario=sunni_outreach"])
    batched = run_prepared("s", world, mechanisms, schedule, 4, 3)
    assert batched.table.columns[-1 - len(metrics.COUNTERFACTUAL)] == "strongest_tie"  # the twin's columns last
    last = batched.table[batched.table["date"] == batched.table["date"].max()]
    for r, seed in enumerate(replication_seeds(4, 3)):
        model = run_replication(world, mechanisms, schedule, seed)
        assert last["strongest_tie"].iloc[r] == model.tie.max()
        assert model.metrics["strongest_tie"] == model.tie.max()


def test_a_full_stack_of_cells_is_each_cell_alone() -> None:
    """What the sweep evaluator runs: 12 parameter sets x 20 replications = 240 slices in one stack
    (sets with different parameters lay some arrays out differently from a run alone; the row sums
    taken of them must still add as each slice alone does). Each set's 20 slices equal that set's
    cell of 20 run by itself, bit for bit."""
    world, mechanisms, schedule = _prepared(["scenario=sunni_outreach"])
    sets = _parameter_sets(mechanisms, 12, seed=4)
    seeds = replication_seeds(2018, 20)
    stacked = run_batch(world, [m for m in sets for _ in seeds], schedule, [s for _ in sets for s in seeds])
    for k, params in enumerate(sets):
        alone = run_batch(world, params, schedule, seeds)
        np.testing.assert_array_equal(stacked.metrics[20 * k:20 * (k + 1)], alone.metrics, err_msg=f"set {k}")
        np.testing.assert_array_equal(stacked.tie[20 * k:20 * (k + 1)], alone.tie)
