"""A headline run's statistics and figures, computed in processes of their own while the run
composes, validates and simulates.

After its simulation, a headline run (``sim-run``, the paired test) has three things to do: the
statistics (:func:`sim.analysis.summarise`: about 0.3 s, after 0.5 s of importing ``scipy.stats``),
the tables (a thread of the run: :func:`sim.experiment.write_tables`) and four figures (about
0.25-0.3 s each on this project's 2-core machine, after 0.25 s of importing matplotlib), all from
the results table, the network table and, for the entente's figure, the summary. The run itself
is busy from its start to the simulation's end (Hydra's composition, the treatment's, the
validation, the stepping), while the second core waits. So a :class:`HeadlineProcess` is started
as soon as the run knows it is a headline run, before its cells are validated:

- a process forked from the run (spawned where fork is unsafe: off Linux, or beside other Python
  threads) imports the statistics and the figures (:func:`_ready`: ``sim.analysis`` with
  ``scipy.stats`` and statsmodels, ``sim.plots`` with matplotlib) while the run validates and
  simulates, then forks a *helper* of its own, which has all of it imported already;
- after the simulation the run hands both tables over (:meth:`HeadlineProcess.start`): the
  process gives the helper the figures in :data:`HELPER_FIGURES`, computes the summary (returned
  to the run at once: :meth:`HeadlineProcess.summary`, for ``summary.json`` while figures are
  drawn), then draws the other figures, the entente's with the summary, and collects the helper's
  (:meth:`HeadlineProcess.paths`).

The summary and the figures are the same as computed in the run's own process (the same code;
tested: the same summary, the same PNG bytes). ``provenance.json`` says how they were made
(``figures``: the start method and the drawing seconds).

Both processes are tied to the run (:func:`sim.processes.init_worker`: the process dies with the
run, the helper with the process, and both leave SIGINT and SIGTERM to the run). A run that fails
or is interrupted stops them (:meth:`HeadlineProcess.stop`: killed, then waited for) before
removing its staging directory, so that no figure lands in a directory being removed. An error in
either (a full disk while saving a PNG) is raised again in the run as the same exception.

Where the run may use a single core (its CPU affinity), or with ``in_process=True``, the summary
and the figures are made in the run's own process when collected (the same calls, the same
files); so too, after the fact, whatever a process that died had not returned
(``BrokenProcessPool``); the process draws the helper's figures itself if the helper dies.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A headline run's figures (:func:`sim.plots.headline_figures`), by file stem, in the order a run lists them
HEADLINE_FIGURES = ("entente_strength", "sunni_leverage", "portfolio", "network")
# The figures the process's helper draws while the process computes the statistics and draws the
# rest (about 0.55 s of drawing each side on this project's machine, the statistics included)
HELPER_FIGURES = ("sunni_leverage", "network")


@dataclass
class Statistics:
    """What :func:`sim.analysis.summarise` needs besides the results table, and the replications
    :func:`sim.analysis.summary_markdown` names."""

    control: str
    treatment: str
    seed: int
    direction: int
    min_relative_effect: float
    replications: int


@dataclass
class Work:
    """One headline run's outputs to make: where, from which tables, and the statistics if paired."""

    outdir: Path
    table: Any  # the results table (pandas)
    network: Any  # the network table (pandas)
    statistics: Statistics | None


def summarise(statistics: Statistics | None, table: Any) -> tuple[dict | None, str | None]:
    """The run's summary and its ``summary.md`` text (:mod:`sim.analysis`); (None, None) without a pair."""
    if statistics is None:
        return None, None
    from sim.analysis import summarise as summary_of
    from sim.analysis import summary_markdown

    s = statistics
    summary = summary_of(table, s.control, s.treatment, seed=s.seed, direction=s.direction,
                         min_relative_effect=s.min_relative_effect)
    return summary, summary_markdown(summary, s.replications)


def draw(outdir: Path, stems: Sequence[str], table: Any, network: Any, summary: dict | None
         ) -> tuple[list[Path], float]:
    """Draw the headline figures ``stems`` (:func:`sim.plots.headline_figures`) and save them in
    ``outdir`` (:func:`sim.store.write_figures`); their paths and the seconds it took."""
    from sim.plots import headline_figures
    from sim.store import write_figures

    began = time.perf_counter()
    paths = write_figures(outdir, headline_figures(table, network, summary, only=stems))
    return paths, time.perf_counter() - began


# --- in the process -------------------------------------------------------------------------------

_helper: ProcessPoolExecutor | None = None  # the process's own helper, forked once its imports are done
_helper_figures: Future | None = None  # what the helper was asked to draw for the current work
_current: tuple[Work, dict | None] | None = None  # the work handed over, and its summary once computed


def _ready(parent: int) -> None:
    """The process's initializer: tied to the run, the statistics and the figures imported (while
    the run validates and simulates), then its helper forked (which thus imports nothing)."""
    global _helper
    from sim.processes import init_worker

    init_worker(parent)
    import scipy.stats  # noqa: F401  (what sim.analysis imports when it first computes)
    import statsmodels.stats.multitest  # noqa: F401

    import sim.analysis
    import sim.plots  # noqa: F401
    _helper = _fork_pool(_tie, (os.getpid(),))


