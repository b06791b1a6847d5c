"""Sweeps: the paired test at many points, as cells in a store, evaluated in-process or by Hydra.

A sweep is a *plan*: the design's points, each a control cell and a treatment cell (the
headline pair with the point's values applied as in ``sim-run``: a lever the two scenarios set
differently is the treatment's intensity, anything else applies to both). Cells are keyed by
:func:`sim.store.config_hash`, so a cell shared by several points (the baseline of an outreach
sweep) runs once, and a rerun skips every finished cell.

Two ways to run a plan, with identical numbers (each cell's seeds come from its own config):

- :func:`evaluate`: one process evaluates every cell with a joblib process pool
  (``experiment.workers``), because a Hydra job costs seconds (a process, Hydra's setup,
  composing the configs), far more than a replication;
- ``sim-run -m``: Hydra runs one job per point (any launcher: joblib, submitit, Ray); each job
  writes its cells into the same store under the sweep directory (:func:`run_point`). The
  sweeper plans every job first and skips the finished ones (:mod:`sim.multirun`).

Either way ``<root>/points/<id>.json`` records each point (its values and its two cells) and
``sim-report <root>`` turns the directory into tables and figures.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import sys
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from sim.batch import MAX_BATCH
from sim.config import ConfigError, check_value, prior_settings, validate
from sim.design import (
    PRIOR_DESIGN,
    drawable,
    grid_points,
    prior_problem,
    prior_sample,
    sensitivity_points,
    sensitivity_problem,
    sensitivity_sample,
)
from sim.experiment import Cell, environment, prepare_plain, run_stacked
from sim.priors import mechanism_priors
from sim.store import (
    DESIGN_FILE,
    DYADS,
    POINTS,
    CellStore,
    DirectoryError,
    atomic_write,
    cell_config,
    cell_key,
    code_version,
    config_at,
    config_hash,
    stale_temporaries,
)


@dataclass
class PlannedCell:
    key: str
    scenario: str
    config: dict[str, Any]  # cell_config: resolved, without the keys that do not change numbers


@dataclass
class Plan:
    """Everything a sweep will run, known before any simulation."""

    experiment: str
    design: str
    keys: list[str]  # the design's coordinates (columns of the report)
    points: list[dict[str, Any]]  # {"id", "params", "control", "treatment"}
    cells: dict[str, PlannedCell] = field(default_factory=dict)
    problem: dict[str, Any] | None = None  # SALib problem of a sensitivity design
    sample: list[list[float]] | None = None  # its sample matrix, row k = point k
    settings: dict[str, Any] = field(default_factory=dict)  # seed, replications, record, levels, ...

    def record(self) -> dict[str, Any]:
        """What ``design.json`` holds: the plan without the cell configs."""
        return {"experiment": self.experiment, "design": self.design, "keys": self.keys,
                "points": self.points, "problem": self.problem, "sample": self.sample, "settings": self.settings}


# ------------------------------------------------------------------ planning


def point_id(control: str, treatment: str) -> str:
    return config_hash({"control": control, "treatment": treatment})


def _node(typed: DictConfig, key: str, file: str) -> Any:
    """The current value at ``key``; a ConfigError unless it is a single value of the config."""
    node = OmegaConf.select(typed, key, default=KeyError)
    if node is KeyError or node is None or OmegaConf.is_config(node):
        raise ConfigError(file, f"experiment.grid.{key}" if "." not in key else key, "(a grid key)",
                          "a key of the config that holds a single value "
                          "(policy.*, model.mechanisms.*.*, replications, seed, horizon.*)")
    return node


def _set(container: dict[str, Any], node: Any, key: str, value: Any, file: str) -> None:
    """Set ``key`` in a plain config dict, typed as the structured config types its current value ``node``."""
    if isinstance(node, bool):
        if not isinstance(value, bool):
            raise ConfigError(file, key, value, "true or false")
    elif isinstance(node, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(file, key, value, "a number")
        value = float(value)
    elif isinstance(node, int) and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(file, key, value, "an integer")
    parts = key.split(".")
    target = container
    for part in parts[:-1]:
        target = target[part]
    target[parts[-1]] = value


def _check(key: str, value: Any, file: str) -> bool:
    """Check a swept value against its key's declared range (a ConfigError if outside).

    True when that check suffices: the key declares a range (:func:`sim.config.parameter_spec`),
    or it is a mechanism's ``enabled`` switch (typed by :func:`_set`). False when only a full
    validation can tell.
    """
    try:
        check_value(file, key, value)
    except KeyError:
        return key.startswith("model.mechanisms.") and isinstance(value, bool)
    return True


def _copy_for(container: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """A copy of ``container`` deep along the paths of ``keys`` and shared elsewhere (the world)."""
    out = dict(container)
    for key in keys:
        parts = key.split(".")
        src, dst = container, out
        for part in parts[:-1]:
            if dst[part] is src[part]:
                dst[part] = copy.copy(src[part])
            src, dst = src[part], dst[part]
    return out


def plan(control: Cell, treatment: Cell, experiment: Any, file: str = "experiment config", *,
         treatment_only: Collection[str]) -> Plan:
    """The points of ``experiment`` and their validated, hashed cells.

    ``control``, ``treatment`` and ``treatment_only`` are a :class:`sim.api.Pair` (the validated
    pair with the command line applied, built by :func:`sim.api.build_pair`). At each point a
    key in ``treatment_only`` (``policy.<lever>`` for the levers the two scenario files set
    differently) goes to the treatment only, anything else to both.
    """
    design = str(experiment.design)
    problem = sample = None
    if design == "grid":
        points = grid_points(experiment.grid)
    elif design == "pair":
        points = [{}]
    else:
        mechanisms = control.config.model.mechanisms
        configured = {f"model.mechanisms.{g}.{k}": float(v) for g, params in mechanisms.items()
                      for k, v in params.items() if not isinstance(v, bool)}
        # by default the parameters of the mechanisms switched on: one switched off cannot move the effects
        switched_on = [k for k in configured if mechanisms[k.split(".")[2]].enabled]
        if design == PRIOR_DESIGN:  # every drawable parameter of the mechanisms switched on, by default
            priors = mechanism_priors(prior_settings(experiment.priors, file))
            names = list(experiment.parameters) or [k for k in switched_on if drawable(k, priors)]
            problem = prior_problem(names, file, priors)
            x = prior_sample(problem, int(experiment.samples), seed=int(control.config.seed))
        else:
            problem = sensitivity_problem(list(experiment.parameters) or switched_on, float(experiment.span),
                                          configured, file=file)
            x = sensitivity_sample(problem, design, int(experiment.samples), int(experiment.levels),
                                   seed=int(control.config.seed))
        points, sample = sensitivity_points(problem, x), x.tolist()
    keys = list(points[0]) if points else []
    result = Plan(str(experiment.name), design, keys, [], problem=problem, sample=sample,
                  settings={"seed": int(control.config.seed), "replications": int(control.config.replications),
                            "record": str(experiment.record), "dyads": bool(experiment.dyads),
                            "levels": int(experiment.levels),
                            "min_relative_effect": float(control.config.min_relative_effect),
                            "control": control.scenario, "treatment": treatment.scenario,
                            "code": code_version()}
                  | ({"discovery": dict(experiment.discovery)} if design == PRIOR_DESIGN else {}))
    for params, (c, t) in zip(points, point_cells([control, treatment], points, file, treatment_only=treatment_only),
                              strict=True):
        result.cells.setdefault(c.key, c)
        result.cells.setdefault(t.key, t)
        result.points.append({"id": point_id(c.key, t.key), "params": params, "control": c.key, "treatment": t.key})
    return result


def plan_treatments(pairs: Mapping[str, Any], experiment: Any, file: str = "experiment config") -> Plan:
    """The plan of a grid that sweeps ``compare`` (the treatment scenario) beside other keys.

    ``pairs`` maps each swept treatment name, in the grid's order, to its validated pair with the
    control (a :class:`sim.api.Pair`, built as ``sim-run compare=NAME`` builds it). The rest of
    the grid is planned under each pair (:func:`plan`) and the plans joined: ``compare`` is the
    first key of every point, cells shared by two pairs (the control) are planned once, and
    ``settings["treatment"]`` lists the treatments. ``sim-run -m`` visits the same points, one
    job each, since ``compare`` is a key of the config.
    """
    rest = OmegaConf.create(OmegaConf.to_container(experiment))
    rest.grid = {k: v for k, v in experiment.grid.items() if k != "compare"}
    joined: Plan | None = None
    for name, pair in pairs.items():
        p = plan(pair.control, pair.treatment, rest, file, treatment_only=pair.treatment_only)
        for point in p.points:
            point["params"] = {"compare": name, **point["params"]}
        if joined is None:
            joined = p
            joined.keys = ["compare", *p.keys]
            joined.settings["treatment"] = [name]
        else:
            joined.points.extend(p.points)
            joined.cells.update(p.cells)
            joined.settings["treatment"].append(name)
    if joined is None:
        raise ConfigError(file, "experiment.grid.compare", "(no value)", "one treatment scenario or more")
    return joined


def point_cells(cells: Sequence[Cell], points: Sequence[Mapping[str, Any]], file: str, *,
                treatment_only: Collection[str]) -> Iterator[list[PlannedCell]]:
    """Each point's validated, hashed cells: ``cells`` (the control and, in a pair, the treatment, as
    composed and validated) with the point's values set, a key in ``treatment_only`` in the
    treatment only. Every point has the keys of the first; a value outside its key's declared
    range is a ConfigError naming ``file``, and a key without one has its cell validated whole."""
    keys = list(points[0]) if points else []
    nodes = {k: _node(cells[0].config, k, file) for k in keys}  # the schema types a key alike in every cell
    bases = [cell_config(c.config) for c in cells]
    for params in points:
        planned = []
        for role, (cell, base) in enumerate(zip(cells, bases, strict=True)):
            own = [k for k in keys if role > 0 or k not in treatment_only]
            config = _copy_for(base, own)
            full_check = False
            for k in own:
                _set(config, nodes[k], k, params[k], file)
                full_check |= not _check(k, config_at(config, k), file)
            if full_check:
                validate(OmegaConf.merge(cell.config, OmegaConf.create(config)), {"config": file})
            planned.append(PlannedCell(cell_key(config), cell.scenario, config))
        yield planned


# ------------------------------------------------------------------ running


def run_and_store(root: str, cell: PlannedCell, record: str, dyads: bool = False) -> tuple[str, float, bool]:
    """Run one cell and write it to the store (in a worker process); (hash, seconds, written)."""
    return run_and_store_stack(root, [cell], record, dyads)[0]


def run_and_store_stack(root: str, cells: Sequence[PlannedCell], record: str, dyads: bool = False
                        ) -> list[tuple[str, float, bool]]:
    """Run cells of one :func:`stack_key` together (:func:`sim.experiment.run_stacked`) and write each
    to the store as it would be written alone; (hash, seconds, written) per cell. Finished cells
    are skipped, unless ``dyads`` asks for their pair table (``DYADS``) and they lack it: they are
    rerun (same numbers) and the table is added to the cell."""
    store = CellStore(root)
    todo = [c for c in cells if not store.has(c.key) or (dyads and not store.has_file(c.key, DYADS))]
    out = [(c.key, 0.0, False) for c in cells if c not in todo]
    if not todo:
        return out
    prepared = [prepare_plain(c.config, keep_unscaled=len(todo) > 1) for c in todo]
    world = prepared[0][0]
    first = todo[0].config
    results = run_stacked([(c.scenario, m, s) for c, (_, m, s) in zip(todo, prepared, strict=True)], world,
                          int(first["seed"]), int(first["replications"]), pairs=dyads)
    for cell, result in zip(todo, results, strict=True):
        table = result.table
        if record == "horizon":
            table = table[table["date"] == table["date"].max()].reset_index(drop=True)
        extra = {DYADS: result.dyads} if result.dyads is not None else {}
        if store.has(cell.key):  # finished before, without its pair table
            written = store.add(cell.key, extra)
        else:
            written = store.write(cell.key, table, cell.config,
                                  {"scenario": cell.scenario, "seconds": round(result.seconds, 4), "record": record,
                                   "replications": int(cell.config["replications"]),
                                   "seed": int(cell.config["seed"]), "code": code_version(),
                                   "environment": environment()}, extra)
        out.append((cell.key, result.seconds, written))
    return out


def stack_key(config: Mapping[str, Any]) -> str:
    """What cells must share to be stepped in one stack: everything but the numeric mechanism
    parameters and the lever levels (world, scenario, horizon, seed, replications, the switches)."""
    mechanisms = config["model"]["mechanisms"]
    switches = {g: {k: v for k, v in params.items() if isinstance(v, bool)} for g, params in mechanisms.items()}
    return config_hash({**config, "model": {**config["model"], "mechanisms": switches}, "policy": None})


def stacks(cells: Sequence[PlannedCell], slices: int = MAX_BATCH) -> list[list[PlannedCell]]:
    """``cells`` in groups that share a :func:`stack_key`, each of at most ``slices`` replications
    (at least one cell), in plan order."""
    groups: dict[str, list[PlannedCell]] = {}
    for c in cells:
        groups.setdefault(stack_key(c.config), []).append(c)
    out = []
    for group in groups.values():
        per = max(1, slices // max(1, int(group[0].config["replications"])))
        out += [group[i:i + per] for i in range(0, len(group), per)]
    return out


def write_plan(root: Path, p: Plan) -> None:
    """Write ``design.json`` and one ``points/<id>.json`` per point; refuse a different plan (one
    that differs only in ``experiment.dyads`` is the same plan: the rerun adds the pair tables),
    and a directory whose sweep was computed by another code version (:func:`refuse_other_code`)."""
    path = root / DESIGN_FILE
    record = p.record()
    if path.exists():
        old = json.loads(path.read_text())
        refuse_other_code(root, old.get("settings", {}).get("code"), p.settings.get("code"))
        if config_hash(_numbers_of(old)) != config_hash(_numbers_of(json.loads(json.dumps(record, default=str)))):
            raise FileExistsError(f"{root} holds another sweep ({old['experiment']}, {len(old['points'])} points); "
                                  "choose another directory with hydra.run.dir=...")
    root.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: f.write_text(json.dumps(record, indent=1, default=str)))
    for point in p.points:
        write_point(root, point)


def refuse_other_code(root: Path, recorded: str | None, current: str | None = None) -> None:
    """A DirectoryError unless the sweep in ``root`` was computed by code version ``current``
    (default :func:`sim.store.code_version`; ``recorded`` None: written before versions were
    recorded). Its cells would not be found (the code is in their hash), and new points beside
    the old would mix two codes' numbers in one report."""
    current = current or code_version()
    if recorded == current:
        return
    was = f"code version {recorded}" if recorded else "a code version it did not record"
    reuse = (f", or, if your change cannot alter the numbers, reuse them deliberately: SIM_CODE_VERSION={recorded} "
             "before the command (README, 'Resume')") if recorded else ""
    raise DirectoryError(f"{root} holds a sweep computed by {was}, and this code is version {current}: its "
                         "cells are not reused. Run into another directory (hydra.run.dir=... or "
                         f"hydra.sweep.dir=...){reuse}")


