"""Hydra entry point ``sim-run`` (and ``python -m sim``); its cells come from :mod:`sim.api`, the Python API.

Importing it costs Hydra, the config schema and numpy: the engine, pandas, the statistics
(``scipy.stats``) and the figures (matplotlib) are imported by the functions that use them, so
``--help``, ``--cfg job`` and a bad override answer without them (``tests/test_imports.py``).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import json
import os
import shlex
import shutil
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import hydra
import numpy as np
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from sim.api import (
    CONFIG_DIR,
    Composer,
    Pair,
    SavedRun,
    build_pair,
    compose,
    experiment_plan,
    override_key,
    refuse_grid_overrides,
    saved_run,
)
from sim.config import ConfigError
from sim.events import events_after
from sim.processes import Terminated, sigterm_as_interrupt
from sim.run_mode import composing_once
from sim.store import LOCK_FILE, POINTS, DirectoryError, DirectoryLock, existing_results

if TYPE_CHECKING:
    from sim.experiment import Cell
    from sim.headline_process import HeadlineProcess

GROUPS = ("world", "model", "scenario", "experiment")


def _source_file(group: str, choice: str, hc: HydraConfig) -> str:
    """The YAML file a group option was loaded from, searching Hydra's config sources in order."""
    for source in hc.runtime.config_sources:
        if source.schema == "file":
            path = Path(source.path) / group / f"{choice}.yaml"
            if path.exists():
                return str(path)
    return str(CONFIG_DIR / group / f"{choice}.yaml")


def _files(scenario_choice: str, hc: HydraConfig, choices: Mapping[str, str]) -> dict[str, str]:
    files = {group: _source_file(group, str(choices.get(group)), hc) for group in ("world", "model")}
    files["scenario"] = _source_file("scenario", scenario_choice, hc)
    files["experiment"] = _source_file("experiment", str(choices.get("experiment")), hc)
    return files | {"config": str(CONFIG_DIR / "config.yaml")}


def _blame(error: ConfigError, overrides: list[str]) -> ConfigError:
    """Name the command line as the source when an override set the offending key's value."""
    for o in overrides:
        key = override_key(o)
        if key in GROUPS or key.startswith("hydra."):
            continue  # choosing a file is not setting the key: the file stays the source
        if error.key == key or error.key.startswith((key + ".", key + "[")):
            return ConfigError(f"command line ({o})", error.key, error.value, error.allowed)
    return error


@dataclass(frozen=True)
class Invocation:
    """What a run stands for: its overrides, its config group choices, and how to compose more configs."""

    overrides: list[str]
    choices: Mapping[str, str]
    composer: Composer
    saved: SavedRun | None = None  # the saved run this one reruns (its .hydra/), if any

    @property
    def multirun(self) -> bool:
        """One job of a ``-m`` multirun: this one, or the saved job it reruns."""
        return HydraConfig.get().mode == RunMode.MULTIRUN or (self.saved is not None and self.saved.multirun)


def invocation(hc: HydraConfig) -> Invocation:
    """The overrides, group choices and composer of this run: one rule for both ways to start it.

    Started from the project's configs, they are the command line's and this app's (with its
    ``hydra.searchpath``). Started from a result's saved config (``sim-run --config-path
    OUTDIR/.hydra --config-name config``, a config composed whole: no ``scenario`` choice), they
    are the saved run's (``overrides.yaml``, ``hydra.yaml``: :func:`sim.api.saved_run`) followed by
    this command line's, and the cells the saved config does not hold (the treatment; a control
    without a treatment-only lever) are composed again from the project's configs
    (:func:`sim.api.compose`). Raises ConfigError for a group option chosen on the command line of
    a saved config, FileNotFoundError or ValueError when the config directory holds no saved run.
    """
    overrides = list(hc.overrides.task)
    searchpath = [o for o in hc.overrides.hydra if o.startswith("hydra.searchpath=")]
    if hc.runtime.choices.get("scenario") is not None:
        def composer(extra: list[str]) -> DictConfig:
            return hydra.compose(config_name="config", overrides=[*searchpath, *extra])

        return Invocation(overrides, dict(hc.runtime.choices), composer)
    main = [s.path for s in hc.runtime.config_sources if s.provider == "main" and s.schema == "file"]
    saved = saved_run(main[0] if main else ".hydra")
    for o in overrides:
        if override_key(o) in GROUPS:
            raise ConfigError(f"command line ({o})", override_key(o), o.split("=", 1)[-1],
                              f"no new option: {saved.directory / 'config.yaml'} holds its {override_key(o)} "
                              "composed; set its keys, or run sim-run with the saved overrides and this one")
    return Invocation([*saved.overrides, *overrides], saved.choices,
                      lambda extra: compose([*saved.searchpath, *searchpath, *extra]), saved)


