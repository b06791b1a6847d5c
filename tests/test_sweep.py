"""Sweeps: designs, plans, the cell store, resume after a kill, identical numbers on every path."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from sim import store as store_module
from sim.api import build_pair, compose
from sim.config import ConfigError, numeric_parameters
from sim.design import grid_points, sensitivity_problem, sensitivity_sample
from sim.experiment import Cell, prepare_plain, run_cell, run_prepared
from sim.report import collect, write_report
from sim.store import PACKAGE, CellStore, DirectoryLock, cell_config, cell_key, source_version, temporary_name
from sim.sweep import Plan, evaluate, plan, pool_size, stack_key, stacks, write_plan

SHORT = ["replications=2", "horizon.end=2021-08"]  # the last outreach event is in 2021-08
TWO_LEVELS = 'experiment.grid={policy.outreach:"0,1"}'


def _plan(experiment: str, *overrides: str) -> Plan:
    """The plan sim-run makes: its pair (a lever the two scenarios set differently is the treatment's only)."""
    pair = build_pair([*overrides, f"experiment={experiment}"], "baseline", "sunni_outreach")
    return plan(pair.control, pair.treatment, pair.control.config.experiment, treatment_only=pair.treatment_only)


def _sorted(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values(["cell", "replication", "date"]).reset_index(drop=True)


# ------------------------------------------------------------------ designs


def test_grid_points_use_hydra_sweep_syntax_first_key_slowest() -> None:
    points = grid_points({"policy.outreach": "0,1", "policy.us_sanctions_on_iran": "0,0.5,1"})
    assert len(points) == 6
    assert points[0] == {"policy.outreach": 0, "policy.us_sanctions_on_iran": 0}
    assert points[1] == {"policy.outreach": 0, "policy.us_sanctions_on_iran": 0.5}
    assert points[-1] == {"policy.outreach": 1, "policy.us_sanctions_on_iran": 1}
    assert [p["policy.outreach"] for p in grid_points({"policy.outreach": "range(0,3)"})] == [0, 1, 2]


def test_sensitivity_bounds_are_a_span_around_defaults_clipped_to_the_allowed_range() -> None:
    names = list(numeric_parameters())
    assert len(names) == 31 and all(n.startswith("model.mechanisms.") for n in names)
    assert "model.mechanisms.noise.enabled" not in names  # switches are not parameters
    problem = sensitivity_problem([], 0.6)
    bounds = dict(zip(problem["names"], problem["bounds"], strict=True))
    share = numeric_parameters()["model.mechanisms.allocation.max_share"]  # calibrated: 0.734
    assert share * 1.6 > 1 and bounds["model.mechanisms.allocation.max_share"] == pytest.approx([share * 0.4, 1.0])
    assert bounds["model.mechanisms.allocation.rationality"] == pytest.approx([0.564, 2.256])  # 1.41 -+ 60%
    assert bounds["model.mechanisms.budget.max_growth"] == pytest.approx([1.0, 3.2])  # 2 * 0.4 clipped to >= 1
    x = sensitivity_sample(problem, "sobol", 8, 4, seed=1)
    assert x.shape == (8 * (31 + 2), 31)
    lo, hi = np.array(problem["bounds"]).T
    assert (x >= lo).all() and (x <= hi).all()
    m = sensitivity_sample(problem, "morris", 3, 4, seed=1)
    assert m.shape == (3 * 32, 31)


# ------------------------------------------------------------------ plans and the store


def test_outreach_sweep_plan_shares_the_baseline_and_keeps_the_lever_to_the_treatment() -> None:
    p = _plan("outreach_sweep")
    assert len(p.points) == 11 and len(p.cells) == 12  # one baseline serves every level
    assert len({pt["control"] for pt in p.points}) == 1
    for pt in p.points:
        assert p.cells[pt["control"]].config["policy"]["outreach"] == 0.0
        assert p.cells[pt["treatment"]].config["policy"]["outreach"] == pytest.approx(pt["params"]["policy.outreach"])
        assert isinstance(p.cells[pt["treatment"]].config["policy"]["outreach"], float)


def test_conditions_plan_pairs_each_condition_with_outreach_zero_under_the_same_sanctions() -> None:
    p = _plan("conditions")
    assert len(p.points) == 2 * 5 * 5 and len(p.cells) == 25 + 50  # 25 controls, one per sanctions condition
    for pt in p.points:
        control = p.cells[pt["control"]].config["policy"]
        treatment = p.cells[pt["treatment"]].config["policy"]
        assert control["outreach"] == 0.0 and treatment["outreach"] == pt["params"]["policy.outreach"]
        for lever in ("us_sanctions_on_iran", "western_sanctions_on_russia"):
            assert control[lever] == treatment[lever] == pt["params"][f"policy.{lever}"]


def test_a_cell_hash_ignores_what_does_not_change_numbers_and_sees_what_does() -> None:
    a = compose(["experiment=hypothesis"])
    b = compose(["experiment=conditions", "min_relative_effect=0.2", "compare=us_sanctions"])
    assert cell_key(cell_config(a)) == cell_key(cell_config(b))
    for change in ("seed=7", "replications=3", "model.mechanisms.noise.sigma=0.06", "policy.outreach=0.5"):
        assert cell_key(cell_config(compose([change]))) != cell_key(cell_config(a)), change
    assert cell_key(cell_config(a), code="another") != cell_key(cell_config(a))  # the code is hashed too
    # a cell planned by the sweep has the same hash as the config Hydra composes for that point
    p = _plan("outreach_sweep")
    composed = compose(["scenario=sunni_outreach", "policy.outreach=0.3"])
    assert cell_key(cell_config(composed)) in {pt["treatment"] for pt in p.points}


def test_the_code_version_is_the_source_so_an_uncommitted_edit_or_an_installed_copy_is_seen(tmp_path: Path) -> None:
    """Hashing the files (not git's revision) sees an edit nobody committed, and a copy without git."""
    copy = tmp_path / "sim"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "configs", "data"))
    assert source_version(copy) == source_version()  # the same source elsewhere, outside any git checkout
    ties = copy / "mechanisms" / "ties.py"
    ties.write_text(ties.read_text() + "\n# an edit\n")
    edited = source_version(copy)
    assert edited != source_version()
    (copy / "mechanisms" / "extra.py").write_text("X = 1\n")  # a new module counts too
    assert source_version(copy) not in (edited, source_version())


