"""Running cells (one config x R seeded replications) and writing their results atomically.

Seeds: the root ``seed`` expands through ``numpy.random.SeedSequence(seed).spawn(R)``;
replication r of every scenario gets child r, so scenario differences are paired (common
random numbers). The same config and seed give the same numbers in any process.

Engines: a cell's replications run on the batched engine (:mod:`sim.batch`, all replications
stepped together on stacked arrays) unless ``engine="mesa"`` asks for one
:class:`sim.model.AllianceModel` per replication. Both give the same table, bit for bit
(``tests/test_batch.py``); the Mesa model is the reference.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import platform
import subprocess
import time
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from sim.batch import PAIR_FIELDS, batch_size, run_batch
from sim.config import MechanismsConfig, shift_month
from sim.events import Schedule, build_schedule
from sim.mechanisms.ties import tie_strength
from sim.metrics import COUNTERFACTUAL
from sim.store import atomic_write, code_version, config_hash, existing_results
from sim.world import World, world_from_config

if TYPE_CHECKING:
    from sim.model import AllianceModel  # Mesa: imported only by run_replication (engine="mesa")

ENGINES = ("batch", "mesa")


@dataclass
class Cell:
    """One scenario's config, ready to run."""

    scenario: str
    config: DictConfig


class Pairs(typing.NamedTuple):
    """What a cell's pair table is made from: :func:`dyad_table`'s arguments."""

    scenario: str
    world: World
    dates: Sequence[str]
    values: np.ndarray  # (R, months + 1, len(PAIR_FIELDS), P), as run_batch records it with pairs=True


@dataclass
class CellResult:
    table: pd.DataFrame  # tidy: scenario, replication, date, one column per metric
    network: pd.DataFrame  # scenario, stage (start/end), origin, target, camps, tie, affinity (means)
    seconds: float
    pairs: Pairs | None = None  # recorded with pairs=True: what ``dyads`` is made from

    @functools.cached_property
    def dyads(self) -> pd.DataFrame | None:
        """scenario, replication, date, a, b, PAIR_FIELDS: every pair, every month (:func:`dyad_table`),
        made when first asked for (``sim-run`` makes it in the thread that writes it, while its
        figures are drawn); None for a cell run without ``pairs``."""
        return None if self.pairs is None else dyad_table(*self.pairs)


def replication_seeds(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """Child seed sequences of the root seed, one per replication (shared across scenarios)."""
    return np.random.SeedSequence(seed).spawn(replications)


def prepare(cfg: DictConfig) -> tuple[World, MechanismsConfig, Any]:
    """World, typed mechanism parameters and the compiled schedule of a validated config."""
    world = world_from_config(cfg.world)
    mechanisms = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(MechanismsConfig), cfg.model.mechanisms))
    schedule = build_schedule(cfg.scenario, cfg.policy, cfg.horizon, world)
    return world, mechanisms, schedule  # type: ignore[return-value]


class Plain(dict):
    """A read-only view of a plain config dict with attribute access, like a DictConfig.

    Building a DictConfig of a whole world costs tens of milliseconds; a sweep's worker reads
    the same values through this view instead.
    """

    def __getitem__(self, key: Any) -> Any:
        return _plain(dict.__getitem__(self, key))

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError as e:
            raise AttributeError(key) from e

    def items(self):  # type: ignore[override]
        return ((k, _plain(v)) for k, v in dict.items(self))

    def values(self):  # type: ignore[override]
        return (_plain(v) for v in dict.values(self))


