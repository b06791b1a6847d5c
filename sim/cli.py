"""Hydra entry points: ``sim-run`` (and ``python -m sim``)."""

from __future__ import annotations

import contextlib
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import hydra
import numpy as np
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import MissingConfigException
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from sim.analysis import summarise, summary_markdown
from sim.config import LEVERS, ConfigError, register_configs, validate
from sim.events import events_after
from sim.experiment import (
    Cell,
    existing_results,
    provenance,
    run_cell,
    write_figures,
    write_results,
)
from sim.plots import headline_figures
from sim.report import write_report
from sim.sweep import evaluate, plan, run_point, write_plan


def config_dir() -> Path:
    """The configs: the repository's ``configs/`` (source or editable install) or the packaged copy."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "configs", here / "configs"):
        if (candidate / "config.yaml").exists():
            return candidate
    raise FileNotFoundError(f"no configs/config.yaml beside {here}")


CONFIG_DIR = config_dir()
register_configs()


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


GROUPS = ("world", "model", "scenario", "experiment")


def _source_file(group: str, choice: str, hc: HydraConfig) -> str:
    """The YAML file a group option was loaded from, searching Hydra's config sources in order."""
    for source in hc.runtime.config_sources:
        if source.schema == "file":
            path = Path(source.path) / group / f"{choice}.yaml"
            if path.exists():
                return str(path)
    return str(CONFIG_DIR / group / f"{choice}.yaml")


def _files(scenario_choice: str, hc: HydraConfig) -> dict[str, str]:
    choices = hc.runtime.choices
    files = {group: _source_file(group, str(choices.get(group)), hc) for group in ("world", "model")}
    files["scenario"] = _source_file("scenario", scenario_choice, hc)
    files["experiment"] = _source_file("experiment", str(choices.get("experiment")), hc)
    return files | {"config": str(CONFIG_DIR / "config.yaml")}


def _blame(error: ConfigError, overrides: list[str]) -> ConfigError:
    """Name the command line as the source when an override set the offending key's value."""
    for o in overrides:
        key = o.split("=", 1)[0].lstrip("+~")
        if key in GROUPS or key.startswith("hydra."):
            continue  # choosing a file is not setting the key: the file stays the source
        if error.key == key or error.key.startswith((key + ".", key + "[")):
            return ConfigError(f"command line ({o})", error.key, error.value, error.allowed)
    return error


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def split_lever_overrides(overrides: list[str], control_policy: Any, treatment_policy: Any,
                          treatment: str) -> tuple[list[str], list[str]]:
    """The overrides for the control of a paired run, and notes on what was held back.

    An override of a lever the two scenarios set differently (``policy.outreach`` for the
    headline pair) sets the treatment's intensity: the control keeps its own value. An override
    of a lever they share is a condition and applies to both. The treatment gets every override.
    """
    control, notes = [], []
    for o in overrides:
        key = _key(o)
        lever = key.removeprefix("policy.")
        if key.startswith("policy.") and lever in LEVERS and control_policy[lever] != treatment_policy[lever]:
            notes.append(f"{o} applies to {treatment} only: the two scenarios differ in this lever")
            continue
        control.append(o)
    return control, notes


