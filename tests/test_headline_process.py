"""A headline run's statistics and figures made in processes of their own (sim.headline_process): the
same summary and the same bytes as made in the run's own process, their errors raised in the run as
themselves, a dead process or helper made up for, a stopped process gone with its helper and writing
nothing more, and a headline run that never imports scipy.stats or matplotlib itself."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from test_imports import _loaded

from sim.api import build_pair
from sim.experiment import run_cell
from sim.headline_process import HEADLINE_FIGURES, HELPER_FIGURES, HeadlineProcess, Statistics
from sim.plots import headline_figures

FIGURES = [f"{stem}.png" for stem in HEADLINE_FIGURES]


@pytest.fixture(scope="module")
def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    results = [run_cell(c) for c in build_pair(["replications=3"], "baseline", "sunni_outreach").cells]
    return (pd.concat([r.table for r in results], ignore_index=True),
            pd.concat([r.network for r in results], ignore_index=True))


STATISTICS = Statistics("baseline", "sunni_outreach", seed=7, direction=1, min_relative_effect=0.01, replications=3)


def _make_all(made: HeadlineProcess, outdir: Path, tables: tuple[pd.DataFrame, pd.DataFrame],
              statistics: Statistics | None = STATISTICS) -> tuple[tuple[dict | None, str | None], list[Path]]:
    outdir.mkdir()
    made.start(outdir, *tables, statistics)
    return made.summary(), made.paths()


@pytest.mark.parametrize("method", ["spawn", "fork"])  # fork: as in sim-run (pytest's threads make it warn here)
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_what_the_processes_make_is_what_this_process_makes(tmp_path, tables, method) -> None:
    with HeadlineProcess(start_method=method) as apart:
        assert apart.separate
        (summary, md), separate = _make_all(apart, tmp_path / "apart", tables)
        assert apart.seconds() > 0 and not apart.fell_back
    with HeadlineProcess(in_process=True) as here:
        assert not here.separate
        (summary_here, md_here), local = _make_all(here, tmp_path / "here", tables)
    assert json.dumps(summary) == json.dumps(summary_here) and md == md_here
    assert summary["h1"]["effect"] is not None
    assert [p.name for p in separate] == [p.name for p in local] == FIGURES
    for a, b in zip(separate, local, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_without_a_pair_there_is_no_summary_and_every_figure(tmp_path, tables) -> None:
    with HeadlineProcess() as made:
        (summary, md), paths = _make_all(made, tmp_path / "out", tables, statistics=None)
    assert summary is None and md is None
    assert [p.name for p in paths] == FIGURES


def test_an_error_in_the_process_is_raised_in_the_run_as_itself(tmp_path, tables) -> None:
    table, network = tables
    with pytest.raises(FileNotFoundError), HeadlineProcess() as made:
        made.start(tmp_path / "no such directory", table, network, STATISTICS)
        assert made.summary()[0] is not None  # the statistics need no directory
        made.paths()
    wrong = Statistics("no such scenario", "sunni_outreach", 7, 1, 0.01, 3)
    for in_process in (False, True):
        with pytest.raises(KeyError, match="no such scenario"), HeadlineProcess(in_process=in_process) as made:
            made.start(tmp_path, table, network, wrong)
            made.summary()


def test_one_run_per_process_and_nothing_before_start(tmp_path, tables) -> None:
    with HeadlineProcess(in_process=True) as made:
        with pytest.raises(RuntimeError, match="start"):
            made.paths()
        made.start(tmp_path, *tables)
        with pytest.raises(RuntimeError, match="one run"):
            made.start(tmp_path, *tables)


def test_without_a_process_the_outputs_are_made_when_collected(tmp_path, tables) -> None:
    made = HeadlineProcess(in_process=True)
    made.start(tmp_path, *tables, STATISTICS)
    assert list(tmp_path.iterdir()) == [] and made.seconds() == 0  # a run's stages get the work where it is done
    assert made.summary()[0]["h1"]["verdict"] and list(tmp_path.iterdir()) == []
    assert [p.name for p in made.paths()] == FIGURES and made.seconds() > 0
    assert made.how == "this process"


def test_what_a_dead_process_did_not_return_is_made_here(tmp_path, tables) -> None:
    with HeadlineProcess(start_method="spawn") as made:
        (process,) = made._pool._processes.values()
        os.kill(process.pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
        process.join()
        (summary, _), paths = _make_all(made, tmp_path / "out", tables)
        assert summary is not None and [p.name for p in paths] == FIGURES
    assert made.fell_back and made.how == "spawn, drawn here after the process failed"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(FIGURES)


def test_the_process_draws_what_its_dead_helper_did_not(tmp_path, tables) -> None:
    with HeadlineProcess() as made:
        helper = made._pid.result(timeout=60)  # answered once the process has imported and forked its helper
        assert helper is not None and helper not in made._pool._processes and HELPER_FIGURES
        os.kill(helper, signal.SIGKILL)
        time.sleep(0.2)
        _, paths = _make_all(made, tmp_path / "out", tables)
    assert [p.name for p in paths] == FIGURES and not made.fell_back  # the process, not the run, made up for it
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(FIGURES)


def test_stop_after_the_process_died_kills_no_pid_its_helper_had(tmp_path, tables, monkeypatch) -> None:
    made = HeadlineProcess()
    helper = made._pid.result(timeout=60)
    (process,) = made._pool._processes.values()
    os.kill(process.pid, signal.SIGKILL)
    process.join()
    deadline = time.monotonic() + 5
    while _alive(helper) and time.monotonic() < deadline:  # it dies with the process (PR_SET_PDEATHSIG)
        time.sleep(0.01)
    assert not _alive(helper)
    killed: list[int] = []
    real_kill = os.kill
    monkeypatch.setattr("sim.headline_process.os.kill", lambda pid, sig: (killed.append(pid), real_kill(pid, sig)))
    made.stop()  # the helper's pid may belong to another program by now: not signalled
    assert helper not in killed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def test_a_stopped_process_is_gone_with_its_helper_and_writes_nothing_more(tmp_path, tables) -> None:
    made = HeadlineProcess()
    processes = list(made._pool._processes.values())
    helper = made._pid.result(timeout=60)
    assert _alive(helper)
    made.start(tmp_path, *tables, STATISTICS)
    made.stop()
    assert processes and not any(p.is_alive() for p in processes)
    assert not _alive(helper)
    written = sorted(tmp_path.iterdir())
    time.sleep(1.0)
    assert sorted(tmp_path.iterdir()) == written  # nothing lands after stop() returned
    made.stop()  # and stopping twice is harmless


def test_a_headline_run_leaves_the_statistics_and_matplotlib_to_its_process(tmp_path) -> None:
    out = tmp_path / "out"
    body = f"import sys\nsys.argv = ['sim-run', 'hydra.run.dir={out}', 'replications=2']\n" \
           "from sim.cli import main\nmain()"
    loaded, p = _loaded(body, tmp_path, ("matplotlib", "scipy.stats", "statsmodels"))
    assert p.returncode == 0, p.stderr
    assert loaded == []
    assert sorted(f.stem for f in out.glob("*.png")) == sorted(HEADLINE_FIGURES)
    assert json.loads((out / "provenance.json").read_text())["figures"]["process"] == "fork"  # no threads in sim-run
    assert json.loads((out / "summary.json").read_text())["h1"]["verdict"]


COUNTED = ("import sys\nimport sim.headline_process as h\ninit = h.HeadlineProcess.__init__\n"
           "def counted(self, *a, **k):\n    print('STARTED', flush=True)\n    init(self, *a, **k)\n"
           "h.HeadlineProcess.__init__ = counted\nsys.argv = ['sim-run', *{args!r}]\nfrom sim.cli import main\nmain()")


def _started(tmp_path: Path, *args: str) -> int:
    """How many headline processes ``sim-run args`` starts (it must succeed)."""
    p = subprocess.run([sys.executable, "-c", COUNTED.format(args=list(args))], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return p.stdout.splitlines().count("STARTED")


def test_only_a_headline_run_starts_the_process(tmp_path) -> None:
    sweep = tmp_path / "multirun"
    assert _started(tmp_path, "-m", "policy.outreach=0.5", "replications=2", f"hydra.sweep.dir={sweep}") == 0
    # a saved multirun job run again from its own config is a job (run_job): no figures, no process
    assert _started(tmp_path, "--config-path", str(sweep / "0" / ".hydra"), "--config-name", "config",
                    f"hydra.run.dir={tmp_path / 'job'}") == 0
    assert _started(tmp_path, "replications=2", f"hydra.run.dir={tmp_path / 'run'}") == 1
    assert _started(tmp_path, "experiment=outreach_sweep", "replications=2", "experiment.workers=1",
                    f"hydra.run.dir={tmp_path / 'sweep'}") == 0


def test_headline_figures_draws_only_what_is_asked(tables) -> None:
    table, network = tables
    assert list(headline_figures(table, network, only=["network", "portfolio"])) == ["portfolio", "network"]
    assert list(headline_figures(table, None)) == ["entente_strength", "sunni_leverage", "portfolio"]
    with pytest.raises(ValueError, match="headline figures are entente_strength"):
        headline_figures(table, network, only=["portfolios"])


def test_no_legend_or_verdict_lies_over_the_lines_of_the_entente_and_leverage_figures(tables) -> None:
    import numpy as np

    from sim.analysis import summarise

    table, network = tables
    summary = summarise(table, "baseline", "sunni_outreach")
    figures = headline_figures(table, network, summary, only=["entente_strength", "sunni_leverage"])
    lower = figures["entente_strength"].axes[1]
    assert lower.get_title().startswith("H1 (dilution) at 2025-12") and not lower.texts  # a title, not a box
    leverage = figures["sunni_leverage"]
    leverage.draw_without_rendering()
    for ax in leverage.axes:
        tops = [ax.transData.transform(line.get_xydata())[:, 1].max() for line in ax.lines if len(line.get_xydata())]
        tops += [c.get_datalim(ax.transData).transformed(ax.transData).y1 for c in ax.collections
                 if np.isfinite(c.get_datalim(ax.transData).y1)]
        assert ax.get_legend().get_window_extent().y0 > max(tops), ax.get_title()
