"""A killed calibration resumes: the same command into its directory continues from calibration.db and
ends with the posterior an uninterrupted run gets."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.api import run_calibration

SMALL = ["experiment=calibrate_small", "experiment.workers=1", "experiment.calibration.generations=4",
         "experiment.calibration.draws=3", "experiment.calibration.verdict_replications=5"]


def _sim(cwd: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "sim", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "HYDRA_FULL_ERROR": "0"})


def _generations(db: Path) -> int:
    """How many generations (t >= 0) ``db`` holds; 0 while pyabc has not written one."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            (t,) = con.execute("SELECT MAX(t) FROM populations").fetchone()
    except sqlite3.Error:
        return 0
    return 0 if t is None else int(t) + 1


def test_a_killed_calibration_resumes_to_the_posterior_of_an_uninterrupted_one(tmp_path: Path) -> None:
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    p = _sim(tmp_path, *SMALL, f"hydra.run.dir={whole}")
    assert p.wait(timeout=600) == 0, p.stderr.read() if p.stderr else ""
    record = {f.name: f.read_bytes() for f in (whole / ".hydra").iterdir()}
    again = _sim(tmp_path, *SMALL, "seed=7", f"hydra.run.dir={whole}")  # a finished calibration: refused
    assert again.wait(timeout=300) == 2
    assert "already holds results (calibration.json)" in (again.stderr.read() if again.stderr else "")
    assert {f.name: f.read_bytes() for f in (whole / ".hydra").iterdir()} == record  # its record untouched

    p = _sim(tmp_path, *SMALL, f"hydra.run.dir={killed}")
    deadline = time.monotonic() + 600
    while _generations(killed / "calibration.db") < 1 and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # into the next generation's sampling
    assert p.poll() is None, "the calibration ended before it could be killed"
    p.send_signal(signal.SIGTERM)
    code = p.wait(timeout=120)
    stderr = p.stderr.read() if p.stderr else ""
    assert code == 143, stderr
    assert "resumes" in stderr and not (killed / "calibration.json").exists()
    done = _generations(killed / "calibration.db")
    assert 1 <= done < 4

    p = _sim(tmp_path, *SMALL, f"hydra.run.dir={killed}")
    assert p.wait(timeout=600) == 0, p.stderr.read() if p.stderr else ""
    out = p.stdout.read() if p.stdout else ""
    assert f"resuming the calibration in {killed}: {done} of 4 generations done" in out
    a, b = pd.read_parquet(whole / "posterior.parquet"), pd.read_parquet(killed / "posterior.parquet")
    pd.testing.assert_frame_equal(a, b)
    assert json.loads((killed / "calibration.json").read_text())["verdicts"] == json.loads(
        (whole / "calibration.json").read_text())["verdicts"]


def test_an_unfinished_calibration_with_other_settings_is_not_resumed(tmp_path: Path) -> None:
    out = tmp_path / "cal"
    args = ["experiment=calibrate_small", "experiment.workers=1", "experiment.calibration.screen=0",
            "experiment.parameters=[model.mechanisms.outreach.premium]", "experiment.calibration.always=[]",
            "experiment.calibration.draws=3",
            "experiment.calibration.verdict_replications=5", "experiment.calibration.generations=1"]
    run_calibration(args, out, say=lambda _: None)
    (out / "calibration.json").unlink()  # as if killed after its last generation
    with pytest.raises(FileExistsError, match=r"other settings \(calibration differ"):
        run_calibration([*args, "experiment.calibration.particles=30"], out, say=lambda _: None)
    run_calibration(args, out, say=lambda _: None)  # the same settings: resumed, nothing left to run
    assert (out / "calibration.json").exists()
    with pytest.raises(FileExistsError, match="finished calibration"):
        run_calibration(args, out, say=lambda _: None)