def _tie(parent: int) -> None:
    """The helper's initializer: tied to the process (it dies with it)."""
    from sim.processes import init_worker

    init_worker(parent)


def _nothing() -> int:
    """Submitted first, so that a pool starts its process now (it starts it on the first submit);
    the process's pid."""
    return os.getpid()


def _helper_pid() -> int | None:
    """The pid of the process's helper (the run kills it too when it stops the process), or None."""
    if _helper is None:
        return None
    processes = list(getattr(_helper, "_processes", {}).values())
    return processes[0].pid if processes else None


def _begin(work: Work) -> tuple[dict | None, str | None]:
    """In the process: the helper's figures handed to it, then the summary computed and returned."""
    global _helper_figures, _current
    _helper_figures = None
    if _helper is not None:
        with contextlib.suppress(BrokenProcessPool):  # the helper died before: _finish draws its figures
            _helper_figures = _helper.submit(draw, work.outdir, HELPER_FIGURES, work.table, work.network, None)
    summary, md = summarise(work.statistics, work.table)
    _current = (work, summary)
    return summary, md


def _finish() -> tuple[list[Path], float]:
    """In the process: the figures the helper does not draw, then the helper's collected (drawn
    here if it died); every path in :data:`HEADLINE_FIGURES`' order and the drawing seconds."""
    assert _current is not None, "_begin first"
    work, summary = _current
    mine = [s for s in HEADLINE_FIGURES if s not in HELPER_FIGURES or _helper_figures is None]
    paths, seconds = draw(work.outdir, mine, work.table, work.network, summary)
    if _helper_figures is not None:
        try:
            theirs, more = _helper_figures.result()
        except BrokenProcessPool:
            theirs, more = draw(work.outdir, HELPER_FIGURES, work.table, work.network, summary)
        paths, seconds = paths + theirs, seconds + more
    return sorted(paths, key=lambda p: HEADLINE_FIGURES.index(p.stem)), seconds


# --- in the run -----------------------------------------------------------------------------------