def cells_for(cfg: DictConfig, hc: HydraConfig, how: Invocation | None = None, compare: str | None = None) -> Pair:
    """The control cell and, unless a single scenario was asked for, the treatment cell.

    The run's overrides (:func:`invocation`) split between them by :func:`sim.api.build_pair`'s
    rule, with errors naming the YAML file each value came from. ``cfg`` is the control with
    every override, as composed (its ``scenario`` an already composed node). ``sim-run
    scenario=X`` alone, or ``compare=null``, runs X alone. ``compare`` names the treatment instead
    of ``cfg.compare`` (a grid that sweeps it).
    """
    how = how or invocation(hc)
    chose_scenario = any(o.startswith("scenario=") for o in how.overrides)
    chose_compare = any(o.startswith("compare=") for o in how.overrides)
    control = str(how.choices.get("scenario"))
    alone = cfg.compare is None or (chose_scenario and not chose_compare)
    treatment = compare or (None if alone else str(cfg.compare))
    return build_pair(how.overrides, control, treatment, composer=how.composer,
                      files=lambda choice: _files(choice, hc, how.choices), control_config=cfg)


def outreach_direction(control: DictConfig, treatment: DictConfig) -> int:
    """Sign of the treatment's outreach minus the control's (what H1 and H2 are about)."""
    return int(np.sign(float(treatment.policy.outreach) - float(control.policy.outreach)))


_RUN_DIR: Path | None = None  # the run's directory, once ResultGuard has checked it (for main()'s clean-up)
_FULL_ERROR = False  # whether the user asked for tracebacks (HYDRA_FULL_ERROR=1)
_RECORD: dict[str, bytes] | None = None  # its .hydra/ files before Hydra wrote them (a sweep's, to resume)


class ResultGuard(Callback):
    """Before Hydra writes anything: refuses a directory that holds finished results, that a sweep is
    writing (its lock is held: :class:`sim.store.DirectoryLock`; Hydra would rewrite the sweep's
    ``.hydra/``), or that cannot be written (a regular file, a read-only file system, no permission,
    a full disk)."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        global _RUN_DIR
        outdir = Path(str(config.hydra.run.dir))
        found = existing_results(outdir)
        if found:
            print(f"error: {outdir} already holds results ({', '.join(found)}); refusing to overwrite them: "
                  "choose another directory with hydra.run.dir=...", file=sys.stderr)
            sys.exit(2)
        if (outdir / LOCK_FILE).exists():
            try:
                DirectoryLock(outdir).acquire().release()
            except DirectoryError as e:
                print(f"error: {e}", file=sys.stderr)
                sys.exit(2)
        _refuse_unwritable("hydra.run.dir", outdir)
        _RUN_DIR = outdir
        _keep_record(outdir / ".hydra")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _refuse_unwritable("hydra.sweep.dir", Path(str(config.hydra.sweep.dir)))


def _keep_record(hydra_dir: Path) -> None:
    """Keep the .hydra/ files a directory holds before Hydra writes this run's (:func:`restore_record`)."""
    global _RECORD
    _RECORD = {p.name: p.read_bytes() for p in hydra_dir.iterdir() if p.is_file()} if hydra_dir.is_dir() else None


def restore_record(outdir: Path) -> None:
    """Put back the .hydra/ record a refused run overwrote in ``outdir`` (a sweep's: sim-reproduce reads
    it), or remove the one it wrote where there was none."""
    hydra_dir = outdir / ".hydra"
    shutil.rmtree(hydra_dir, ignore_errors=True)
    if _RECORD is not None:
        hydra_dir.mkdir()
        for name, data in _RECORD.items():
            (hydra_dir / name).write_bytes(data)


def _refuse_unwritable(key: str, directory: Path) -> None:
    """Exit 2 with one message unless files can be written into ``directory`` (:func:`sim.store.unwritable`)."""
    from sim.store import unwritable

    made = not directory.exists()
    why = unwritable(directory)
    if why is not None:
        print(f"error: {key}={directory} {why}; choose another directory with {key}=...", file=sys.stderr)
        sys.exit(2)
    if made:  # Hydra makes it again when it writes; a bad config then leaves nothing behind
        with contextlib.suppress(OSError):
            directory.rmdir()


