"""The headline figures drawn in a second process (sim.figure_process): the same bytes as drawn in the
run's own process, its errors raised in the run as themselves, a stopped process gone and writing
nothing more, and a headline run that never imports matplotlib itself."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pandas as pd
import pytest
from test_imports import _loaded

from sim.api import build_pair
from sim.experiment import run_cell
from sim.figure_process import HEADLINE_FIGURES, FigureProcess
from sim.plots import headline_figures


@pytest.fixture(scope="module")
def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    results = [run_cell(c) for c in build_pair(["replications=3"], "baseline", "sunni_outreach").cells]
    return (pd.concat([r.table for r in results], ignore_index=True),
            pd.concat([r.network for r in results], ignore_index=True))


def _draw_all(drawing: FigureProcess, outdir: Path, tables: tuple[pd.DataFrame, pd.DataFrame]) -> list[Path]:
    table, network = tables
    outdir.mkdir()
    drawing.draw(outdir, ["sunni_leverage", "portfolio", "network"], table, network)
    drawing.draw(outdir, ["entente_strength"], table)
    return drawing.paths()


@pytest.mark.parametrize("method", ["spawn", "fork"])  # fork: as in sim-run (pytest's threads make it warn here)
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_figures_drawn_in_a_second_process_are_the_bytes_drawn_here(tmp_path, tables, method) -> None:
    with FigureProcess(start_method=method) as apart:
        assert apart.separate
        separate = _draw_all(apart, tmp_path / "apart", tables)
        assert apart.seconds() > 0
    with FigureProcess(in_process=True) as here:
        assert not here.separate
        local = _draw_all(here, tmp_path / "here", tables)
    assert [p.name for p in separate] == [p.name for p in local] == \
        ["sunni_leverage.png", "portfolio.png", "network.png", "entente_strength.png"]
    for a, b in zip(separate, local, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_an_error_in_the_figure_process_is_raised_in_the_run_as_itself(tmp_path, tables) -> None:
    table, network = tables
    with pytest.raises(FileNotFoundError), FigureProcess() as drawing:
        drawing.draw(tmp_path / "no such directory", ["portfolio"], table, network)
        drawing.paths()
    with pytest.raises(ValueError, match="headline figures are entente_strength"), \
            FigureProcess(in_process=True) as drawing:
        drawing.draw(tmp_path, ["portfolios"], table, network)
        drawing.paths()


def test_without_a_process_the_figures_are_drawn_when_collected(tmp_path, tables) -> None:
    table, network = tables
    drawing = FigureProcess(in_process=True)
    drawing.draw(tmp_path, ["portfolio"], table, network)
    assert list(tmp_path.iterdir()) == [] and drawing.seconds() == 0  # a run's figures stage gets the drawing
    assert [p.name for p in drawing.paths()] == ["portfolio.png"] and drawing.seconds() > 0
    assert drawing.how == "this process"


def test_figures_a_dead_process_did_not_return_are_drawn_here(tmp_path, tables) -> None:
    table, network = tables
    with FigureProcess(start_method="spawn") as drawing:
        (process,) = drawing._pool._processes.values()
        os.kill(process.pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
        process.join()
        drawing.draw(tmp_path, ["portfolio", "sunni_leverage"], table, network)
        assert [p.name for p in drawing.paths()] == ["sunni_leverage.png", "portfolio.png"]
    assert drawing.fell_back and drawing.how == "spawn, drawn here after the process failed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["portfolio.png", "sunni_leverage.png"]


def test_a_stopped_figure_process_is_gone_and_writes_nothing_more(tmp_path, tables) -> None:
    table, network = tables
    drawing = FigureProcess()
    processes = list(drawing._pool._processes.values())
    drawing.draw(tmp_path, ["network", "portfolio", "sunni_leverage"], table, network)
    drawing.stop()
    assert processes and not any(p.is_alive() for p in processes)
    written = sorted(tmp_path.iterdir())
    time.sleep(1.0)
    assert sorted(tmp_path.iterdir()) == written  # nothing lands after stop() returned
    drawing.stop()  # and stopping twice is harmless


def test_a_headline_run_leaves_matplotlib_to_its_figure_process(tmp_path) -> None:
    out = tmp_path / "out"
    body = f"import sys\nsys.argv = ['sim-run', 'hydra.run.dir={out}', 'replications=2']\n" \
           "from sim.cli import main\nmain()"
    loaded, p = _loaded(body, tmp_path, ("matplotlib",))
    assert p.returncode == 0, p.stderr
    assert loaded == []
    assert sorted(f.stem for f in out.glob("*.png")) == sorted(HEADLINE_FIGURES)
    assert json.loads((out / "provenance.json").read_text())["figures"]["process"] == "fork"  # no threads in sim-run


def test_headline_figures_draws_only_what_is_asked(tables) -> None:
    table, network = tables
    assert list(headline_figures(table, network, only=["network", "portfolio"])) == ["portfolio", "network"]
    assert list(headline_figures(table, None)) == ["entente_strength", "sunni_leverage", "portfolio"]