def _numbers_of(record: dict[str, Any]) -> dict[str, Any]:
    """A plan record without what does not change its numbers: whether cells keep their pair tables."""
    settings = {k: v for k, v in record.get("settings", {}).items() if k != "dyads"}
    return {**record, "settings": settings}


def write_point(root: Path, point: Mapping[str, Any]) -> None:
    (root / POINTS).mkdir(parents=True, exist_ok=True)
    path = root / POINTS / f"{point['id']}.json"
    if not path.exists():
        atomic_write(path, lambda f: f.write_text(json.dumps(dict(point), default=str)))


# What starting a worker of the process pool costs (s): an interpreter importing numpy, pandas and
# the engine (1.5-2 s on the 2-core machine of docs/PERFORMANCE.md). Below about twice this much
# work a second process costs more than it saves.
WORKER_START_SECONDS = 2.0


def pool_size(workers: int, remaining_seconds: float, stacks_left: int,
              start_cost: float = WORKER_START_SECONDS) -> int:
    """How many processes the rest of a sweep is worth: at most ``workers`` (-1: every core) and
    ``stacks_left``, and 1 (this process, no pool) unless the time the others save,
    ``remaining_seconds * (1 - 1/n)``, exceeds what starting them costs (``start_cost``)."""
    n = (os.cpu_count() or 1) if workers < 0 else workers
    n = min(n, stacks_left)
    if n <= 1 or remaining_seconds * (1 - 1 / n) <= start_cost:
        return 1
    return n