def cells_for(cfg: DictConfig, hc: HydraConfig) -> tuple[list[tuple[Cell, dict[str, str]]], list[str], set[str]]:
    """The control cell and, unless a single scenario was asked for, the treatment cell.

    In a paired run, a ``policy.*`` override of a lever the two scenarios set differently
    (outreach, for the headline pair) sets the treatment's intensity only; an override of a
    lever they share is a condition and applies to both. Each cell is validated as it is made,
    so the first problem is the one reported. Returns the cells, notes for the user, and the
    levers the two scenario files set differently (``policy.<lever>``: the treatment's own).
    """
    overrides = list(hc.overrides.task)
    chose_scenario = any(o.startswith("scenario=") for o in overrides)
    chose_compare = any(o.startswith("compare=") for o in overrides)
    control_choice = str(hc.runtime.choices.get("scenario"))
    control = (Cell(str(cfg.scenario.name), cfg), _files(control_choice, hc))
    validate(control[0].config, control[1])
    compare = cfg.compare
    if compare is None or (chose_scenario and not chose_compare):
        return [control], [], set()
    where = "command line" if chose_compare else str(CONFIG_DIR / "config.yaml")
    allowed = f"null or one of {', '.join(_options('scenario'))}"
    if compare == control_choice:
        raise ConfigError(where, "compare", compare, f"a scenario other than scenario={control_choice} ({allowed})")
    searchpath = [o for o in hc.overrides.hydra if o.startswith("hydra.searchpath=")]
    keep = [o for o in overrides if not o.startswith(("scenario=", "compare="))]
    common = [o for o in keep if not _key(o).startswith("policy.")]
    try:
        own = [hydra.compose(config_name="config", overrides=[*searchpath, *common, f"scenario={name}"]).policy
               for name in (control_choice, compare)]
    except MissingConfigException as e:
        if f"scenario/{compare}" not in str(e):
            raise
        raise ConfigError(where, "compare", compare, allowed) from e
    control_overrides, notes = split_lever_overrides(keep, own[0], own[1], str(compare))
    if notes:
        control_cfg = hydra.compose(config_name="config",
                                    overrides=[*searchpath, *control_overrides, f"scenario={control_choice}"])
        control = (Cell(str(control_cfg.scenario.name), control_cfg), control[1])
    treatment = hydra.compose(config_name="config", overrides=[*searchpath, *keep, f"scenario={compare}"])
    cell = (Cell(str(treatment.scenario.name), treatment), _files(str(compare), hc))
    validate(cell[0].config, cell[1])
    if cell[0].scenario == control[0].scenario:
        raise ConfigError(cell[1]["scenario"], "scenario.name", cell[0].scenario,
                          f"a name other than the control's ({control[0].scenario}): results are keyed by it")
    return [control, cell], notes, treatment_levers(own[0], own[1])


def treatment_levers(control_policy: Any, treatment_policy: Any) -> set[str]:
    """``policy.<lever>`` for every lever two scenario files set differently (the treatment's own)."""
    return {f"policy.{lever}" for lever in LEVERS if control_policy[lever] != treatment_policy[lever]}


def compose(overrides: list[str] | None = None) -> DictConfig:
    """The config the CLI would run, through Hydra's Compose API (for notebooks and scripts)."""
    with hydra.initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        return hydra.compose(config_name="config", overrides=list(overrides or []))


def run_scenarios(overrides: list[str] | None = None, scenarios: tuple[str, ...] = ("baseline", "sunni_outreach"),
                  *, progress: bool = False) -> pd.DataFrame:
    """Validate and run each scenario; return one tidy table (no files).

    With two scenarios the overrides are split as in ``sim-run`` (:func:`split_lever_overrides`):
    a lever the scenarios set differently is the second one's intensity only.
    """
    overrides = list(overrides or [])
    per_scenario = [overrides] * len(scenarios)
    if len(scenarios) == 2:
        common = [o for o in overrides if not _key(o).startswith("policy.")]
        own = [compose([*common, f"scenario={name}"]).policy for name in scenarios]
        per_scenario = [split_lever_overrides(overrides, own[0], own[1], scenarios[1])[0], overrides]
    tables = []
    for name, extra in zip(scenarios, per_scenario, strict=True):
        cfg = compose([*extra, f"scenario={name}"])
        validate(cfg, {"scenario": str(CONFIG_DIR / "scenario" / f"{name}.yaml")})
        tables.append(run_cell(Cell(str(cfg.scenario.name), cfg), progress=progress).table)
    table = pd.concat(tables, ignore_index=True)
    if table["scenario"].nunique() != len(scenarios):
        raise ValueError(f"scenarios {scenarios} do not have distinct names: {sorted(table['scenario'].unique())}")
    return table