@pytest.mark.parametrize(("override", "key", "allowed"), [
    ('experiment.grid={policy.outreach:"0,1.5"}', "policy.outreach", "[0, 1]"),
    ('++experiment.grid={model.mechanisms.allocation.inertia:"0.5,2"}', "model.mechanisms.allocation.inertia",
     "[0, 1]"),
    ('++experiment.grid={model.mechanisms.nonsense.x:"1,2"}', "model.mechanisms.nonsense.x", "a key of the config"),
])
def test_a_bad_grid_value_is_refused_before_anything_runs(override: str, key: str, allowed: str) -> None:
    with pytest.raises(ConfigError) as e:
        _plan("outreach_sweep", override)
    assert e.value.key == key and allowed in str(e.value)


def test_a_cell_from_the_store_equals_the_same_cell_run_through_hydras_config(tmp_path: Path) -> None:
    p = _plan("outreach_sweep", *SHORT, TWO_LEVELS)
    evaluate(p, tmp_path, workers=1, progress=False)
    store = CellStore(tmp_path)
    treatment = next(pt["treatment"] for pt in p.points if pt["params"]["policy.outreach"] == 1)
    direct = run_cell(Cell("sunni_outreach", compose([*SHORT, "scenario=sunni_outreach", "policy.outreach=1"])))
    horizon = direct.table[direct.table["date"] == direct.table["date"].max()].reset_index(drop=True)
    pd.testing.assert_frame_equal(store.table(treatment), horizon, check_exact=True)
    assert store.meta(treatment)["hash"] == treatment
    assert store.config(treatment)["policy"]["outreach"] == 1.0


