"""Priors (sim.config.Prior, sim.priors): every mechanism parameter has one inside its range; the
world's numbers and the events' magnitudes get theirs by the documented rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.api import checked, compose, scenario_files
from sim.config import Prior, numeric_parameters, parameter_spec
from sim.priors import COMPUTED_BAND, RECALLED_BAND, event_priors, mechanism_priors, world_priors


def test_every_mechanism_parameter_has_a_prior_with_reasons_inside_its_range_around_its_default():
    priors = mechanism_priors()
    assert set(priors) == set(numeric_parameters())
    for key, default in numeric_parameters().items():
        prior, spec = priors[key], parameter_spec(key)
        assert prior.contains(default), key
        assert spec.contains(prior.low) and spec.contains(prior.high), key
        assert len(prior.why) > 20, key


def test_draws_from_every_prior_lie_in_the_prior_and_the_declared_range():
    rng = np.random.default_rng(0)
    for key, prior in mechanism_priors().items():
        draws = prior.sample(rng, 500)
        assert draws.shape == (500,)
        assert (draws >= prior.low).all() and (draws <= prior.high).all(), key
        assert all(parameter_spec(key).contains(float(x)) for x in draws[:50]), key


def test_a_loguniform_prior_is_uniform_in_the_logarithm():
    prior = Prior("loguniform", 0.25, 4.0, "test")
    draws = prior.sample(np.random.default_rng(1), 20000)
    assert abs(np.median(draws) - 1.0) < 0.05  # the geometric mean of the ends
    assert abs(draws.mean() - prior.mean()) < 0.03 * prior.mean()
    assert prior.mean() == pytest.approx(3.75 / math.log(16))


@pytest.mark.parametrize(("args", "words"), [
    (("uniform", 2.0, 1.0, "x"), "low <= high"),
    (("loguniform", 0.0, 1.0, "x"), "low > 0"),
    (("fixed", 0.0, 1.0, "x"), "one point"),
    (("normal", 0.0, 1.0, "x"), "not one of"),
])
def test_a_bad_prior_is_refused(args, words):
    with pytest.raises(ValueError, match=words):
        Prior(*args)


def test_the_counterfactual_scale_is_fixed_and_the_rivals_start_at_zero():
    priors = mechanism_priors()
    assert priors["model.mechanisms.demands.scale"].fixed
    for rival in ("abandonment", "brokerage", "shared_threat"):
        assert priors[f"model.mechanisms.{rival}.weight"].low == 0.0


@pytest.fixture(scope="module")
def history():
    return checked(compose(["scenario=history"]), scenario_files("history"))


def test_world_numbers_get_narrow_priors_when_computed_and_wide_ones_when_recalled(history):
    table = world_priors(history.world)
    assert table["value"].between(table["low"], table["high"]).all()
    assert (table["low"] < table["high"]).all()
    computed = table[table["rule"] == "computed"]
    # CINC capability and budget of 12 states, the UNGA position of 12 (the LNA's capability is recalled)
    assert len(computed) == 36
    assert "world.states.LNA.capability" not in set(computed["key"])
    rus = table.set_index("key").loc["world.states.RUS.capability"]
    assert rus["high"] - rus["low"] == pytest.approx(2 * COMPUTED_BAND * rus["value"])
    affinity = table.set_index("key").loc["world.affinities[0].value"]  # IRN-SYR 0.90: clipped at 1
    assert affinity["low"] == pytest.approx(0.9 * (1 - RECALLED_BAND)) and affinity["high"] == 1.0


def test_event_magnitudes_get_the_recalled_band_and_a_factor_its_band_around_its_change(history):
    table = event_priors(history.scenario)
    assert len(table) > 20
    assert table["value"].between(table["low"], table["high"]).all()
    factors = table[table["key"].str.endswith(("budget", "outside_option"))]
    assert len(factors)
    for row in factors.itertuples():  # the band is around the change f - 1, so a factor of 1 would stay 1
        half = max(RECALLED_BAND * abs(row.value - 1), 0.02)
        assert row.high == pytest.approx(row.value + half)
        assert row.low == pytest.approx(max(0.0, row.value - half))
