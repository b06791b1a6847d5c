"""A sweep's processes: none outlives the sweep's parent; Ctrl-C and SIGTERM stop it with one line, no
traceback and no leaked semaphore (sim.processes)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from process_support import default_sigint

from sim.processes import Terminated, sigterm_as_interrupt

# 12 stacks of 768 replications: the evaluator starts its pool of 2 after the first, and the other 11
# take its 2 workers 10-20 s, long enough to be stopped in the middle on a loaded machine (at 256 a
# fresh-clone CI once saw the sweep end in the 2 s the test waits before its signal)
EVALUATOR = ["experiment=outreach_sweep", "replications=768", "experiment.workers=2"]


def _start(tmp_path: Path, args: list[str]) -> tuple[subprocess.Popen[bytes], Path]:
    """A sweep in its own process group, as a shell starts a command (Ctrl-C signals the group), with
    SIGINT's default action whatever this process has (:func:`process_support.default_sigint`)."""
    err = tmp_path / "stderr.txt"
    with err.open("w") as stderr:  # a file, not a pipe: a surviving process would hold a pipe open
        proc = subprocess.Popen([sys.executable, "-m", "sim", *args], cwd=tmp_path, stdout=subprocess.DEVNULL,
                                stderr=stderr, start_new_session=True, env={**os.environ, "HYDRA_FULL_ERROR": "0"},
                                preexec_fn=default_sigint)
    return proc, err


def _processes_once(proc: subprocess.Popen[bytes], workers: str, count: int, timeout: float = 240) -> set[int]:
    """Every process of the sweep (its descendants), once ``count`` of them run ``workers`` and 2 s more."""
    parent = psutil.Process(proc.pid)
    seen: set[int] = set()
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        try:
            kids = parent.children(recursive=True)
            seen |= {k.pid for k in kids}
            if sum(workers in " ".join(k.cmdline()) for k in kids) >= count:
                time.sleep(2)  # into their work
                return seen | {k.pid for k in parent.children(recursive=True)}
        except psutil.Error:  # a process that ended while we looked
            pass
        time.sleep(0.05)
    pytest.fail(f"the sweep never ran {count} {workers} processes (exit {proc.poll()})")


def _alive(pids: set[int]) -> list[str]:
    out = []
    for pid in pids:
        try:
            p = psutil.Process(pid)
            if p.status() != psutil.STATUS_ZOMBIE:
                out.append(f"{pid}: {' '.join(p.cmdline())[:100]}")
        except psutil.NoSuchProcess:
            pass
    return out


def _stop(tmp_path: Path, args: list[str], workers: str, sig: signal.Signals, to: str) -> tuple[int, str, list[str]]:
    """Start a sweep, wait for its workers, signal its parent (or its group), and return its exit
    status, its stderr once every process it had is gone, and what is still alive 5 s after it ended."""
    proc, err = _start(tmp_path, args)
    pids: set[int] = set()
    try:
        pids = _processes_once(proc, workers, 2)
        if proc.poll() is not None:
            pytest.fail(f"the sweep ended (exit {proc.returncode}) before the test could signal it: make it longer")
        if to == "group":
            os.killpg(proc.pid, sig)
        else:
            os.kill(proc.pid, sig)
        proc.wait(timeout=120)
        time.sleep(5)
        alive = _alive(pids)
        return proc.returncode, err.read_text(), alive
    finally:
        for pid in [proc.pid, *pids]:  # only the processes this test started
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()


def test_no_process_of_a_sweep_survives_sigkill_of_its_parent(tmp_path: Path) -> None:
    code, _, alive = _stop(tmp_path, [*EVALUATOR, f"hydra.run.dir={tmp_path / 'sweep'}"], "popen_loky", signal.SIGKILL,
                           "parent")
    assert code == -signal.SIGKILL
    assert alive == [], "alive 5 s after the parent was killed"


def test_no_job_of_a_local_multirun_survives_sigkill_of_its_parent(tmp_path: Path) -> None:
    """The joblib launcher's workers run Hydra jobs: they end with the sweep's process too."""
    args = ["-m", "experiment=outreach_sweep", "replications=256", "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    code, _, alive = _stop(tmp_path, args, "popen_loky", signal.SIGKILL, "parent")
    assert code == -signal.SIGKILL
    assert alive == [], "alive 5 s after the parent was killed"


@pytest.mark.parametrize(("sig", "to", "code", "line"), [
    (signal.SIGINT, "group", 130, "interrupted (SIGINT): finished cells are kept in"),  # Ctrl-C in a terminal
    (signal.SIGTERM, "parent", 143, "interrupted (SIGTERM): finished cells are kept in"),  # kill PID
    (signal.SIGTERM, "group", 143, "interrupted (SIGTERM): finished cells are kept in"),  # a scheduler ending a job
])
def test_ctrl_c_and_sigterm_stop_a_sweep_with_one_line_and_nothing_leaked(
        tmp_path: Path, sig: signal.Signals, to: str, code: int, line: str) -> None:
    status, stderr, alive = _stop(tmp_path, [*EVALUATOR, f"hydra.run.dir={tmp_path / 'sweep'}"], "popen_loky", sig,
                                  to)
    assert status == code, stderr[-2000:]
    assert alive == []
    assert line in stderr and "resume with the command above" in stderr
    assert "leaked" not in stderr, stderr[-2000:]
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr[-2000:]


def test_sigterm_raises_terminated_only_inside_the_block() -> None:
    with pytest.raises(Terminated), sigterm_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)  # the handler runs between bytecodes
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_an_orphan_ends_at_once() -> None:
    """A process whose parent is already gone when it asks to die with it ends then (os._exit(1))."""
    script = ("import os, sys; from sim.processes import die_with_parent; "
              "die_with_parent(int(sys.argv[1])); print('still here')")
    done = subprocess.run([sys.executable, "-c", script, "1"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "still here" not in done.stdout
    done = subprocess.run([sys.executable, "-c", script, str(os.getpid())], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "still here" in done.stdout