def test_a_cell_still_being_written_is_not_finished(tmp_path: Path) -> None:
    """cell.json is written before the temporary directory is renamed: only the rename finishes a cell."""
    store = CellStore(tmp_path)
    writing = store.cells / temporary_name("0123456789abcdef")
    writing.mkdir(parents=True)
    (writing / "cell.json").write_text("{}")
    assert store.done() == set()
    writing.rename(store.path("0123456789abcdef"))
    assert store.done() == {"0123456789abcdef"}


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(("damage", "problem"), [
    (lambda cell: _truncate(cell / "results.parquet"), "results.parquet has"),
    (lambda cell: _flip_a_byte(cell / "results.parquet"), "results.parquet does not match the checksum"),
    (lambda cell: _flip_a_byte(cell / "config.json"), "config.json does not match the checksum"),
    (lambda cell: (cell / "results.parquet").unlink(), "results.parquet is missing"),
    (lambda cell: (cell / "cell.json").write_text("{"), "cell.json cannot be read"),
])
def test_a_damaged_cell_is_recomputed_with_a_line_and_the_table_equals_an_uninterrupted_run(
        tmp_path: Path, capsys, damage, problem: str) -> None:
    p = _plan("outreach_sweep", *SHORT, 'experiment.grid={policy.outreach:"0,0.5,1"}')
    whole = tmp_path / "whole"
    write_plan(whole, p)
    evaluate(p, whole, workers=1, progress=False)
    damaged = tmp_path / "damaged"
    shutil.copytree(whole, damaged)
    key = p.points[1]["treatment"]
    damage(CellStore(damaged).path(key))
    capsys.readouterr()
    stats = evaluate(p, damaged, workers=1, progress=False)
    assert stats["ran"] == 1 and stats["skipped"] == 3
    lines = [line for line in capsys.readouterr().err.splitlines() if "damaged" in line]
    assert len(lines) == 1 and f"cells/{key} is damaged ({problem}" in lines[0] and "computing it again" in lines[0]
    assert CellStore(damaged).check(key) is None
    assert len(list((damaged / "cells").glob(f".damaged-{key}-*"))) == 1  # moved aside, not deleted
    pd.testing.assert_frame_equal(_sorted(collect(damaged).table), _sorted(collect(whole).table), check_exact=True)


def test_a_cell_computed_by_other_code_is_computed_again(tmp_path: Path, monkeypatch) -> None:
    """Edit the code (here: its version, as an edited file gives it) and no cell of the old code is found."""
    p = _plan("outreach_sweep", *SHORT, TWO_LEVELS)
    evaluate(p, tmp_path, workers=1, progress=False)
    monkeypatch.setattr(store_module, "source_version", lambda: "0123456789abcdef")
    edited = _plan("outreach_sweep", *SHORT, TWO_LEVELS)
    assert not set(edited.cells) & set(p.cells)
    stats = evaluate(edited, tmp_path, workers=1, progress=False)
    assert stats["ran"] == 3 and stats["skipped"] == 0
    store = CellStore(tmp_path)
    assert {store.meta(k)["code"] for k in edited.cells} == {"0123456789abcdef"}
    assert {store.meta(k)["code"] for k in p.cells} == {source_version()}  # the old cells are kept
    for old, new in zip(p.cells, edited.cells, strict=True):  # the same config: same numbers (the code did not)
        assert store.config(old) == store.config(new)
        pd.testing.assert_frame_equal(store.table(old), store.table(new), check_exact=True)
    monkeypatch.setenv("SIM_CODE_VERSION", source_version())  # a deliberate reuse of the old cells
    assert evaluate(_plan("outreach_sweep", *SHORT, TWO_LEVELS), tmp_path, workers=1, progress=False)["ran"] == 0


# ------------------------------------------------------------------ identical on every path


def test_a_small_sweep_runs_in_one_process_a_large_one_in_a_pool() -> None:
    assert pool_size(2, remaining_seconds=1.0, stacks_left=5) == 1  # saving 0.5 s costs a 2 s start
    assert pool_size(2, remaining_seconds=60.0, stacks_left=5) == 2
    assert pool_size(4, remaining_seconds=60.0, stacks_left=2) == 2  # no more processes than stacks
    assert pool_size(2, remaining_seconds=60.0, stacks_left=0) == 1


def test_evaluator_gives_identical_tables_at_one_and_two_workers(tmp_path: Path) -> None:
    p = _plan("outreach_sweep", *SHORT, 'experiment.grid={policy.outreach:"0,0.5,1"}')
    tables = []
    for workers in (1, 2):
        root = tmp_path / f"w{workers}"
        write_plan(root, p)
        stats = evaluate(p, root, workers=workers, progress=False, start_cost=0.0)  # no saving on processes
        assert stats["ran"] == 4 and stats["skipped"] == 0
        tables.append(_sorted(collect(root).table))
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)
    assert len(tables[0]) == 4 * 2  # 4 cells x 2 replications at the horizon