class SweepReport(Callback):
    """At the end of a Hydra multirun, the sweep's report (``sim-report`` on the sweep directory)."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from sim.multirun import release

        try:
            root = Path(str(config.hydra.sweep.dir)).absolute()
            if not (root / "points").is_dir():
                return
            from sim.report import write_report

            start = time.perf_counter()
            paths = write_report(root)
            print(f"report of {root} in {time.perf_counter() - start:.1f} s: "
                  + ", ".join(p.name for p in paths.values()) + f" in {root / 'report'}")
        finally:
            release()  # the sweep directory's lock, taken by the sweeper (sim.multirun)


def fail(error: BaseException, where: Path, lost: str) -> NoReturn:
    """Exit with one message for what stopped a run writing into ``where`` (``lost``: what is left of it).

    A disk, permission or file-system error (OSError), an interruption (Ctrl-C: exit 130; SIGTERM:
    143), too little memory and non-finite numbers exit with a message; anything else is raised
    again (a bug: :func:`main` reports it), and so is everything when the user set
    ``HYDRA_FULL_ERROR=1`` (the traceback).
    """
    from sim.store import WriteError, write_failure

    if _FULL_ERROR and not isinstance(error, KeyboardInterrupt):
        raise error
    if isinstance(error, KeyboardInterrupt):
        signum = getattr(error, "signum", signal.SIGINT)
        print(f"interrupted ({signal.Signals(signum).name}): {lost} in {where}", file=sys.stderr)
        sys.exit(128 + signum)
    if isinstance(error, OSError):
        message = write_failure(error, where)
    elif isinstance(error, WriteError):
        message = str(error)
    elif isinstance(error, MemoryError):
        message = (f"out of memory while running into {where}: choose fewer replications or a shorter horizon "
                   "(the run's estimate was printed before it started)")
    elif isinstance(error, FloatingPointError):
        message = str(error)
    else:
        raise error
    print(f"error: {message}; {lost}", file=sys.stderr)
    sys.exit(1)


def abandon(outdir: Path) -> None:
    """Remove what Hydra put in a job directory that produced no results (config copy, log); a
    directory with results, or with a sweep's points, keeps its record."""
    if existing_results(outdir) or (outdir / POINTS).exists():
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
    outputs = headline_process(cfg, hc)
    try:
        run_experiment(cfg, hc, outdir, overrides, outputs)
    except Exception as e:  # an interruption a library made into its own error is one (Hydra would log the error)
        if (interrupt := interrupt_in(e)) is not None:
            raise interrupt from None
        raise
    finally:
        if outputs is not None:  # a headline run closed it; anything else stops it here (no-op if closed)
            outputs.stop()


def headline_process(cfg: DictConfig, hc: HydraConfig) -> HeadlineProcess | None:
    """For a headline run (``experiment.design=pair``, not a job of a multirun), its statistics and
    figures process (:mod:`sim.headline_process`), started now: it imports ``scipy.stats`` and
    matplotlib on the second core while this process validates and simulates. pandas is imported
    first, here, so that the process has it (this process needs it next anyway). None otherwise."""
    if str(cfg.experiment.design) != "pair" or hc.mode != RunMode.RUN:
        return None
    try:
        if invocation(hc).multirun:  # a rerun of a saved multirun job: run_job, no figures
            return None
    except (ConfigError, FileNotFoundError, ValueError):  # the validation says it next, in one message
        return None
    import pandas  # noqa: F401

    from sim.headline_process import HeadlineProcess

    # What is alive now (Hydra's configs, the libraries) moves to the collector's permanent
    # generation, as Python's gc.freeze documentation advises before a fork: neither this process's
    # collections nor the children's walk it again (about 0.1 s of a headline run's statistics and
    # figures), and the children's collections do not write to its pages (their reference counts still do).
    gc.freeze()

    return HeadlineProcess()


def run_experiment(cfg: DictConfig, hc: HydraConfig, outdir: Path, overrides: list[str],
                   outputs: HeadlineProcess | None) -> None:
    """:func:`run`'s work: validate, then run the paired test, a sweep, a calibration or a job."""
    try:
        how, pair = validated(cfg, hc)
        overrides, multirun = how.overrides, how.multirun
        design = str(cfg.experiment.design)
        size = None
        if multirun or design == "pair":  # a sweep's size is known with its plan (run_sweep)
            from sim.size import refuse_oversize, size_of

            # a run holds its cells' tables with their pair tables; a job writes each cell as it finishes
            size = size_of(cfg, len(pair.cells), pairs=not multirun or bool(cfg.experiment.dyads),
                           held=1 if multirun else None)
            refuse_oversize(size, _files(str(how.choices.get("scenario")), hc, how.choices)["config"])
    except (ConfigError, FileNotFoundError, ValueError) as e:
        abandon(outdir)
        print(f"error: {_blame(e, overrides) if isinstance(e, ConfigError) else e}", file=sys.stderr)
        sys.exit(2)
    cells, notes = pair.cells, list(pair.notes)
    for cell in cells:
        if late := events_after(cell.config.scenario, cell.config.horizon):
            notes.append(f"{cell.scenario}: events after horizon.end={cfg.horizon.end} are not in this run: "
                         + ", ".join(late))
    for note in notes:
        print(f"note: {note}")
    long = size is not None and size.long
    if long:
        print(f"estimate: {size.line()}" + ("" if multirun else "; progress follows"))
    if multirun:  # a rerun of a saved job writes its point into this run's directory
        run_job(cfg, hc, cells, overrides, Path(str(hc.sweep.dir)) if hc.mode == RunMode.MULTIRUN else outdir)
    elif design == "pair":
        run_pair(cfg, cells, outdir, progress=long, outputs=outputs)
    elif design == "calibrate":
        run_calibrate(cfg, hc, how, pair, outdir)
    else:
        run_sweep(cfg, pair, outdir, _source_file("experiment", str(how.choices.get("experiment")), hc), overrides,
                  lambda name: cells_for(cfg, hc, how, compare=name))


