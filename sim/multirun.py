"""A Hydra multirun (``sim-run -m``) as a plan: every job validated before the first one runs, and the
jobs of a resumed multirun whose points are finished named and skipped, without composing them.

Hydra's basic sweeper launches the jobs one batch at a time, and each job composes and validates
its own configs (about 4 s here): a bad value in the last job failed after the others had run, and
a resumed multirun paid those seconds again for every finished job. The sweeper ``sim``
(``hydra_plugins/sim_sweeper``, chosen by ``configs/config.yaml``) runs :func:`sweep` instead:

1. the jobs are the basic sweeper's (its cartesian product of ``hydra.sweeper.params``, then the
   command line);
2. their cells, before anything runs: the jobs that differ only in values (``policy.*``,
   ``model.mechanisms.*.*``, ``seed``, ...) share one composition. The first of them is composed
   and validated as the job itself will be (:func:`sim.cli.validated`), and every job's cells
   are that pair with its own values set (:func:`sim.sweep.point_cells`, the in-process sweeps'
   rule, each value checked against its key's declared range), so their hashes are the ones the
   jobs will write. Jobs that choose other config files (``scenario=a,b``) or other structure
   get one composition per distinct choice. A problem in any job stops the multirun with one
   message (naming the job) before anything is written;
3. under the sweep directory's lock (:class:`sim.store.DirectoryLock`, held until the report is
   written: :func:`release`), a directory computed by another code version is refused
   (:func:`sim.sweep.refuse_other_code`), and each job whose point record and cells are there,
   intact, is named and skipped;
4. the other jobs go to the launcher, in runs of consecutive job numbers, so that each keeps its
   number and its directory ``<sweep>/<n>``; a joblib launcher's workers are tied to this
   process (:func:`sim.processes.tied_loky`).
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from sim.config import ConfigError
from sim.store import DYADS, POINTS, CellStore, DirectoryError, DirectoryLock

if TYPE_CHECKING:
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

STRUCTURE = ("world", "model", "scenario", "experiment", "compare")  # sim.cli.GROUPS and compare: they choose configs


@dataclass
class Job:
    """One job of a multirun: its number, its overrides, and the point its cells make."""

    num: int
    overrides: list[str]
    point: str = ""
    cells: tuple[str, ...] = ()

    def label(self) -> str:
        return f"job {self.num} ({' '.join(self.overrides) or 'defaults'})"


_HELD: DirectoryLock | None = None  # the lock of the sweep directory, from the sweep to its report


def jobs(sweeper: BasicSweeper, arguments: Sequence[str]) -> list[Job]:
    """The multirun's jobs, as the basic sweeper makes them, numbered in launch order."""
    assert sweeper.hydra_context is not None
    parser = OverridesParser.create(config_loader=sweeper.hydra_context.config_loader)
    overrides = parser.parse_overrides([*sweeper._parse_config(), *arguments])
    batches = sweeper.split_arguments(overrides, None)
    return [Job(n, list(o)) for n, o in enumerate(o for batch in batches for o in batch)]


def _split(job: Job) -> tuple[tuple[str, ...], dict[str, Any]]:
    """A job's overrides that choose structure (a config file, ``+``/``~``, ``experiment.*``, a package),
    and its plain values by key."""
    structure, values = [], {}
    for o, text in zip(OverridesParser.create().parse_overrides(job.overrides), job.overrides, strict=True):
        key = o.key_or_group
        plain = (o.package is None and not o.is_add() and not o.is_force_add() and not o.is_delete()
                 and "/" not in key and key not in STRUCTURE and not key.startswith(("hydra.", "experiment.")))
        if plain:
            values[key] = o.value()
        else:
            structure.append(text)
    return tuple(structure), values