def test_a_sensitivity_sample_runs_in_stacks_with_each_cells_numbers_alone(tmp_path: Path) -> None:
    """A Sobol' sample's cells differ only in mechanism parameters: the evaluator steps them in
    stacks (at most 5 cells of 2 replications here), and each stored cell equals that cell run
    by itself, bit for bit (every month recorded)."""
    p = _plan("sensitivity", *SHORT, "experiment.samples=2", "experiment.record=series",
              "experiment.parameters=[model.mechanisms.allocation.rationality,model.mechanisms.value.third_party_weight]")
    cells = list(p.cells.values())
    groups = stacks(cells, slices=10)
    assert len(cells) == 16 and sorted(len(g) for g in groups) == [3, 3, 5, 5]  # 8 controls, 8 treatments
    assert all(len({stack_key(c.config) for c in g}) == 1 for g in groups)
    write_plan(tmp_path, p)
    evaluate(p, tmp_path, workers=1, progress=False)
    store = CellStore(tmp_path)
    for cell in cells[::3]:
        c = cell.config
        alone = run_prepared(cell.scenario, *prepare_plain(c), int(c["seed"]), int(c["replications"]))
        pd.testing.assert_frame_equal(store.table(cell.key), alone.table, check_exact=True)


def test_lever_grids_run_in_stacks_with_each_cells_numbers_alone(tmp_path: Path) -> None:
    """The conditions preset's cells differ only in lever levels within each scenario: the
    treatments (outreach events scaled by the lever, sanctions levers) step as one stack, the
    controls as another, and each stored cell equals that cell run alone, bit for bit."""
    p = _plan("conditions", *SHORT, "experiment.record=series")
    cells = list(p.cells.values())
    groups = stacks(cells)
    assert len(groups) == 2 and sorted(len(g) for g in groups) == sorted(
        [sum(c.scenario == name for c in cells) for name in ("baseline", "sunni_outreach")])
    write_plan(tmp_path, p)
    evaluate(p, tmp_path, workers=1, progress=False)
    store = CellStore(tmp_path)
    for cell in cells:
        c = cell.config
        alone = run_prepared(cell.scenario, *prepare_plain(c), int(c["seed"]), int(c["replications"]))
        pd.testing.assert_frame_equal(store.table(cell.key), alone.table, check_exact=True)


def _sim(tmp_path: Path, *args: str, timeout: int = 300, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0", **(env or {})}
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=tmp_path, capture_output=True, text=True,
                          env=env, timeout=timeout)


def _launchers() -> list[str]:
    found = ["basic", "joblib"]
    try:
        import hydra_plugins.hydra_submitit_launcher  # noqa: F401

        found.append("submitit_local")
    except ImportError:
        pass
    return found


def test_multirun_launchers_and_the_evaluator_give_identical_tables(tmp_path: Path) -> None:
    """basic, joblib and submitit_local launchers, and the in-process evaluator: the same numbers."""
    args = ["experiment=outreach_sweep", TWO_LEVELS, *SHORT, "min_relative_effect=0.5"]
    p = _sim(tmp_path, *args, "experiment.workers=2", f"hydra.run.dir={tmp_path / 'evaluator'}")
    assert p.returncode == 0, p.stderr
    reference = _sorted(collect(tmp_path / "evaluator").table)
    assert len(reference) == 3 * 2
    for launcher in _launchers():
        sweep = tmp_path / launcher
        p = _sim(tmp_path, "-m", *args, f"hydra/launcher={launcher}", f"hydra.sweep.dir={sweep}")
        assert p.returncode == 0, f"{launcher}: {p.stderr[-2000:]}"
        assert len(list((sweep / "points").glob("*.json"))) == 2
        pd.testing.assert_frame_equal(_sorted(collect(sweep).table), reference, check_exact=True)
        paths = write_report(sweep)
        effects = pd.read_parquet(paths["effects"])
        assert effects["threshold"].to_numpy() == pytest.approx(0.5 * effects["scale_control_mean"].abs().to_numpy())


# ------------------------------------------------------------------ resume


def _sweep_args(root: Path) -> list[str]:
    grid = 'experiment.grid={policy.outreach:"0,0.2,0.4,0.6,0.8,1"}'
    return ["experiment=outreach_sweep", grid, "replications=3", "experiment.workers=1", f"hydra.run.dir={root}"]