def validated(cfg: DictConfig, hc: Any) -> tuple[Invocation, Pair]:
    """A run's invocation and its validated pair (:func:`cells_for`), and its design checked against
    its mode; ConfigError, FileNotFoundError or ValueError at the first problem. What every run and
    every job of a multirun checks first (the multirun's sweeper too, for all its jobs at once:
    :mod:`sim.multirun`). ``hc`` is the run's Hydra node (:class:`HydraConfig`, or a job's ``hydra``)."""
    how = invocation(hc)
    pair = cells_for(cfg, hc, how)
    design = str(cfg.experiment.design)
    if how.multirun and design not in ("pair", "grid"):
        raise ConfigError("command line (-m)", "experiment.design", design,
                          "pair or grid under -m (a sample of parameter sets is not a grid of jobs: drop -m)")
    if design != "pair" and pair.treatment is None:
        raise ConfigError("command line", "compare", cfg.compare,
                          f"a scenario to pair with: a {design} design runs the paired test at every point")
    return how, pair


def run_pair(cfg: DictConfig, cells: list[Cell], outdir: Path, *, progress: bool = False,
             outputs: HeadlineProcess | None = None) -> None:
    """The headline paired test (or one scenario): tables, summary, figures and provenance.

    The summary and the figures are made by ``outputs`` (:class:`sim.headline_process.HeadlineProcess`:
    a process of their own, started before the cells were validated; one is started here if not
    given) while a thread of this process writes the tables. The run's time is split into stages
    (:class:`Stages`), recorded in ``provenance.json`` (``stages``, seconds) and printed in one line
    at the end, before what H1 and H2 found. ``progress``: a long run also says when each stage
    after the simulation starts (the simulation has its bar on a terminal).
    """
    from concurrent.futures import ThreadPoolExecutor

    import pandas as pd

    from sim.experiment import provenance, run_cell, write_outcome, write_tables
    from sim.headline_process import HeadlineProcess, Statistics
    from sim.store import staged

    stages = Stages.since_start()
    try:
        # the writer thread is started after the process (forked from a process without threads)
        with sigterm_as_interrupt(), staged(outdir) as stage, outputs or HeadlineProcess() as made, \
                ThreadPoolExecutor(1, thread_name_prefix="tables") as writer:
            stages.mark("compose")  # Hydra's composition and the cells' validation, up to here
            results = []
            for cell in cells:
                began = time.perf_counter()
                if progress:
                    print(f"{cell.scenario}: simulating and tabulating {cfg.replications} replications", flush=True)
                results.append(run_cell(cell, progress=True, pairs=True))
                if progress:
                    print(f"{cell.scenario}: done in {time.perf_counter() - began:.1f} s", flush=True)
            simulate = sum(r.seconds for r in results)  # stepping and the tidy tables, inside run_cell
            stages.mark("prepare", minus=simulate)
            stages.add("simulate", simulate)
            tables = writer.submit(write_tables, stage, results)  # while the statistics are computed
            table = pd.concat([r.table for r in results], ignore_index=True)
            network = pd.concat([r.network for r in results], ignore_index=True)
            statistics = None if len(cells) != 2 else Statistics(
                cells[0].scenario, cells[1].scenario, seed=int(cfg.seed),
                direction=outreach_direction(cells[0].config, cells[1].config),
                min_relative_effect=float(cfg.min_relative_effect), replications=int(cfg.replications))
            made.start(stage, table, network, statistics)
            record = provenance(cells, results)  # while the summary is computed
            summary, md = made.summary()
            stages.mark("statistics")
            if progress:
                print(f"statistics in {stages.seconds['statistics']:.1f} s; tables and figures next", flush=True)
            tables.result()
            write_outcome(stage, results, summary, md, record)
            stages.mark("tables")  # what the run waited for its tables after the statistics, and the rest
            figures = made.paths()
            stages.mark("figures")  # what the run waited for its figures after its tables
            record["figures"] = {"process": made.how, "drawing_seconds": round(made.seconds(), 3)}
            # again with the stages and the figures; staged() publishes the results table last, as the completion mark
            write_provenance(stage, record | {"stages": stages.seconds})
    except BaseException as e:
        abandon(outdir)  # leave nothing that looks like a result
        fail(e, outdir, "nothing of this run was kept")
    print(f"{len(cells)} scenario(s) x {cfg.replications} replications; time: {stages.line()}")
    if summary is not None:
        for line in hypothesis_lines(summary):
            print(line)
        print(f"in words: {outdir / 'summary.md'} (what H1 and H2 claim, the effects, what each verdict means)")
    print(f"figures: {', '.join(p.name for p in figures)}")
    print(f"results: {outdir}")


