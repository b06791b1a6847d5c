"""sim.api builds sim-run's (control, treatment) cells; reading results does not import the engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim.api import build_pair, run_experiment
from sim.config import ConfigError

REPO = Path(__file__).resolve().parents[1]
# What reading a result directory may import of sim: the store, the analysis, the plots, the pattern score, scenario
# discovery, the names of a run's figures, and the configs' schema and designs that the sensitivity analysis
# needs. No engine, no Mesa.
READERS = {"sim", "sim.report", "sim.store", "sim.analysis", "sim.plots", "sim.design", "sim.config", "sim.levers",
           "sim.patterns", "sim.validate", "sim.discovery", "sim.calibrated", "sim.headline_process"}


@pytest.mark.parametrize("reader", ["sim.report", "sim.validate"])
def test_reading_results_imports_neither_the_engine_nor_mesa(reader: str) -> None:
    code = f"import sys, {reader}, sim.plots; print('\\n'.join(sorted(sys.modules)))"  # plots: imported to draw
    p = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    modules = set(p.stdout.split())
    assert {reader, "sim.store", "sim.plots"} <= modules  # the import did happen
    sim_modules = {m for m in modules if m == "sim" or m.startswith("sim.")}
    assert sim_modules <= READERS, sorted(sim_modules - READERS)
    for engine in ("sim.experiment", "sim.sweep", "sim.batch", "sim.model", "sim.api", "sim.cli"):
        assert engine not in modules
    assert not {m for m in modules if m == "mesa" or m.startswith("mesa.")}


def test_a_lever_the_scenario_files_set_differently_is_the_treatments_only() -> None:
    pair = build_pair(["replications=2", "policy.outreach=0.5", "policy.us_sanctions_on_iran=1"],
                      "baseline", "sunni_outreach")
    assert [c.scenario for c in pair.cells] == ["baseline", "sunni_outreach"]
    assert dict(pair.control.config.policy) == {"outreach": 0.0, "us_sanctions_on_iran": 1.0,
                                                "western_sanctions_on_russia": 0.0}
    assert pair.treatment.config.policy.outreach == 0.5 and pair.treatment.config.policy.us_sanctions_on_iran == 1.0
    assert pair.control.config.replications == pair.treatment.config.replications == 2
    assert pair.treatment_only == {"policy.outreach"}
    assert pair.notes == ("policy.outreach=0.5 applies to sunni_outreach only: the two scenarios differ in this lever",)


def test_the_treatments_levers_come_from_the_scenario_files_not_from_the_overridden_configs() -> None:
    """Outreach set to the control's value stays the treatment's lever (a sweep varies it in the treatment)."""
    pair = build_pair(["policy.outreach=0"], "baseline", "sunni_outreach")
    assert pair.control.config.policy.outreach == pair.treatment.config.policy.outreach == 0.0
    assert pair.treatment_only == {"policy.outreach"}
    alone = build_pair(["policy.outreach=0.5"], "sunni_outreach", None)
    assert alone.treatment is None and alone.treatment_only == frozenset() and alone.notes == ()
    assert [c.config.policy.outreach for c in alone.cells] == [0.5]  # alone, every override applies


@pytest.mark.parametrize(("overrides", "treatment", "where", "allowed"), [
    ([], "baseline", "config.yaml", "a scenario other than scenario=baseline"),
    (["compare=nope"], "nope", "command line", "null or one of baseline, fall_of_assad, gulf_iran_detente, history"),
])
def test_a_treatment_that_cannot_pair_is_refused_naming_where_it_was_chosen(overrides: list[str], treatment: str,
                                                                          where: str, allowed: str) -> None:
    with pytest.raises(ConfigError) as e:
        build_pair(overrides, "baseline", treatment)
    assert e.value.key == "compare" and e.value.value == treatment
    assert e.value.file.endswith(where) and allowed in e.value.allowed


def test_run_experiment_needs_a_treatment(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="a scenario to pair with"):
        run_experiment(["experiment=outreach_sweep", "compare=null"], tmp_path / "sweep", progress=False)
    assert not (tmp_path / "sweep").exists()