def plan(sweeper: BasicSweeper, all_jobs: list[Job]) -> None:
    """Each job's cells and point (see the module docstring, step 2); ConfigError, FileNotFoundError or
    ValueError for the first job that cannot run, after printing which one."""
    from sim.cli import _blame, _source_file, validated
    from sim.sweep import point_cells, point_id

    groups: dict[tuple[str, ...], list[tuple[Job, dict[str, Any]]]] = {}
    for job in all_jobs:
        structure, values = _split(job)
        groups.setdefault(structure, []).append((job, values))
    for members in groups.values():
        first = members[0][0]
        try:
            config = sweeper.hydra_context.config_loader.load_sweep_config(sweeper.config, list(first.overrides))
            hc = config.hydra
            task = copy.deepcopy(config)
            with read_write(task), open_dict(task):
                del task["hydra"]
            with _as_job(config):
                _, pair = validated(task, hc)
        except ConfigError as e:
            raise _about(first, _blame(e, first.overrides)) from e
        except (FileNotFoundError, ValueError) as e:
            raise type(e)(f"{first.label()}: {e}") from e
        varying = sorted({k for _, values in members for k, v in values.items() if v != members[0][1].get(k)})
        where = _source_file("experiment", str(hc.runtime.choices.get("experiment")), hc)
        planned = point_cells(pair.cells, [{k: values[k] for k in varying} for _, values in members], where,
                              treatment_only=pair.treatment_only)
        for job, _ in members:
            try:
                cells = next(planned)
            except ConfigError as e:
                raise _about(job, _blame(e, job.overrides)) from e
            job.cells = tuple(c.key for c in cells)
            job.point = point_id(job.cells[0], job.cells[-1])


@contextmanager
def _as_job(config: DictConfig) -> Iterator[None]:
    """Hydra's ``HydraConfig`` set to a job's, as while the job runs (what :func:`sim.cli.validated` reads)."""
    from hydra.core.hydra_config import HydraConfig

    before = HydraConfig.instance().cfg
    HydraConfig.instance().set_config(config)
    try:
        yield
    finally:
        HydraConfig.instance().cfg = before


def _about(job: Job, error: ConfigError) -> ConfigError:
    return ConfigError(f"{job.label()}: {error.file}", error.key, error.value, error.allowed)


def finished(root: Path, all_jobs: list[Job], dyads: bool) -> list[Job]:
    """The jobs whose point record is in ``root/points/`` and whose cells are intact (a damaged cell is
    moved aside, with a warning: its job runs again)."""
    from sim.sweep import warn

    store = CellStore(root)
    done = []
    for job in all_jobs:
        if not (root / POINTS / f"{job.point}.json").exists():
            continue
        if store.intact(job.cells, say=warn) == set(job.cells) and (
                not dyads or all(store.has_file(k, DYADS) for k in job.cells)):
            done.append(job)
    return done


def refuse_other_code(root: Path) -> None:
    """:func:`sim.sweep.refuse_other_code` for each point record a multirun left in ``root``."""
    from sim.sweep import refuse_other_code as refuse

    for path in sorted((root / POINTS).glob("*.json")):
        try:
            recorded = json.loads(path.read_text()).get("settings", {}).get("code")
        except (OSError, ValueError):
            continue  # a damaged record: its job runs again and writes it
        refuse(root, recorded)


def runs(todo: list[Job], batch: int | None) -> list[list[Job]]:
    """``todo`` in runs of consecutive job numbers, each of at most ``batch`` jobs."""
    out: list[list[Job]] = []
    for job in todo:
        if out and out[-1][-1].num == job.num - 1 and (batch is None or len(out[-1]) < batch):
            out[-1].append(job)
        else:
            out.append([job])
    return out


def sweep(sweeper: BasicSweeper, arguments: Sequence[str]) -> list[Any]:
    """The sweeper's ``sweep``: plan every job, skip the finished ones, launch the rest (module docstring)."""
    from sim.processes import tied_loky

    global _HELD
    assert sweeper.config is not None and sweeper.launcher is not None
    all_jobs = jobs(sweeper, arguments)
    try:
        plan(sweeper, all_jobs)
        root = Path(str(sweeper.config.hydra.sweep.dir)).absolute()
        _HELD = DirectoryLock(root).acquire()
        refuse_other_code(root)
    except (ConfigError, DirectoryError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    dyads = bool(OmegaConf.select(sweeper.config, "experiment.dyads", default=False))
    skipped = finished(root, all_jobs, dyads)
    for job in skipped:
        print(f"skip {job.label()}: point {job.point} is finished in {root}")
    todo = [job for job in all_jobs if job not in skipped]
    if skipped:
        print(f"{len(skipped)} of {len(all_jobs)} jobs finished before; {len(todo)} to run")
    OmegaConf.save(sweeper.config, root / "multirun.yaml")  # as the basic sweeper does
    returns = []
    with tied_loky():
        for batch in runs(todo, sweeper.max_batch_size):
            results = sweeper.launcher.launch([job.overrides for job in batch], initial_job_idx=batch[0].num)
            for r in results:
                _ = r.return_value  # a failed job raises here, as under the basic sweeper
            returns.append(results)
    return returns


def release() -> None:
    """Release the sweep directory's lock (after the multirun's report)."""
    global _HELD
    if _HELD is not None:
        _HELD.release()
        _HELD = None
