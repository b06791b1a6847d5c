"""Priors (sim.config.Prior, sim.priors): every mechanism parameter has one inside its range; the
world's numbers and the events' magnitudes get theirs by the documented rule, and a draw from them
(sim.priors.draw_configs) lies in the bands, repeats with its seed and is a valid world."""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from sim.api import checked, compose, scenario_files
from sim.config import Prior, numeric_parameters, parameter_spec, validate
from sim.priors import (
    COMPUTED_BAND,
    RECALLED_BAND,
    TREND_BAND,
    draw_config,
    draw_configs,
    draw_values,
    event_priors,
    key_parts,
    mechanism_priors,
    set_values,
    world_priors,
)


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


def test_to_unit_is_the_prior_quantile_and_inverts_from_unit():
    log = Prior("loguniform", 1.0, 16.0, "test")
    flat = Prior("uniform", 0.05, 0.4, "test")
    assert log.to_unit(4.0) == pytest.approx(0.5) and flat.to_unit(0.225) == pytest.approx(0.5)
    for u in (0.0, 0.13, 0.9, 1.0):
        assert log.to_unit(float(log.from_unit(u))) == pytest.approx(u)
        assert flat.to_unit(float(flat.from_unit(u))) == pytest.approx(u)
    assert flat.to_unit(1.0) == 1.0  # outside the prior: its end


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
    # CINC capability, budget and capability trend of 12 states, the UNGA position of 12 (the LNA's
    # capability and trend are recalled)
    assert len(computed) == 48
    assert {"world.states.LNA.capability", "world.states.LNA.capability_trend"}.isdisjoint(computed["key"])
    rus = table.set_index("key").loc["world.states.RUS.capability"]
    assert rus["high"] - rus["low"] == pytest.approx(2 * COMPUTED_BAND * rus["value"])
    china = table.set_index("key").loc["world.states.CHN.capability_trend"]  # 0.0281 a year: an absolute band
    assert (china["low"], china["high"]) == pytest.approx((0.0281 - TREND_BAND, 0.0281 + TREND_BAND))
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


# ------------------------------------------------------------------ drawing from the world's priors


def test_a_draw_is_uniform_between_low_and_high_and_a_zero_width_band_gives_its_value():
    table = pd.DataFrame({"key": ["a", "b", "c"], "value": [0.5, 0.2, -0.3], "shape": "uniform",
                          "low": [0.5, 0.0, -0.5], "high": [0.5, 1.0, -0.1], "rule": "recalled"})
    u = np.random.default_rng(3).random(3)  # what draw_values draws, one per row in order
    drawn = draw_values(table, np.random.default_rng(3))
    assert drawn[0] == 0.5  # low == high: the value itself
    assert drawn[1] == pytest.approx(u[1]) and drawn[2] == pytest.approx(-0.5 + 0.4 * u[2])
    with pytest.raises(ValueError, match="uniform"):
        draw_values(table.assign(shape="loguniform"), np.random.default_rng(3))


def _numbers(cfg, table):
    return np.array([float(OmegaConf.select(cfg, k)) for k in table["key"]])


def test_every_drawn_number_lies_in_its_band_changes_with_the_seed_and_repeats_with_it(history):
    world, events = world_priors(history.world), event_priors(history.scenario)
    rows = pd.concat([world, events], ignore_index=True)
    before = _numbers(history, rows)
    drawn = draw_config(history, np.random.default_rng(5))
    values = _numbers(drawn, rows)
    assert ((values >= rows["low"]) & (values <= rows["high"])).all()
    assert (values != rows["value"]).mean() > 0.99  # every band has width: each number moves
    # a number computed from data keeps its narrow band: within 2% (a UNGA position within 0.02, a
    # capability trend within TREND_BAND)
    computed = (rows["rule"] == "computed").to_numpy()
    position = rows["key"].str.contains("positions").to_numpy()
    trend = rows["key"].str.endswith("capability_trend").to_numpy()
    half = np.where(position, COMPUTED_BAND, np.where(trend, TREND_BAND, COMPUTED_BAND * np.abs(rows["value"])))
    assert (np.abs(values - rows["value"])[computed] <= half[computed] * (1 + 1e-12)).all()
    assert computed.sum() == 48 and (np.abs(values - rows["value"])[computed] > 0).all()
    assert (_numbers(history, rows) == before).all()  # the config drawn from is left as it was
    again = _numbers(draw_config(history, np.random.default_rng(5)), rows)
    other = _numbers(draw_config(history, np.random.default_rng(6)), rows)
    assert (again == values).all() and (other != values).mean() > 0.99
    # what is not a number of the prior table stays as written
    assert drawn.world.states.RUS.industry == history.world.states.RUS.industry
    assert [e.date for e in drawn.scenario.events] == [e.date for e in history.scenario.events]


