"""The Python API: the configs ``sim-run`` would use, its (control, treatment) cells, and runs.

``sim-run``, the sweeps, the notebooks and ``experiments/`` build their cells through
:func:`build_pair`, so one rule decides what a paired run compares:

- the control is one scenario file and the treatment another, each composed with the same
  overrides (Hydra's Compose API, :func:`compose`);
- an override of a policy lever the two scenario *files* set differently (``policy.outreach``
  for the headline pair) sets the treatment's intensity only: the control keeps its file's
  value (:func:`split_lever_overrides`); an override of a lever they share is a condition
  and applies to both. Those levers (:func:`treatment_levers`) are also the keys a sweep
  varies in the treatment only;
- each cell is validated as it is made, so the first problem is the one reported.

On top of it, :func:`run_scenarios` runs scenarios into one tidy table (no files) and
:func:`run_experiment` runs an experiment preset into a sweep directory, as ``sim-run`` does.

``sim.cli`` composes inside its ``@hydra.main`` app (where :func:`compose` cannot initialise
Hydra again) and passes its own composer and file attribution to :func:`build_pair`.

Importing this module costs Hydra and the config schema only: the engine, the statistics and the
figures are imported by the functions that run them, so a bad config fails fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hydra
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import MissingConfigException
from omegaconf import DictConfig, OmegaConf, open_dict

from sim import project_dir
from sim.config import LEVERS, ConfigError, mandatory_values, register_configs, validate
from sim.libyaml import use_libyaml
from sim.scenarios import expand

if TYPE_CHECKING:
    import pandas as pd

    from sim.experiment import Cell
    from sim.sweep import Plan

Composer = Callable[[list[str]], DictConfig]  # overrides -> the composed root config
Files = Callable[[str], dict[str, str]]  # scenario choice -> the files validate() names in its errors


def config_dir() -> Path:
    """The configs: the repository's ``configs/`` (source or editable install) or the packaged copy."""
    return project_dir("configs", "config.yaml")


CONFIG_DIR = config_dir()
register_configs()  # the structured configs the YAML files extend: needed by compose() and hydra.main alike
use_libyaml()  # Hydra's YAML parsed by libyaml, as OmegaConf 2.4 does (sim.libyaml)


def options(group: str) -> list[str]:
    """The option names of a config group (``scenario``, ``world``, ...) in :data:`CONFIG_DIR`."""
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


@contextmanager
def _aside_running_app() -> Iterator[None]:
    """Set a running Hydra app (``@hydra.main``) aside while :func:`hydra.initialize_config_dir` composes.

    Hydra allows one initialised instance per process; the running app's is put back afterwards.
    Composing does not touch the app's ``HydraConfig``.
    """
    running = GlobalHydra.instance().hydra
    GlobalHydra.instance().clear()
    try:
        yield
    finally:
        GlobalHydra.instance().clear()
        if running is not None:
            GlobalHydra.instance().initialize(running)


def _composed(overrides: Sequence[str] | None) -> tuple[DictConfig, dict[str, Any]]:
    """The composed config (without Hydra's node, as ``hydra.compose`` returns it) and the group choices."""
    with _aside_running_app(), hydra.initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        cfg = hydra.compose(config_name="config", overrides=list(overrides or []), return_hydra_config=True)
    choices = dict(cfg.hydra.runtime.choices)
    with open_dict(cfg):
        del cfg["hydra"]
    scenario = choices.get("scenario")
    expand(cfg, CONFIG_DIR, scenario_files(str(scenario))["scenario"] if scenario else "scenario config")
    return cfg, choices


def compose(overrides: Sequence[str] | None = None) -> DictConfig:
    """The config ``sim-run`` would run with these overrides, through Hydra's Compose API, its
    scenario's includes expanded (:func:`sim.scenarios.expand`).

    Composed from :data:`CONFIG_DIR` (also inside a running Hydra app, whose own config
    directory may be a saved ``.hydra/``). Not validated (see :func:`sim.config.validate`).
    """
    return _composed(overrides)[0]