def _cores() -> int:
    """The cores this process may run on (its affinity: a ``taskset`` or a batch job's share), else all."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _start_method() -> str:
    """``fork`` where it is safe (Linux, and no other Python thread: sim-run's case), else ``spawn``
    (fork is unsafe on macOS and beside Python threads: a notebook's)."""
    return "fork" if sys.platform.startswith("linux") and threading.active_count() == 1 else "spawn"


def _fork_pool(initializer: Any, initargs: tuple, method: str | None = None) -> ProcessPoolExecutor:
    """A one-process pool, its process started now (by ``method``, default :func:`_start_method`).
    A Ctrl-C pressed meanwhile (delivered as the start ends) kills the process before it is raised."""
    from sim.processes import starting_workers

    pool = None
    try:
        with starting_workers(), warnings.catch_warnings():
            # CPython 3.12+ warns at a fork beside any other OS thread; here those are OpenBLAS's idle
            # workers (no BLAS call runs during the fork, and OpenBLAS re-initialises its pool in the
            # child through its own pthread_atfork handlers), not threads holding the run's locks.
            warnings.filterwarnings("ignore", r"This process .* is multi-threaded", DeprecationWarning)
            pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context(method or _start_method()),
                                       initializer=initializer, initargs=initargs)
            pool.submit(_nothing)  # with fork, the pool forks its process here, before its own thread starts
    except BaseException:
        if pool is not None:
            _kill(pool)
        raise
    return pool


def _kill(pool: ProcessPoolExecutor, helper: int | None = None) -> None:
    """Kill a pool's process (and ``helper``, a pid), shut the pool down and wait until they are gone."""
    processes = list(getattr(pool, "_processes", {}).values())  # the stdlib has no public kill before 3.14
    for pid in [p.pid for p in processes if p.is_alive()] + ([helper] if helper else []):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    pool.shutdown(wait=True, cancel_futures=True)
    for process in processes:
        process.join()
    if helper:
        _wait_gone(helper)


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state, parent pid, ...), or None
    where they cannot be read (no /proc off Linux, or the process is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _parent_of(pid: int) -> int | None:
    """The parent pid of process ``pid`` (Linux: /proc), or None where that is not known."""
    fields = _stat(pid)
    return int(fields[1]) if fields else None


class HeadlineProcess:
    """The statistics and figures of one headline run, made by a process of its own and its helper
    (see the module docstring).

    ``start`` hands the simulation's tables over and returns at once; ``summary`` waits for the
    summary and its text; ``paths`` waits for every figure and returns their paths in
    :data:`HEADLINE_FIGURES`' order; ``stop`` ends both processes without waiting for their work.
    Also a context manager: leaving it by an exception stops the processes, leaving it normally
    waits for what was asked and shuts them down. ``start_method``: multiprocessing's, for the
    process (default: ``fork`` on Linux in a process without other Python threads, else ``spawn``).

    Without a process (``in_process``, or a single core) the summary is computed by ``summary`` and
    the figures drawn by ``paths``, so a run's stage timing puts them where they are made. If the
    process dies (killed, out of memory: ``BrokenProcessPool``), what it had not returned is made
    in this process instead.
    """

    def __init__(self, *, in_process: bool = False, start_method: str | None = None) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._pid: Future | None = None  # the helper's pid, once the process has forked it
        self._work: Work | None = None
        self._begun: Future | None = None
        self._finished: Future | None = None
        self._summary: tuple[dict | None, str | None] | None = None
        self._paths: tuple[list[Path], float] | None = None
        self.method: str | None = None
        self.fell_back = False
        if in_process or _cores() < 2:
            return
        self.method = method = start_method or _start_method()
        if method not in ("fork", "spawn"):  # a forkserver's child is not the run's: init_worker would end it
            raise ValueError(f"start_method: fork or spawn, not {method!r}")
        self._pool = _fork_pool(_ready, (os.getpid(),), method)
        self._pid = self._pool.submit(_helper_pid)  # answered once the process's imports are done

    @property
    def separate(self) -> bool:
        """Whether the statistics and figures are made in a process of their own."""
        return self._pool is not None

    @property
    def how(self) -> str:
        """``fork`` or ``spawn`` (how the process was started), or ``this process``; with ``, drawn
        here after the process failed`` where this process made what the other had not returned."""
        return (self.method or "this process") + (", drawn here after the process failed" if self.fell_back else "")

    def start(self, outdir: Path, table: Any, network: Any, statistics: Statistics | None = None) -> None:
        """Hand over a run's tables: the figures go to ``outdir``; the summary is computed if
        ``statistics`` is given (a paired run), and the entente's figure shows it."""
        if self._work is not None:
            raise RuntimeError("a HeadlineProcess makes one run's outputs; start() was called before")
        self._work = work = Work(outdir, table, network, statistics)
        if self._pool is not None:
            try:
                self._begun = self._pool.submit(_begin, work)
                self._finished = self._pool.submit(_finish)
            except BrokenProcessPool:  # the process died before: summary() and paths() make it all here
                self.fell_back = True
                self._begun = self._finished = None

    def summary(self) -> tuple[dict | None, str | None]:
        """The summary and its ``summary.md`` text ((None, None) for a run without a pair), once
        computed; an error the process raised is raised here (its own exception)."""
        if self._summary is None:
            work = self._started()
            self._summary = self._collect(self._begun, lambda: summarise(work.statistics, work.table))
        return self._summary

    def paths(self) -> list[Path]:
        """Every figure's path, in :data:`HEADLINE_FIGURES`' order, once all are saved; an error the
        process raised is raised here (its own exception)."""
        if self._paths is None:
            work = self._started()
            summary, _ = self.summary()
            self._paths = self._collect(self._finished, lambda: draw(work.outdir, HEADLINE_FIGURES, work.table,
                                                                    work.network, summary))
        return self._paths[0]

    def seconds(self) -> float:
        """Seconds spent drawing and saving the figures collected so far (in the processes, or here)."""
        return 0.0 if self._paths is None else self._paths[1]

    def _started(self) -> Work:
        if self._work is None:
            raise RuntimeError("start() first: the process has no tables to make outputs from")
        return self._work

    def _collect(self, future: Future | None, here: Any) -> Any:
        """The future's result, or ``here()`` where there is no process or it died."""
        if future is not None:
            try:
                return future.result()
            except BrokenProcessPool:
                self.fell_back = True
        return here()

    def stop(self) -> None:
        """End the process and its helper now, without their pending work, and wait until both are gone
        (the helper: where the process had reported it; one it forks after this dies with it)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            _kill(pool, self._live_helper(pool))

    def _live_helper(self, pool: ProcessPoolExecutor) -> int | None:
        """The helper's pid while it is still the process's child (a pid reused by another program
        after the helper died is not), or None."""
        if self._pid is None or not self._pid.done() or self._pid.cancelled() or self._pid.exception() is not None:
            return None
        helper = self._pid.result()
        process = next(iter(getattr(pool, "_processes", {}).values()), None)
        if helper is None or process is None or not process.is_alive():
            return None  # the helper died with the process (Linux: PR_SET_PDEATHSIG; elsewhere within 0.5 s)
        parent = _parent_of(helper)
        return helper if parent == process.pid or (parent is None and not Path("/proc").exists()) else None

    def close(self) -> None:
        """Shut the processes down after their work (:meth:`paths` first, to see their errors)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def __enter__(self) -> HeadlineProcess:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: Any) -> None:
        if kind is None:
            self.close()
        else:
            self.stop()


def _wait_gone(pid: int, timeout: float = 5.0) -> None:
    """Wait until process ``pid`` (killed; not this process's child, so it cannot be waited for) is
    gone, or a zombie waiting for its parent to collect it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if (fields := _stat(pid)) is not None and fields[0] == "Z":
            return
        time.sleep(0.01)
