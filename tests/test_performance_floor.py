"""The fast paths compute what the plain definitions compute, and the performance floor is honest.

No timing here: speed is measured by ``benchmarks/bench_model.py``, never asserted in tests.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import mesa
import numpy as np
import pandas as pd
import pytest

from sim import recording
from sim.api import compose
from sim.config import validate
from sim.experiment import Cell, prepare, run_cell, run_replication, without_demands
from sim.mechanisms import bargaining
from sim.mechanisms.allocation import allocate
from sim.mechanisms.bargaining import conditionality_pressure, demand, pressure_terms, third_party_leverage
from sim.metrics import step_metrics
from sim.model import AllianceModel

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("bare_loop", REPO / "benchmarks" / "bare_loop.py")
bare_loop = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bare_loop)  # type: ignore[union-attr]

CASES = [
    ["scenario=sunni_outreach"],
    ["scenario=western_sanctions_2022", "policy.outreach=1", "policy.us_sanctions_on_iran=1",
     "policy.western_sanctions_on_russia=1", "model.mechanisms.noise.sigma=0.5"],
    ["scenario=baseline", "model.mechanisms.allocation.enabled=false", "model.mechanisms.affinity.enabled=false",
     "model.mechanisms.conditionality.enabled=false"],
    ["world=synthetic", "world.n_states=60", "scenario=outreach", "horizon.end=2019-12"],
    ["scenario=history"],  # formation, diversion, participation, wars, group, salience and join events
    ["scenario=history", "model.mechanisms.participation.enabled=false", "model.mechanisms.formation.enabled=false"],
    ["scenario=history", "model.mechanisms.diversion.enabled=false"],  # wartime supply finds its own hubs
    ["scenario=history", "model.mechanisms.abandonment.enabled=true", "model.mechanisms.brokerage.enabled=true",
     "model.mechanisms.shared_threat.enabled=true"],  # the rivals of dilution
]


@pytest.mark.parametrize("overrides", CASES, ids=["outreach", "all_levers", "switched_off", "synthetic_60", "history",
                                                  "history_sender_only", "history_war_without_diversion", "rivals"])
def test_the_bare_loop_ends_where_the_model_ends(overrides: list[str]) -> None:
    """Same seed, same final ties, commitments, values, budgets and dependences, bit for bit."""
    cfg = compose(overrides)
    validate(cfg)
    world, mechanisms, schedule = prepare(cfg)
    seed = np.random.SeedSequence(11)
    model = run_replication(world, mechanisms, schedule, seed)
    bare = bare_loop.run_bare(world, mechanisms, schedule, seed)
    for name in ("commit", "tie", "affinity", "value", "budget", "dependence"):
        np.testing.assert_array_equal(bare[name], getattr(model, name), err_msg=name)


def test_deciding_for_all_states_in_one_call_is_each_state_deciding_its_row() -> None:
    """The allocation is row-wise (sim.step.Month.decide): all rows in one call give, bit for bit,
    the rows each state would choose alone from its own row of values, fixed effects, commitments
    and its budget, so the model may decide for every agent at once."""
    world, mechanisms, schedule = prepare(compose(["scenario=sunni_outreach"]))
    model = AllianceModel(world, mechanisms, schedule, rng=np.random.default_rng(3))
    for _ in range(3):
        model.step()
    m, p = model.month, mechanisms.allocation
    kwargs = {"enabled": True, "rationality": p.rationality, "max_share": p.max_share, "inertia": p.inertia}
    every = allocate(m.commit, m.value, m.fixed_effect, m.budget, **kwargs)
    for agent in model.agents:
        i = slice(agent.index, agent.index + 1)
        own = allocate(m.commit[i], m.value[i], m.fixed_effect[i], m.budget[i], **kwargs)
        np.testing.assert_array_equal(own[0], every[agent.index])
    assert not np.array_equal(every, m.commit)  # the decision moves the commitments


@pytest.mark.parametrize("n", [4, 13, 70])
@pytest.mark.parametrize("no_outside", [True, False])
def test_pressure_without_the_cube_equals_the_sum_of_its_terms(
    n: int, no_outside: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """conditionality_pressure (block and column paths) and third_party_leverage equal the (N, N, N)
    definition, bit for bit, with a state with no outside option (the guarded column loop) and
    without (the buffered column loop)."""
    rng = np.random.default_rng(n)
    tie = rng.random((n, n))
    tie = np.sqrt(tie * tie.T) * (rng.random((n, n)) < 0.7)
    tie = np.triu(tie, 1) + np.triu(tie, 1).T
    affinity = rng.uniform(-1, 1, (n, n))
    affinity = (affinity + affinity.T) / 2
    np.fill_diagonal(affinity, 0.1)
    dep = rng.random((n, n)) * (tie > 0)
    dep /= dep.sum(axis=1, keepdims=True) + 0.3
    outside = rng.random(n) * 0.3 + (0.0 if no_outside else 0.01)
    if no_outside:
        outside[0] = 0.0
        dep[0] = 0.0
    assert (demand(affinity, 0.2) > 0).sum(axis=0).max() > 1  # columns with several demanders
    full = pressure_terms(tie, affinity, dep, outside, 0.2)
    expected = 0.5 * full.sum(axis=1)
    for limit in (0, 10_000):  # the column path, then the one-block path
        monkeypatch.setattr(bargaining, "DENSE_PRESSURE_MAX_N", limit)
        got = conditionality_pressure(tie, affinity, dep, outside, threshold=0.2, weight=0.5)
        np.testing.assert_array_equal(got, expected)
    lev = third_party_leverage(tie, affinity, dep, outside, 1, 2, threshold=0.2)
    np.testing.assert_array_equal(lev, full[1, :, 2] + full[2, :, 1])


def test_the_array_collector_records_what_a_plain_datacollector_records() -> None:
    """model.datacollector (one array) gives the table of mesa.DataCollector with one reporter per column."""
    world, mechanisms, schedule = prepare(compose(["scenario=outreach", "horizon.end=2019-10"]))
    model = AllianceModel(world, mechanisms, schedule, rng=np.random.default_rng(5))
    plain = mesa.DataCollector(model_reporters=model.datacollector.model_reporters)
    for _ in schedule.dates:
        model.step()
        plain.collect(model)
        assert model.metrics == step_metrics(
            codes=world.codes, entente=world.roles.entente, outreach_actor=world.roles.outreach_actor,
            outreach_targets=world.roles.outreach_targets, commit=model.commit, tie=model.tie,
            affinity=model.affinity, dep=model.dependence, outside=model.outside_share, budget=model.budget,
            hostility_threshold=mechanisms.conditionality.hostility_threshold,
            **{k: model.month.metric_inputs()[k] for k in ("demand", "refused", "verbal", "material")})
    pd.testing.assert_frame_equal(model.datacollector.get_model_vars_dataframe(), plain.get_model_vars_dataframe())
    assert model.datacollector.model_vars == plain.model_vars


def test_run_cell_table_is_the_collectors_tables_stacked() -> None:
    cfg = compose(["scenario=outreach", "replications=2", "horizon.end=2019-06"])
    result = run_cell(Cell("s", cfg))
    world, mechanisms, schedule = prepare(cfg)
    seeds = np.random.SeedSequence(int(cfg.seed)).spawn(2)
    frames = []
    for r, seed in enumerate(seeds):
        df = run_replication(world, mechanisms, schedule, seed).datacollector.get_model_vars_dataframe()
        df.insert(0, "replication", r)
        # the counterfactual: the same replication without the targets' demands
        twin = run_replication(world, without_demands(mechanisms), schedule, seed).datacollector
        df["entente_without_demands"] = twin.get_model_vars_dataframe()["entente_strength"].to_numpy()
        df["realized_leverage"] = df["entente_without_demands"] - df["entente_strength"]
        frames.append(df)
    expected = pd.concat(frames, ignore_index=True)
    expected.insert(0, "scenario", "s")
    expected["date"] = pd.to_datetime(expected["date"] + "-01")
    pd.testing.assert_frame_equal(result.table, expected)


@pytest.mark.parametrize("chunk", [1, 5, None], ids=["month_by_month", "five_months", "whole_run"])
def test_deferred_metrics_equal_the_months_measured_one_by_one(monkeypatch: pytest.MonkeyPatch,
                                                              chunk: int | None) -> None:
    """Measured in stacks of 1, 5 or all 12 months, and read part-way, the record is each month's metrics."""
    world, mechanisms, schedule = prepare(compose(["scenario=outreach", "horizon.end=2019-10"]))
    if chunk is not None:  # bytes for `chunk` months of the 2018 world's metric inputs
        n = world.n
        k = len(world.roles.outreach_targets)  # the demand game's four arrays per target
        monkeypatch.setattr(recording, "DEFERRED_BYTES", chunk * 8 * (4 * n * n + 2 * n + 4 * k))
    model = AllianceModel(world, mechanisms, schedule, rng=np.random.default_rng(3))
    expected = []
    for month in range(len(schedule.dates)):
        model.step()
        expected.append(model.metric_row)  # this month alone, measured now
        if month == 6:  # reading part-way measures what waits and leaves the rest to come
            np.testing.assert_array_equal(model.datacollector.array(), np.array(expected))
    assert model.datacollector._pending.chunk == (chunk or len(schedule.dates))
    np.testing.assert_array_equal(model.datacollector.array(), np.array(expected))
    assert np.isfinite(model.datacollector.array()).all()
