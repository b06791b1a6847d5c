"""The model's defaults are the calibration's (sim.calibrated): the record, the schema and the priors agree."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sim.calibrate import weighted_summary
from sim.calibrated import BEFORE, FITTED, PREFIX, RECORD, pre_calibration_overrides, rounded
from sim.config import numeric_parameters, parameter_specs, weight_prior


@pytest.fixture(scope="module")
def record() -> dict:
    return json.loads((RECORD / "calibration.json").read_text())


def test_the_fitted_defaults_are_the_recorded_posterior_medians(record: dict) -> None:
    posterior = pd.read_parquet(RECORD / "posterior.parquet")
    assert sorted(record["parameters"]) == sorted(PREFIX + k for k in FITTED)
    weights = posterior["weight"].to_numpy()
    for key, value in FITTED.items():
        median = weighted_summary(posterior[PREFIX + key].to_numpy(), weights)["q50"]
        assert median == pytest.approx(record["posterior"][PREFIX + key]["q50"], rel=1e-12)
        assert value == rounded(median), key  # three significant digits of the recorded median


def test_the_schema_defaults_are_the_fitted_values_and_the_priors_stay_where_they_were(record: dict) -> None:
    defaults, specs = numeric_parameters(), parameter_specs()
    for key, value in FITTED.items():
        assert defaults[PREFIX + key] == value
        prior = specs[PREFIX + key].prior
        # the prior the calibration sampled, recorded in its calibration.json, not re-centred on the fit
        assert [prior.shape, prior.low, prior.high] == [record["priors"][PREFIX + key][k]
                                                       for k in ("shape", "low", "high")], key
        assert prior.contains(value) and prior.contains(BEFORE[key])
    # the weights' priors are the factor-4 rule around the old default, not around the fitted one
    rationality = specs[PREFIX + "allocation.rationality"].prior
    assert (rationality.low, rationality.high) == (weight_prior(4.0).low, weight_prior(4.0).high) == (1.0, 16.0)


def test_the_overrides_of_before_name_every_fitted_parameter_once() -> None:
    overrides = pre_calibration_overrides()
    assert len(overrides) == len(FITTED) == len({o.split("=")[0] for o in overrides})
    assert "model.mechanisms.allocation.rationality=4.0" in overrides


def test_rounding_keeps_three_significant_digits() -> None:
    assert rounded(1.3177794) == 1.32 and rounded(0.037799) == 0.0378 and rounded(6.3162) == 6.32
    assert np.isclose(rounded(0.10500939), 0.105)


def test_the_structures_preset_sets_the_third_party_cost_at_its_default() -> None:
    # experiment=structures compares the cost off with the cost at its default; the grid writes the
    # default out, so a recalibration that moves it must move the grid too
    from omegaconf import OmegaConf

    preset = OmegaConf.load(RECORD.parents[2] / "configs" / "experiment" / "structures.yaml")
    levels = [float(v) for v in str(preset.experiment.grid["model.mechanisms.value.third_party_weight"]).split(",")]
    assert levels == [0.0, FITTED["value.third_party_weight"]]