def test_a_killed_sweep_rerun_ends_with_the_table_of_an_uninterrupted_run(tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    p = _sim(tmp_path, *_sweep_args(whole))
    assert p.returncode == 0, p.stderr
    assert "ran 7 cells, skipped 0" in p.stdout

    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "sim", *_sweep_args(killed)], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(CellStore(killed).done()) < 2:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = CellStore(killed).done()
    assert 2 <= len(finished) < 7, "the kill should land mid-sweep"
    assert not (killed / "report").exists()
    truncated = sorted(finished)[0]  # and a finished cell's table cut short (a copy, a full disk)
    _truncate(CellStore(killed).path(truncated) / "results.parquet")

    p = _sim(tmp_path, *_sweep_args(killed))
    assert p.returncode == 0, p.stderr
    assert f"skipped {len(finished) - 1} finished" in p.stdout
    assert f"warning: cells/{truncated} is damaged (results.parquet has" in p.stderr
    assert not list((killed / "cells").glob(".tmp-*"))
    for name in ("results.parquet", "effects.parquet"):
        a = pd.read_parquet(whole / "report" / name)
        b = pd.read_parquet(killed / "report" / name)
        pd.testing.assert_frame_equal(a, b, check_exact=True)

    p = _sim(tmp_path, *_sweep_args(killed))  # a finished sweep recomputes nothing
    assert p.returncode == 0 and "ran 0 cells, skipped 7" in p.stdout


def test_another_sweep_into_a_finished_directory_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    """Another plan, or the same plan under other code, is refused; declaring the old code version
    (SIM_CODE_VERSION) reuses its cells deliberately."""
    root = tmp_path / "sweep"
    args = ["experiment=outreach_sweep", TWO_LEVELS, *SHORT, f"hydra.run.dir={root}"]
    old = {"SIM_CODE_VERSION": "0123456789abcdef"}  # the code as it was when the sweep ran
    assert _sim(tmp_path, *args, env=old).returncode == 0
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file() and ".hydra" not in p.parts}
    p = _sim(tmp_path, *args, "seed=9", env=old)
    assert p.returncode == 2 and "holds another sweep" in p.stderr
    p = _sim(tmp_path, *args)  # this code
    assert p.returncode == 2
    assert p.stderr.count("error:") == 1 and "Traceback" not in p.stderr
    assert f"computed by code version 0123456789abcdef, and this code is version {source_version()}" in p.stderr
    assert "SIM_CODE_VERSION=0123456789abcdef" in p.stderr
    after = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file() and ".hydra" not in p.parts}
    assert before == after
    p = _sim(tmp_path, *args, env=old)
    assert p.returncode == 0 and "ran 0 cells, skipped 3" in p.stdout


# ------------------------------------------------------------------ multiruns: planned, resumed, locked