def evaluate(p: Plan, root: Path, workers: int = 1, *, progress: bool = True,
             start_cost: float = WORKER_START_SECONDS) -> dict[str, Any]:
    """Run every cell of ``p`` not yet in the store under ``root``, up to ``workers`` processes at a time.

    A finished cell counts only if its files match their checksums (:meth:`sim.store.CellStore.intact`):
    a damaged one is moved aside, with a warning, and run again.

    Cells that differ only in numeric mechanism parameters and lever levels (a sensitivity
    sample, an outreach or sanctions grid, a grid of weights) run together as one stack
    (:func:`stacks`), with the numbers each gives alone. The first stack runs in this process
    and times the work; the rest go to a pool of :func:`pool_size` processes (one, this
    process, when starting more would cost more than it saves, as for a small sweep). Each
    cell is written by the process that ran it, as soon as its stack finishes, so the parent
    holds no results and an interrupted sweep keeps every finished cell. Returns counts,
    timings and ``workers``, the processes used.

    The workers end with this process, however it ends, and leave Ctrl-C and SIGTERM to it; here
    SIGTERM raises :class:`sim.processes.Terminated` (a KeyboardInterrupt), and either stops the
    pool through joblib, which kills the workers and releases the pool's semaphores
    (:mod:`sim.processes`).
    """
    from joblib import Parallel, delayed

    from sim.processes import init_worker, sigterm_as_interrupt, starting_workers

    store = CellStore(root)
    _clean_stale(store)
    done = store.intact(p.cells, say=warn)
    todo = [c for c in p.cells.values()
            if c.key not in done or (p.settings.get("dyads") and not store.has_file(c.key, DYADS))]
    record = str(p.settings.get("record", "horizon"))
    dyads = bool(p.settings.get("dyads", False))
    reps = int(p.settings.get("replications", 1))
    start = time.perf_counter()
    simulated = 0.0
    used = 1
    if todo:
        groups = stacks(todo)
        with sigterm_as_interrupt(), tqdm(total=len(todo), desc=f"{p.experiment}: cells", unit="cell",
                                          disable=not progress, smoothing=0.05) as bar:
            probe = time.perf_counter()
            finished = run_and_store_stack(str(root), groups[0], record, dyads)
            per_cell = (time.perf_counter() - probe) / len(groups[0])
            simulated += sum(seconds for _, seconds, _ in finished)
            bar.update(len(finished))
            rest = groups[1:]
            used = pool_size(workers, per_cell * sum(len(g) for g in rest), len(rest), start_cost)
            if rest:
                with starting_workers():  # they start with Ctrl-C ignored, as init_worker leaves it
                    jobs: Iterator[list[tuple[str, float, bool]]] = Parallel(
                        n_jobs=used, return_as="generator_unordered",
                        initializer=init_worker, initargs=(os.getpid(),))(
                        delayed(run_and_store_stack)(str(root), group, record, dyads) for group in rest)
                for finished in jobs:
                    simulated += sum(seconds for _, seconds, _ in finished)
                    bar.update(len(finished))
    wall = time.perf_counter() - start
    return {"cells": len(p.cells), "skipped": len(p.cells) - len(todo), "ran": len(todo), "workers": used,
            "seconds": wall, "replications_per_second": len(todo) * reps / wall if todo and wall > 0 else None,
            "simulation_seconds": simulated}


