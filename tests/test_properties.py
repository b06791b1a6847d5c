"""Property tests (Hypothesis): parameter sets drawn across every mechanism parameter's declared range.

Each Hypothesis example draws a stack: one set of switches (``enabled``, shared by a stack), S
parameter sets with every numeric parameter under ``model.mechanisms.*`` drawn from its declared
:class:`sim.config.ParamSpec` range (ends included or excluded as declared), S lever levels, S
seeds, and a world: a synthetic one of 6-60 states (with drawn driver starts and sanctions
participants) or the 2018 world under a scenario with dated events (``history``:
sanctions participation and joins, diversion, tie formation, group and salience events).

The stack runs in the engine the sweeps use (:func:`sim.batch.run_batch`) and, for one slice,
in the Mesa model, both with a :class:`sim.step.Month` that checks after calibration and after
every month of every slice that

- every state array is finite (no NaN, no inf): commitments, ties, affinities, budgets,
  values, dependence, outside shares, shocks;
- commitments are >= 0 and none to oneself, and a state's commitments sum to at most this
  month's budget (up to rounding: ``BUDGET_RTOL``), which is >= 0;
- ties are >= 0 and symmetric; affinities lie in [-1, 1];
- dependence and outside shares lie in [0, 1] and sum to at most 1 per state;

and on what the run returns: the pair table (``BatchResult.pairs``) and the metrics obey the
same bounds and are finite. Slices are then run alone (a stack of one, and one of them in the
Mesa model): each equals its slice of the stack, bit for bit.

Size (measured with ``benchmarks/property_draws.py``, which counts what these two tests run): 200
examples x 20 slices on synthetic worlds (6-60 states, 12-24 months) + 5 examples x 20 slices for
each of the six scenarios with events on the 2018 world (86 months) = 4,600 runs of 1,160 distinct
parameter sets (1,080 of them on synthetic worlds): Hypothesis' mutation phase reruns an example's
sets with another world, horizon or seed, and derandomized draws are the same for each scenario
(the seed comes from the test function). 209 s for both in one process on 2 shared cores at load
about 6 (147 s the synthetic worlds). ``derandomize=True``: the same examples every run (CI is
deterministic); the first example of each test is Hypothesis' simplest (the lowest allowed values, the smallest world),
the others are drawn. The slices per example shrink as parameters are added (``STACK``).
"""

from __future__ import annotations

import functools
import math
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import DictConfig, OmegaConf

from sim import batch as batch_module
from sim import model as model_module
from sim.api import compose
from sim.batch import BatchResult, run_batch
from sim.config import ConfigError, MechanismsConfig, ParamSpec, numeric_parameters, parameter_specs, validate
from sim.events import Schedule, build_schedule, month_range
from sim.experiment import prepare, replication_seeds, run_replication
from sim.levers import LEVERS, SANCTIONS
from sim.step import Month
from sim.world import World, synthetic_world

PREFIX = "model.mechanisms."
SPECS: dict[str, ParamSpec] = {k: s for k, s in parameter_specs().items() if k.startswith(PREFIX)}
DEFAULTS: dict[str, float] = numeric_parameters()
GROUPS: dict[str, type] = typing.get_type_hints(MechanismsConfig)
# Rounding allowed when a state's commitments are compared with its budget (a relative margin of
# ~4,500 ulp: a row rescaled to its budget sums to it within N ulp).
BUDGET_RTOL = 1e-12

# Hypothesis caps what one example draws at 8 KiB, 9 bytes a float: a parameter set and its lever
# levels take 30 floats (27 parameters, 3 levers), and examples of 25 such sets (6,750 bytes)
# were all too large to finish (24 x 27 floats, 6,075 bytes, were fine). The stack is sized to
# keep a set's floats within 6,000 bytes, so that a new parameter shrinks it instead of failing.
FLOATS_PER_SET = len(SPECS) + len(LEVERS)
STACK = 6_000 // (9 * FLOATS_PER_SET)  # 20 sets with 33 floats each
SYNTHETIC_EXAMPLES, SYNTHETIC_STACK = 200, STACK
WORLD_2018_EXAMPLES, WORLD_2018_STACK = 5, STACK  # examples per scenario
WORLD_2018_SCENARIOS = ("history", "western_sanctions_2022", "sunni_outreach", "us_sanctions", "gulf_iran_detente",
                        "fall_of_assad")
START = "2018-11"
SETTINGS = dict(deadline=None, derandomize=True, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.large_base_example])


