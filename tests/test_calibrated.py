"""The model's defaults are the calibration's (sim.calibrated): the record, the schema and the priors agree."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import DictConfig, OmegaConf

from sim.calibrate import weighted_summary
from sim.calibrated import (
    BEFORE,
    FITTED,
    PREFIX,
    RECORDS,
    RECORDS_WITHOUT_TRENDS,
    STEPS,
    WITHOUT_TRENDS,
    pre_calibration_overrides,
    rounded,
    without_trends_overrides,
)
from sim.config import numeric_parameters, parameter_specs, weight_prior

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def records() -> dict[str, dict]:
    return {step: json.loads((path / "calibration.json").read_text()) for step, path in RECORDS.items()}


@pytest.mark.parametrize("step", list(STEPS))
def test_the_fitted_defaults_are_the_recorded_posterior_medians(records: dict, step: str) -> None:
    record = records[step]
    posterior = pd.read_parquet(RECORDS[step] / "posterior.parquet")
    assert sorted(record["parameters"]) == sorted(PREFIX + k for k in STEPS[step])
    weights = posterior["weight"].to_numpy()
    for key, value in STEPS[step].items():
        median = weighted_summary(posterior[PREFIX + key].to_numpy(), weights)["q50"]
        assert median == pytest.approx(record["posterior"][PREFIX + key]["q50"], rel=1e-12)
        assert value == rounded(median), key  # three significant digits of the recorded median


def test_the_steps_fit_disjoint_parameters_and_the_second_screens_what_the_first_left(records: dict) -> None:
    first, second = (set(STEPS[s]) for s in ("first", "second"))
    assert not first & second
    # the second step's candidates are the first's less what the first fitted, in the preset's order
    candidates = [k for k in records["first"]["candidates"] if k.removeprefix(PREFIX) not in first]
    assert records["second"]["candidates"] == candidates
    preset = OmegaConf.load(ROOT / "configs" / "experiment" / "calibrate_second.yaml")
    assert list(preset.experiment.parameters) == candidates
    assert list(preset.experiment.calibration.always) == [] and records["second"]["worlds"] == 0
    # the same seed and settings as the first step, but what the preset changes
    same = {k: v for k, v in records["first"]["settings"].items() if k not in ("always", "worlds")}
    assert {k: records["second"]["settings"][k] for k in same} == same


def test_each_step_ran_at_the_defaults_of_its_time() -> None:
    """The first step with every parameter at its default of before; the second with the first step's
    medians and its own 8 at their defaults of before (the records' composed configs)."""
    configs = {step: OmegaConf.load(path / ".hydra" / "config.yaml") for step, path in RECORDS.items()}

    def value(config: DictConfig, key: str) -> float:
        return float(OmegaConf.select(config, PREFIX + key, throw_on_missing=True))

    for key in FITTED:
        assert value(configs["first"], key) == BEFORE[key], key
        expected = STEPS["first"][key] if key in STEPS["first"] else BEFORE[key]
        assert value(configs["second"], key) == expected, key


def test_the_second_preset_starts_the_recorded_run() -> None:
    """experiment=calibrate_second records the settings the second step's run started with (its
    calibration_started.json): a rerun of the preset is that run, not another."""
    from sim.api import compose
    from sim.calibrate import started_settings

    cfg = compose(["experiment=calibrate_second"])
    started = json.loads((RECORDS["second"] / "calibration_started.json").read_text())
    assert cfg.experiment.calibration.worlds == 0 and "worlds" not in started["calibration"]  # 0 is not recorded
    assert started["calibration"] == started_settings(cfg.experiment.calibration) and started["seed"] == cfg.seed
    assert started["parameters"] == list(cfg.experiment.parameters) and started["levels"] == cfg.experiment.levels


def test_the_schema_defaults_are_the_fitted_values_and_the_priors_stay_where_they_were(records: dict) -> None:
    defaults, specs = numeric_parameters(), parameter_specs()
    for step, fitted in STEPS.items():
        for key, value in fitted.items():
            assert defaults[PREFIX + key] == value
            prior = specs[PREFIX + key].prior
            # the prior the calibration sampled, recorded in its calibration.json, not re-centred on the fit
            assert [prior.shape, prior.low, prior.high] == [records[step]["priors"][PREFIX + key][k]
                                                           for k in ("shape", "low", "high")], key
            assert prior.contains(value) and prior.contains(BEFORE[key])
            if prior.shape == "loguniform":  # a weight's prior: the factor-4 rule around the default of before
                assert (prior.low, prior.high) == pytest.approx((BEFORE[key] / 4, BEFORE[key] * 4)), key
    # the weights' priors are the factor-4 rule around the old default, not around the fitted one
    rationality = specs[PREFIX + "allocation.rationality"].prior
    assert (rationality.low, rationality.high) == (weight_prior(4.0).low, weight_prior(4.0).high) == (1.0, 16.0)


def test_the_overrides_of_before_name_every_fitted_parameter_once() -> None:
    overrides = pre_calibration_overrides()
    assert len(overrides) == len(FITTED) == len({o.split("=")[0] for o in overrides})
    assert "model.mechanisms.allocation.rationality=4.0" in overrides
    assert pre_calibration_overrides("second") == [o for o in overrides if o.split("=")[0].removeprefix(PREFIX)
                                                   in STEPS["second"]]
    assert "model.mechanisms.allocation.inertia=0.85" in pre_calibration_overrides("second")


def test_rounding_keeps_three_significant_digits() -> None:
    assert rounded(1.3177794) == 1.32 and rounded(0.037799) == 0.0378 and rounded(6.3162) == 6.32
    assert np.isclose(rounded(0.10500939), 0.105)


def test_the_structures_preset_sets_the_third_party_cost_at_its_default() -> None:
    # experiment=structures compares the cost off with the cost at its default; the grid writes the
    # default out, so a recalibration that moves it must move the grid too
    preset = OmegaConf.load(ROOT / "configs" / "experiment" / "structures.yaml")
    levels = [float(v) for v in str(preset.experiment.grid["model.mechanisms.value.third_party_weight"]).split(",")]
    assert levels == [0.0, FITTED["value.third_party_weight"]]


def test_the_defaults_come_from_the_replay_with_the_capability_trends_and_the_fit_without_them_is_kept() -> None:
    """The records of the defaults ran the history scenario with the capability trends (its world holds them
    and the scenario starts them); the two steps of before the trends are kept, as their own runs (the same
    10 parameters in the first step; the second's screen kept the conditionality weight where today's keeps
    the balance rate; the same starting defaults), and WITHOUT_TRENDS are their medians."""
    assert set(WITHOUT_TRENDS["first"]) == set(STEPS["first"])
    assert set(WITHOUT_TRENDS["second"]) ^ set(STEPS["second"]) == {"conditionality.weight", "affinity.balance_rate"}
    for step in STEPS:
        config = OmegaConf.load(RECORDS[step] / ".hydra" / "config.yaml")
        assert config.experiment.calibration.history == "history"
        assert config.world.states.CHN.capability_trend == pytest.approx(0.0281)
        old = RECORDS_WITHOUT_TRENDS[step]
        assert "capability_trend" not in OmegaConf.load(old / ".hydra" / "config.yaml").world.states.CHN
        record = json.loads((old / "calibration.json").read_text())
        assert set(WITHOUT_TRENDS[step]) == {k.removeprefix(PREFIX) for k in record["posterior"]}
        for key, value in WITHOUT_TRENDS[step].items():
            assert value == rounded(record["posterior"][PREFIX + key]["q50"]), key
    # each ran at the defaults of its time, as the records of today's defaults did
    old = {step: OmegaConf.load(path / ".hydra" / "config.yaml") for step, path in RECORDS_WITHOUT_TRENDS.items()}
    for key in FITTED:
        assert float(OmegaConf.select(old["first"], PREFIX + key, throw_on_missing=True)) == BEFORE[key], key
        expected = WITHOUT_TRENDS["first"].get(key, BEFORE[key])
        assert float(OmegaConf.select(old["second"], PREFIX + key, throw_on_missing=True)) == expected, key
    assert OmegaConf.load(ROOT / "configs" / "scenario" / "history.yaml").scenario.capability_trends == "2018-11"
    # every parameter either fit fitted, the one the old fit left at its default of before among them
    assert len(without_trends_overrides()) == len(FITTED) + 1
    assert f"{PREFIX}affinity.balance_rate={BEFORE['affinity.balance_rate']}" in without_trends_overrides()
    assert "model.mechanisms.allocation.rationality=1.32" in without_trends_overrides()


def test_the_defaults_records_sampled_the_probit_space_and_the_logit_records_are_kept() -> None:
    """Today's records sampled the probit of each prior quantile (experiment=calibrate's space); the two
    steps run earlier the same day in the logit space, from the same seed and defaults, are kept beside
    them (docs/CALIBRATION.md, "The probit space"): the same first step's 10 parameters, and in the second
    step the thin weights that led to the change (at least one generation under 50 effective particles)."""
    for step, path in RECORDS.items():
        assert json.loads((path / "calibration_started.json").read_text())["calibration"]["space"] == "probit"
        logit = ROOT / "data" / "calibration" / f"trend_{step}_2018_2024"
        assert "space" not in json.loads((logit / "calibration_started.json").read_text())["calibration"]
    fitted = {step: set(json.loads((ROOT / "data" / "calibration" / f"trend_{step}_2018_2024" / "calibration.json")
                                   .read_text())["posterior"]) for step in STEPS}
    assert fitted["first"] == {PREFIX + k for k in STEPS["first"]}
    assert fitted["second"] ^ {PREFIX + k for k in STEPS["second"]} == {
        PREFIX + "conditionality.weight", PREFIX + "affinity.balance_rate"}
    generations = pd.read_csv(ROOT / "data" / "calibration" / "trend_second_2018_2024" / "generations.csv")
    assert generations["effective_sample_size"].min() < 50
    assert pd.read_csv(RECORDS["second"] / "generations.csv")["effective_sample_size"].min() > 100


def test_a_parameter_no_step_fits_keeps_its_default_of_before() -> None:
    """BEFORE names every parameter a step ever fitted; the one today's steps leave (the conditionality
    weight, fitted in the logit space) is back at its default of before in the schema, and default()
    gives the fitted median or that default."""
    from sim.calibrated import default

    defaults = numeric_parameters()
    unfitted = [key for key in BEFORE if key not in FITTED]
    assert unfitted == ["conditionality.weight"]
    for key in BEFORE:
        assert defaults[PREFIX + key] == default(key) == FITTED.get(key, BEFORE[key])
    assert defaults[PREFIX + "conditionality.weight"] == 0.5
