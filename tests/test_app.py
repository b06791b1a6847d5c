"""The SolaraViz dashboard (sim/app.py): its model, its figures, and its controls rendered by Solara.

Needs the ``app`` extra (``pip install -e '.[app]'``); skipped without it.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("solara", reason="the dashboard needs the app extra: .venv/bin/pip install -e '.[app]'")
pytest.importorskip("altair", reason="the dashboard needs the app extra (mesa[viz]): .venv/bin/pip install -e '.[app]'")

import ipyvuetify as v
import ipywidgets as widgets
import solara

from sim.api import compose
from sim.app import SCENARIOS, DashboardModel, live_table, make_page, model_params, network_figure
from sim.config import LEVERS, ConfigError
from sim.experiment import Cell, run_cell


def test_dashboard_run_is_replication_zero_of_sim_run() -> None:
    """Same scenario, levers and seed: the dashboard's DataCollector equals sim-run's replication 0."""
    model = DashboardModel(scenario_name="us_sanctions", outreach=0.5, us_sanctions_on_iran=1.0, seed=7)
    while model.running:
        model.step()
    live = live_table(model)
    cfg = compose(["scenario=us_sanctions", "policy.outreach=0.5", "seed=7", "replications=1"])
    batch = run_cell(Cell("us_sanctions", cfg)).table
    assert len(live) == len(batch) == len(model.schedule.dates)
    # sim-run adds the counterfactual twin's columns (sim.metrics.COUNTERFACTUAL); the dashboard runs no twin
    assert set(batch.columns) - set(live.columns) == {"entente_without_demands", "realized_leverage"}
    pd.testing.assert_frame_equal(live, batch[live.columns], check_dtype=False)


def test_outreach_lever_changes_the_next_step() -> None:
    """The two models start identical; one month later outreach has shifted Russia's commitments
    toward the Sunni states and away from Iran."""
    on, off = DashboardModel(outreach=1.0), DashboardModel(outreach=0.0)
    assert on.metrics == off.metrics  # the lever acts through the monthly step, not the calibration
    on.step()
    off.step()
    assert on.metrics["sunni_share"] > off.metrics["sunni_share"] + 1e-3
    assert on.metrics["share_irn"] < off.metrics["share_irn"]
    assert not np.array_equal(on.tie, off.tie)


def test_levers_override_the_scenario_and_are_validated() -> None:
    model = DashboardModel(scenario_name="western_sanctions_2022", outreach=0.25, us_sanctions_on_iran=1.0,
                           western_sanctions_on_russia=0.0)
    assert {k: float(model.config.policy[k]) for k in LEVERS} == {
        "outreach": 0.25, "us_sanctions_on_iran": 1.0, "western_sanctions_on_russia": 0.0}
    assert model.scenario_policy["western_sanctions_on_russia"] == 1.0  # what the scenario file says
    with pytest.raises(ConfigError, match=r"policy\.outreach"):
        DashboardModel(outreach=1.5)


def test_model_stops_at_the_horizon() -> None:
    model = DashboardModel(scenario_name="baseline")
    months = len(model.schedule.dates)
    for _ in range(months):
        assert model.running
        model.step()
    assert not model.running
    last = dict(model.metrics)
    model.step()  # one more press of Step does nothing (and does not index past the horizon)
    assert model.metrics == last
    assert len(model.datacollector.get_model_vars_dataframe()) == months


def test_dashboard_model_takes_one_keyword_per_lever_of_the_table() -> None:
    """SolaraViz re-creates the model with the sliders' keywords: one per lever of sim.levers.LEVER_TABLE."""
    names = [p for p in inspect.signature(DashboardModel.__init__).parameters if p != "self"]
    assert [p for p in names if p not in ("scenario_name", "seed")] == list(LEVERS)


def test_model_params_match_the_configs() -> None:
    params = model_params()
    assert params["scenario_name"]["values"] == SCENARIOS
    assert {"baseline", "sunni_outreach", "western_sanctions_2022"} <= set(SCENARIOS)
    for lever in LEVERS:
        p = params[lever]
        assert (p["type"], p["min"], p["max"]) == ("SliderFloat", 0.0, 1.0)
    # every parameter is one DashboardModel accepts, so SolaraViz's Reset can re-create it
    DashboardModel(**{k: p["value"] for k, p in params.items()})


def test_network_figure_draws_every_tie_above_the_threshold() -> None:
    model = DashboardModel()
    model.step()
    fig = network_figure(model)
    start, now = fig.axes[0], fig.axes[1]
    assert "RUS-IRN tie" in now.get_title() and model.date in now.get_title()
    n = model.world.n
    shown = sum(1 for i in range(n) for j in range(i + 1, n) if model.tie[i, j] >= 0.04)
    # LineCollections: hostile dashes, the ties, then the highlighted pair; widths follow tie strength
    widths = [lc.get_linewidths() for lc in now.collections if len(lc.get_linewidths()) == shown]
    assert widths, "no edge collection with one width per tie"
    assert start is not now


def _render(model: DashboardModel) -> tuple[solara.Reactive[DashboardModel], object]:
    reactive = solara.reactive(model)

    @solara.component
    def App() -> None:
        with solara.AppLayout():  # SolaraViz puts its controls in the app's sidebar
            make_page(reactive)

    _, rc = solara.render(App(), handle_error=False)
    return reactive, rc


def _images(rc: object) -> list[bytes]:
    return [bytes(w.value) for w in rc.find(widgets.Image).widgets]  # type: ignore[attr-defined]


def test_page_steps_and_resets_with_a_new_lever() -> None:
    """Rendered by Solara: Step advances the model and redraws; a lever moved then Reset re-creates
    the model with that lever, and the following steps differ from the first model's."""
    reactive, rc = _render(DashboardModel(seed=3))
    first = reactive.value
    before = _images(rc)
    assert len(before) == 4  # network, entente, leverage, portfolio
    rc.find(v.Btn, children=["Step"]).widget.click()  # type: ignore[attr-defined]
    assert first.steps == 1
    after = _images(rc)
    assert all(a != b for a, b in zip(before, after, strict=True)), "a figure did not redraw after Step"

    slider = rc.find(v.Slider, label="policy.outreach").widget  # type: ignore[attr-defined]
    slider.v_model = 0.0
    seed = rc.find(v.TextField, label="seed").widget  # type: ignore[attr-defined]
    seed.v_model = "3"
    rc.find(v.Btn, children=["Reset"]).widget.click()  # type: ignore[attr-defined]
    second = reactive.value
    assert second is not first and second.steps == 0
    assert float(second.config.policy.outreach) == 0.0
    rc.find(v.Btn, children=["Step"]).widget.click()  # type: ignore[attr-defined]
    assert second.steps == 1
    assert second.metrics["sunni_share"] < first.metrics["sunni_share"]