def _plain(value: Any) -> Any:
    if isinstance(value, dict) and not isinstance(value, Plain):
        return Plain(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


_WORLDS: dict[str, World] = {}


def prepare_plain(config: dict[str, Any], *, keep_unscaled: bool = False) -> tuple[World, MechanismsConfig, Any]:
    """:func:`prepare` of a resolved plain-dict config; worlds are built once per process.

    ``keep_unscaled``: keep events scaled by a lever at 0 (as no-ops), for schedules that will be
    stacked (:func:`sim.events.stack_schedules`).
    """
    key = config_hash(config["world"])
    if key not in _WORLDS:
        _WORLDS.clear()  # one world at a time: memory stays bounded in a long sweep
        _WORLDS[key] = world_from_config(Plain(config["world"]))
    world = _WORLDS[key]
    given = config["model"]["mechanisms"]
    mechanisms = MechanismsConfig(**{name: cls(**given[name]) for name, cls in _mechanism_groups().items()})
    schedule = build_schedule(Plain(config["scenario"]), Plain(config["policy"]), Plain(config["horizon"]), world,
                              keep_unscaled=keep_unscaled)
    return world, mechanisms, schedule


@functools.cache
def _mechanism_groups() -> dict[str, type]:
    return typing.get_type_hints(MechanismsConfig)


def run_replication(
    world: World, mechanisms: MechanismsConfig, schedule: Any, seed: np.random.SeedSequence
) -> AllianceModel:
    """Build and run one model to the horizon; the finished model holds its DataCollector."""
    from sim.model import AllianceModel

    model = AllianceModel(world, mechanisms, schedule, rng=np.random.default_rng(seed))
    model.run()
    return model


def run_cell(cell: Cell, *, progress: bool = False, pairs: bool = False) -> CellResult:
    """Run every replication of one scenario and gather its tidy table and network table
    (and with ``pairs`` its pair table, :func:`dyad_table`)."""
    cfg = cell.config
    world, mechanisms, schedule = prepare(cfg)
    return run_prepared(cell.scenario, world, mechanisms, schedule, int(cfg.seed), int(cfg.replications),
                        progress=progress, pairs=pairs)


def run_prepared(scenario: str, world: World, mechanisms: MechanismsConfig, schedule: Any, seed: int,
                 replications: int, *, progress: bool = False, engine: str = "batch", pairs: bool = False
                 ) -> CellResult:
    """:func:`run_cell` on a prepared world, parameters and schedule.

    ``engine="batch"`` (the default) steps the replications together, in stacks of at most
    :func:`sim.batch.batch_size` replications (so memory stays bounded for large worlds);
    ``engine="mesa"`` runs one :class:`sim.model.AllianceModel` per replication. Same numbers.
    ``pairs`` (batch engine only) also records every pair every month (:func:`dyad_table`).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    if engine == "batch":
        return run_stacked([(scenario, mechanisms, schedule)], world, seed, replications, progress=progress,
                           pairs=pairs)[0]
    if pairs:
        raise ValueError("the pair table is recorded by the batch engine; use engine='batch'")
    start = time.perf_counter()
    blocks: list[np.ndarray] = []
    ties, affinities = _RunningSum(), _RunningSum()
    columns: tuple[str, ...] = ()
    twins: list[np.ndarray] = []
    counterfactual = without_demands(mechanisms)
    for seq in tqdm(replication_seeds(seed, replications), desc=scenario, unit="run", leave=False,
                    disable=None if progress else True):  # disable=None: a bar only on a terminal
        model = run_replication(world, mechanisms, schedule, seq)
        recorder = model.datacollector  # an ArrayDataCollector: the metrics as one array per run
        blocks.append(recorder.array().copy())
        ties.add(model.tie)
        affinities.add(model.affinity)
        columns = recorder.columns
        twin = run_replication(world, counterfactual, schedule, seq).datacollector
        twins.append(twin.array()[:, twin.columns.index("entente_strength")].copy())
    return _cell_result(scenario, world, with_counterfactual(blocks, twins, columns), (*columns, *COUNTERFACTUAL),
                        schedule.dates, ties, affinities, time.perf_counter() - start)


def run_stacked(cells: Sequence[tuple[str, MechanismsConfig, Schedule]], world: World, seed: int,
                replications: int, *, progress: bool = False, pairs: bool = False) -> list[CellResult]:
    """Cells that differ only in mechanism parameters and lever levels, stepped together: one
    result per cell.

    Each cell ``(scenario, mechanisms, schedule)`` gets ``replications`` slices seeded as
    :func:`run_cell` seeds them (``replication_seeds(seed, replications)``), so its result is the
    one :func:`run_prepared` gives it alone, bit for bit; the K x R slices run in stacks of at most
    :func:`sim.batch.batch_size` slices (:func:`sim.batch.run_batch`, one parameter set and one
    schedule per slice). Their switches must agree, and their schedules all but the lever levels
    (compiled with ``keep_unscaled=True``). Each result's ``seconds`` is its share of the wall time.
    ``pairs``: each result also holds what its pair table is made from (``CellResult.dyads``).
    """
    start = time.perf_counter()
    seeds = replication_seeds(seed, replications)
    # each replication twice: as configured, and its counterfactual without the targets' demands
    slices = [(k, variant, s) for variant in (False, True) for k, (_, m, _) in enumerate(cells)
              for s in seeds]
    params_of = [[m, without_demands(m)] for _, m, _ in cells]
    size = batch_size(world.n)
    blocks: list[list[np.ndarray]] = [[] for _ in cells]
    twins: list[list[np.ndarray]] = [[] for _ in cells]
    ties = [_RunningSum() for _ in cells]
    affinities = [_RunningSum() for _ in cells]
    pair_blocks: list[list[np.ndarray]] = [[] for _ in cells]
    columns: tuple[str, ...] = ()
    label = cells[0][0] if len(cells) == 1 else f"{len(cells)} cells"
    dates = cells[0][2].dates
    with tqdm(total=len(slices), desc=label, unit="run", disable=None if progress else True, leave=False) as bar:
        for lo in range(0, len(slices), size):
            part = slices[lo:lo + size]
            params = [params_of[k][twin] for k, twin, _ in part]
            schedules = [cells[k][2] for k, _, _ in part]
            batch = run_batch(world, params, schedules[0] if len(cells) == 1 else schedules,
                              [s for _, _, s in part], pairs=pairs)
            columns = batch.columns
            entente = columns.index("entente_strength")
            for n, ((k, twin, _), metrics, tie, affinity) in enumerate(
                    zip(part, batch.metrics, batch.tie, batch.affinity, strict=True)):
                if twin:
                    twins[k].append(metrics[:, entente])
                    continue
                if batch.pairs is not None:
                    pair_blocks[k].append(batch.pairs[n])
                blocks[k].append(metrics)
                ties[k].add(tie)
                affinities[k].add(affinity)
            bar.update(len(part))
    seconds = (time.perf_counter() - start) / len(cells)
    results = [_cell_result(scenario, world, with_counterfactual(blocks[k], twins[k], columns),
                            (*columns, *COUNTERFACTUAL), dates, ties[k], affinities[k], seconds)
               for k, (scenario, _, _) in enumerate(cells)]
    if pairs:
        for k, result in enumerate(results):
            result.pairs = Pairs(cells[k][0], world, dates, np.stack(pair_blocks[k]))
    return results


def without_demands(mechanisms: MechanismsConfig) -> MechanismsConfig:
    """The same parameters with the outreach targets' demands on the entente removed
    (``demands.scale = 0``): the counterfactual the realized leverage is measured against."""
    return dataclasses.replace(mechanisms, demands=dataclasses.replace(mechanisms.demands, scale=0.0))


def with_counterfactual(blocks: list[np.ndarray], without: list[np.ndarray], columns: tuple[str, ...]
                        ) -> list[np.ndarray]:
    """Each replication's metrics (months, columns) with the :data:`sim.metrics.COUNTERFACTUAL` columns:
    the entente in the replication's twin without the targets' demands (same seed), and
    realized leverage = that entente - the entente with the demands."""
    entente = columns.index("entente_strength")
    return [np.column_stack([b, w, w - b[:, entente]]) for b, w in zip(blocks, without, strict=True)]


def dyad_table(scenario: str, world: World, dates: Sequence[str], pairs: np.ndarray) -> pd.DataFrame:
    """The pair table of ``dyads.parquet``: one row per replication, month and unordered pair.

    Columns ``scenario, replication, date, a, b, tie, commitment_ab, commitment_ba, affinity``;
    ``a``/``b`` are world codes, a before b in the world's order, each pair once;
    ``commitment_ab`` is a's commitment to b (budget units). ``date`` is ``YYYY-MM``, the first
    the month before the horizon (the calibrated start state). ``pairs`` is (R, months + 1, 4, P)
    as :func:`sim.batch.run_batch` records it with ``pairs=True``.
    """
    r, rows, _, p = pairs.shape
    i, j = np.triu_indices(world.n, 1)
    before = shift_month(dates[0], -1)
    table = pd.DataFrame({
        "scenario": labels([scenario], np.zeros(r * rows * p, dtype=np.int64)),
        "replication": np.repeat(np.arange(r, dtype=np.int64), rows * p),
        "date": labels([before, *dates], np.tile(np.repeat(np.arange(rows), p), r)),
        "a": labels(world.codes, np.tile(i, r * rows)),
        "b": labels(world.codes, np.tile(j, r * rows)),
    })
    values = pairs.transpose(0, 1, 3, 2).reshape(-1, len(PAIR_FIELDS))
    for k, name in enumerate(PAIR_FIELDS):
        table[name] = values[:, k]
    return table


def labels(values: Sequence[str], index: np.ndarray) -> pd.Series:
    """The string column ``values[index]`` (pandas' ``str`` dtype), made by Arrow's ``take`` from the few
    distinct ``values``: the column a NumPy array of the repeated strings gives, without making and
    converting a Python string per row (what held the GIL while a headline run's thread built its pair
    tables beside the statistics)."""
    import pyarrow as pa  # pandas' string columns are Arrow arrays: imported with them

    return pd.Series(pa.array(list(values), type=pa.large_string()).take(pa.array(index)), dtype="str")


def _cell_result(scenario: str, world: World, blocks: list[np.ndarray], columns: tuple[str, ...],
                 dates: Sequence[str], ties: _RunningSum, affinities: _RunningSum, seconds: float) -> CellResult:
    """The tidy table ``get_model_vars_dataframe()`` would give for each run, stacked, and the network."""
    values = np.concatenate(blocks)
    if not np.isfinite(values).all():
        bad = [c for c, ok in zip(columns, np.isfinite(values).all(axis=0), strict=True) if not ok]
        raise FloatingPointError(f"scenario {scenario}: non-finite values in {bad}; check the parameters")
    months = len(dates)
    when = pd.to_datetime(pd.Series(list(dates)) + "-01")
    table = pd.DataFrame(values, columns=list(columns))
    table.insert(0, "date", np.tile(when.to_numpy(), len(blocks)))
    table.insert(0, "replication", np.repeat(np.arange(len(blocks), dtype=np.int64), months))
    table.insert(0, "scenario", scenario)
    network = network_table(scenario, world, ties.mean(), affinities.mean())
    return CellResult(table, network, seconds)


class _RunningSum:
    """The mean of arrays seen one at a time, in the order seen: ``numpy.mean(arrays, axis=0)``
    (which adds the arrays in order, then divides by their count) without holding them all."""

    def __init__(self) -> None:
        self.total: np.ndarray | None = None
        self.count = 0

    def add(self, x: np.ndarray) -> None:
        if self.total is None:
            self.total = np.array(x, dtype=float)
        else:
            self.total += x
        self.count += 1

    def add_all(self, stack: np.ndarray) -> None:
        for x in stack:
            self.add(x)

    def mean(self) -> np.ndarray:
        if self.total is None:
            raise ValueError("no arrays to average")
        return self.total / self.count


def network_table(scenario: str, world: World, tie_end: np.ndarray, affinity_end: np.ndarray) -> pd.DataFrame:
    """Long table of every pair's tie and affinity at the start (calibration) and the end."""
    rows = []
    for stage, tie, aff in (("start", tie_strength(world.commitment, world.budget), world.affinity),
                            ("end", tie_end, affinity_end)):
        for i in range(world.n):
            for j in range(i + 1, world.n):
                rows.append((scenario, stage, world.codes[i], world.codes[j], world.camp[i], world.camp[j],
                             float(tie[i, j]), float(aff[i, j])))
    columns = ["scenario", "stage", "origin", "target", "origin_camp", "target_camp", "tie", "affinity"]
    return pd.DataFrame(rows, columns=columns)


# ------------------------------------------------------------------ writing


def write_results(
    outdir: Path, results: list[CellResult], summary: dict[str, Any] | None, summary_md: str | None,
    provenance: dict[str, Any],
) -> None:
    """Write the tables, the summary and provenance; each file atomically, results table last.

    Refuses to overwrite: finished results are never lost. The same files as
    :func:`write_tables` followed by :func:`write_outcome` (what ``sim-run`` does, the tables
    while it computes the statistics).
    """
    found = existing_results(outdir)
    if found:
        raise FileExistsError(f"{outdir} already holds results ({', '.join(found)}); refusing to overwrite")
    outdir.mkdir(parents=True, exist_ok=True)
    write_tables(outdir, results)
    write_outcome(outdir, results, summary, summary_md, provenance)


def write_tables(outdir: Path, results: list[CellResult]) -> None:
    """``network.parquet`` and, where the cells tabulated their dyads, ``dyads.parquet``: the tables
    that need no statistics, each written atomically. Arrow converts and writes them without
    holding the GIL, so a thread can write them while the statistics are computed."""
    network = pd.concat([r.network for r in results], ignore_index=True)
    atomic_write(outdir / "network.parquet", lambda p: network.to_parquet(p, index=False))
    dyads = [r.dyads for r in results if r.dyads is not None]
    if dyads:
        pairs = pd.concat(dyads, ignore_index=True)
        atomic_write(outdir / "dyads.parquet", lambda p: pairs.to_parquet(p, index=False))


def write_outcome(
    outdir: Path, results: list[CellResult], summary: dict[str, Any] | None, summary_md: str | None,
    provenance: dict[str, Any],
) -> None:
    """``provenance.json``, ``summary.json`` and ``summary.md`` (when there is a summary), then
    ``results.parquet`` last, each written atomically (after :func:`write_tables`)."""
    atomic_write(outdir / "provenance.json", lambda p: p.write_text(json.dumps(provenance, indent=2, default=str)))
    if summary is not None:
        atomic_write(outdir / "summary.json", lambda p: p.write_text(json.dumps(summary, indent=2)))
    if summary_md is not None:
        atomic_write(outdir / "summary.md", lambda p: p.write_text(summary_md))
    table = pd.concat([r.table for r in results], ignore_index=True)
    atomic_write(outdir / "results.parquet", lambda p: table.to_parquet(p, index=False))


PACKAGES = ("alliance-sim", "mesa", "numpy", "scipy", "pandas", "hydra-core", "omegaconf", "networkx")
ENVIRONMENT = ("code", "git_revision", "python", "platform", "packages")  # the keys environment() returns


def environment() -> dict[str, Any]:
    """What a result's numbers may depend on besides its config: ``code`` (the version cells are keyed by,
    :func:`sim.store.code_version`), ``git_revision`` (``-dirty`` when the tree has changes), ``python``,
    ``platform`` and ``packages`` (versions of :data:`PACKAGES`).

    A run's ``provenance.json`` and each sweep cell's ``cell.json`` hold it.
    """
    return {"code": code_version(), **_environment()}


@functools.cache
def _environment() -> dict[str, Any]:
    """:func:`environment` but the code version, computed once per process (git and package metadata)."""
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {"git_revision": _git_revision(), "python": platform.python_version(), "platform": platform.platform(),
            "packages": packages}


def provenance(cells: list[Cell], results: list[CellResult]) -> dict[str, Any]:
    """The :func:`environment`, seeds, timings and each cell's resolved config."""
    first = cells[0].config
    return {
        **environment(),
        "seed": int(first.seed),
        "replications": int(first.replications),
        "seed_scheme": "numpy.random.SeedSequence(seed).spawn(replications); replication r shares child r "
                       "across scenarios",
        "seconds": {c.scenario: round(r.seconds, 3) for c, r in zip(cells, results, strict=True)},
        "configs": {c.scenario: OmegaConf.to_container(c.config, resolve=True) for c in cells},
    }


def _git_revision() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if rev.returncode != 0:
        return None
    return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