# ------------------------------------------------------------------ drawing

def _value(key: str) -> st.SearchStrategy[float]:
    """A value of ``key`` anywhere in its declared range (every mechanism parameter's range is finite)."""
    spec = SPECS[key]
    return st.floats(spec.low, spec.high, exclude_min=spec.low_open, exclude_max=spec.high_open, allow_nan=False,
                     allow_infinity=False)


VALUES = st.fixed_dictionaries({key: _value(key) for key in SPECS})
SWITCHES = st.fixed_dictionaries({group: st.booleans() for group in GROUPS})
LEVELS = st.fixed_dictionaries({lever: st.floats(0.0, 1.0) for lever in LEVERS})


def mechanisms(values: dict[str, float], switches: dict[str, bool]) -> MechanismsConfig:
    """A MechanismsConfig from dotted-key values and one switch per group."""
    fields: dict[str, dict[str, Any]] = {group: {"enabled": on} for group, on in switches.items()}
    for key, v in values.items():
        group, name = key.removeprefix(PREFIX).split(".")
        fields[group][name] = v
    return MechanismsConfig(**{group: cls(**fields[group]) for group, cls in GROUPS.items()})


@st.composite
def stacks(draw: st.DrawFn, size: int) -> tuple[list[MechanismsConfig], list[DictConfig], int, int]:
    """``size`` parameter sets sharing their switches, one lever policy each, a root seed and a
    slice to compare alone."""
    switches = draw(SWITCHES)
    # unique: Hypothesis likes to repeat list elements, and every set should count
    values = draw(st.lists(VALUES, min_size=size, max_size=size, unique_by=lambda v: tuple(v.values())))
    sets = [mechanisms(v, switches) for v in values]
    policies = [OmegaConf.create(p) for p in draw(st.lists(LEVELS, min_size=size, max_size=size))]
    return sets, policies, draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, size - 1))


# ------------------------------------------------------------ the invariants

def _where(bad: np.ndarray) -> str:
    """The first bad entry: (slice, i, j) in a stack, (i, j) or (slice, i) as the array is shaped."""
    return str(tuple(int(i) for i in np.argwhere(bad)[0]))


def check_state(m: Month, when: str) -> None:
    """Every invariant of the month's state arrays, for every slice; an AssertionError names the
    month, the slice and the entry that breaks it."""
    arrays = {"commit": m.commit, "tie": m.tie, "affinity": m.affinity, "budget": m.budget, "value": m.value,
              "dependence": m.dependence, "outside_share": m.outside_share, "shock": m.shock}
    for name, x in arrays.items():
        bad = ~np.isfinite(x)
        assert not bad.any(), f"{when}: {name} not finite at {_where(bad)} of shape {x.shape}"
    checks = {
        "commitment < 0": m.commit < 0,
        "commitment to oneself": np.diagonal(m.commit, axis1=-2, axis2=-1) != 0,
        "budget < 0": m.budget < 0,
        "commitments above the budget": m.commit.sum(axis=-1) > m.budget * (1 + BUDGET_RTOL),
        "tie < 0": m.tie < 0,
        "tie not symmetric": m.tie != np.swapaxes(m.tie, -1, -2),
        "affinity outside [-1, 1]": np.abs(m.affinity) > 1,
        "dependence outside [0, 1]": (m.dependence < 0) | (m.dependence > 1),
        "outside share outside [0, 1]": (m.outside_share < 0) | (m.outside_share > 1),
        "dependence and outside share sum above 1": m.dependence.sum(axis=-1) + m.outside_share > 1 + 1e-12,
    }
    for what, bad in checks.items():
        assert not bad.any(), f"{when}: {what} at {_where(bad)}"


