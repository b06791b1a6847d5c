"""ABC calibration to history (sim.calibrate): the rule's signs without a table, bad inputs refused
before any simulation, a synthetic target recovered, the same posterior on one core and on two."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from calibration_support import quiet

from sim.api import run_calibration
from sim.calibrate import (
    OUTPUTS,
    SCREEN,
    SPACES,
    STARTED,
    Cells,
    abc_prior,
    check_parameters,
    prepare_target,
    sampling_prior,
    simulate_signs,
    values_of,
    with_values,
)
from sim.config import ConfigError, MechanismsConfig
from sim.experiment import Cell, run_cell
from sim.patterns import PatternError, cell_changes, default_patterns, load_patterns, model_signs
from sim.priors import mechanism_priors
from sim.screen import influential, screen

PREMIUM, SIGMA = "model.mechanisms.outreach.premium", "model.mechanisms.noise.sigma"
TINY = ["experiment=calibrate_small", "experiment.workers=1", f"experiment.parameters=[{PREMIUM},{SIGMA}]",
        "experiment.calibration.always=[]",
        "experiment.calibration.draws=3", "experiment.calibration.verdict_replications=5"]


def test_model_signs_are_the_pattern_scores_signs(cells):
    """The calibration's array path of the rule gives cell_changes' model_sign, cell by cell."""
    cfg = cells.history.copy()
    cfg.replications, cfg.horizon.end = 4, "2024-11"
    result = run_cell(Cell("history", cfg), pairs=True)
    world_codes = result.dyads[["a", "b"]].drop_duplicates()
    patterns = load_patterns(default_patterns(), pd.unique(pd.concat([world_codes["a"], world_codes["b"]])),
                             ("2018-11", "2024-11"))
    expected = cell_changes(result.dyads, patterns)["model_sign"].to_numpy()
    dyads = result.dyads.set_index(["replication", "date", "a", "b"])["tie"]
    before = np.array([[dyads[(r, str(pd.Period(s, "M") - 1), a, b)] for s, a, b in
                        zip(patterns["start"], patterns["a"], patterns["b"], strict=True)] for r in range(4)])
    end = np.array([[dyads[(r, e, a, b)] for e, a, b in zip(patterns["end"], patterns["a"], patterns["b"],
                                                            strict=True)] for r in range(4)])
    assert (model_signs(before, end) == expected).all()
    assert len(set(expected)) > 1  # the check is not of a constant


def test_a_stacked_candidate_gets_what_it_gets_alone(cells):
    target = prepare_target(cells, (PREMIUM,), "2024-11", default_patterns(), 3)
    params = [with_values(target.base, {PREMIUM: v}) for v in (0.05, 0.8)]
    seeds = [np.random.SeedSequence([7, k]).spawn(3) for k in range(2)]
    together = simulate_signs(target, params, seeds)
    for k in range(2):
        alone = simulate_signs(target, params[k:k + 1], seeds[k:k + 1])
        assert (alone[0][0] == together[0][k]).all() and (alone[1][0] == together[1][k]).all()
    assert (together[0][0] != together[0][1]).any()  # the premium matters to the signs


@pytest.mark.parametrize(("keys", "words"), [
    ([], "at least one parameter"),
    (["model.mechanisms.value.no_such_weight"], "one of model.mechanisms.value.complementarity_weight"),
    ([PREMIUM, PREMIUM], "not already listed"),
    (["model.mechanisms.demands.scale"], "a parameter with a prior to sample"),
    (["model.mechanisms.abandonment.weight"], "switched on"),
])
def test_a_bad_parameter_list_is_one_clear_error(keys, words):
    with pytest.raises(ConfigError, match=words) as e:
        check_parameters(keys, MechanismsConfig(), "calibrate.yaml")
    assert e.value.file == "calibrate.yaml" and e.value.key.startswith("experiment.parameters")


@pytest.mark.parametrize(("override", "error", "words"), [
    ("experiment.parameters=[]", ConfigError, "at least one parameter"),
    ("experiment.parameters=[model.mechanisms.value.nope]", ConfigError, "experiment.parameters"),
    ("experiment.calibration.replications=1", ConfigError, "the rule's interval needs two"),
    ("experiment.calibration.fit_end=2030-01", ConfigError, "up to horizon.end"),
    ("experiment.calibration.kernel=gaussian", ConfigError, "multivariate_normal, local"),
    ("experiment.calibration.space=logistic", ConfigError, "logit, probit"),
    ("experiment.calibration.distance=euclidean", ConfigError, "smooth, signs"),
    ("experiment.calibration.screen=1", ConfigError, "at least 2 Morris trajectories"),
    ("experiment.calibration.keep=0", ConfigError, "an integer >= 1"),
    ("experiment.calibration.always=[model.mechanisms.value.nope]", ConfigError, "one of experiment.parameters"),
])
def test_bad_settings_stop_before_anything_is_simulated_or_written(tmp_path, override, error, words):
    out = tmp_path / "run"
    with pytest.raises(error, match=words):
        run_calibration([*TINY, override], out, say=quiet)
    assert not out.exists() or not any(out.iterdir())


INERTIA = "model.mechanisms.allocation.inertia"  # uniform on [0.6, 0.98]


@pytest.mark.parametrize(("space", "z", "value"), [
    ("logit", 0.0, 0.79), ("probit", 0.0, 0.79),  # z = 0: the prior's median
    ("logit", np.log(3.0), 0.6 + 0.75 * 0.38),  # u = 3 / (1 + 3)
    ("probit", -0.6744897501960817, 0.6 + 0.25 * 0.38),  # Phi^-1(1/4)
    ("probit", 1.959963984540054, 0.6 + 0.975 * 0.38),
])
def test_values_of_maps_each_space_to_the_prior_quantile(space, z, value):
    assert values_of([INERTIA], {"allocation.inertia": z}, mechanism_priors(), space)[0] == pytest.approx(value)


def _abc_draws(space: str, n: int = 4000) -> pd.DataFrame:
    """``n`` draws of the calibration's pyabc prior (abc_prior) over the inertia and the premium."""
    np.random.seed(3)  # pyabc's RVs draw from numpy's global generator, as in a calibration
    prior = abc_prior([INERTIA, PREMIUM], space)
    return pd.DataFrame([dict(prior.rvs()) for _ in range(n)])