@dataclass(frozen=True)
class SavedRun:
    """Hydra's record of a finished run or multirun job: the ``.hydra/`` directory it left.

    ``overrides`` are the run's command-line overrides (``overrides.yaml``: Hydra's
    ``hydra.overrides.task``), ``choices`` the config group options it ran with
    (``hydra.runtime.choices``), ``searchpath`` its ``hydra.searchpath=`` overrides, and
    ``multirun`` whether it was one job of a ``-m`` multirun (``hydra.mode``).
    """

    directory: Path
    overrides: tuple[str, ...]
    choices: dict[str, str]
    searchpath: tuple[str, ...] = ()
    multirun: bool = False

    @property
    def outdir(self) -> Path:
        """The run directory (or the job's directory) that holds this ``.hydra/``."""
        return self.directory.parent


SAVED_FILES = ("config.yaml", "hydra.yaml", "overrides.yaml")  # what Hydra writes into .hydra/


def saved_run(directory: str | Path) -> SavedRun:
    """Read the ``.hydra/`` directory Hydra wrote for a run or a job (``directory`` is it, or holds it).

    Raises :class:`FileNotFoundError` naming the missing file when ``directory`` holds no
    complete record, :class:`ValueError` when ``hydra.yaml`` is not Hydra's record of a run.
    """
    directory = Path(directory)
    if directory.name != ".hydra":
        directory = directory / ".hydra"
    for name in SAVED_FILES:
        if not (directory / name).is_file():
            raise FileNotFoundError(f"{directory / name} is missing: not the .hydra/ record of a sim-run run or job")
    record = OmegaConf.load(directory / "hydra.yaml")
    try:
        hc = record.hydra
        choices = {str(k): str(v) for k, v in hc.runtime.choices.items() if v is not None and "/" not in str(k)}
        task = [str(o) for o in OmegaConf.load(directory / "overrides.yaml")]
        searchpath = tuple(str(o) for o in hc.overrides.hydra if str(o).startswith("hydra.searchpath="))
        multirun = str(hc.mode) == "MULTIRUN"
    except Exception as e:  # omegaconf raises its own errors for a missing key
        raise ValueError(f"{directory / 'hydra.yaml'} is not Hydra's record of a run ({e})") from e
    if "scenario" not in choices:
        raise ValueError(f"{directory / 'hydra.yaml'} records no scenario choice: not a sim-run run or job")
    return SavedRun(directory, tuple(task), choices, searchpath, multirun)


def scenario_files(choice: str) -> dict[str, str]:
    """``{"scenario": <CONFIG_DIR>/scenario/<choice>.yaml}``: the file a scenario's errors name."""
    return {"scenario": str(CONFIG_DIR / "scenario" / f"{choice}.yaml")}


def compare_source(overrides: Sequence[str]) -> str:
    """Where the treatment (``compare``) was chosen: the command line if it sets it, else ``config.yaml``."""
    chose = any(o.startswith("compare=") for o in overrides)
    return "command line" if chose else str(CONFIG_DIR / "config.yaml")


def override_key(override: str) -> str:
    """The key an override sets: ``policy.outreach`` for ``++policy.outreach=0.5``."""
    return override.split("=", 1)[0].lstrip("+~")


def split_lever_overrides(overrides: Sequence[str], control_policy: Any, treatment_policy: Any,
                          treatment: str) -> tuple[list[str], list[str]]:
    """The overrides for the control of a paired run, and notes on what was held back.

    An override of a lever the two scenarios set differently (``policy.outreach`` for the
    headline pair) sets the treatment's intensity: the control keeps its own value. An override
    of a lever they share is a condition and applies to both. The treatment gets every override.
    ``control_policy`` and ``treatment_policy`` are the scenario files' own ``policy`` nodes.
    """
    control, notes = [], []
    for o in overrides:
        key = override_key(o)
        lever = key.removeprefix("policy.")
        if key.startswith("policy.") and lever in LEVERS and control_policy[lever] != treatment_policy[lever]:
            notes.append(f"{o} applies to {treatment} only: the two scenarios differ in this lever")
            continue
        control.append(o)
    return control, notes


