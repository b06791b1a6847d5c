"""Imports cost only what a command uses: the CLI answers --help, --cfg job and a bad override
without scipy.stats, matplotlib or Mesa, and the stacked engine runs without Mesa.

Each check runs in a fresh interpreter and reads ``sys.modules`` as it exits; timings belong to
``benchmarks/bench_headline.py``, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("scipy.stats", "matplotlib", "mesa")

PROBE = """
import atexit, json, sys
heavy = {heavy!r}
atexit.register(lambda: print("MODULES " + json.dumps([m for m in heavy if m in sys.modules])))
{body}
"""


def _loaded(body: str, cwd: Path, heavy: tuple[str, ...] = HEAVY) -> tuple[list[str], subprocess.CompletedProcess]:
    p = subprocess.run([sys.executable, "-c", PROBE.format(heavy=heavy, body=body)], cwd=cwd, capture_output=True,
                       text=True, timeout=120)
    line = next(x for x in p.stdout.splitlines() if x.startswith("MODULES "))
    return json.loads(line.removeprefix("MODULES ")), p


def test_importing_the_cli_imports_neither_scipy_stats_nor_matplotlib_nor_mesa(tmp_path: Path) -> None:
    loaded, p = _loaded("import sim.cli", tmp_path, (*HEAVY, "pandas", "sim.experiment"))
    assert p.returncode == 0, p.stderr
    assert loaded == []


@pytest.mark.parametrize("args", [["--help"], ["--cfg", "job"], ["policy.outreach=2"]],
                         ids=["help", "cfg-job", "bad-override"])
def test_the_cli_answers_without_the_statistics_the_figures_or_mesa(tmp_path: Path, args: list[str]) -> None:
    body = f"import sys\nsys.argv = ['sim-run', 'hydra.run.dir={tmp_path / 'out'}', *{args!r}]\n" \
           "from sim.cli import main\nmain()"
    loaded, p = _loaded(body, tmp_path)
    assert loaded == [], p.stderr
    if args == ["policy.outreach=2"]:
        assert p.returncode == 2 and "error: command line (policy.outreach=2)" in p.stderr
    else:
        assert p.returncode == 0, p.stderr


def test_a_bad_override_is_refused_before_hydra_composes_anything(tmp_path: Path) -> None:
    body = ("import atexit, sys\n"
            "from hydra._internal.config_loader_impl import ConfigLoaderImpl\n"
            "calls = []\n"
            "load = ConfigLoaderImpl.load_configuration\n"
            "ConfigLoaderImpl.load_configuration = lambda *a, **k: calls.append(1) or load(*a, **k)\n"
            "atexit.register(lambda: print(f'COMPOSED {len(calls)}'))\n"
            f"sys.argv = ['sim-run', 'hydra.run.dir={tmp_path / 'out'}', 'model.mechanisms.noise.sigma=-1']\n"
            "from sim.cli import main\nmain()")
    _, p = _loaded(body, tmp_path)
    assert p.returncode == 2
    assert p.stderr.splitlines() == [
        "error: command line (model.mechanisms.noise.sigma=-1): model.mechanisms.noise.sigma = -1.0 is not allowed; "
        "allowed: a number in [0, 100] (terms are of order 1: larger values only saturate the model, and near "
        "1.7e308 overflow to NaN)"]
    assert "COMPOSED 0" in p.stdout  # Hydra did not compose: not even its first composition (hydra.mode)
    assert not (tmp_path / "out").exists()


def test_the_stacked_engine_runs_without_mesa(tmp_path: Path) -> None:
    body = ("from sim.api import build_pair\nfrom sim.experiment import run_cell\n"
            "run_cell(build_pair(['replications=2', 'horizon.end=2019-02'], 'baseline', None).control)")
    loaded, p = _loaded(body, tmp_path, ("mesa", "matplotlib", "scipy.stats"))
    assert p.returncode == 0, p.stderr
    assert loaded == []