def run_experiment(overrides: list[str] | None, root: str | Path, *, workers: int | None = None,
                   progress: bool = True) -> Path:
    """Run an experiment preset (``experiment=NAME`` among the overrides) into ``root``; return it.

    The Python twin of ``sim-run experiment=NAME hydra.run.dir=ROOT``: the same plan, cells,
    store and report, so rerunning into ``root`` resumes. The control is ``scenario``, the
    treatment ``compare``; overrides split between them as in ``sim-run``.
    """
    overrides = list(overrides or [])
    root = Path(root)
    cfg = compose(overrides)
    names = (str(cfg.scenario.name), str(cfg.compare))
    common = [o for o in overrides if not _key(o).startswith(("policy.", "scenario", "compare"))]
    own = [compose([*common, f"scenario={name}"]).policy for name in names]
    control_overrides, _ = split_lever_overrides(overrides, own[0], own[1], names[1])
    control = compose([*control_overrides])
    treatment = compose([*[o for o in overrides if not o.startswith("scenario=")], f"scenario={names[1]}"])
    cells = []
    for name, c in zip(names, (control, treatment), strict=True):
        validate(c, {"scenario": str(CONFIG_DIR / "scenario" / f"{name}.yaml")})
        cells.append(Cell(str(c.scenario.name), c))
    where = str(CONFIG_DIR / "experiment" / f"{cfg.experiment.name}.yaml")
    refuse_grid_overrides(overrides, cfg.experiment.grid, where)
    p = plan(cells[0], cells[1], cfg.experiment, file=where, treatment_only=treatment_levers(own[0], own[1]))
    write_plan(root, p)
    evaluate(p, root, int(workers if workers is not None else cfg.experiment.workers), progress=progress)
    write_report(root, progress=progress)
    return root


def outreach_direction(control: DictConfig, treatment: DictConfig) -> int:
    """Sign of the treatment's outreach minus the control's (what H1 and H2 are about)."""
    return int(np.sign(float(treatment.policy.outreach) - float(control.policy.outreach)))


