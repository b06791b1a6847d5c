"""The Ray path: ``sim-run -m hydra/launcher=ray`` against a local Ray gives the evaluator's numbers.

hydra-ray-launcher pins cloudpickle<3, so it lives in its own environment: ``make test-ray``
builds ``.venv-ray`` with the ``ray`` extra and runs this file there. Elsewhere it is skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="the ray extra is not installed (make test-ray)")

from sim.report import collect

ARGS = ["experiment=outreach_sweep", 'experiment.grid={policy.outreach:"0,0.5,1"}', "replications=3",
        "horizon.end=2021-08"]


def _sim(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0", "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=600)


def _sorted(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values(["cell", "replication", "date"]).reset_index(drop=True)


def test_ray_launcher_gives_the_evaluators_table_to_the_bit(tmp_path: Path) -> None:
    p = _sim(tmp_path, *ARGS, "experiment.workers=1", f"hydra.run.dir={tmp_path / 'evaluator'}")
    assert p.returncode == 0, p.stderr
    reference = _sorted(collect(tmp_path / "evaluator").table)
    p = _sim(tmp_path, "-m", *ARGS, "hydra/launcher=ray", "+hydra.launcher.ray.init.num_cpus=2",
             f"hydra.sweep.dir={tmp_path / 'ray'}")
    assert p.returncode == 0, p.stderr[-3000:]
    assert "Ray Launcher is launching 3 jobs" in p.stdout + p.stderr
    ray = _sorted(collect(tmp_path / "ray").table)
    assert len(ray) == 4 * 3  # one shared baseline and three outreach levels, 3 replications each
    pd.testing.assert_frame_equal(ray, reference, check_exact=True)