def treatment_levers(control_policy: Any, treatment_policy: Any) -> frozenset[str]:
    """``policy.<lever>`` for every lever two scenario files set differently (the treatment's own)."""
    return frozenset(f"policy.{lever}" for lever in LEVERS if control_policy[lever] != treatment_policy[lever])


@dataclass(frozen=True)
class Pair:
    """The validated cells of a run: the control and, in a paired run, the treatment.

    ``treatment_only`` holds ``policy.<lever>`` for the levers the two scenario files set
    differently (empty without a treatment); ``notes`` tell the user which overrides went to
    the treatment only.
    """

    control: Cell
    treatment: Cell | None = None
    treatment_only: frozenset[str] = frozenset()
    notes: tuple[str, ...] = ()

    @property
    def cells(self) -> list[Cell]:
        """The control, then the treatment if there is one."""
        return [self.control] + ([self.treatment] if self.treatment is not None else [])


def checked(cfg: DictConfig, files: dict[str, str]) -> DictConfig:
    """``cfg`` with its scenario's includes expanded (:func:`sim.scenarios.expand`), then validated."""
    with mandatory_values(files):  # an included scenario's events are read here, before validation
        expand(cfg, CONFIG_DIR, files.get("scenario", "scenario config"))
    validate(cfg, files)
    return cfg


def build_pair(overrides: Sequence[str], control: str, treatment: str | None, *, composer: Composer = compose,
               files: Files = scenario_files, control_config: DictConfig | None = None,
               source: str | None = None) -> Pair:
    """The validated cells of scenario file ``control`` against ``treatment`` (None: the control alone).

    ``overrides`` apply as in ``sim-run`` (see the module docstring); ``scenario=`` and
    ``compare=`` among them are left out, since ``control`` and ``treatment`` name the files.
    ``composer`` turns overrides into a config (default: :func:`compose`); ``files`` names, for
    a scenario choice, the files a validation error points at; ``control_config`` is the
    control already composed with every override, if the caller has it (sim-run's own config);
    ``source`` is where the treatment was chosen, for errors about it (default: the command
    line if ``compare=`` is among the overrides, else ``config.yaml``).

    Each config is composed once where it can be (composing the 2018 world costs about 0.5 s):
    without a lever override, the two composed configs carry the scenario files' own policies;
    with one, the files' policies are read from compositions without the world (``~world``).
    The control with every override is validated first. Raises :class:`sim.config.ConfigError`
    at the first problem: an invalid cell, a treatment equal to the control or with no scenario
    file, or two scenarios with the same ``scenario.name`` (results are keyed by it).
    """
    keep = [o for o in overrides if not o.startswith(("scenario=", "compare="))]
    first = control_config if control_config is not None else composer([*keep, f"scenario={control}"])
    checked(first, files(control))
    from sim.experiment import Cell  # after the first check: a bad override fails without the engine's imports
    if treatment is None:
        return Pair(Cell(str(first.scenario.name), first))
    source = source or compare_source(overrides)
    allowed = f"null or one of {', '.join(options('scenario'))}"
    if treatment == control:
        raise ConfigError(source, "compare", treatment, f"a scenario other than scenario={control} ({allowed})")
    common = [o for o in keep if not override_key(o).startswith("policy.")]
    treatment_cfg: DictConfig | None = None
    try:
        if common == keep:  # no lever overridden: the composed configs carry the files' own policies
            treatment_cfg = composer([*keep, f"scenario={treatment}"])
            own = [first.policy, treatment_cfg.policy]
        else:  # the files' own policies: no world is needed for them (~world: half a compose's cost)
            worldless = [o for o in common if override_key(o) != "world" and not override_key(o).startswith("world.")]
            own = [composer([*worldless, f"scenario={name}", "~world"]).policy for name in (control, treatment)]
    except MissingConfigException as e:
        if f"scenario/{treatment}" not in str(e):
            raise
        raise ConfigError(source, "compare", treatment, allowed) from e
    control_overrides, notes = split_lever_overrides(keep, own[0], own[1], treatment)
    control_cfg = first
    if notes:  # the control keeps its own value of the treatment's levers
        control_cfg = composer([*control_overrides, f"scenario={control}"])
        checked(control_cfg, files(control))
    if treatment_cfg is None:
        treatment_cfg = composer([*keep, f"scenario={treatment}"])
    checked(treatment_cfg, files(treatment))
    control_cell = Cell(str(control_cfg.scenario.name), control_cfg)
    treatment_cell = Cell(str(treatment_cfg.scenario.name), treatment_cfg)
    if treatment_cell.scenario == control_cell.scenario:
        raise ConfigError(files(treatment)["scenario"], "scenario.name", treatment_cell.scenario,
                          f"a name other than the control's ({control_cell.scenario}): results are keyed by it")
    return Pair(control_cell, treatment_cell, treatment_levers(own[0], own[1]), tuple(notes))