def run_calibrate(cfg: DictConfig, hc: HydraConfig, how: Invocation, pair: Pair, outdir: Path) -> None:
    """ABC calibration to history (:mod:`sim.calibrate`) into ``outdir``: the history scenario is
    composed with the run's overrides; the pair is the headline pair whose verdicts it weighs."""
    from sim.calibrate import STARTED, Cells, run_calibration
    from sim.patterns import PatternError

    where = _source_file("experiment", str(how.choices.get("experiment")), hc)
    signalled: list[int] = []
    try:
        history = build_pair(how.overrides, str(cfg.experiment.calibration.history), None, composer=how.composer,
                             files=lambda choice: _files(choice, hc, how.choices)).control.config
        assert pair.treatment is not None  # validated(): a calibrate design needs the pair
        cells = Cells(history, pair.control.config, pair.treatment.config)
        with sigterm_as_interrupt(signalled):
            record = run_calibration(cells, cfg.experiment, outdir, seed=int(cfg.seed), file=where,
                                     min_relative_effect=float(cfg.min_relative_effect))
    except (ConfigError, PatternError, FileExistsError) as e:
        if (outdir / STARTED).exists():  # an unfinished calibration, refused: its record as it was
            restore_record(outdir)
        else:
            abandon(outdir)
        print(f"error: {_blame(e, how.overrides) if isinstance(e, ConfigError) else e}", file=sys.stderr)
        sys.exit(2)
    except BaseException as e:  # SIGTERM while pyabc writes its database may surface as SQLAlchemy's error
        fail(Terminated() if signalled and not isinstance(e, KeyboardInterrupt) else e, outdir,
             f"the generations finished are in {outdir / 'calibration.db'} (the same command "
             "resumes from them)")
    for v in record["verdicts"]:
        print(f"{v['hypothesis'].upper()} under the posterior: supported {v['p_supported']:.2f}, inconclusive "
              f"{v['p_inconclusive']:.2f}, refuted {v['p_refuted']:.2f}")
    print(f"results: {outdir}")


def hypothesis_lines(summary: dict[str, Any]) -> list[str]:
    """What H1 and H2 claim, in words, and what the run found for each: effect, interval, p, verdict."""
    from sim.analysis import number

    lines = []
    for key in ("h1", "h2"):
        h = summary[key]
        ci = "no CI (fewer than 5 replications)" if h["ci_low"] is None else \
            f"95% BCa CI [{number(h['ci_low'])}, {number(h['ci_high'])}]"
        if h["effect"] is None:
            lines.append(f"{key.upper()}: {h['claim']}. {h['verdict']}")
            continue
        lines.append(f"{key.upper()}: {h['claim']}. {h['metric']} at {summary['horizon']}, "
                     f"{summary['treatment']} - {summary['control']}: {number(h['effect'])} {ci}, "
                     f"Holm p={h['p_value_holm']:.3g} -> {h['verdict']}")
    return lines


