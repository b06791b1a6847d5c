"""Priors of your own (``experiment.priors``): checked once, used by the calibration and the prior design."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from sim.api import build_pair, run_calibration
from sim.config import ConfigError, PriorSetting, parameter_spec, prior_settings
from sim.priors import mechanism_priors
from sim.sweep import plan

PREMIUM, SIGMA = "model.mechanisms.outreach.premium", "model.mechanisms.noise.sigma"
RATIONALITY = "model.mechanisms.allocation.rationality"


def _settings(*entries: dict) -> object:
    return OmegaConf.structured({"priors": [PriorSetting(**e) for e in entries]}).priors


def test_a_prior_of_your_own_replaces_the_schema_s_for_that_parameter_only() -> None:
    own = prior_settings(_settings({"parameter": PREMIUM, "shape": "uniform", "low": 0.1, "high": 0.2}), "x.yaml")
    assert list(own) == [PREMIUM] and (own[PREMIUM].low, own[PREMIUM].high) == (0.1, 0.2)
    priors = mechanism_priors(own)
    assert priors[PREMIUM] is own[PREMIUM]
    assert priors[SIGMA] is parameter_spec(SIGMA).prior
    assert mechanism_priors()[PREMIUM] is parameter_spec(PREMIUM).prior


@pytest.mark.parametrize(("entry", "key", "words"), [
    ({"parameter": "model.mechanisms.value.nope", "low": 0, "high": 1}, "experiment.priors[0].parameter",
     "one of model.mechanisms"),
    ({"parameter": PREMIUM, "shape": "normal", "low": 0.1, "high": 1}, "experiment.priors[0].shape",
     "uniform, loguniform, fixed"),
    ({"parameter": PREMIUM, "low": 0.8, "high": 0.2}, "experiment.priors[0].low", "below high (0.2)"),
    ({"parameter": PREMIUM, "shape": "loguniform", "low": 0.0, "high": 1.0}, "experiment.priors[0].low",
     "above 0"),
    ({"parameter": PREMIUM, "shape": "fixed", "low": 0.1, "high": 0.2}, "experiment.priors[0].low",
     "equal to high"),
    ({"parameter": RATIONALITY, "low": -1.0, "high": 4.0}, "experiment.priors[0].low", "range"),
    ({"parameter": "model.mechanisms.allocation.max_share", "low": 0.5, "high": 1.5}, "experiment.priors[0].high",
     "range"),
])
def test_a_bad_prior_is_one_message_naming_the_file_and_the_entry(entry: dict, key: str, words: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(words)) as e:
        prior_settings(_settings({"shape": "uniform", **entry}), "experiment/calibrate.yaml")
    assert e.value.file == "experiment/calibrate.yaml" and e.value.key == key


def test_a_parameter_given_two_priors_is_refused() -> None:
    twice = {"parameter": PREMIUM, "shape": "uniform", "low": 0.1, "high": 0.2}
    with pytest.raises(ConfigError, match="not already given") as e:
        prior_settings(_settings(twice, twice), "x.yaml")
    assert e.value.key == "experiment.priors[1].parameter"


def test_the_prior_design_draws_from_your_prior(tmp_path: Path) -> None:
    prior = f"experiment.priors=[{{parameter:{PREMIUM},shape:uniform,low:0.1,high:0.2}}]"
    pair = build_pair(["experiment=discovery", "experiment.samples=10", f"experiment.parameters=[{PREMIUM},{SIGMA}]",
                       prior], "baseline", "sunni_outreach")
    p = plan(pair.control, pair.treatment, pair.control.config.experiment, treatment_only=pair.treatment_only)
    assert p.problem["priors"][0] == ["uniform", 0.1, 0.2]
    x = np.asarray(p.sample)
    assert ((x[:, 0] >= 0.1) & (x[:, 0] <= 0.2)).all()
    assert sorted(np.floor((x[:, 0] - 0.1) / 0.1 * 10).astype(int)) == list(range(10))  # still a Latin hypercube
    sigma = parameter_spec(SIGMA).prior
    assert p.problem["priors"][1] == [sigma.shape, sigma.low, sigma.high]


def test_sim_run_refuses_a_bad_prior_in_one_line_before_anything_runs(tmp_path: Path) -> None:
    out = tmp_path / "bad"
    prior = f"experiment.priors=[{{parameter:{PREMIUM},shape:uniform,low:0.8,high:0.2}}]"
    p = subprocess.run([sys.executable, "-m", "sim", "experiment=discovery", prior, f"hydra.run.dir={out}"],
                       cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "HYDRA_FULL_ERROR": "0"},
                       timeout=300)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "experiment.priors[0].low" in lines[0] and "below high" in lines[0], p.stderr
    assert not (out / "design.json").exists() and not (out / "cells").exists()


TINY = ["experiment=calibrate_small", "experiment.workers=1", f"experiment.parameters=[{PREMIUM},{SIGMA}]",
        "experiment.calibration.always=[]",
        "experiment.calibration.draws=3", "experiment.calibration.verdict_replications=5"]


def test_the_calibration_refuses_a_prior_outside_the_schema_range_before_anything(tmp_path: Path) -> None:
    out = tmp_path / "cal"
    bad = f"experiment.priors=[{{parameter:{RATIONALITY},shape:uniform,low:-1,high:4}}]"
    with pytest.raises(ConfigError, match="range") as e:
        run_calibration([*TINY, bad], out, say=lambda _: None)
    assert e.value.key == "experiment.priors[0].low"
    assert not out.exists() or not any(out.iterdir())


def test_the_calibration_samples_from_your_prior(tmp_path: Path) -> None:
    out = tmp_path / "cal"
    own = f"experiment.priors=[{{parameter:{PREMIUM},shape:uniform,low:0.1,high:0.12}}]"
    run_calibration([*TINY, own], out, say=lambda _: None)
    posterior = pd.read_parquet(out / "posterior.parquet")
    assert posterior[PREMIUM].between(0.1, 0.12).all() and posterior[PREMIUM].nunique() > 1
    sigma = parameter_spec(SIGMA).prior
    assert posterior[SIGMA].between(sigma.low, sigma.high).all()
    saved = json.loads((out / "calibration.json").read_text())["priors"]
    assert saved[PREMIUM] == {"shape": "uniform", "low": 0.1, "high": 0.12}
