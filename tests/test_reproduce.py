"""Reproducing a result from its directory (``sim-reproduce``; ``sim-run --config-path OUTDIR/.hydra``)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.reproduce import main, reproduce

SMALL = ("replications=2", "horizon.end=2020-06")  # small and fast: the numbers need not mean anything here


def sim_run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    done = subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def snapshot(directory: Path) -> dict[str, str]:
    """Every file under ``directory`` (hidden ones too) and a digest of its bytes."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def headline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("headline")
    sim_run(root, *SMALL, f"hydra.run.dir={root / 'run'}")
    return root / "run"


def test_the_headline_run_reproduces_bit_for_bit_and_is_left_untouched(headline: Path, tmp_path: Path) -> None:
    before = snapshot(headline)
    verdict = reproduce(headline, tmp_path / "again", quiet=True)
    assert verdict.identical, str(verdict)
    assert [t.name for t in verdict.tables] == ["results.parquet", "network.parquet", "dyads.parquet", "summary.json"]
    assert "verdict: IDENTICAL" in str(verdict)
    assert snapshot(headline) == before


def test_hydras_own_rerun_from_the_saved_config_works_and_gives_the_same_table(headline: Path,
                                                                             tmp_path: Path) -> None:
    sim_run(tmp_path, "--config-path", str(headline / ".hydra"), "--config-name", "config",
            f"hydra.run.dir={tmp_path / 'again'}")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "again" / "results.parquet"),
                                  pd.read_parquet(headline / "results.parquet"), check_exact=True)


def test_a_single_scenario_run_reproduces_bit_for_bit(tmp_path: Path) -> None:
    sim_run(tmp_path, "scenario=western_sanctions_2022", *SMALL, f"hydra.run.dir={tmp_path / 'run'}")
    verdict = reproduce(tmp_path / "run", tmp_path / "again", quiet=True)
    assert verdict.identical, str(verdict)
    # a scenario alone has no summary
    assert [t.name for t in verdict.tables] == ["results.parquet", "network.parquet", "dyads.parquet"]


def test_an_outreach_sweep_and_one_of_its_points_reproduce_bit_for_bit(tmp_path: Path, capsys) -> None:
    sweep = tmp_path / "sweep"
    sim_run(tmp_path, "experiment=outreach_sweep", 'experiment.grid={policy.outreach:"0,1"}', *SMALL,
            "experiment.workers=1", f"hydra.run.dir={sweep}")
    before = snapshot(sweep)
    verdict = reproduce(sweep, tmp_path / "all", quiet=True)  # through the saved config
    assert verdict.identical, str(verdict)
    assert {"report/effects.parquet", "report/results.parquet"} <= {t.name for t in verdict.tables}
    point = sorted(p.stem for p in (sweep / "points").glob("*.json"))[-1]
    assert main([str(sweep), "--point", point, "--out", str(tmp_path / "point")]) == 0
    out = capsys.readouterr().out
    assert "tables: 2 of 2 identical" in out and "verdict: IDENTICAL" in out
    assert snapshot(sweep) == before


def test_a_sweep_computed_by_other_code_reproduces_cell_by_cell_under_its_new_hashes(tmp_path: Path, monkeypatch,
                                                                                     capsys) -> None:
    """The code is in a cell's hash: rerun by this code, each cell gets another hash, and is compared with
    the stored cell of the same config (and the report's cell and point columns likewise)."""
    from sim.store import CellStore, source_version

    sweep = tmp_path / "sweep"
    monkeypatch.setenv("SIM_CODE_VERSION", "0123456789abcdef")
    sim_run(tmp_path, "experiment=outreach_sweep", 'experiment.grid={policy.outreach:"0,1"}', *SMALL,
            "experiment.workers=1", f"hydra.run.dir={sweep}")
    monkeypatch.delenv("SIM_CODE_VERSION")
    verdict = reproduce(sweep, tmp_path / "all", quiet=True)  # through the saved config
    assert verdict.identical, str(verdict)
    assert f"code: 0123456789abcdef -> {source_version()}" in verdict.environment
    assert not set(CellStore(tmp_path / "all").done()) & set(CellStore(sweep).done())
    assert {"report/effects.parquet", "report/results.parquet"} <= {t.name for t in verdict.tables}
    assert sum(t.name.startswith("cells/") for t in verdict.tables) == 3
    cell = sorted(CellStore(sweep).done())[0]
    assert main([str(sweep), "--cell", cell, "--out", str(tmp_path / "cell")]) == 0  # from the stored config
    assert f"cells/{cell}/results.parquet: identical" in capsys.readouterr().out


def test_one_job_of_a_multirun_reproduces_bit_for_bit(tmp_path: Path) -> None:
    sweep = tmp_path / "multirun"
    sim_run(tmp_path, "-m", "experiment=outreach_sweep", "policy.outreach=0,1", *SMALL, f"hydra.sweep.dir={sweep}")
    before = snapshot(sweep)
    verdict = reproduce(sweep / "1", tmp_path / "job", quiet=True)
    assert verdict.source.kind == "job"
    assert verdict.identical, str(verdict)
    assert len(verdict.tables) == 2  # the job's control and treatment cells
    assert snapshot(sweep) == before


def test_an_altered_table_is_reported_by_table_column_and_row_and_the_original_is_untouched(
        headline: Path, tmp_path: Path, capsys) -> None:
    altered = tmp_path / "altered"
    shutil.copytree(headline, altered)
    table = pd.read_parquet(altered / "results.parquet")
    table.loc[3, "entente_strength"] += 1e-9
    table.to_parquet(altered / "results.parquet", index=False)
    before = snapshot(altered)
    assert main([str(altered), "--out", str(tmp_path / "again")]) == 1
    out = capsys.readouterr().out
    assert "results.parquet: DIFFERS" in out
    assert "column entente_strength: 1 of" in out and "row 3 (scenario=baseline" in out
    assert "max |difference| 1e-09" in out
    assert "network.parquet: identical" in out and "verdict: DIFFERENT: 1 table(s) differ" in out
    assert snapshot(altered) == before


def test_a_directory_that_is_not_a_result_or_is_damaged_gets_one_message(headline: Path, tmp_path: Path,
                                                                        capsys) -> None:
    assert main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "is not a result" in err and "Traceback" not in err
    damaged = tmp_path / "damaged"
    shutil.copytree(headline, damaged)
    (damaged / "network.parquet").write_bytes(b"not parquet")
    assert main([str(damaged)]) == 2
    err = capsys.readouterr().err
    assert "network.parquet cannot be read" in err and "damaged" in err
    assert not (tmp_path / "damaged-reproduced").exists()  # stopped before rerunning
    assert main([str(headline), "--point", "abc"]) == 2
    assert "not a sweep" in capsys.readouterr().err