def _process_seconds() -> float | None:
    """Seconds since this process started (Linux: /proc), or None where that is not known."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22, starttime, after the command
        return float(Path("/proc/uptime").read_text().split()[0]) - started
    except (OSError, ValueError, IndexError):
        return None


class Stages:
    """A run's wall time split into named stages, in seconds (the clock is ``time.perf_counter``).

    ``startup`` is the interpreter, the imports and Hydra's start before ``sim-run``'s own code
    (where the process start time is known, Linux); :meth:`mark` closes the stage that ran since
    the last mark; ``total`` is the sum.
    """

    def __init__(self, startup: float | None = None) -> None:
        self.seconds: dict[str, float] = {} if startup is None else {"startup": round(startup, 3)}
        self.last = time.perf_counter()

    @classmethod
    def since_start(cls) -> Stages:
        """Stages whose first one, ``compose``, starts where ``main()`` did (Hydra composes before ``run``)."""
        stages = cls(None if _STARTED is None else _STARTED[1])
        if _STARTED is not None:
            stages.last = _STARTED[0]
        return stages

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = round(self.seconds.get(name, 0.0) + seconds, 3)
        self.seconds["total"] = round(sum(v for k, v in self.seconds.items() if k != "total"), 3)

    def mark(self, name: str, minus: float = 0.0) -> None:
        """Close stage ``name``: the time since the last mark, less ``minus`` (a stage measured inside it)."""
        now = time.perf_counter()
        self.add(name, now - self.last - minus)
        self.last = now

    def line(self) -> str:
        """``compose 1.1 s, prepare 0.1 s, ... (total 3.9 s)``."""
        parts = [f"{k} {v:.2f} s" for k, v in self.seconds.items() if k != "total"]
        return ", ".join(parts) + f" (total {self.seconds.get('total', 0.0):.1f} s)"


_STARTED: tuple[float, float | None] | None = None  # (perf_counter at main(), process seconds before it)


def write_provenance(outdir: Path, record: dict[str, Any]) -> None:
    """(Re)write ``provenance.json`` atomically."""
    from sim.store import atomic_write

    atomic_write(outdir / "provenance.json", lambda p: p.write_text(json.dumps(record, indent=2, default=str)))


def run_sweep(cfg: DictConfig, pair: Pair, outdir: Path, where: str, overrides: list[str],
              treatment: Callable[[str], Pair]) -> None:
    """A grid or sensitivity design through the in-process evaluator, then its report.

    ``where`` is the experiment preset's file; ``treatment(name)`` pairs the control with scenario
    ``name`` (for a grid that sweeps ``compare``: :func:`sim.api.experiment_plan`). Rerunning into
    the same directory (``hydra.run.dir=...``) resumes: finished cells are skipped. The directory is locked from
    the plan to the report (:class:`sim.store.DirectoryLock`): a second sweep into it meanwhile
    is refused.
    """
    from sim.report import write_report
    from sim.size import refuse_oversize, sweep_size
    from sim.sweep import evaluate, write_plan

    e = cfg.experiment
    lock = DirectoryLock(outdir)
    try:
        refuse_grid_overrides(overrides, e.grid, where)
        p = experiment_plan(e, pair, treatment, where)
        size = sweep_size(cfg, len(p.cells), int(e.workers), dyads=bool(e.dyads))
        refuse_oversize(size, str(CONFIG_DIR / "config.yaml"))
        lock.acquire()
        write_plan(outdir, p)
    except (ConfigError, OSError, DirectoryError) as err:
        lock.release()
        if not (outdir / "points").exists() and not (outdir / LOCK_FILE).exists():
            abandon(outdir)  # a fresh directory, not one another sweep is writing
        else:  # another sweep's directory: its record stays its own
            restore_record(outdir)
        if isinstance(err, OSError) and not isinstance(err, FileExistsError):
            fail(err, outdir, "nothing of the sweep was kept")
        print(f"error: {_blame(err, overrides) if isinstance(err, ConfigError) else err}", file=sys.stderr)
        sys.exit(2)
    try:
        workers = int(e.workers)
        print(f"{e.name}: {len(p.points)} points, {len(p.cells)} cells x {cfg.replications} replications, "
              f"up to {workers if workers > 0 else 'every core as'} worker(s) -> {outdir}")
        print(f"resume after an interruption with: {command()} "
              f"{shlex.join([*overrides, f'hydra.run.dir={outdir}'])}")
        if size.long:
            print(f"estimate: {size.line()}")
        resume = f"finished cells are kept in {outdir / 'cells'}; resume with the command above"
        try:
            stats = evaluate(p, outdir, workers)
        except (KeyboardInterrupt, OSError, MemoryError) as err:  # KeyboardInterrupt: Ctrl-C or SIGTERM
            fail(err, outdir, resume)
        rate = stats["replications_per_second"]
        print(f"ran {stats['ran']} cells, skipped {stats['skipped']} finished in {stats['seconds']:.1f} s"
              + (f" ({rate:.0f} replications/s)" if rate else "")
              + (f" on {stats['workers']} processes" if stats["workers"] > 1 else " in this process"))
        try:
            paths = write_report(outdir, progress=True)
        except OSError as err:
            fail(err, outdir / "report", f"every cell is finished: sim-report {outdir} makes the report")
        for name, path in paths.items():
            print(f"{name}: {path}")
    finally:
        lock.release()


def run_job(cfg: DictConfig, hc: HydraConfig, cells: list[Cell], overrides: list[str], root: Path) -> None:
    """One job of a Hydra multirun: its point's cells into the store under the sweep directory ``root``."""
    from sim.sweep import run_point

    root = root.absolute()
    params = {}
    for o in OverridesParser.create().parse_overrides(overrides):
        key = o.key_or_group
        if key not in GROUPS and not key.startswith(("hydra.", "experiment.")):
            params[key] = o.value()  # a value the job sets (a group choice is not a value)
    settings = {"min_relative_effect": float(cfg.min_relative_effect), "seed": int(cfg.seed)}
    point = run_point(cells[0], cells[1] if len(cells) == 2 else None, root, str(cfg.experiment.record), params,
                      settings, dyads=bool(cfg.experiment.dyads))
    if hc.mode == RunMode.MULTIRUN:
        print(f"job {hc.job.num}: point {point['id']} ({', '.join(overrides) or 'defaults'}) -> {root}; "
              f"the report follows the last job (or: sim-report {root})")
    else:
        print(f"saved job: point {point['id']} ({', '.join(overrides) or 'defaults'}) -> {root}; "
              f"sim-report {root} makes the tables and figures")