def run_scenarios(overrides: Sequence[str] | None = None,
                  scenarios: tuple[str, ...] = ("baseline", "sunni_outreach"), *,
                  progress: bool = False) -> pd.DataFrame:
    """Validate and run each scenario; return one tidy table (no files).

    Two scenarios are a pair as in ``sim-run`` (:func:`build_pair`): a lever they set
    differently is the second one's intensity only. One scenario, or three and more, each get
    every override. ``scenarios`` names the scenario files: a ``scenario=`` override is ignored.
    """
    import pandas as pd

    from sim.experiment import run_cell

    overrides = list(overrides or [])
    if len(scenarios) == 2:
        cells = build_pair(overrides, scenarios[0], scenarios[1], source="scenarios").cells
    else:
        cells = [build_pair(overrides, name, None).control for name in scenarios]
    table = pd.concat([run_cell(cell, progress=progress).table for cell in cells], ignore_index=True)
    if table["scenario"].nunique() != len(scenarios):
        raise ValueError(f"scenarios {scenarios} do not have distinct names: {sorted(table['scenario'].unique())}")
    return table


def refuse_grid_overrides(overrides: Sequence[str], grid: Any, where: str) -> None:
    """A key both swept by the grid and set on the command line is ambiguous: refuse it (ConfigError)."""
    for o in overrides:
        if override_key(o) in grid:
            raise ConfigError(f"command line ({o})", override_key(o), o.split("=", 1)[-1],
                              f"no value: experiment.grid sweeps it ({where}); change the grid instead")


def experiment_plan(experiment: Any, pair: Pair, treatment: Callable[[str], Pair], where: str) -> Plan:
    """The plan of a grid or sensitivity design for ``pair`` (the validated control and treatment).

    A grid that sweeps ``compare`` pairs the control with each named scenario instead
    (``treatment(name)`` builds that pair as ``sim-run compare=NAME`` would): the treatment split
    of ``experiment=treatment_split`` (:func:`sim.sweep.plan_treatments`). ``where`` is the
    preset's file, named by errors.
    """
    from sim.design import parse_values
    from sim.sweep import plan, plan_treatments

    if str(experiment.design) == "grid" and "compare" in experiment.grid:
        names = parse_values("compare", str(experiment.grid.compare))
        for name in names:
            if not isinstance(name, str) or name == str(pair.control.scenario):
                raise ConfigError(where, "experiment.grid.compare", name,
                                  f"scenario names other than the control's ({', '.join(options('scenario'))})")
        return plan_treatments({name: treatment(name) for name in names}, experiment, where)
    return plan(pair.control, pair.treatment, experiment, file=where, treatment_only=pair.treatment_only)


