"""Mesa SolaraViz dashboard: ``solara run sim/app.py`` (needs the ``app`` extra).

Pick a scenario and set the three policy levers in the sidebar, press **Reset** to build the
model with them (Mesa's convention: parameters apply when the model is re-created), then
**Step** or **Play** month by month. The page shows the tie network (edge width = mutual tie
strength, colour = signed affinity) at the start and now, and live plots of entente strength,
Sunni leverage over the Russia-Iran dyad and Russia's commitment portfolio.

The model is built from the same configs as ``sim-run``, through Hydra's Compose API
(:func:`sim.api.compose`): the scenario file, then the levers as ``policy.*`` overrides. The
figures are the ones ``sim-run`` writes (:mod:`sim.plots`), drawn from one run's DataCollector
table, so the dashboard and the result files cannot disagree about what a plot means.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import solara
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter
from omegaconf import DictConfig

from sim.api import checked, compose, options, scenario_files
from sim.config import LEVERS
from sim.experiment import network_table, prepare, replication_seeds
from sim.model import AllianceModel
from sim.plots import plot_entente, plot_leverage, plot_network, plot_portfolio

SCENARIOS: list[str] = options("scenario")
DEFAULT_SCENARIO = "sunni_outreach"
DEFAULT_SEED = 2018
_COMPOSE_LOCK = threading.Lock()  # Hydra's Compose API keeps global state; the server may call it from threads


def app_config(scenario: str = DEFAULT_SCENARIO, levers: dict[str, float] | None = None,
               seed: int = DEFAULT_SEED) -> DictConfig:
    """The validated config of one dashboard run: ``scenario=NAME`` plus each lever as ``policy.<lever>=x``."""
    levers = levers or {}
    unknown = set(levers) - set(LEVERS)
    if unknown:
        raise ValueError(f"unknown levers {sorted(unknown)}; allowed: {', '.join(LEVERS)}")
    overrides = [f"scenario={scenario}", f"seed={int(seed)}", "replications=1"]
    overrides += [f"policy.{k}={float(v)}" for k, v in levers.items()]
    with _COMPOSE_LOCK:
        cfg = compose(overrides)
    return checked(cfg, scenario_files(scenario))


class DashboardModel(AllianceModel):
    """An :class:`AllianceModel` built from keyword parameters, as SolaraViz re-creates models.

    ``outreach``, ``us_sanctions_on_iran`` and ``western_sanctions_on_russia`` override the
    scenario's own lever settings (``scenario_policy`` keeps those for display); they are one
    keyword per lever of :data:`sim.levers.LEVER_TABLE` (tested), explicit because SolaraViz
    re-creates the model from the sliders' keywords and would hand a ``**kwargs`` its own
    ``scenario`` object too. ``seed`` is the
    root seed: the run is replication 0 of ``sim-run scenario=NAME seed=SEED`` with the same
    levers. The model stops (``running = False``) at the end of the horizon. The parameter is
    ``scenario_name``, not ``scenario``: Mesa's SolaraViz passes a ``mesa`` Scenario object to a
    model whose constructor takes ``scenario``.
    """

    def __init__(self, scenario_name: str = DEFAULT_SCENARIO, outreach: float = 1.0, us_sanctions_on_iran: float = 0.0,
                 western_sanctions_on_russia: float = 0.0, seed: int | str = DEFAULT_SEED) -> None:
        levers = {"outreach": outreach, "us_sanctions_on_iran": us_sanctions_on_iran,
                  "western_sanctions_on_russia": western_sanctions_on_russia}
        self.config = app_config(scenario_name, levers, int(seed))
        self.scenario_policy = {k: float(v) for k, v in app_config(scenario_name).policy.items()}
        world, mechanisms, schedule = prepare(self.config)
        # The stream of sim-run's replication 0 with this seed, so the dashboard shows that run.
        rng = np.random.default_rng(replication_seeds(int(seed), 1)[0])
        super().__init__(world, mechanisms, schedule, rng=rng)

    @property
    def months(self) -> int:
        """Months in the horizon (the number of steps a full run takes)."""
        return len(self.schedule.dates)

    def step(self) -> None:
        if self.steps > self.months:  # Mesa counts the step before calling this: nothing left to do
            self.running = False
            return
        super().step()
        self.running = self.steps < self.months


def live_table(model: AllianceModel, scenario: str | None = None) -> pd.DataFrame:
    """The model's DataCollector as a one-replication results table, the shape :mod:`sim.plots` reads."""
    df = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    name = scenario or str(getattr(model, "config", {}).get("scenario", {}).get("name", "run"))
    df.insert(0, "replication", 0)
    df.insert(0, "scenario", name)
    df["date"] = pd.to_datetime(df["date"].astype(str) + "-01")
    return df