def command() -> str:
    """How this process was started, to repeat it: ``.venv/bin/sim-run`` as typed (relative to the
    working directory when under it), or ``<python> -m sim``."""
    argv0 = Path(sys.argv[0])

    def short(path: Path) -> str:
        try:
            return str(path.absolute().relative_to(Path.cwd()))
        except ValueError:
            return str(path)

    if argv0.name in ("__main__.py", "-c", "-m") or argv0.suffix == ".py":
        return f"{short(Path(sys.executable))} -m sim"
    if shutil.which(argv0.name) == str(argv0):  # found on PATH: the name is enough
        return argv0.name
    return short(argv0)


def refuse_out_of_range(argv: list[str]) -> None:
    """Before Hydra composes anything, end the run on a command-line value outside its declared range.

    A plain ``key=value`` override of a setting that declares a range (:func:`sim.config.parameter_spec`:
    the levers, the mechanism parameters, ...) is converted as Hydra converts it (``OmegaConf.update``
    on the schema: ``policy.outreach=2`` is 2.0) and checked by :func:`sim.config.check_value`, the
    check :func:`sim.config.validate` makes of the composed config, with the message :func:`run` would
    print (the command line named as the source, as :func:`_blame` does) and exit 2. Composing takes
    a second or more, this a few milliseconds. What this cannot judge alone is left to the full
    validation: a sweep (``-m``: the sweeper checks every job), another mode (``--cfg``, ``--help``,
    ...), an addition (``+key=``), an interpolation, a value of the wrong type (Hydra's own error).
    """
    from hydra._internal.utils import get_args_parser  # the parser hydra.main reads sys.argv with
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from sim.config import Config, check_value, parameter_specs

    try:
        args = get_args_parser().parse_args(argv)
        overrides = OverridesParser.create().parse_overrides(args.overrides)
    except (SystemExit, HydraException):  # Hydra reports it in its own words
        return
    if (args.multirun or args.help or args.hydra_help or args.cfg or args.info or args.shell_completion
            or args.experimental_rerun):
        return
    declared = parameter_specs()
    schema = None
    for line, o in zip(args.overrides, overrides, strict=True):
        key = o.key_or_group
        if key not in declared or o.is_sweep_override() or o.is_delete() or o.is_add() or o.package is not None:
            continue
        value = o.value()
        if isinstance(value, str):  # an interpolation, or text Hydra will refuse for a number
            continue
        schema = schema if schema is not None else OmegaConf.structured(Config)
        try:
            OmegaConf.update(schema, key, value, merge=True)
        except OmegaConfBaseException:  # a value of the wrong type: Hydra's error names it
            continue
        try:
            check_value(f"command line ({line})", key, OmegaConf.select(schema, key))
        except ConfigError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)