class ResultGuard(Callback):
    """Refuses, before Hydra writes anything, to run into a directory that holds finished results."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        outdir = Path(str(config.hydra.run.dir))
        found = existing_results(outdir)
        if found:
            print(f"error: {outdir} already holds results ({', '.join(found)}); refusing to overwrite them",
                  file=sys.stderr)
            sys.exit(2)


def abandon(outdir: Path) -> None:
    """Remove what Hydra put in a job directory that produced no results (config copy, log)."""
    if existing_results(outdir):
        return
    shutil.rmtree(outdir / ".hydra", ignore_errors=True)
    for log in outdir.glob("*.log"):
        log.unlink()
    with contextlib.suppress(OSError):
        outdir.rmdir()


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def run(cfg: DictConfig) -> None:
    """Run the configured experiment: a paired test, a sweep, or one point of a Hydra multirun."""
    hc = HydraConfig.get()
    outdir = Path(hc.runtime.output_dir)
    overrides = list(hc.overrides.task)
    multirun = hc.mode == RunMode.MULTIRUN
    try:
        planned, notes, levers = cells_for(cfg, hc)
        design = str(cfg.experiment.design)
        if multirun and design not in ("pair", "grid"):
            raise ConfigError("command line (-m)", "experiment.design", design,
                              "pair or grid under -m (a sensitivity sample is not a grid of jobs: drop -m)")
        if design != "pair" and len(planned) != 2:
            raise ConfigError("command line", "compare", cfg.compare,
                              f"a scenario to pair with: a {design} design runs the paired test at every point")
    except ConfigError as e:
        abandon(outdir)
        print(f"error: {_blame(e, overrides)}", file=sys.stderr)
        sys.exit(2)
    cells = [cell for cell, _ in planned]
    for cell in cells:
        if late := events_after(cell.config.scenario, cell.config.horizon):
            notes.append(f"{cell.scenario}: events after horizon.end={cfg.horizon.end} are not in this run: "
                         + ", ".join(late))
    for note in notes:
        print(f"note: {note}")
    if multirun:
        run_job(cfg, hc, cells, overrides)
    elif design == "pair":
        run_pair(cfg, cells, outdir)
    else:
        run_sweep(cfg, cells, outdir, planned[0][1], overrides, levers)


def run_pair(cfg: DictConfig, cells: list[Cell], outdir: Path) -> None:
    """The headline paired test (or one scenario): tables, summary, figures and provenance."""
    start = time.perf_counter()
    try:
        results = [run_cell(cell, progress=True) for cell in cells]
        table = pd.concat([r.table for r in results], ignore_index=True)
        network = pd.concat([r.network for r in results], ignore_index=True)
        summary = md = None
        if len(cells) == 2:
            summary = summarise(table, cells[0].scenario, cells[1].scenario, seed=int(cfg.seed),
                                direction=outreach_direction(cells[0].config, cells[1].config),
                                min_relative_effect=float(cfg.min_relative_effect))
            md = summary_markdown(summary, int(cfg.replications))
        write_figures(outdir, headline_figures(table, network, summary))
        write_results(outdir, results, summary, md, provenance(cells, results))
    except BaseException:
        abandon(outdir)  # leave nothing that looks like a result
        raise
    seconds = time.perf_counter() - start
    print(f"{len(cells)} scenario(s) x {cfg.replications} replications in {seconds:.1f} s")
    if summary is not None:
        for key in ("h1", "h2"):
            h = summary[key]
            ci = "no CI" if h["ci_low"] is None else f"[{h['ci_low']:+.4f}, {h['ci_high']:+.4f}]"
            print(f"{key.upper()} ({h['metric']}): effect {h['effect']:+.4f} {ci} p={h['p_value']:.3g} "
                  f"-> {h['verdict']}")
    print(f"results: {outdir}")


def run_sweep(cfg: DictConfig, cells: list[Cell], outdir: Path, files: dict[str, str], overrides: list[str],
              levers: set[str]) -> None:
    """A grid or sensitivity design through the in-process evaluator, then its report.

    Rerunning into the same directory (``hydra.run.dir=...``) resumes: finished cells are skipped.
    """
    e = cfg.experiment
    where = files.get("experiment", "experiment config")
    try:
        refuse_grid_overrides(overrides, e.grid, where)
        p = plan(cells[0], cells[1], e, file=where, treatment_only=levers)
        write_plan(outdir, p)
    except (ConfigError, FileExistsError) as err:
        if isinstance(err, ConfigError):
            err = _blame(err, overrides)
        if not (outdir / "points").exists():
            abandon(outdir)
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    workers = int(e.workers)
    print(f"{e.name}: {len(p.points)} points, {len(p.cells)} cells x {cfg.replications} replications, "
          f"{workers if workers > 0 else 'all'} worker(s) -> {outdir}")
    print(f"resume after an interruption with: sim-run {shlex.join([*overrides, f'hydra.run.dir={outdir}'])}")
    try:
        stats = evaluate(p, outdir, workers)
    except KeyboardInterrupt:
        print(f"interrupted: finished cells are kept in {outdir / 'cells'}", file=sys.stderr)
        sys.exit(130)
    rate = stats["replications_per_second"]
    print(f"ran {stats['ran']} cells, skipped {stats['skipped']} finished in {stats['seconds']:.1f} s"
          + (f" ({rate:.0f} replications/s)" if rate else ""))
    for name, path in write_report(outdir, progress=True).items():
        print(f"{name}: {path}")


def refuse_grid_overrides(overrides: list[str], grid: Any, where: str) -> None:
    """A key both swept by the grid and set on the command line is ambiguous: refuse it."""
    for o in overrides:
        if _key(o) in grid:
            raise ConfigError(f"command line ({o})", _key(o), o.split("=", 1)[-1],
                              f"no value: experiment.grid sweeps it ({where}); change the grid instead")


def run_job(cfg: DictConfig, hc: HydraConfig, cells: list[Cell], overrides: list[str]) -> None:
    """One job of a Hydra multirun: its point's cells into the store under the sweep directory."""
    root = Path(str(hc.sweep.dir)).absolute()
    params = {}
    for o in OverridesParser.create().parse_overrides(overrides):
        key = o.key_or_group
        if key not in GROUPS and not key.startswith(("hydra.", "experiment.")):
            params[key] = o.value()  # a value the job sets (a group choice is not a value)
    settings = {"min_relative_effect": float(cfg.min_relative_effect), "seed": int(cfg.seed)}
    point = run_point(cells[0], cells[1] if len(cells) == 2 else None, root, str(cfg.experiment.record), params,
                      settings)
    print(f"job {hc.job.num}: point {point['id']} ({', '.join(overrides) or 'defaults'}) -> {root}; "
          f"sim-report {root} makes the tables and figures")


def main() -> None:
    run()