def network_figure(model: AllianceModel) -> Figure:
    """The tie network at the start and now: :func:`sim.plots.plot_network` of the live model."""
    network = network_table("now", model.world, model.tie, model.affinity)
    entente = model.world.roles.entente
    fig = plot_network(network, highlight=(model.world.codes[entente[0]], model.world.codes[entente[1]]))
    now = f"{model.date} (after step {model.steps})" if model.steps else "step 0, before the first month"
    ax = fig.axes[1]
    ax.set_title(ax.get_title().replace("end: now", f"now: {now}"))
    return fig


def _placeholder(text: str) -> Figure:
    fig = Figure(figsize=(6, 2))
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=12)
    return fig


def _figure_component(make: Callable[[AllianceModel], Figure], title: str) -> Callable[[AllianceModel], Any]:
    """A SolaraViz component that redraws ``make(model)`` after each step, as a PNG."""

    @solara.component
    def View(model: AllianceModel) -> None:
        update_counter.get()  # SolaraViz bumps this after every step

        def render() -> Figure:
            fig = make(model) if model.steps else _placeholder(f"{title}: press Step or Play")
            plt.close(fig)  # drop pyplot's reference; the figure still renders
            return fig

        fig = solara.use_memo(render, [model, model.steps])
        solara.FigureMatplotlib(fig, dependencies=[model, model.steps], format="png", dpi=80, bbox_inches="tight")

    View.__name__ = "".join(ch for ch in title.title() if ch.isalnum())  # e.g. "EntenteStrength"
    return View


@solara.component
def TieNetwork(model: AllianceModel) -> None:
    """The signed, weighted tie network, drawn at construction and after every step."""
    update_counter.get()

    def render() -> Figure:
        fig = network_figure(model)
        plt.close(fig)
        return fig

    fig = solara.use_memo(render, [model, model.steps])
    solara.FigureMatplotlib(fig, dependencies=[model, model.steps], format="png", dpi=70, bbox_inches="tight")


EntenteView = _figure_component(lambda m: plot_entente(live_table(m)), "Entente strength")
LeverageView = _figure_component(lambda m: plot_leverage(live_table(m)), "Sunni leverage")
PortfolioView = _figure_component(lambda m: plot_portfolio(live_table(m)), "Russia's portfolio")


def run_summary(model: AllianceModel) -> list[str]:
    """Plain-text lines: scenario, levers (and where they differ from the scenario file), month, key metrics."""
    cfg = getattr(model, "config", None)
    lines = []
    if cfg is not None:
        lines.append(f"Scenario {cfg.scenario.name}: {cfg.scenario.description}")
        own = getattr(model, "scenario_policy", {})
        for lever in LEVERS:
            value = float(cfg.policy[lever])
            note = f" (the scenario file sets {own[lever]:g})" if lever in own and own[lever] != value else ""
            lines.append(f"policy.{lever} = {value:g}{note}")
    month = f"{model.date} (step {model.steps} of {len(model.schedule.dates)})" if model.steps else (
        f"start of {model.schedule.dates[0]} (calibration, step 0)")
    lines.append(f"Month: {month}")
    m = model.metrics
    lines.append(f"Entente strength {m['entente_strength']:.4f}; Sunni leverage {m['sunni_leverage']:.4f}; "
                 f"Sunni share of Russia's commitment {m['sunni_share']:.3f}")
    return lines


@solara.component
def RunInfo(model: AllianceModel) -> None:
    """The run summary as text (plain components: solara.Markdown would load extra scripts)."""
    update_counter.get()
    with solara.Column(gap="4px", style={"padding": "8px"}):
        for line in run_summary(model):
            solara.Text(line)


def model_params() -> dict[str, Any]:
    """SolaraViz inputs: the scenario, the three levers (sliders in [0, 1]) and the seed."""
    defaults = {k: float(v) for k, v in app_config(DEFAULT_SCENARIO).policy.items()}
    params: dict[str, Any] = {
        "scenario_name": {"type": "Select", "value": DEFAULT_SCENARIO, "values": SCENARIOS,
                     "label": "scenario (configs/scenario/)"},
    }
    for lever in LEVERS:
        params[lever] = {"type": "SliderFloat", "value": defaults[lever], "min": 0.0, "max": 1.0, "step": 0.05,
                         "label": f"policy.{lever}"}
    params["seed"] = {"type": "InputText", "value": str(DEFAULT_SEED), "label": "seed"}
    return params


COMPONENTS: list[tuple[Callable[[AllianceModel], Any], int]] = [
    (TieNetwork, 0), (RunInfo, 0), (EntenteView, 0), (LeverageView, 0), (PortfolioView, 0),
]


def make_page(model: DashboardModel | solara.Reactive[DashboardModel] | None = None) -> Any:
    """The dashboard element (``page`` below is what ``solara run`` serves). Pass a
    ``solara.reactive(model)`` to see the model SolaraViz re-creates on Reset."""
    return SolaraViz(model if model is not None else DashboardModel(), components=COMPONENTS,
                     model_params=model_params(), name="Alliance leverage laboratory", play_interval=300)


page = make_page()
