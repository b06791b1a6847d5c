"""Scenario discovery: the prior design's sample, PRIM's box and its rule, and the run that ends with them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from sim.config import ConfigError, parameter_spec
from sim.design import prior_problem, prior_sample
from sim.discovery import choose, discover, prior_quantile

PREMIUM, EXPOSURE = "model.mechanisms.outreach.premium", "model.mechanisms.participation.exposure"
RATIONALITY = "model.mechanisms.allocation.rationality"


def test_a_prior_sample_is_a_latin_hypercube_of_each_prior_s_quantiles() -> None:
    problem = prior_problem([PREMIUM, EXPOSURE])
    n = 20
    x = prior_sample(problem, n, seed=3)
    assert x.shape == (n, 2)
    for j, (shape, low, high) in enumerate(problem["priors"]):
        assert shape == parameter_spec(problem["names"][j]).prior.shape
        q = prior_quantile(x[:, j], shape, low, high)
        assert ((q >= 0) & (q <= 1)).all()
        assert sorted(np.floor(q * n).astype(int)) == list(range(n))  # each of the n strata once
    assert problem["priors"][0][0] == "loguniform"  # the premium: strata equal in log, not in value
    np.testing.assert_array_equal(x, prior_sample(problem, n, seed=3))
    assert not np.array_equal(x, prior_sample(problem, n, seed=4))


def test_prior_quantile_by_hand() -> None:
    assert prior_quantile(np.array(4.0), "loguniform", 1.0, 16.0) == pytest.approx(0.5)
    assert prior_quantile(np.array(0.5), "uniform", 0.0, 2.0) == pytest.approx(0.25)


def test_a_parameter_without_a_prior_to_draw_is_refused_naming_its_place() -> None:
    with pytest.raises(ConfigError) as e:
        prior_problem([PREMIUM, "model.mechanisms.demands.scale"], "experiment/discovery.yaml")
    message = str(e.value)
    assert "experiment/discovery.yaml" in message and "experiment.parameters[1]" in message
    assert "demands.scale" in message


def test_the_box_reported_is_the_densest_with_enough_coverage_and_every_restriction_significant() -> None:
    t = pd.DataFrame({"coverage": [1.0, 0.9, 0.8, 0.6, 0.4],
                      "density": [0.3, 0.5, 0.7, 0.9, 1.0],
                      "quasi_p": [np.nan, 1e-6, 1e-4, 0.2, 1e-9]})
    assert choose(t, 0.5, 0.05) == 2  # step 3 is denser but one of its limits has quasi-p 0.2; step 4 covers 0.4
    assert choose(t, 0.5, 1.0) == 3
    assert choose(t, 0.3, 0.05) == 4
    assert choose(t, 0.95, 0.05) == 0  # only the box of everything keeps 95%
    tied = pd.DataFrame({"coverage": [1.0, 0.7, 0.8], "density": [0.4, 0.9, 0.9], "quasi_p": [np.nan, 0.0, 0.0]})
    assert choose(tied, 0.5, 0.05) == 2  # equally dense: the larger coverage


def test_prim_finds_the_region_that_makes_the_cases_and_leaves_an_inert_parameter_alone() -> None:
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.uniform(size=(600, 3)), columns=["a", "b", "inert"])
    verdicts = np.where((x["a"] > 0.7) & (x["b"] < 0.3), "supported", np.where(x["a"] < 0.4, "refuted", "inconclusive"))
    found = discover(x, verdicts)
    box = found.boxes[found.boxes["target"] == "supported"].set_index("parameter")
    assert set(box.index[box["restricted"]]) == {"a", "b"}
    assert box.loc["a", "low"] == pytest.approx(0.7, abs=0.03) and box.loc["b", "high"] == pytest.approx(0.3, abs=0.03)
    assert (box.loc[box["restricted"], "qp_value"] < 0.05).all()
    refuted = found.boxes[found.boxes["target"] == "refuted"].set_index("parameter")
    assert list(refuted.index[refuted["restricted"]]) == ["a"]
    assert refuted.loc["a", "high"] == pytest.approx(0.4, abs=0.03)
    summary = found.summary.set_index("target")
    for target in ("supported", "refuted"):  # the box's statistics are what its limits hold, counted here
        lim = found.boxes[found.boxes["target"] == target].set_index("parameter")
        inside = np.all([(x[c] >= lim.loc[c, "low"]) & (x[c] <= lim.loc[c, "high"]) for c in x.columns], axis=0)
        cases = verdicts == target
        assert summary.loc[target, "cases"] == cases.sum()
        assert summary.loc[target, "coverage"] == pytest.approx((inside & cases).sum() / cases.sum())
        assert summary.loc[target, "density"] == pytest.approx((inside & cases).sum() / inside.sum())
        assert summary.loc[target, "mass"] == pytest.approx(inside.mean())
    chosen = found.trajectory[found.trajectory["chosen"]]
    assert list(chosen["target"]) == ["supported", "refuted"]


def test_a_verdict_no_draw_reached_has_no_box() -> None:
    x = pd.DataFrame({"a": np.linspace(0, 1, 50)})
    found = discover(x, np.where(x["a"] > 0.5, "refuted", "inconclusive"))
    summary = found.summary.set_index("target")
    assert summary.loc["supported", "cases"] == 0 and np.isnan(summary.loc["supported", "coverage"])
    assert set(found.boxes["target"]) == {"refuted"}


def _sim(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "HYDRA_FULL_ERROR": "0"}, timeout=600)


def test_sim_run_experiment_discovery_reports_prim_boxes_that_agree_with_its_own_draws(tmp_path: Path) -> None:
    out = tmp_path / "d"
    p = _sim(tmp_path, "experiment=discovery", "experiment.samples=24", "replications=6", "horizon.end=2021-08",
             f"experiment.parameters=[{RATIONALITY},{PREMIUM}]", "experiment.discovery.min_coverage=0.3",
             f"hydra.run.dir={out}")
    assert p.returncode == 0, p.stderr
    design = json.loads((out / "design.json").read_text())
    assert design["design"] == "prior" and design["problem"]["names"] == [RATIONALITY, PREMIUM]
    x = pd.DataFrame(design["sample"], columns=design["problem"]["names"])
    effects = pd.read_parquet(out / "report" / "effects.parquet")
    h1 = effects[effects["hypothesis"] == "h1"].set_index("point").loc[[q["id"] for q in design["points"]]]
    verdicts = h1["verdict"].to_numpy()
    summary = pd.read_csv(out / "report" / "discovery_summary.csv").set_index("target")
    boxes = pd.read_csv(out / "report" / "discovery_boxes.csv")
    for target in ("supported", "refuted"):
        cases = verdicts == target
        assert summary.loc[target, "cases"] == cases.sum()
        if not cases.any() or cases.all():
            continue
        lim = boxes[boxes["target"] == target].set_index("parameter")
        inside = np.all([(x[c] >= lim.loc[c, "low"]) & (x[c] <= lim.loc[c, "high"]) for c in x.columns], axis=0)
        assert summary.loc[target, "coverage"] == pytest.approx((inside & cases).sum() / cases.sum())
        assert summary.loc[target, "density"] == pytest.approx((inside & cases).sum() / inside.sum())
    verdict_text = (out / "report" / "verdicts.md").read_text()
    assert "Scenario discovery (PRIM" in verdict_text and "quasi-p" in verdict_text
    if (out / "report" / "discovery.png").exists():
        image = mpimg.imread(out / "report" / "discovery.png")
        assert image.shape[1] > 800 and image.std() > 0.01
    else:  # no verdict had a box: nothing to draw
        assert all(summary["coverage"].isna())


@pytest.mark.parametrize(("override", "key"), [
    ("experiment.parameters=[model.mechanisms.demands.scale]", "experiment.parameters[0]"),
    ("experiment.discovery.hypothesis=h3", "experiment.discovery.hypothesis"),
    ("experiment.discovery.peel_alpha=0", "experiment.discovery.peel_alpha"),
])
def test_bad_discovery_settings_stop_in_one_line_before_anything_runs(tmp_path: Path, override: str,
                                                                      key: str) -> None:
    out = tmp_path / "bad"
    p = _sim(tmp_path, "experiment=discovery", override, f"hydra.run.dir={out}")
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and key in lines[0], p.stderr
    assert not (out / "design.json").exists() and not (out / "report").exists()