def run_experiment(overrides: Sequence[str] | None, root: str | Path, *, workers: int | None = None,
                   progress: bool = True) -> Path:
    """Run an experiment preset (``experiment=NAME`` among the overrides) into ``root``; return it.

    The Python twin of ``sim-run experiment=NAME hydra.run.dir=ROOT``: the same pair, plan,
    cells, store and report, so rerunning into ``root`` resumes. The control is ``scenario``,
    the treatment ``compare`` (a ConfigError if it is null).
    """
    from sim.report import write_report
    from sim.store import DirectoryLock
    from sim.sweep import evaluate, write_plan

    overrides = list(overrides or [])
    root = Path(root)
    cfg, choices = _composed(overrides)
    compare = None if cfg.compare is None else str(cfg.compare)
    pair = build_pair(overrides, str(choices["scenario"]), compare, control_config=cfg)
    where = str(CONFIG_DIR / "experiment" / f"{choices['experiment']}.yaml")
    if pair.treatment is None:
        design = cfg.experiment.design
        raise ConfigError(compare_source(overrides), "compare", None,
                          f"a scenario to pair with: a {design} design runs the paired test at every point")
    refuse_grid_overrides(overrides, cfg.experiment.grid, where)
    p = experiment_plan(cfg.experiment, pair, lambda name: build_pair(overrides, str(choices["scenario"]), name),
                        where)
    with DirectoryLock(root):  # a DirectoryError if another sweep is writing into root
        write_plan(root, p)
        evaluate(p, root, int(workers if workers is not None else cfg.experiment.workers), progress=progress)
        write_report(root, progress=progress)
    return root


def run_calibration(overrides: Sequence[str] | None, root: str | Path, *, patterns: str | Path | None = None,
                    say: Callable[[str], None] = print) -> dict[str, Any]:
    """The Python twin of ``sim-run experiment=calibrate hydra.run.dir=ROOT``: the history scenario
    and the headline pair composed with ``overrides`` (which choose the preset, e.g.
    ``experiment=calibrate_small``), calibrated into ``root`` (:func:`sim.calibrate.run_calibration`).
    Returns the record written to ``calibration.json``."""
    from sim.calibrate import run_calibration as calibrate

    overrides = list(overrides or [])
    cells, cfg, choices = _calibration_cells(overrides)
    where = str(CONFIG_DIR / "experiment" / f"{choices['experiment']}.yaml")
    return calibrate(cells, cfg.experiment, Path(root), seed=int(cfg.seed), file=where, patterns=patterns, say=say,
                     min_relative_effect=float(cfg.min_relative_effect))


def calibration_cells(overrides: Sequence[str] | None = None) -> tuple[Any, DictConfig]:
    """What a calibration composed with ``overrides`` runs (e.g. ``["experiment=calibrate"]``): its
    :class:`sim.calibrate.Cells` (the history scenario, and the headline pair's control and treatment)
    and the composed config (``cfg.experiment``: its settings and candidate parameters). Raises
    ConfigError when the config pairs no scenario with the control."""
    cells, cfg, _ = _calibration_cells(list(overrides or []))
    return cells, cfg


def _calibration_cells(overrides: list[str]) -> tuple[Any, DictConfig, dict[str, Any]]:
    from sim.calibrate import Cells

    cfg, choices = _composed(overrides)
    compare = None if cfg.compare is None else str(cfg.compare)
    pair = build_pair(overrides, str(choices["scenario"]), compare, control_config=cfg)
    if pair.treatment is None:
        raise ConfigError(compare_source(overrides), "compare", None, "a scenario to pair with: the calibration "
                          "weighs the pair's verdicts under the posterior")
    history = build_pair(overrides, str(cfg.experiment.calibration.history), None).control.config
    return Cells(history, pair.control.config, pair.treatment.config), cfg, choices