def run_point(control: Cell, treatment: Cell | None, root: Path, record: str = "series",
              params: Mapping[str, Any] | None = None, settings: Mapping[str, Any] | None = None,
              dyads: bool = False) -> dict[str, Any]:
    """One Hydra multirun job: the point's cells into the shared store, then its point record
    (with ``dyads``, each cell's pair table too)."""
    cells = [control] + ([treatment] if treatment is not None else [])
    keys = []
    store = CellStore(root)
    for cell in cells:
        config = cell_config(cell.config)
        key = cell_key(config)
        store.intact([key], say=warn)  # a damaged cell is moved aside, then run again
        run_and_store(str(root), PlannedCell(key, cell.scenario, config), record, dyads)
        keys.append(key)
    point = {"id": point_id(keys[0], keys[-1]), "params": dict(params or {}), "control": keys[0],
             "treatment": keys[-1] if treatment is not None else None,
             "settings": {**(settings or {}), "code": code_version()}}
    write_point(root, point)
    return point


def warn(line: str) -> None:
    """One line to stderr, ``warning: ...`` (above a progress bar)."""
    tqdm.write(f"warning: {line}", file=sys.stderr)


def _clean_stale(store: CellStore) -> None:
    """Remove temporary cell directories whose writer, on this host, is gone (killed sweeps)."""
    for tmp in stale_temporaries(store.cells):
        shutil.rmtree(tmp, ignore_errors=True)