class CheckedMonth(Month):
    """The month, checked after calibration and after every step (:func:`check_state`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.months_checked = 0
        check_state(self, "after calibration")

    def step(self, month: int) -> None:
        super().step(month)
        check_state(self, f"month {month} ({self.schedule.dates[month]})")
        self.months_checked += 1


@contextmanager
def checked_months() -> Iterator[list[CheckedMonth]]:
    """Both engines step a CheckedMonth; yields every month object made, to count what was checked."""
    made: list[CheckedMonth] = []

    class Recorded(CheckedMonth):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    with mock.patch.object(batch_module, "Month", Recorded), mock.patch.object(model_module, "Month", Recorded):
        yield made


def check_result(result: BatchResult, months: int) -> None:
    """The pair table and the metrics of a run: finite, ties and commitments >= 0, affinities in [-1, 1]."""
    pairs = result.pairs
    assert pairs is not None and pairs.shape[1] == months + 1
    for name, x in (("pairs", pairs), ("metrics", result.metrics), ("tie", result.tie),
                    ("affinity", result.affinity)):
        bad = ~np.isfinite(x)
        assert not bad.any(), f"{name} not finite at {np.argwhere(bad)[0].tolist()}"
    tie, ab, ba, affinity = (pairs[:, :, k] for k in range(4))
    assert (tie >= 0).all() and (ab >= 0).all() and (ba >= 0).all()
    assert (np.abs(affinity) <= 1).all()


# --------------------------------------------------------------- the stack vs single runs

def run_and_check(world: World, sets: list[MechanismsConfig], schedules: list[Schedule],
                  alone: list[Schedule], seed: int, pick: int) -> None:
    """Run the stack under checked months; then slices 0, ``pick`` and the last alone (a stack of
    one) and ``pick`` in the Mesa model: equal to their slice of the stack, bit for bit."""
    seeds = replication_seeds(seed, len(sets))
    months = len(schedules[0].dates)
    with checked_months() as made:
        stacked = run_batch(world, sets, schedules, seeds, pairs=True)
        check_result(stacked, months)
        assert made[0].months_checked == months
        for s in sorted({0, pick, len(sets) - 1}):
            one = run_batch(world, sets[s], alone[s], [seeds[s]], pairs=True)
            np.testing.assert_array_equal(stacked.metrics[s], one.metrics[0], err_msg=f"slice {s}: metrics")
            np.testing.assert_array_equal(stacked.pairs[s], one.pairs[0], err_msg=f"slice {s}: pairs")
            np.testing.assert_array_equal(stacked.tie[s], one.tie[0], err_msg=f"slice {s}: ties")
            np.testing.assert_array_equal(stacked.affinity[s], one.affinity[0], err_msg=f"slice {s}: affinities")
        model = run_replication(world, sets[pick], alone[pick], seeds[pick])
        assert made[-1].months_checked == months  # the Mesa model's month was checked too
    np.testing.assert_array_equal(stacked.metrics[pick], model.datacollector.array(), err_msg=f"Mesa, slice {pick}")
    np.testing.assert_array_equal(stacked.tie[pick], model.tie)
    np.testing.assert_array_equal(stacked.affinity[pick], model.affinity)


# ------------------------------------------------------------------ the tests

def test_every_mechanism_parameter_declares_a_range_that_holds_its_default() -> None:
    """What the draws rely on: every numeric parameter under model.mechanisms has a finite declared
    range containing its default."""
    assert set(SPECS) == set(DEFAULTS) and SPECS
    for key, spec in SPECS.items():
        assert spec.contains(DEFAULTS[key]), key
        assert math.isfinite(spec.high), key


@st.composite
def synthetic_cases(draw: st.DrawFn) -> dict[str, Any]:
    """A synthetic world of 6-60 states, a horizon of 12-24 months, driver starts (before, inside
    or after the horizon), sanctions participants, and a stack of parameter sets."""
    n = draw(st.integers(6, 60))
    months = draw(st.integers(12, 24))
    dates = month_range(START, "2030-12")[:months]

    def start(k: int) -> str:
        return "2018-01" if k < 0 else "2030-12" if k >= months else dates[k]

    drivers = {lever: start(draw(st.integers(-1, months))) for lever in LEVERS}
    participants = {lever: [f"S{i:0{len(str(n - 1))}d}" for i in draw(st.sets(st.integers(0, n - 1), max_size=4))]
                    for lever in SANCTIONS}
    return {"n": n, "world_seed": draw(st.integers(0, 2**16)), "dates": dates, "drivers": drivers,
            "participants": participants, "stack": draw(stacks(SYNTHETIC_STACK))}


@settings(max_examples=SYNTHETIC_EXAMPLES, **SETTINGS)
@given(case=synthetic_cases())
def test_drawn_parameter_sets_on_synthetic_worlds_keep_every_invariant(case: dict[str, Any]) -> None:
    """``STACK`` parameter sets per example on a synthetic world of 6-60 states, every lever drawn in
    [0, 1] per slice: every invariant holds every month, and slices run alone equal the stack."""
    world = synthetic_world(case["n"], seed=case["world_seed"])
    scenario = OmegaConf.create({"name": "drawn", "events": [], "drivers": case["drivers"],
                                 "participants": case["participants"]})
    horizon = OmegaConf.create({"start": case["dates"][0], "end": case["dates"][-1]})
    sets, policies, seed, pick = case["stack"]
    schedules = [build_schedule(scenario, p, horizon, world, keep_unscaled=True) for p in policies]
    alone = [build_schedule(scenario, p, horizon, world) for p in policies]
    run_and_check(world, sets, schedules, alone, seed, pick)


@functools.cache
def _world_2018(scenario: str) -> tuple[World, DictConfig]:
    cfg = compose([f"scenario={scenario}"])
    validate(cfg)
    world, _, _ = prepare(cfg)
    return world, cfg


@pytest.mark.parametrize("scenario", WORLD_2018_SCENARIOS)
@settings(max_examples=WORLD_2018_EXAMPLES, **SETTINGS)
@given(stack=stacks(WORLD_2018_STACK))
def test_drawn_parameter_sets_on_the_2018_world_keep_every_invariant(
        scenario: str, stack: tuple[list[MechanismsConfig], list[DictConfig], int, int]) -> None:
    """``STACK`` parameter sets per example on the 2018 world over the whole horizon (2018-11 to 2025-12)
    of each scenario with dated events (``history``: sanctions participants and joins,
    diversion, formation, group and salience events), every lever drawn per slice: every
    invariant holds every month, and slices run alone equal the stack."""
    world, cfg = _world_2018(scenario)
    sets, policies, seed, pick = stack
    schedules = [build_schedule(cfg.scenario, p, cfg.horizon, world, keep_unscaled=True) for p in policies]
    alone = [build_schedule(cfg.scenario, p, cfg.horizon, world) for p in policies]
    assert schedules[0].events, "the scenario has dated events within the horizon"
    run_and_check(world, sets, schedules, alone, seed, pick)


def _draws(strategy: st.SearchStrategy[float], count: int) -> list[float]:
    seen: list[float] = []

    @settings(max_examples=count, derandomize=True, database=None)
    @given(strategy)
    def collect(x: float) -> None:
        seen.append(x)

    collect()
    return seen


def test_the_draws_reach_both_ends_of_every_range() -> None:
    """The strategy covers each declared range: a closed end is drawn exactly, an open one approached.
    1,000 draws a key: which values Hypothesis tries first depends on the modules loaded before (it
    mines their constants), and after other tests 200 draws missed both ends of max_growth (CI)."""
    for key, spec in SPECS.items():
        seen = _draws(_value(key), 1000)
        assert min(seen) == spec.low or (spec.low_open and min(seen) - spec.low < 1e-3), key
        assert max(seen) == spec.high or (spec.high_open and spec.high - max(seen) < 1e-3), key
        assert all(spec.contains(x) for x in seen), key


# Values that made commitments NaN when the ranges admitted them (found by these tests): each is now
# outside its declared range, so validation refuses it before anything runs.
KNOWN_BREAKS = {
    # calibrate_fixed_effect divides A0 by b0 * max_share, which underflows to 0: each of the 34
    # pairs without a 2018 commitment gave 0 / 0 = NaN in the fixed effect, then NaN commitments.
    "max_share_5e-324": ("model.mechanisms.allocation.max_share", 5e-324, "a number in [0.01, 1]"),
    # beta * V overflowed (V0 itself finite, ~1e308): the fixed effect logit(.) - beta V0 was -inf
    # off the diagonal, and the first month's beta V + B inf - inf = NaN in 60 of 156 pairs.
    "complementarity_weight_1.7e308": ("model.mechanisms.value.complementarity_weight", 1.7e308,
                                       "a number in [0, 100]"),
}


@pytest.mark.parametrize(("key", "value", "allowed"), KNOWN_BREAKS.values(), ids=KNOWN_BREAKS.keys())
def test_values_that_broke_the_run_are_refused_by_validation(key: str, value: float, allowed: str) -> None:
    """Minimal examples found by the property tests: validation refuses them, naming the key, the
    value and the declared range (with why it ends there)."""
    cfg = compose(["scenario=baseline", f"{key}={value!r}"])
    with pytest.raises(ConfigError) as e:
        validate(cfg, {"model": "model.yaml"})
    assert (e.value.file, e.value.key, e.value.value) == ("model.yaml", key, value)
    assert e.value.allowed.startswith(allowed) and "(" in e.value.allowed  # the range, then why it ends there
    assert str(e.value).startswith(f"model.yaml: {key} = {value!r} is not allowed; allowed: {allowed}")