def test_a_drawn_world_passes_validation_and_prepares_into_the_drawn_numbers(history):
    from sim.experiment import prepare

    drawn = draw_config(history, np.random.default_rng(8))
    validate(drawn)
    world, _, schedule = prepare(drawn)
    rus, sau = world.index("RUS"), world.index("SAU")
    assert world.capability[rus] == drawn.world.states.RUS.capability != history.world.states.RUS.capability
    n = next(i for i, p in enumerate(drawn.world.affinities) if set(p.states) == {"RUS", "SAU"})
    assert world.affinity[rus, sau] == world.affinity[sau, rus] == drawn.world.affinities[n].value
    first = next(iter(e for step in sorted(schedule.events) for e in schedule.events[step]
                      if e.name == drawn.scenario.events[0].name))
    assert first.complementarity == pytest.approx(drawn.scenario.events[0].complementarity)


def test_configs_of_one_draw_share_the_world_and_every_event_they_share():
    from sim.api import build_pair

    pair = build_pair([], "baseline", "sunni_outreach")
    history = checked(compose(["scenario=history"]), scenario_files("history"))  # includes sunni_outreach
    h, c, t = draw_configs([history, pair.control.config, pair.treatment.config], np.random.default_rng(2))
    world = world_priors(history.world)
    assert (_numbers(h, world) == _numbers(c, world)).all() and (_numbers(h, world) == _numbers(t, world)).all()
    shared = 0
    for n, e in enumerate(t.scenario.events):
        same = [m for m, f in enumerate(h.scenario.events) if (f.date, f.name, list(f.states)) ==
                (e.date, e.name, list(e.states))]
        for m in same:
            shared += 1
            for f in ("complementarity", "returns"):
                assert h.scenario.events[m][f] == e[f], (n, f)
    assert shared == len(t.scenario.events) == 7
    other = draw_configs([history, pair.control.config, pair.treatment.config], np.random.default_rng(3))[2]
    assert other.scenario.events[0].complementarity != t.scenario.events[0].complementarity
    with pytest.raises(ValueError, match="same world"):
        draw_configs([history, compose(["world=synthetic", "scenario=baseline"])], np.random.default_rng(2))


def test_a_draw_the_validation_refuses_is_drawn_again_not_clipped(history):
    # RUS's commitments raised to sum to 1 exactly (valid): about half of the draws over-commit its budget
    cfg = copy.deepcopy(history)
    rus = [n for n, t in enumerate(cfg.world.commitments) if t.origin == "RUS"]
    total = sum(cfg.world.commitments[n].commitment for n in rus)
    for n in rus:
        cfg.world.commitments[n].commitment = cfg.world.commitments[n].commitment / total
    validate(cfg)
    world, events = world_priors(cfg.world), event_priors(cfg.scenario)
    distinct = len({(e.date, e.name, tuple(e.states), k.split(".", 2)[2]) for k in events["key"]
                    for e in [cfg.scenario.events[int(k.split("[")[1].split("]")[0])]]})
    keys = [f"world.commitments[{n}].commitment" for n in rus]
    redrawn = 0
    for seed in range(6):
        rng = np.random.default_rng(seed)
        first = dict(zip(world["key"], draw_values(world, rng), strict=True))
        rng.random(distinct)  # the first draw's event quantiles
        second = dict(zip(world["key"], draw_values(world, rng), strict=True))
        drawn = draw_config(cfg, np.random.default_rng(seed))
        got = [drawn.world.commitments[n].commitment for n in rus]
        assert sum(got) <= 1.0 + 1e-9
        if sum(first[k] for k in keys) > 1.0:  # refused: the next draw, as drawn (if it is valid)
            redrawn += 1
            if sum(second[k] for k in keys) <= 1.0:
                assert got == [second[k] for k in keys]
        else:
            assert got == [first[k] for k in keys]
    assert redrawn >= 1


def test_set_values_refuses_a_key_the_config_does_not_hold(history):
    with pytest.raises(KeyError, match=r"world\.states\.XYZ\.capability"):
        set_values(history, {"world.states.XYZ.capability": 0.1})
    with pytest.raises(KeyError, match=r"positions\[99\]"):
        set_values(history, {"world.states.RUS.positions[99]": 0.1})
    assert key_parts("scenario.events[2].positions.iran_influence") == ["scenario", "events", 2, "positions",
                                                                         "iran_influence"]
