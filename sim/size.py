"""A run's size before it starts: memory and time from the world, the horizon and the replications.

A cell's replications are stepped in stacks of at most :func:`sim.batch.batch_size` slices, so the
working memory of the step is bounded whatever the replications; what grows with them is the
result: every replication's metrics each month and, for a run (or a sweep with
``experiment.dyads``), its pair table, every pair each month. The estimate, in bytes, is

    memory = processes * (PROCESS_BYTES + work(S) + held * R * (months * C * METRIC_BYTES + rows * PAIR_ROW_BYTES))
    work(S) = S * 8 N^2 STACK_MATRICES [+ S * 8 N^3 * 4 up to DENSE_PRESSURE_MAX_N states]
              + 2 min(S * 32 N^2 months, DEFERRED_BYTES) + min(S * 8 N^2 months, INNOVATION_BYTES)

with N states, C metric columns (with the counterfactual's), ``rows = (months + 1) N (N - 1) / 2``
pair rows per replication (none without the pair table), S the slices of one stack (each replication
and its twin without the targets' demands, :func:`sim.experiment.run_stacked`: two slices a
replication), R the replications and ``held`` the cells whose tables are in memory at once (a run
holds its scenarios'; a sweep worker one stack's). ``work`` is the stack's arrays, the months of
metric inputs waiting to be measured
(:class:`sim.recording.DeferredMeasure`, with the measurement's temporaries) and the innovations
drawn ahead (:class:`sim.batch.StackedDraws`); ``PROCESS_BYTES`` is the interpreter with its
libraries. The constants come from the peak resident set size of ``sim-run`` runs of 2 to 600
replications of the 2018 world and synthetic worlds of 30 and 60 states (the pair table, some
160 bytes a row at its peak with pandas' and Arrow's copies, is most of a run's memory);
``tests/test_size.py`` holds the estimate within a factor of 2 of a measured run.

Time, for the simulation and the tables (the figures and the start add a few seconds), is
``2 R cells * months * (STEP_SECONDS + STEP_CUBIC_SECONDS N^3) + pair rows * PAIR_ROW_SECONDS``,
rates measured on the 2-core machine of docs/PERFORMANCE.md while it was busy (load 2-6): an
order of magnitude, within a factor of about 2, not a promise. A run whose memory estimate
exceeds what is available (:func:`available_memory`) is refused before it starts
(:func:`refuse_oversize`).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.batch import INNOVATION_BYTES, MAX_BATCH, batch_size
from sim.config import ConfigError, month_index, parse_month
from sim.levers import OUTREACH
from sim.mechanisms.bargaining import DENSE_PRESSURE_MAX_N
from sim.metrics import COUNTERFACTUAL, metric_names
from sim.recording import DEFERRED_BYTES

PROCESS_BYTES = 300 * 2**20  # the interpreter, numpy, pandas, pyarrow and matplotlib (230-300 MB measured)
STACK_MATRICES = 40  # (N, N) float arrays per slice while stepping: the state, temporaries, the month's values
METRIC_BYTES = 32  # per metric value of a replication: the recorded block, its table and their copies
PAIR_ROW_BYTES = 160  # per row of the pair table: recorded floats, the table's columns, pandas' and Arrow's copies
STEP_SECONDS = 2e-5  # per slice and month: the calls' overhead, shared by a stack
STEP_CUBIC_SECONDS = 1.4e-8  # per slice, month and N^3: the arithmetic (the pressure is O(N^3))
PAIR_ROW_SECONDS = 2e-6  # per pair-table row: recording it, building the table, writing it, its statistics
MEMORY_LIMIT_VARIABLE = "SIM_MEMORY_LIMIT"  # bytes a run may plan to use (K, M, G suffixes), else what is free
PROGRESS_SECONDS = 5.0  # a run estimated to take longer says so before it starts


@dataclass(frozen=True)
class Size:
    """What a run will hold and take: see the module docstring for the formula."""

    states: int
    months: int
    replications: int
    columns: int  # metric columns per month
    cells: int  # cells run (a run's scenarios, a sweep's cells)
    held: int  # cells whose tables are in memory at once
    pairs: bool  # whether each replication records its pair table
    processes: int = 1  # processes running at once, each holding ``held`` cells
    stacked: int = 1  # cells stepped together in one stack
    runs: int = 2  # runs stepped per replication: itself and its twin without the targets' demands


    @property
    def stack(self) -> int:
        """Slices of one stack: the stacked cells' replications, at most :func:`sim.batch.batch_size`."""
        return min(self.runs * self.stacked * self.replications, batch_size(self.states))

    @property
    def pair_rows(self) -> int:
        """Rows of one replication's pair table (the calibrated start, then every month)."""
        return (self.months + 1) * self.states * (self.states - 1) // 2 if self.pairs else 0

    @property
    def work_bytes(self) -> int:
        n2, s = 8 * self.states**2, self.stack
        cubes = s * 8 * self.states**3 * 4 if self.states <= DENSE_PRESSURE_MAX_N else 0
        return (s * n2 * STACK_MATRICES + cubes + 2 * min(s * 4 * n2 * self.months, DEFERRED_BYTES)
                + min(s * n2 * self.months, INNOVATION_BYTES))

    @property
    def replication_bytes(self) -> int:
        """The tables of one replication of one cell."""
        return self.months * self.columns * METRIC_BYTES + self.pair_rows * PAIR_ROW_BYTES

    @property
    def bytes(self) -> int:
        return self.processes * (PROCESS_BYTES + self.work_bytes
                                 + self.held * self.replications * self.replication_bytes)

    @property
    def seconds(self) -> float:
        slices = self.cells * self.replications
        step = self.runs * slices * self.months * (STEP_SECONDS + STEP_CUBIC_SECONDS * self.states**3)
        return (step + slices * self.pair_rows * PAIR_ROW_SECONDS) / self.processes

    @property
    def long(self) -> bool:
        """Whether the run is estimated to take more than ``PROGRESS_SECONDS`` (it then says so)."""
        return self.seconds >= PROGRESS_SECONDS

    def with_replications(self, replications: int) -> Size:
        return dataclasses.replace(self, replications=replications)

    def line(self) -> str:
        """``2 cells x 20 replications x 86 months of 13 states: ~30 MB of memory, ~1 s``."""
        return (f"{self.cells} cell(s) x {self.replications} replications x {self.months} months of "
                f"{self.states} states: ~{size_text(self.bytes)} of memory, ~{time_text(self.seconds)}"
                + (f" on {self.processes} processes" if self.processes > 1 else ""))