@pytest.mark.parametrize("space", SPACES)
def test_the_calibrations_prior_in_either_space_is_the_schema_prior(space):
    """The pyabc prior a calibration samples (abc_prior), pushed through values_of in the same space, is
    the schema's prior on the value: uniform for the inertia, log-uniform for the premium
    (Kolmogorov-Smirnov against each, 4,000 draws); through the other space's transform it is not."""
    from scipy import stats

    z = _abc_draws(space)
    other = next(s for s in SPACES if s != space)
    assert sampling_prior(space)[0] in ("logistic", "norm")
    inertia, premium = values_of([INERTIA, PREMIUM], z, mechanism_priors(), space)
    assert stats.kstest(inertia, stats.uniform(0.6, 0.38).cdf).pvalue > 0.01
    assert stats.kstest(premium, stats.loguniform(0.05, 0.8).cdf).pvalue > 0.01
    # and not some other prior: the same draws against a prior shifted by a tenth of its width
    assert stats.kstest(inertia, stats.uniform(0.638, 0.38).cdf).pvalue < 1e-6
    # a prior paired with the other space's transform gives another distribution of values
    mismatched = values_of([INERTIA], z, mechanism_priors(), other)[0]
    assert stats.kstest(mismatched, stats.uniform(0.6, 0.38).cdf).pvalue < 1e-6


def test_a_record_saved_before_the_space_setting_reads_as_logit_and_would_resume():
    """A logit-space record's saved config holds no `space` (the key came later): its settings pass the
    checks, read as logit, and record the settings it started with (so a rerun into its directory would
    resume it, not refuse it)."""
    from omegaconf import OmegaConf

    from sim.calibrate import check_settings, space_of, started_settings
    from sim.calibrated import CALIBRATIONS

    record = CALIBRATIONS / "trend_second_2018_2024"
    saved = OmegaConf.load(record / ".hydra" / "config.yaml")
    OmegaConf.set_struct(saved, True)  # as Hydra hands it over: an unknown key raises
    c = saved.experiment.calibration
    assert "space" not in c and space_of(c) == "logit"
    check_settings(c, saved.horizon, "config.yaml")
    assert started_settings(c) == json.loads((record / STARTED).read_text())["calibration"]