def main() -> None:
    """``sim-run``: the Hydra app :func:`run`, timed from here (see :class:`Stages`).

    Whatever stops it ends in one message and a non-zero exit, without a traceback: Hydra is
    asked to raise what it would print (``HYDRA_FULL_ERROR=1`` within this process), and
    :func:`failure` says it in one line (exit 2 for a bad config, data file or command line, 1
    otherwise). A user who set ``HYDRA_FULL_ERROR=1`` gets the traceback.
    """
    global _STARTED, _FULL_ERROR
    _STARTED = (time.perf_counter(), _process_seconds())
    # At exit, every object still alive moves to the collector's permanent generation, so the
    # interpreter's final collections skip them (0.5-1 s of a headline run's exit otherwise: the
    # configs' and the libraries' objects). atexit handlers, weakref finalizers and the flushing of
    # stdout and stderr still run; what is skipped are finalizers of objects alive at exit, which
    # Python does not promise to run. Results are written and closed before this point.
    atexit.register(gc.freeze)
    refuse_out_of_range(sys.argv[1:])
    asked = _FULL_ERROR = os.environ.get("HYDRA_FULL_ERROR") == "1"
    os.environ["HYDRA_FULL_ERROR"] = "1"
    terminated: list[int] = []
    try:
        # SIGTERM stops a run as Ctrl-C does from the start (a scheduler's kill during the composition or
        # the validation); Hydra reads hydra.mode without composing the config twice
        with sigterm_as_interrupt(terminated), composing_once(CONFIG_DIR):
            run()
    except (Exception, KeyboardInterrupt) as e:  # a run's own interruption exits in run_pair or run_sweep
        if asked:
            raise
        if _RUN_DIR is not None:
            abandon(_RUN_DIR)
        if (signum := interruption(e, terminated)) is not None:
            print(f"interrupted ({signal.Signals(signum).name}): sim-run stopped; what it had not finished writing "
                  "was removed", file=sys.stderr)
            sys.exit(128 + signum)
        message, code = failure(e)
        print(f"error: {message}", file=sys.stderr)
        sys.exit(code)
    finally:
        if not asked:
            os.environ.pop("HYDRA_FULL_ERROR", None)


def interrupt_in(error: BaseException) -> KeyboardInterrupt | None:
    """The interruption (Ctrl-C, or SIGTERM as :class:`sim.processes.Terminated`) that ``error`` is or
    arose from (OmegaConf, interrupted in the middle of a merge, raises an AttributeError of its own
    from it), or None."""
    return next((e for e in causes(error) if isinstance(e, KeyboardInterrupt)), None)


def causes(error: BaseException) -> list[BaseException]:
    """``error`` and what it was raised from or during (``__cause__``, else ``__context__``), in turn."""
    chain: list[BaseException] = []
    cause: BaseException | None = error
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    return chain


def interruption(error: BaseException, terminated: list[int]) -> int | None:
    """The signal that stopped a run, or None: that of the interruption in ``error`` (:func:`interrupt_in`),
    else a SIGTERM seen (``terminated``) that a library made into another exception."""
    if (interrupt := interrupt_in(error)) is not None:
        return int(getattr(interrupt, "signum", signal.SIGINT))
    return int(terminated[0]) if terminated else None


# What Hydra and OmegaConf add to a message for debugging: the config search path, key metadata.
_NOISE = ("full_key:", "reference_type=", "object_type=", "provider=", "Config search path:")


def _lines(error: BaseException) -> list[str]:
    """An error's message as lines, up to Hydra's and OmegaConf's debugging lines; a list under a
    heading (Hydra's tab-indented options) joins its heading's line."""
    out: list[str] = []
    for line in str(error).splitlines():
        text = line.strip()
        if text.startswith(_NOISE):
            break  # the rest is for debugging: the key's metadata, the config search path
        if not text:
            continue
        if line.startswith("\t") and out and out[-1].endswith((":", ",")):
            out[-1] += f" {text},"
        else:
            out.append(text)
    return [line.rstrip(",.") for line in out]


def failure(error: Exception) -> tuple[str, int]:
    """What stopped ``sim-run`` before or around its own code, in one line, and the exit status.

    A YAML file Hydra cannot parse names the file, line and column; Hydra's and OmegaConf's own
    errors (an unknown group option, an override it cannot parse or merge) are their message
    without the debugging lines; a disk error says what to do (:func:`sim.store.write_failure`).
    Anything else is unexpected: its type and message, and how to see the traceback.
    """
    import yaml
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    for e in causes(error):
        if isinstance(e, yaml.MarkedYAMLError) and e.problem_mark is not None:
            mark = e.problem_mark
            context = e.context or ""
            if e.context_mark is not None and e.context_mark.line != mark.line:
                context += f" from line {e.context_mark.line + 1}"
            return (f"{mark.name}: line {mark.line + 1}, column {mark.column + 1}: not valid YAML: {e.problem}"
                    + (f" ({context.strip()})" if context.strip() else "") + "; correct the file", 2)
    if isinstance(error, (HydraException, OmegaConfBaseException)):
        lines = _lines(error)
        if isinstance(error.__cause__, OmegaConfBaseException):
            lines += _lines(error.__cause__)
        return "".join(f"{line} " if line.endswith(":") else f"{line}; " for line in lines).rstrip("; "), 2
    from sim.store import WriteError, write_failure

    if isinstance(error, WriteError):
        return f"{error}; choose another directory", 2
    if isinstance(error, OSError):
        return write_failure(error, _RUN_DIR or "the output directory (hydra.run.dir, hydra.sweep.dir)"), 1
    return (f"unexpected {type(error).__name__}: {error} (a bug? HYDRA_FULL_ERROR=1 sim-run ... shows the "
            "traceback to report)", 1)
