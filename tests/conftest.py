from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--write-reliability", action="store_true",
                     help="write the table of docs/RELIABILITY.md from the faults tests/test_reliability.py runs "
                          "(with -n 0)")


@pytest.fixture
def sim_run(tmp_path: Path):
    """Run ``python -m sim`` with overrides in a fresh directory; return the completed process."""

    def run(*overrides: str, outdir: Path | None = None) -> subprocess.CompletedProcess[str]:
        out = outdir or tmp_path / "out"
        env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
        return subprocess.run([sys.executable, "-m", "sim", f"hydra.run.dir={out}", *overrides],
                              cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)

    return run


@pytest.fixture(scope="module")
def cells():
    """The calibration's scenarios under ``experiment=calibrate_small``: the history, and the headline
    pair's control and treatment (``sim.calibrate.Cells``)."""
    from sim.api import calibration_cells

    return calibration_cells(["experiment=calibrate_small"])[0]