def test_a_patterns_file_naming_no_state_of_the_world_is_refused_first(tmp_path):
    bad = tmp_path / "patterns.csv"
    bad.write_text("a,b,start,end,sign,confidence\nRUS,XYZ,2018-11,2022-01,1,H\n")
    with pytest.raises(PatternError, match="XYZ"):
        run_calibration(TINY, tmp_path / "run", patterns=bad, say=quiet)
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())


def synthetic_patterns(cells: Cells, path, truth: dict[str, float], replications: int) -> None:
    """The rated cells with the signs the simulator gives at ``truth`` as observed: the calibration's
    own summary (the same number of replications: the rule's zeros depend on it as on the noise)."""
    target = prepare_target(cells, tuple(truth), "2024-11", default_patterns(), replications)
    signs, _ = simulate_signs(target, [with_values(target.base, truth)],
                              [np.random.SeedSequence(99).spawn(replications)])
    target.cells.assign(sign=signs[0])[["a", "b", "start", "end", "sign", "confidence"]].to_csv(path, index=False)


def test_the_posterior_moves_toward_the_parameters_that_made_a_synthetic_history(cells, tmp_path):
    # Far from both prior means (0.27, 0.068). The noise is low on purpose: the distance's second term
    # asks that nothing move when nothing happens, which a synthetic history made with strong noise
    # (its null world drifting) could not give, and which would pull the noise down whatever the target.
    truth = {PREMIUM: 0.7, SIGMA: 0.015}
    synthetic = tmp_path / "synthetic.csv"
    synthetic_patterns(cells, synthetic, truth, 4)
    out = tmp_path / "run"
    record = run_calibration([*TINY, "experiment.calibration.particles=30", "experiment.calibration.generations=3",
                              "experiment.calibration.replications=4"], out, patterns=synthetic, say=quiet)
    priors = mechanism_priors()
    for key, value in truth.items():
        prior_mean, posterior_mean = priors[key].mean(), record["posterior"][key]["mean"]
        # a loose check at a small setting: closer to the truth than the prior mean, by a third of the gap
        assert abs(posterior_mean - value) < (2 / 3) * abs(prior_mean - value), (key, posterior_mean)
    for name in OUTPUTS:
        assert (out / name).exists(), name
    posterior = pd.read_parquet(out / "posterior.parquet")
    assert posterior["weight"].sum() == pytest.approx(1.0)
    for key in truth:
        assert posterior[key].between(priors[key].low, priors[key].high).all()
    forecast = pd.read_csv(out / "forecast.csv")
    assert list(forecast.columns) == ["a", "b", "start", "end", "p_plus", "p_zero", "p_minus", "sign"]
    assert len(forecast) == 13 and (forecast["start"] == "2024-12").all() and (forecast["end"] == "2025-12").all()
    assert np.allclose(forecast[["p_plus", "p_zero", "p_minus"]].sum(axis=1), 1.0)
    verdicts = pd.read_csv(out / "verdicts.csv")
    assert set(verdicts["hypothesis"]) == {"h1", "h2"}
    assert np.allclose(verdicts[["p_supported", "p_inconclusive", "p_refuted"]].sum(axis=1), 1.0)
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        run_calibration(TINY, out, patterns=synthetic, say=quiet)


