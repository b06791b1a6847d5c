"""The treatment split (issue 12): the headline outreach as premium alone, milestones alone and both.

``experiment=treatment_split`` is a grid over ``compare``: each treatment scenario paired with the
baseline on the same seeds. These tests hold the three scenarios to a partition of the headline
treatment, the plan to one pair per treatment with the control shared, the report's numbers to
each pair run alone, and the figure to what it draws for named (not numeric) points.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer
from omegaconf import OmegaConf

from sim.analysis import summarise
from sim.api import CONFIG_DIR, build_pair, compose, experiment_plan, run_experiment
from sim.config import ConfigError
from sim.experiment import run_cell
from sim.plots import plot_effect_vs
from sim.report import collect
from sim.scenarios import expand

SPLIT = ("outreach", "outreach_milestones", "sunni_outreach")  # premium alone, milestones alone, both
SHORT = ["replications=3", "horizon.end=2021-08"]  # the last outreach milestone is in 2021-08
PRESET = str(CONFIG_DIR / "experiment" / "treatment_split.yaml")


def _scenario(name: str):
    return expand(compose([f"scenario={name}"]), CONFIG_DIR)


def test_the_three_treatments_split_the_headline_outreach_into_its_premium_and_its_milestones() -> None:
    """Premium alone: the lever, no events. Milestones alone: every event of sunni_outreach, the
    premium switched off. Both: the headline. Same lever level and start in all three."""
    cfg = {name: _scenario(name) for name in SPLIT}
    both, premium, milestones = cfg["sunni_outreach"], cfg["outreach"], cfg["outreach_milestones"]
    assert len(both.scenario.events) == 7 and not premium.scenario.events
    events = [OmegaConf.to_container(c.scenario.events) for c in (milestones, both)]
    assert events[0] == events[1]
    assert [c.model.mechanisms.outreach.enabled for c in (premium, milestones, both)] == [True, False, True]
    assert {float(c.policy.outreach) for c in cfg.values()} == {1.0}
    assert {str(c.scenario.drivers.outreach) for c in cfg.values()} == {"2018-11"}
    for c in cfg.values():  # nothing else differs from the headline's treatment
        assert OmegaConf.to_container(c.policy) == OmegaConf.to_container(both.policy)


def test_a_grid_over_compare_plans_one_pair_per_treatment_sharing_the_control() -> None:
    overrides = ["experiment=treatment_split", *SHORT]
    pair = build_pair(overrides, "baseline", "sunni_outreach")
    p = experiment_plan(pair.control.config.experiment, pair, lambda name: build_pair(overrides, "baseline", name),
                        PRESET)
    assert p.keys == ["compare"] and p.settings["treatment"] == list(SPLIT)
    assert [pt["params"] for pt in p.points] == [{"compare": name} for name in SPLIT]
    assert len({pt["control"] for pt in p.points}) == 1 and len(p.cells) == 4
    assert [p.cells[pt["treatment"]].scenario for pt in p.points] == list(SPLIT)


@pytest.mark.parametrize(("grid", "value", "allowed"), [
    ("baseline,sunni_outreach", "baseline", "scenario names other than the control's"),
    ("1,sunni_outreach", 1, "scenario names other than the control's"),
])
def test_a_compare_grid_with_the_control_or_a_number_is_refused_naming_the_preset(grid: str, value, allowed: str
                                                                                   ) -> None:
    overrides = ["experiment=treatment_split", f'experiment.grid.compare="{grid}"']
    pair = build_pair(overrides, "baseline", "sunni_outreach")
    with pytest.raises(ConfigError) as e:
        experiment_plan(pair.control.config.experiment, pair, lambda name: build_pair(overrides, "baseline", name),
                        PRESET)
    assert (e.value.file, e.value.key, e.value.value) == (PRESET, "experiment.grid.compare", value)
    assert e.value.allowed.startswith(allowed)


def test_an_unknown_treatment_in_the_grid_is_refused_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        run_experiment(["experiment=treatment_split", 'experiment.grid.compare="outreach,nowhere"', *SHORT],
                       tmp_path / "split", progress=False)
    assert (e.value.key, e.value.value) == ("compare", "nowhere")
    assert not (tmp_path / "split").exists()


def test_each_treatments_cells_and_effects_equal_its_own_pair_run_alone(tmp_path: Path) -> None:
    """The sweep's cells are the cells `sim-run compare=NAME` runs (bit for bit, at the horizon),
    and the report's effects are that pair's summary."""
    root = run_experiment(["experiment=treatment_split", *SHORT], tmp_path / "split", workers=1, progress=False)
    report = collect(root)
    assert list(report.effects.drop_duplicates("point")["compare"]) == list(SPLIT)
    for name in SPLIT:
        pair = build_pair(SHORT, "baseline", name)
        tables = [run_cell(cell).table for cell in pair.cells]
        at = [t[t["date"] == t["date"].max()].reset_index(drop=True) for t in tables]
        swept = report.table[report.table["scenario"] == name].drop(columns=["cell", "compare"])
        pd.testing.assert_frame_equal(swept.reset_index(drop=True), at[1], check_exact=True)
        s = summarise(pd.concat(at, ignore_index=True), "baseline", name, seed=int(pair.control.config.seed),
                      min_relative_effect=float(pair.control.config.min_relative_effect))
        row = report.effects[(report.effects["compare"] == name) & (report.effects["hypothesis"] == "h1")].iloc[0]
        assert (row["effect"], row["ci_low"], row["ci_high"], row["verdict"]) == (
            s["h1"]["effect"], s["h1"]["ci_low"], s["h1"]["ci_high"], s["h1"]["verdict"])


def test_named_points_are_drawn_apart_in_the_grids_order_each_with_its_interval() -> None:
    """Against treatment names no line joins the points (they have no order of size); each has an
    error bar, and the ticks follow the grid's order, not the alphabet."""
    names = ["sunni_outreach", "outreach", "outreach_milestones"]
    effects = pd.DataFrame([{"point": n, "compare": n, "hypothesis": h, "effect": -0.01 * (k + 1),
                             "ci_low": -0.011 * (k + 1), "ci_high": -0.009 * (k + 1), "verdict": "supported",
                             "threshold": 0.005} for k, n in enumerate(names) for h in ("h1", "h2")])
    fig = plot_effect_vs(effects, ["compare"], "compare")
    for ax in fig.axes:
        assert [t.get_text() for t in ax.get_xticklabels()] == names
        joined = [line for line in ax.get_lines() if line.get_linestyle() == "-" and len(line.get_xdata()) == 3]
        assert not joined
        bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        assert len(bars) == 1 and len(bars[0].lines[2][0].get_segments()) == 3