def size_text(n: float) -> str:
    """Bytes in words: ``512 B``, ``1.5 MB``, ``3.2 GB`` (powers of 1024)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def time_text(seconds: float) -> str:
    """``0.4 s``, ``12 s``, ``3.5 min``, ``2.1 h``, ``4.0 days``."""
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    hours = seconds / 3600
    return f"{hours:.1f} h" if hours < 24 else f"{hours / 24:.1f} days"


def size_of(cfg: Any, cells: int, *, pairs: bool, held: int | None = None, processes: int = 1,
            stacked: int = 1) -> Size:
    """The :class:`Size` of running ``cells`` cells of validated config ``cfg`` (its world, horizon and
    replications) one after the other (``stacked``: that many together), ``held`` of them in memory
    at once (default all), on ``processes`` processes."""
    world = cfg.world
    if world.generator == "synthetic":
        n, targets = int(world.n_states), len(OUTREACH.synthetic_targets)
    else:
        n, targets = len(world.states), len(world.roles.outreach_targets)
    codes = tuple(f"s{i}" for i in range(n))
    columns = len(metric_names(codes, (0, 1), 0, tuple(range(2, 2 + targets)))) + len(COUNTERFACTUAL)
    months = month_index(parse_month(cfg.horizon.end, "config", "horizon.end")) - month_index(
        parse_month(cfg.horizon.start, "config", "horizon.start")) + 1
    return Size(n, months, int(cfg.replications), columns, cells, cells if held is None else held, pairs, processes,
                stacked)


def sweep_size(cfg: Any, cells: int, workers: int, *, dyads: bool) -> Size:
    """A sweep's size: each of ``workers`` processes holds one stack of cells (:func:`sim.sweep.stacks`:
    at most ``MAX_BATCH`` slices, at least one cell) while it runs them."""
    per_stack = max(1, MAX_BATCH // max(1, int(cfg.replications)))
    processes = max(1, min(workers if workers > 0 else (os.cpu_count() or 1), cells))
    return size_of(cfg, cells, pairs=dyads, held=min(per_stack, cells), processes=processes,
                   stacked=min(per_stack, cells))


def _bytes(text: str) -> int:
    """``4G``, ``512M``, ``1048576`` as bytes (K, M, G, T: powers of 1024); ValueError otherwise."""
    text = text.strip().upper().removesuffix("B")
    scale = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}.get(text[-1:], 1)
    value = float(text[:-1] if scale > 1 else text)
    if not value > 0:
        raise ValueError(text)
    return int(value * scale)


def available_memory() -> tuple[int, str] | None:
    """The memory a run may use, in bytes, and where that figure comes from; None where it is unknown.

    ``SIM_MEMORY_LIMIT`` if set (e.g. ``4G``), else what the system says is available
    (``MemAvailable`` of ``/proc/meminfo``, lowered to a cgroup's ``memory.max`` less its usage
    when a container sets one), else ``sysconf`` available pages. Raises ConfigError for a
    ``SIM_MEMORY_LIMIT`` that is not a size.
    """
    given = os.environ.get(MEMORY_LIMIT_VARIABLE)
    if given:
        try:
            return _bytes(given), MEMORY_LIMIT_VARIABLE
        except (ValueError, IndexError):
            raise ConfigError("environment", MEMORY_LIMIT_VARIABLE, given,
                              "a size in bytes, or with a K, M, G or T suffix (e.g. 4G)") from None
    found: list[tuple[int, str]] = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append((int(line.split()[1]) * 1024, "MemAvailable in /proc/meminfo"))
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text())
            found.append((int(limit) - used, "the container's memory.max less its usage"))
    except (OSError, ValueError):
        pass
    if not found:
        try:
            found.append((os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "available pages (sysconf)"))
        except (OSError, ValueError, AttributeError):
            return None
    return min(found)


def largest_fitting(size: Size, limit: int) -> int:
    """The most replications whose estimate stays within ``limit`` bytes (0 if not even one fits)."""
    low, high = 0, size.replications
    while low < high:  # the estimate grows with the replications
        mid = (low + high + 1) // 2
        if size.with_replications(mid).bytes <= limit:
            low = mid
        else:
            high = mid - 1
    return low


def refuse_oversize(size: Size, file: str) -> None:
    """A ConfigError naming ``replications``, the memory it needs and the limit, if the estimate
    exceeds :func:`available_memory` (nothing is refused where that is unknown)."""
    available = available_memory()
    if available is None or size.bytes <= available[0]:
        return
    limit, source = available
    fits = largest_fitting(size, limit)
    what = (f"{size.cells} cell(s) of {size.months} months and {size.states} states"
            + (f" on {size.processes} processes" if size.processes > 1 else ""))
    need = (f"{size.replications} need ~{size_text(size.bytes)} of memory, {fits} ~"
            f"{size_text(size.with_replications(fits).bytes)}" if fits else
            f"even 1 needs ~{size_text(size.with_replications(1).bytes)} of memory")
    raise ConfigError(file, "replications", size.replications,
                      f"at most {fits} for {what}: {need}, and {size_text(limit)} is available ({source}); "
                      f"run fewer replications, a shorter horizon or a smaller world (or set "
                      f"{MEMORY_LIMIT_VARIABLE} if more memory is free)")