def test_the_same_seed_gives_the_same_posterior_on_one_core_on_two_and_on_a_dask_cluster(tmp_path):
    from distributed import LocalCluster

    small = [*TINY, "experiment.calibration.particles=8", "experiment.calibration.generations=2",
             "experiment.calibration.draws=1"]
    run_calibration(small, tmp_path / "one", say=quiet)
    run_calibration([*small, "experiment.workers=2"], tmp_path / "two", say=quiet)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        record = run_calibration([*small, f"experiment.calibration.dask={cluster.scheduler_address}"],
                                 tmp_path / "dask", say=quiet)
    assert record["workers"] == "dask"
    one, two, dask = (pd.read_parquet(tmp_path / d / "posterior.parquet") for d in ("one", "two", "dask"))
    pd.testing.assert_frame_equal(one, two)
    pd.testing.assert_frame_equal(one, dask)
    assert one["distance"].nunique() > 1  # particles that differ, not one repeated
    # the presets sample the probit space; the logit space (the schema's default) samples other particles
    # from the same seed, inside the prior, and records no space (as written before the setting existed:
    # such a run still resumes)
    assert json.loads((tmp_path / "one" / STARTED).read_text())["calibration"]["space"] == "probit"
    run_calibration([*small, "experiment.calibration.space=logit"], tmp_path / "logit", say=quiet)
    logit = pd.read_parquet(tmp_path / "logit" / "posterior.parquet")
    assert not np.allclose(logit[PREMIUM], one[PREMIUM])
    assert logit[PREMIUM].between(0.05, 0.8).all() and logit[SIGMA].between(*_bounds(SIGMA)).all()
    assert "space" not in json.loads((tmp_path / "logit" / STARTED).read_text())["calibration"]


def _bounds(key: str) -> tuple[float, float]:
    prior = mechanism_priors()[key]
    return prior.low, prior.high


def test_sim_run_refuses_an_empty_parameter_list_in_one_line_and_leaves_nothing(sim_run, tmp_path):
    done = sim_run("experiment=calibrate_small", "experiment.parameters=[]")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "experiment.parameters" in lines[0] and "at least one parameter" in lines[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


RATIONALITY, INERT = "model.mechanisms.allocation.rationality", "model.mechanisms.abandonment.weight"


def test_the_screen_ranks_an_influential_parameter_above_an_inert_one_and_never_keeps_the_inert(cells):
    # abandonment is switched off in the default model: its weight changes nothing, and with common
    # random numbers its elementary effects are exactly 0 (run_calibration refuses it; the screen itself does not)
    target = prepare_target(cells, (), "2024-11", default_patterns(), 3)
    table = screen(target, [INERT, RATIONALITY], trajectories=3, levels=4, seed=5)
    assert list(table["parameter"]) == [RATIONALITY, INERT] and list(table["rank"]) == [1, 2]
    assert table.loc[0, "mu_star"] > 0.01 and table.loc[1, "mu_star"] == 0.0
    assert influential(table, 2) == (RATIONALITY,) and influential(table, 1) == (RATIONALITY,)
    # what experiment.calibration.always names is fitted whatever its rank, on top of the keep
    assert influential(table, 1, [INERT]) == (RATIONALITY, INERT) and influential(table, 1, [RATIONALITY]) == (
        RATIONALITY,)


def test_a_screened_calibration_fits_only_what_the_screen_keeps(tmp_path):
    out = tmp_path / "run"
    record = run_calibration([*TINY, "experiment.calibration.particles=8", "experiment.calibration.generations=1",
                              "experiment.calibration.draws=1", "experiment.calibration.screen=2",
                              "experiment.calibration.keep=1"], out, say=quiet)
    table = pd.read_csv(out / SCREEN)
    assert set(table["parameter"]) == {PREMIUM, SIGMA} and len(table) == 2
    assert record["candidates"] == [PREMIUM, SIGMA] and record["parameters"] == [table.loc[0, "parameter"]]
    posterior = pd.read_parquet(out / "posterior.parquet")
    assert [c for c in posterior.columns if c.startswith("model.")] == record["parameters"]
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        run_calibration(TINY, out, say=quiet)
    ranked = list(table["parameter"])
    record = run_calibration([*TINY, "experiment.calibration.particles=8", "experiment.calibration.generations=1",
                              "experiment.calibration.draws=1", "experiment.calibration.screen=2",
                              "experiment.calibration.keep=1", f"experiment.calibration.always=[{ranked[1]}]"],
                             tmp_path / "always", say=quiet)
    # the one kept and the one fitted always are every candidate: nothing left to screen, both fitted
    assert sorted(record["parameters"]) == sorted(ranked) and record["screen"] is None
