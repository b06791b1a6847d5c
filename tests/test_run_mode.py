"""sim.run_mode: Hydra's run mode without a second composition returns what the composition would."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hydra import initialize_config_dir
from hydra._internal.hydra import Hydra
from hydra.core.global_hydra import GlobalHydra
from hydra.types import RunMode
from omegaconf import OmegaConf

import sim.run_mode
from sim.api import CONFIG_DIR
from sim.run_mode import COMPOSED, composing_once, mode_without_composing


@pytest.fixture
def composed(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The override lists Hydra's own get_mode composed (it still does, through this spy)."""
    calls: list[list[str]] = []

    def spy(hydra: Hydra, config_name: str | None, overrides: list[str]) -> object:
        calls.append(list(overrides))
        return COMPOSED(hydra, config_name, overrides)

    monkeypatch.setattr(sim.run_mode, "COMPOSED", spy)
    return calls


@pytest.fixture
def ours() -> Iterator[Hydra]:
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        yield GlobalHydra.instance().hydra


def _fast(hydra: Hydra, overrides: list[str], config_dir: Path = CONFIG_DIR) -> object:
    return mode_without_composing(hydra, "config", overrides, config_dir=config_dir)


def test_no_config_of_the_project_declares_a_mode() -> None:
    """What lets the mode be read from the command line alone: no file Hydra may merge at the top
    (the primary config, every ``_global_`` option) sets hydra.mode or picks a Hydra group that
    could, but the sweeper (a package of its own: hydra.sweeper)."""
    files = [CONFIG_DIR / "config.yaml",
             *(p for p in CONFIG_DIR.rglob("*.yaml") if "@package _global_" in p.read_text())]
    assert len(files) > 20  # the experiments and the scenarios
    for path in CONFIG_DIR.rglob("*.yaml"):  # any other file stays in a package of its own, out of hydra's
        packages = [line.split()[-1] for line in path.read_text().splitlines() if line.startswith("# @package")]
        assert not any(p == "hydra" or p.startswith("hydra.") for p in packages), path
    for path in files:
        node = OmegaConf.create(yaml.safe_load(path.read_text()) or {})
        assert OmegaConf.select(node, "hydra.mode") is None, path
        for entry in node.get("defaults", []):
            if isinstance(entry, str) or not hasattr(entry, "keys"):
                continue
            for key in entry:
                if "hydra/" in str(key):
                    assert str(key) == "override hydra/sweeper", path


@pytest.mark.parametrize("overrides, mode", [
    ([], None),
    (["replications=3", "hydra.run.dir=out", "hydra.job.chdir=false"], None),
    (["experiment=outreach_sweep", "scenario=history"], None),
    (["hydra.mode=MULTIRUN"], RunMode.MULTIRUN),
    (["hydra.mode=RUN", "policy.outreach=0.5"], RunMode.RUN),
])
def test_the_mode_without_composing_is_the_composed_one(ours: Hydra, composed: list[list[str]], overrides: list[str],
                                                       mode: RunMode | None) -> None:
    assert _fast(ours, overrides) == mode
    assert composed == []  # read from the command line: nothing composed
    assert COMPOSED(ours, "config", overrides) == mode  # what Hydra's own composition says


@pytest.mark.parametrize("overrides", [
    ["hydra.searchpath=[file:///elsewhere]"],  # configs of the user's could declare a mode
    ["hydra/launcher=basic"],  # a Hydra group: a file is chosen
    ["hydra.mode=MULTIRUN,RUN"],  # a sweep of the mode itself
    ["hydra.mode=SOMETIMES"],  # not a mode: Hydra's own composition says what is wrong
    ["policy.outreach=[unclosed"],  # not an override Hydra parses
])
def test_what_could_bring_in_another_config_is_composed(ours: Hydra, composed: list[list[str]],
                                                        overrides: list[str]) -> None:
    assert _fast(ours, overrides) == COMPOSED(ours, "config", overrides)
    assert composed == [overrides]


def test_a_config_directory_of_the_users_is_composed(tmp_path: Path, composed: list[list[str]]) -> None:
    """A directory that is not the project's (--config-path, a saved run's .hydra/) may declare a
    mode: Hydra's own get_mode reads it, as before."""
    (tmp_path / "config.yaml").write_text("hydra:\n  mode: MULTIRUN\nx: 1\n")
    with initialize_config_dir(str(tmp_path), version_base="1.3"):
        hydra = GlobalHydra.instance().hydra
        assert _fast(hydra, ["x=2"]) == RunMode.MULTIRUN
        assert _fast(hydra, ["x=2"], config_dir=tmp_path / "elsewhere") == RunMode.MULTIRUN
    assert composed == [["x=2"], ["x=2"]]


def test_composing_once_is_in_place_only_within_its_block(ours: Hydra, composed: list[list[str]]) -> None:
    before = Hydra.get_mode
    with composing_once(CONFIG_DIR):
        assert ours.get_mode("config", ["hydra.mode=MULTIRUN"]) == RunMode.MULTIRUN
        assert composed == []
    assert Hydra.get_mode is before
    assert ours.get_mode("config", []) is None


def test_sim_run_composes_its_config_once(tmp_path: Path) -> None:
    """The whole CLI: Hydra composes the control once (its mode read without composing), sim.api the
    treatment: two compositions of a headline run, not three."""
    script = ("import sys, hydra._internal.hydra as h\n"
              "calls = []\n"
              "own = h.Hydra.compose_config\n"
              "def counted(self, *a, **k):\n"
              "    calls.append(k.get('run_mode'))\n"
              "    return own(self, *a, **k)\n"
              "h.Hydra.compose_config = counted\n"
              "import sim.cli\n"
              f"sys.argv = ['sim', 'replications=2', 'hydra.run.dir={tmp_path / 'out'}']\n"
              "try:\n"
              "    sim.cli.main()\n"
              "finally:\n"
              "    print('compositions', [str(c) for c in calls], file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "compositions ['RunMode.RUN', 'RunMode.RUN']" in done.stderr  # get_mode's was in MULTIRUN mode
    assert (tmp_path / "out" / "results.parquet").exists()