@pytest.mark.parametrize(("sweep", "job", "message"), [
    (["experiment=outreach_sweep", "policy.outreach=0,0.5,2"], "job 2 (policy.outreach=2 ",
     "policy.outreach = 2.0 is not allowed; allowed: a number in [0, 1]"),  # a declared range
    (["compare=null", "replications=2,0"], "job 1 (compare=null replications=0 ",
     "replications = 0 is not allowed; allowed: an integer >= 1"),  # a key validated with its whole config
    (["compare=us_sanctions,baseline"], "job 1 (compare=baseline ",
     "compare = 'baseline' is not allowed; allowed: a scenario other than scenario=baseline"),  # composed on its own
])
def test_a_bad_value_in_the_last_job_of_a_multirun_fails_before_any_job_runs(tmp_path: Path, sweep: list[str],
                                                                              job: str, message: str) -> None:
    out = tmp_path / "sweep"
    p = _sim(tmp_path, "-m", *sweep, "horizon.end=2021-08", f"hydra.sweep.dir={out}")
    assert p.returncode == 2
    errors = [line for line in p.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and job in errors[0] and message in errors[0], p.stderr[-1500:]
    assert "Traceback" not in p.stderr and "Launching" not in p.stdout + p.stderr
    assert not out.exists()  # no job ran: no job directory, cell, point or multirun.yaml


def test_a_resumed_multirun_names_the_jobs_it_skips_and_runs_only_the_others(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    args = ["-m", "experiment=outreach_sweep", "policy.outreach=0,0.5,1", *SHORT, f"hydra.sweep.dir={sweep}"]
    p = _sim(tmp_path, *args)
    assert p.returncode == 0, p.stderr[-2000:]
    whole = _sorted(collect(sweep).table)
    points = {json.loads(f.read_text())["params"]["policy.outreach"]: f for f in (sweep / "points").glob("*.json")}
    lost = json.loads(points[1].read_text())  # as if killed in job 2: its point and treatment not written
    points[1].unlink()
    shutil.rmtree(CellStore(sweep).path(lost["treatment"]))
    job0 = (sweep / "0" / ".hydra" / "config.yaml").stat().st_mtime_ns
    p = _sim(tmp_path, *args)
    assert p.returncode == 0, p.stderr[-2000:]
    out = p.stdout + p.stderr
    assert "skip job 0 (policy.outreach=0 " in out and "skip job 1 (policy.outreach=0.5 " in out
    assert "skip job 2" not in out and "2 of 3 jobs finished before; 1 to run" in out
    assert "Launching 1 jobs" in out and "#2 : policy.outreach=1 " in out  # job 2 keeps its number
    assert (sweep / "0" / ".hydra" / "config.yaml").stat().st_mtime_ns == job0  # a skipped job's directory is left
    pd.testing.assert_frame_equal(_sorted(collect(sweep).table), whole, check_exact=True)
    p = _sim(tmp_path, *args, env={"SIM_CODE_VERSION": "0123456789abcdef"})  # other code: refused, nothing run
    assert p.returncode == 2 and "holds a sweep computed by code version" in p.stderr
    assert "Launching" not in p.stdout + p.stderr


def test_two_sweeps_started_at_once_into_one_directory_one_runs_and_the_other_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "sweep"
    args = [sys.executable, "-m", "sim", "experiment=outreach_sweep", TWO_LEVELS, "replications=20",
            "experiment.workers=1", f"hydra.run.dir={root}"]
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    procs = [subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    done = [(proc.wait(timeout=600), *proc.communicate()) for proc in procs]
    assert sorted(code for code, _, _ in done) == [0, 2], [err[-1500:] for _, _, err in done]
    refused = next(err for code, _, err in done if code == 2)
    assert "is in use by another sweep (pid " in refused and refused.count("error:") == 1
    assert "Traceback" not in refused
    reference = tmp_path / "reference"  # the same sweep alone
    p = _plan("outreach_sweep", TWO_LEVELS, "replications=20")
    write_plan(reference, p)
    evaluate(p, reference, workers=1, progress=False)
    pd.testing.assert_frame_equal(_sorted(collect(root).table), _sorted(collect(reference).table), check_exact=True)
    assert len(list((root / "points").glob("*.json"))) == 2 and sorted(CellStore(root).done()) == sorted(p.cells)


@pytest.mark.parametrize("multirun", [False, True])
def test_a_sweep_into_a_directory_in_use_is_refused_and_changes_nothing(tmp_path: Path, multirun: bool) -> None:
    root = tmp_path / "sweep"
    with DirectoryLock(root):  # another sweep at work in it
        before = sorted(p.name for p in root.iterdir())
        if multirun:
            p = _sim(tmp_path, "-m", "experiment=outreach_sweep", "policy.outreach=0,1", *SHORT,
                     f"hydra.sweep.dir={root}")
        else:
            p = _sim(tmp_path, "experiment=outreach_sweep", TWO_LEVELS, *SHORT, f"hydra.run.dir={root}")
        assert p.returncode == 2
        assert f"error: {root} is in use by another sweep (pid {os.getpid()} on " in p.stderr
        assert "Traceback" not in p.stderr and "Launching" not in p.stdout + p.stderr
        assert sorted(p.name for p in root.iterdir()) == before  # no .hydra/, multirun.yaml, points or cells


# ------------------------------------------------------------------ bad input on the command line


@pytest.mark.parametrize(("args", "message"), [
    (["experiment=outreach_sweep", 'experiment.grid={policy.outreach:"0,2"}'], "policy.outreach = 2"),
    (["experiment=nonsense"], "experiment"),
    (["experiment=sensitivity", "experiment.samples=6"], "power of 2"),
    (["experiment=sensitivity", "experiment.parameters=[model.mechanisms.value.bogus]"], "experiment.parameters[0]"),
    (["experiment=outreach_sweep", "compare=null"], "compare"),
    (["-m", "experiment=sensitivity"], "drop -m"),
    (["experiment=outreach_sweep", "policy.outreach=0"], "experiment.grid sweeps it"),
])
def test_bad_sweep_input_exits_before_simulating_and_leaves_nothing(tmp_path: Path, args: list[str],
                                                                     message: str) -> None:
    out = tmp_path / "out"
    p = _sim(tmp_path, *args, f"hydra.run.dir={out}", f"hydra.sweep.dir={out}")
    assert p.returncode != 0
    assert message in p.stderr, p.stderr[-1500:]
    assert len([line for line in p.stderr.strip().splitlines() if line.startswith("error")]) <= 1
    assert not (out / "cells").exists() and not (out / "report").exists()


# ------------------------------------------------------------------ reports


def test_conditions_report_has_a_verdict_per_condition_and_a_phase_diagram(tmp_path: Path) -> None:
    grid = ('experiment.grid={policy.outreach:"1",policy.us_sanctions_on_iran:"0,1",'
            'policy.western_sanctions_on_russia:"0,1"}')
    p = _sim(tmp_path, "experiment=conditions", grid, "replications=5", "horizon.end=2021-08",
             f"hydra.run.dir={tmp_path / 'c'}")
    assert p.returncode == 0, p.stderr
    report = collect(tmp_path / "c")
    assert len(report.effects) == 4 * 2 and report.pending == 0
    assert set(report.effects["verdict"]) <= {"supported", "refuted", "inconclusive"}
    h1 = report.effects[report.effects["hypothesis"] == "h1"]
    # each effect is the paired mean difference of the table's own cells under that condition
    t = report.table
    for r in h1.to_dict("records"):
        us, west = r["policy.us_sanctions_on_iran"], r["policy.western_sanctions_on_russia"]
        at = t[(t["policy.us_sanctions_on_iran"] == us) & (t["policy.western_sanctions_on_russia"] == west)]
        wide = at.pivot(index="replication", columns="scenario", values="entente_strength")
        assert r["effect"] == pytest.approx((wide["sunni_outreach"] - wide["baseline"]).mean())
        assert r["ci_low"] <= r["effect"] <= r["ci_high"]
    verdicts = (tmp_path / "c" / "report" / "verdicts.md").read_text()
    assert "US sanctions on Iran" in verdicts and "H1 verdict" in verdicts
    image = mpimg.imread(tmp_path / "c" / "report" / "phase_diagram_h1.png")
    assert image.shape[1] > 500 and image.std() > 0.01


@pytest.mark.parametrize("design", ["sobol", "morris"])
def test_sensitivity_finds_the_parameter_that_matters_and_zero_for_one_that_cannot(tmp_path: Path,
                                                                                    design: str) -> None:
    """Without sanctions, the secondary-sanctions cost cannot change anything: its index is exactly 0."""
    params = "[model.mechanisms.outreach.premium,model.mechanisms.sanctions.secondary_cost]"
    p = _sim(tmp_path, "experiment=sensitivity", f"experiment.design={design}", "experiment.samples=8",
             f"experiment.parameters={params}", "replications=2", "horizon.end=2021-08",
             f"hydra.run.dir={tmp_path / 's'}")
    assert p.returncode == 0, p.stderr
    design_record = json.loads((tmp_path / "s" / "design.json").read_text())
    assert len(design_record["points"]) == (8 * 4 if design == "sobol" else 8 * 3)
    s = pd.read_parquet(tmp_path / "s" / "report" / "sensitivity.parquet")
    h1 = s[s["hypothesis"] == "h1"].set_index("parameter")
    inert, active = "model.mechanisms.sanctions.secondary_cost", "model.mechanisms.outreach.premium"
    column = "ST" if design == "sobol" else "mu_star"
    assert h1.loc[inert, column] == pytest.approx(0.0, abs=1e-12)
    assert h1.loc[active, column] > 0.5 if design == "sobol" else h1.loc[active, column] > 0
    assert (tmp_path / "s" / "report" / "sensitivity.png").stat().st_size > 10_000


def test_report_of_a_single_run_directory(sim_run, tmp_path: Path) -> None:
    assert sim_run("replications=5").returncode == 0
    report = collect(tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    h1 = report.effects.set_index("hypothesis").loc["h1"]
    assert h1["effect"] == summary["h1"]["effect"] and h1["verdict"] == summary["h1"]["verdict"]
    assert len(report.table) == 2 * 5 * 86
    paths = write_report(tmp_path / "out")  # sim-report on a run draws its figures again
    assert {"entente_strength", "sunni_leverage", "portfolio", "network"} <= set(paths)


def test_a_multirun_without_pairs_ends_with_a_report_and_a_figure_per_swept_key(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    p = _sim(tmp_path, "-m", "compare=null", "model.mechanisms.noise.sigma=0.02,0.05", *SHORT,
             f"hydra.sweep.dir={sweep}")
    assert p.returncode == 0, p.stderr
    assert "report of" in p.stdout
    assert (sweep / "report" / "horizon_vs_noise_sigma.png").stat().st_size > 10_000


def test_run_experiment_from_python_equals_sim_run(tmp_path: Path) -> None:
    from sim.api import run_experiment

    args = ["experiment=outreach_sweep", 'experiment.grid={policy.outreach:"0,1"}', *SHORT]
    assert _sim(tmp_path, *args, f"hydra.run.dir={tmp_path / 'cli'}").returncode == 0
    run_experiment(args, tmp_path / "py", workers=1, progress=False)
    for name in ("results.parquet", "effects.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "cli" / "report" / name),
                                      pd.read_parquet(tmp_path / "py" / "report" / name), check_exact=True)


def test_a_sensitivity_samples_the_parameters_of_the_mechanisms_switched_on_unless_listed() -> None:
    """A switched-off mechanism's parameters cannot move the effects: by default they are not
    sampled (the rivals of dilution are off by default); switched on, or listed, they are."""
    default = _plan("morris").problem["names"]
    assert len(default) == 28 and "model.mechanisms.brokerage.weight" not in default
    assert "model.mechanisms.noise.sigma" in default
    no_noise = _plan("morris", "model.mechanisms.noise.enabled=false").problem["names"]
    assert set(default) - set(no_noise) == {"model.mechanisms.noise.sigma", "model.mechanisms.noise.persistence"}
    on = _plan("morris", "model.mechanisms.brokerage.enabled=true").problem["names"]
    assert set(on) - set(default) == {"model.mechanisms.brokerage.weight"}
    listed = _plan("morris", "experiment.parameters=[model.mechanisms.shared_threat.weight]").problem
    assert listed["names"] == ["model.mechanisms.shared_threat.weight"]
    assert listed["bounds"] == [pytest.approx([2.15, 6.45])]  # listed (4.3 -+ 50%), it is sampled though switched off


def test_sensitivity_bounds_centre_on_the_configured_model_not_the_schema_defaults() -> None:
    p = _plan("sensitivity", "model.mechanisms.outreach.premium=2.0")
    bounds = dict(zip(p.problem["names"], p.problem["bounds"], strict=True))
    assert bounds["model.mechanisms.outreach.premium"] == pytest.approx([1.0, 3.0])
    assert bounds["model.mechanisms.noise.sigma"] == pytest.approx([0.0168, 0.0504])  # untouched: the default's span


def test_a_grid_over_four_keys_or_more_is_shown_point_by_point() -> None:
    """experiment=structures sweeps five keys: one row per point with both hypotheses' intervals,
    labelled by the switches on, instead of lines against each key mixing the other settings."""
    from sim.plots import plot_effects_by_point, sweep_figures

    keys = [f"model.mechanisms.{m}.enabled" for m in ("abandonment", "brokerage", "shared_threat", "demands")]
    rows = []
    for n, flags in enumerate(itertools.product([False, True], repeat=4)):
        for h, effect in (("h1", -0.01 * n), ("h2", 0.001 * n)):
            rows.append({"point": f"p{n}", **dict(zip(keys, flags, strict=True)), "hypothesis": h, "effect": effect,
                         "ci_low": effect - 0.002, "ci_high": effect + 0.002, "threshold": 0.005,
                         "verdict": "supported" if n % 2 else "refuted"})
    effects = pd.DataFrame(rows)
    figures = sweep_figures(effects, keys, "grid", None, None)
    assert list(figures) == ["effects_by_point"]
    fig = plot_effects_by_point(effects, keys)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == "all off" and labels[-1] == "abandonment + brokerage + shared_threat + demand game"
    assert len(labels) == 16
