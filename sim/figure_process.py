"""A headline run's figures, drawn in a second process while the run computes its statistics and
writes its tables.

After the simulation, a headline run (``sim-run``, the paired test) has three things to do: the
statistics, the tables and the figures; the figures are the longest (about 2 s of a 7.5 s run on
this project's 2-core machine: matplotlib's import, the constrained layout, the Agg rendering) and
need only the results table, the network table and, for the entente's figure, the summary. A
:class:`FigureProcess` is started when the run starts simulating: a process forked from the run
(spawned where fork is unsafe: off Linux, or beside other Python threads) imports :mod:`sim.plots`
(matplotlib with it) while the run simulates; the run hands it each group of figures as soon as
their inputs exist (:meth:`FigureProcess.draw`: the three that need no statistics right after the
simulation, the entente's after the statistics) and collects the written paths
(:meth:`FigureProcess.paths`) before it publishes its directory. The figures are the same bytes
as drawn in the run's own process (the same code; tested). ``provenance.json`` says how they
were drawn (``figures``: the process's start method and its drawing seconds).

The process is tied to the run (:func:`sim.processes.init_worker`: it dies with it, and leaves
SIGINT and SIGTERM to it). A run that fails or is interrupted stops it (:meth:`FigureProcess.stop`:
killed, then waited for) before removing its staging directory, so that no figure lands in a
directory being removed. An error in the process (a full disk while saving a PNG) is raised again
in the run by :meth:`FigureProcess.paths`, as the same exception.

Where the run may use a single core (its CPU affinity), or with ``in_process=True``, the figures
are drawn in the run's own process by :meth:`FigureProcess.paths` (the same calls, the same
files); so too, after the fact, the figures of a process that died (``BrokenProcessPool``).
"""

from __future__ import annotations

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
from pathlib import Path
from typing import Any

# A headline run's figures (:func:`sim.plots.headline_figures`), by file stem, in the order a run lists them
HEADLINE_FIGURES = ("entente_strength", "sunni_leverage", "portfolio", "network")


def _ready(parent: int) -> None:
    """The figure process's initializer: tied to the run, and :mod:`sim.plots` imported before the
    first figure is asked for."""
    from sim.processes import init_worker

    init_worker(parent)
    import sim.plots  # noqa: F401  (matplotlib's import, off the run's path)


def _nothing() -> None:
    """Submitted first, so that the pool starts its process now (it starts it on the first submit)."""


def draw(outdir: Path, stems: Sequence[str], table: Any, network: Any, summary: dict | None
         ) -> tuple[list[Path], float]:
    """Draw the headline figures ``stems`` (:func:`sim.plots.headline_figures`) and save them in
    ``outdir`` (:func:`sim.store.write_figures`); their paths and the seconds it took."""
    from sim.plots import headline_figures
    from sim.store import write_figures

    began = time.perf_counter()
    paths = write_figures(outdir, headline_figures(table, network, summary, only=stems))
    return paths, time.perf_counter() - began


def _cores() -> int:
    """The cores this process may run on (its affinity: a ``taskset`` or a batch job's share), else all."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class FigureProcess:
    """The figures of one run, drawn by one process of their own (see the module docstring).

    ``draw`` hands a group of figures to the process and returns at once; ``paths`` waits for all
    of them and returns their paths in the order asked; ``stop`` ends the process without waiting
    for its work. Also a context manager: leaving it by an exception stops the process, leaving it
    normally waits for what was asked and shuts the process down. ``start_method``: multiprocessing's
    (default: ``fork`` on Linux in a process without other Python threads, else ``spawn``).

    Without a process (``in_process``, or a single core) the figures are drawn by ``paths``, so a
    run's stage timing puts them where they are drawn. If the process dies (killed, out of memory:
    ``BrokenProcessPool``), ``paths`` draws what it had not returned in this process instead.
    """

    def __init__(self, *, in_process: bool = False, start_method: str | None = None) -> None:
        self._asked: list[tuple[tuple[Any, ...], Future | None]] = []  # each group's arguments and its future
        self._done: list[tuple[list[Path], float]] = []
        self._pool: ProcessPoolExecutor | None = None
        self.method: str | None = None
        self.fell_back = False
        if in_process or _cores() < 2:
            return
        from sim.processes import starting_workers

        # Forked where it is safe (Linux, and no other Python thread: sim-run's case): the child has the
        # run's imports already (numpy, pandas: a spawned one took about a second of CPU to import them
        # again). Spawned elsewhere: fork is unsafe on macOS and beside Python threads (a notebook's).
        forkable = sys.platform.startswith("linux") and threading.active_count() == 1
        self.method = method = start_method or ("fork" if forkable else "spawn")
        if method not in ("fork", "spawn"):  # a forkserver's child is not the run's: init_worker would end it
            raise ValueError(f"start_method: fork or spawn, not {method!r}")
        with starting_workers(), warnings.catch_warnings():
            # CPython 3.12+ warns at a fork beside any other OS thread; here those are OpenBLAS's idle
            # workers (no BLAS call runs during the fork, and OpenBLAS re-initialises its pool in the
            # child through its own pthread_atfork handlers), not threads holding the run's locks.
            warnings.filterwarnings("ignore", r"This process .* is multi-threaded", DeprecationWarning)
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context(method),
                                             initializer=_ready, initargs=(os.getpid(),))
            self._pool.submit(_nothing)  # with fork, the pool forks its process here, before its own thread starts

    @property
    def separate(self) -> bool:
        """Whether the figures are drawn in a process of their own."""
        return self._pool is not None

    @property
    def how(self) -> str:
        """``fork`` or ``spawn`` (how the figure process was started), or ``this process``; with
        ``, drawn here after the process failed`` where :meth:`paths` fell back."""
        return (self.method or "this process") + (", drawn here after the process failed" if self.fell_back else "")

    def draw(self, outdir: Path, stems: Sequence[str], table: Any, network: Any = None,
             summary: dict | None = None) -> None:
        """Draw and save figures ``stems`` of the run into ``outdir`` (in the process; here, by :meth:`paths`)."""
        group = (outdir, list(stems), table, network, summary)
        future = None
        if self._pool is not None:
            try:
                future = self._pool.submit(draw, *group)
            except BrokenProcessPool:  # the process died before: paths() draws this group here
                self.fell_back = True
        self._asked.append((group, future))

    def paths(self) -> list[Path]:
        """Every figure's path, in the order asked, once all are saved; an error the process raised
        is raised here (its own exception). Groups without a process, or whose process died, are
        drawn here."""
        for group, future in self._asked:
            try:
                self._done.append(draw(*group) if future is None else future.result())
            except BrokenProcessPool:
                self.fell_back = True
                self._done.append(draw(*group))
        self._asked = []
        return [p for paths, _ in self._done for p in paths]

    def seconds(self) -> float:
        """Seconds spent drawing and saving the figures collected so far (in the process, or here)."""
        return sum(s for _, s in self._done)

    def stop(self) -> None:
        """End the process now, without its pending work, and wait until it is gone."""
        pool = self._pool
        if pool is None:
            return
        processes = list(getattr(pool, "_processes", {}).values())  # the stdlib has no public kill before 3.14
        for process in processes:
            if process.is_alive():
                os.kill(process.pid, signal.SIGKILL)
        self._pool = None
        pool.shutdown(wait=True, cancel_futures=True)
        for process in processes:
            process.join()

    def close(self) -> None:
        """Shut the process down after its work (:meth:`paths` first, to see its errors)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def __enter__(self) -> FigureProcess:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: Any) -> None:
        if kind is None:
            self.close()
        else:
            self.stop()
