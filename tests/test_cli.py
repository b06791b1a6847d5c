"""`python -m sim` (same as `sim-run`) end to end: outputs, single-scenario mode, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image as mpimg
import pandas as pd
import pytest
from omegaconf import OmegaConf

from sim.api import build_pair
from sim.calibrated import pre_calibration_overrides

FIGURES = ("entente_strength.png", "sunni_leverage.png", "portfolio.png", "network.png")


def test_headline_run_writes_table_summary_figures_and_provenance(sim_run, tmp_path: Path) -> None:
    p = sim_run("replications=5")
    assert p.returncode == 0, p.stderr
    out = tmp_path / "out"
    assert f"results: {out}" in p.stdout
    table = pd.read_parquet(out / "results.parquet")
    assert {"scenario", "replication", "date", "entente_strength", "sunni_leverage", "entente_without_demands",
            "realized_leverage"} <= set(table.columns)
    assert set(table["scenario"]) == {"baseline", "sunni_outreach"}
    assert table.groupby("scenario")["replication"].nunique().tolist() == [5, 5]
    assert table["date"].min() == pd.Timestamp("2018-11-01") and table["date"].max() == pd.Timestamp("2025-12-01")
    assert len(table) == 2 * 5 * 86
    summary = json.loads((out / "summary.json").read_text())
    for key in ("h1", "h2"):
        h = summary[key]
        assert set(h) >= {"effect", "ci_low", "ci_high", "p_value", "p_value_holm", "verdict", "estimand"}
        assert h["ci_low"] <= h["effect"] <= h["ci_high"]
        assert h["verdict"] in {"supported", "refuted", "inconclusive"}
        assert h["relative_effect"] == pytest.approx(h["effect"] / h["scale_control_mean"])  # of the entente
        assert h["p_value"] <= h["p_value_holm"] <= 1
    assert "difference in differences" in summary["h2"]["estimand"] and "paired" in summary["h1"]["estimand"]
    # the summary's effect is the paired mean difference recomputed from the table
    last = table[table["date"] == table["date"].max()].pivot(index="replication", columns="scenario",
                                                              values="entente_strength")
    assert summary["h1"]["effect"] == pytest.approx((last["sunni_outreach"] - last["baseline"]).mean())
    assert "H1" in (out / "summary.md").read_text()
    for name in FIGURES:
        image = mpimg.imread(out / name)
        assert image.shape[0] > 300 and image.shape[1] > 600
        assert image.std() > 0.01  # not blank
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["seed"] == 2018 and prov["packages"]["mesa"].startswith("3.")
    assert set(prov["configs"]) == {"baseline", "sunni_outreach"}
    assert (out / ".hydra" / "config.yaml").exists()
    assert not list(out.glob(".*.tmp-*"))  # no temporary file left over
    assert not (out / "sim.log").exists()  # nothing was logged: no empty log
    # the run's time by stage, in provenance and in one line; the last lines say what H1 and H2 are
    stages = prov["stages"]
    assert {"startup", "compose", "prepare", "simulate", "statistics", "tables", "figures", "total"} <= set(stages)
    assert stages["total"] == pytest.approx(sum(v for k, v in stages.items() if k != "total"), abs=0.01)
    assert "time: startup" in p.stdout and "compose" in p.stdout
    lines = p.stdout.splitlines()
    assert lines[-1] == f"results: {out}"
    assert any(x.startswith("H1: outreach weakens the Russia-Iran tie") for x in lines)
    assert any(x.startswith("H2: outreach gives the Sunni states more leverage") for x in lines)
    assert any(str(out / "summary.md") in x for x in lines)


def test_one_scenario_alone(sim_run, tmp_path: Path) -> None:
    p = sim_run("scenario=us_sanctions", "replications=2")
    assert p.returncode == 0, p.stderr
    out = tmp_path / "out"
    table = pd.read_parquet(out / "results.parquet")
    assert set(table["scenario"]) == {"us_sanctions"}
    assert not (out / "summary.json").exists()
    for name in FIGURES:
        assert (out / name).stat().st_size > 10_000


def test_a_shorter_horizon_runs_and_names_the_events_left_out(sim_run, tmp_path: Path) -> None:
    p = sim_run("horizon.end=2020-12", "replications=2")
    assert p.returncode == 0, p.stderr
    assert "events after horizon.end=2020-12 are not in this run" in p.stdout and "(2021-01)" in p.stdout
    table = pd.read_parquet(tmp_path / "out" / "results.parquet")
    assert table["date"].max() == pd.Timestamp("2020-12-01")


def test_paired_lever_overrides_set_the_treatment_or_the_condition(sim_run, tmp_path: Path) -> None:
    p = sim_run("replications=2", "policy.outreach=0.5", "policy.us_sanctions_on_iran=1")
    assert p.returncode == 0, p.stderr
    assert "policy.outreach=0.5 applies to sunni_outreach only" in p.stdout
    configs = json.loads((tmp_path / "out" / "provenance.json").read_text())["configs"]
    assert configs["baseline"]["policy"] == {"outreach": 0.0, "us_sanctions_on_iran": 1.0,
                                             "western_sanctions_on_russia": 0.0}
    assert configs["sunni_outreach"]["policy"]["outreach"] == 0.5
    assert configs["sunni_outreach"]["policy"]["us_sanctions_on_iran"] == 1.0
    # the Python API builds the very cells sim-run ran
    pair = build_pair(["replications=2", "policy.outreach=0.5", "policy.us_sanctions_on_iran=1"], "baseline",
                      "sunni_outreach")
    for cell in pair.cells:
        assert configs[cell.scenario] == OmegaConf.to_container(cell.config, resolve=True)


def test_synthetic_world_runs_the_paired_experiment_with_the_lever_only_scenario(sim_run, tmp_path: Path) -> None:
    p = sim_run("world=synthetic", "world.n_states=15", "compare=outreach", "replications=5")
    assert p.returncode == 0, p.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["treatment"] == "outreach" and summary["outreach_direction"] == 1
    # the summary names the synthetic world's roles, not Russia and Iran
    assert summary["h1"]["claim"] == "S00's outreach weakens the S00-S01 tie (dilution)"
    assert "Russia" not in (tmp_path / "out" / "summary.md").read_text() and "Russia" not in p.stdout


def test_finished_results_are_never_overwritten(sim_run, tmp_path: Path) -> None:
    assert sim_run("scenario=baseline", "replications=1").returncode == 0
    out = tmp_path / "out"
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    p = sim_run("scenario=us_sanctions", "replications=2", "seed=9")
    assert p.returncode != 0
    assert "refusing to overwrite" in p.stderr
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before  # results and Hydra's saved config alike


def test_a_pair_without_an_outreach_difference_gets_no_verdict(sim_run, tmp_path: Path) -> None:
    p = sim_run("scenario=us_sanctions", "compare=western_sanctions_2022", "replications=5")
    assert p.returncode == 0, p.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["h1"]["verdict"] == summary["h2"]["verdict"] == "not applicable"


def test_the_reversed_pair_reverses_the_expected_signs(sim_run, tmp_path: Path) -> None:
    # Holm over H1 and H2 asks p < 0.025 of the smaller p: 6 replications cannot reach it (2 / 2^6)
    # the defaults of before calibration, under which the outreach dilutes the entente
    p = sim_run("scenario=sunni_outreach", "compare=baseline", "replications=7", *pre_calibration_overrides())
    assert p.returncode == 0, p.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["outreach_direction"] == -1
    assert summary["h1"]["effect"] > 0 and summary["h1"]["verdict"] == "supported"


# Bad input on the command line and in world and scenario files: tests/test_reliability.py (docs/RELIABILITY.md).


INTERRUPTED = """import os, signal, sys
import sim.cli as cli
real = cli.validated
def validated(cfg, hc):
    if {how!r} == 'chained':  # what OmegaConf makes of a Ctrl-C in the middle of a merge
        try:
            raise KeyboardInterrupt
        finally:
            None.attribute
    os.kill(os.getpid(), signal.{how})  # as a scheduler or a terminal would, while the run validates its cells
    return real(cfg, hc)
cli.validated = validated
sys.argv = ['sim-run', 'hydra.run.dir={out}', 'replications=2']
cli.main()
"""


@pytest.mark.parametrize(("how", "code", "name"), [("SIGTERM", 143, "SIGTERM"), ("SIGINT", 130, "SIGINT"),
                                                   ("chained", 130, "SIGINT")])
def test_a_run_interrupted_while_it_validates_ends_in_one_line_and_leaves_nothing(tmp_path: Path, how: str,
                                                                                  code: int, name: str) -> None:
    import subprocess
    import sys

    from process_support import default_sigint

    out = tmp_path / "out"
    p = subprocess.run([sys.executable, "-c", INTERRUPTED.format(how=how, out=out)], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300, preexec_fn=default_sigint)
    assert p.returncode == code, p.stderr
    assert p.stderr.strip().splitlines() == [
        f"interrupted ({name}): sim-run stopped; what it had not finished writing was removed"]
    assert not out.exists()  # Hydra's .hydra/ removed with the directory it made
