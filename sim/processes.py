"""The processes of a sweep: workers that end with the process that started them, and SIGTERM
handled as Ctrl-C, so that no sweep leaves an orphan or a leaked semaphore behind.

The evaluator's pool is joblib's loky executor, which has no way to tie a worker's life to its
parent's: killed with SIGKILL, a sweep's parent left its workers (and loky's resource tracker,
which waits for them) running until their idle timeout, minutes later. Nor does multiprocessing.
So each worker runs :func:`die_with_parent` first (the pool's ``initializer``):

- on Linux the kernel kills it when its parent dies, whatever killed the parent
  (``prctl(PR_SET_PDEATHSIG, SIGKILL)``: nothing to poll, and it works while the worker holds the
  GIL in a long numpy call); elsewhere a daemon thread polls ``os.getppid()`` twice a second;
- it ignores SIGINT and SIGTERM: Ctrl-C reaches every process of the terminal's foreground group,
  and a cluster's scheduler signals every process of a job, but stopping the pool is the
  parent's work. The parent stops it through joblib, which kills its workers and releases the
  pool's semaphores; a worker stopped by the signal itself would print a KeyboardInterrupt
  traceback, or break the pool (``TerminatedWorkerError``) before the parent can.

The parent ignores SIGINT while it starts the workers (:func:`starting_workers`): an ignored
signal stays ignored through ``exec``, and Python then installs no KeyboardInterrupt handler, so
Ctrl-C cannot interrupt a worker while it imports, before :func:`die_with_parent` runs. (A
blocked signal mask would be inherited too, but the standard library's resource tracker unblocks
SIGINT when it starts, in the middle of the pool's start.) The parent also blocks SIGINT
meanwhile, so that a Ctrl-C pressed then stays pending and reaches it when the block ends (while no
other thread of this process takes it: a signal ignored when a thread takes it is gone, and where the
standard library's resource tracker starts inside the block it unblocks SIGINT in this thread too).

A worker also gives tqdm a thread lock (:func:`init_worker`): tqdm's default lock is a
multiprocessing semaphore, created by the first bar (even a disabled one), which a worker
killed by its parent leaves registered with the resource tracker, to be reported as leaked.

The parent turns SIGTERM into :class:`Terminated`, a ``KeyboardInterrupt`` (:func:`sigterm_as_interrupt`):
by default SIGTERM ends Python without unwinding, and the pool's semaphores and temporary folders
stay registered with loky's resource tracker, which warns about them as leaked.

Hydra's joblib launcher runs a multirun's jobs in a loky pool too, created by a ``Parallel`` call
that names its backend, ``"loky"``, and takes no initializer. While the sweeper launches jobs, that
name stands for a loky backend with :func:`init_worker` (:func:`tied_loky`, through joblib's
``register_parallel_backend``), so those workers end with the sweep's process as well.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_POLL_SECONDS = 0.5


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that a run or a sweep stops as on Ctrl-C (exit status 143)."""

    signum = signal.SIGTERM


def init_worker(parent: int) -> None:
    """A pool worker's initializer: :func:`die_with_parent`, and a thread lock for tqdm (see the
    module docstring)."""
    from tqdm import tqdm

    die_with_parent(parent)
    tqdm.set_lock(threading.RLock())


def die_with_parent(parent: int | None = None) -> None:
    """End this process when its parent dies, and leave SIGINT and SIGTERM to the parent (see the module
    docstring). ``parent``: the pid the parent had (default: the current parent); if the process
    is already an orphan (its parent died before this ran), it ends now."""
    parent = os.getppid() if parent is None else parent
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # a mask inherited from starting_workers; ignored, SIGINT is dropped
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if not _kernel_kills_orphan():
        threading.Thread(target=_watch, args=(parent,), name="die-with-parent", daemon=True).start()
    if os.getppid() != parent:
        os._exit(1)


def _kernel_kills_orphan() -> bool:
    """Ask Linux to SIGKILL this process when its parent dies; False where that cannot be asked."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_POLL_SECONDS)
    os._exit(1)


@contextmanager
def tied_loky() -> Iterator[None]:
    """Within the block, joblib's ``"loky"`` backend starts its workers with :func:`init_worker` (tied to
    this process); the backend registered before is restored after it."""
    from joblib import parallel
    from joblib._parallel_backends import LokyBackend

    def tied(**kwargs: object) -> LokyBackend:
        return LokyBackend(**kwargs, initializer=init_worker, initargs=(os.getpid(),))

    before = parallel.BACKENDS["loky"]
    parallel.register_parallel_backend("loky", tied)
    try:
        yield
    finally:
        parallel.register_parallel_backend("loky", before)


@contextmanager
def starting_workers() -> Iterator[None]:
    """Within the block, processes started inherit SIGINT ignored (see the module docstring); this one
    gets a Ctrl-C pressed meanwhile when the block ends (where signal masks exist). Outside the
    main thread, where handlers cannot be set, nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    masks = hasattr(signal, "pthread_sigmask")
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if masks else None
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)
        if mask is not None:  # a pending SIGINT is delivered now, to the handler restored
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)


@contextmanager
def sigterm_as_interrupt(seen: list[int] | None = None) -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread (and the previous
    handler is restored after it); ``seen`` (if given) gets the signal's number appended, so that a
    caller can tell a termination from what a library made of the exception (one that catches
    BaseException mid-write and raises its own). Outside the main thread, where handlers cannot be
    set, nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        if seen is not None:
            seen.append(signum)
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
