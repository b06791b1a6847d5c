"""A run's size estimate (:mod:`sim.size`): against a measured run, and the refusal of what cannot fit."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sim.api import compose
from sim.config import ConfigError, validate
from sim.size import (
    MEMORY_LIMIT_VARIABLE,
    PROCESS_BYTES,
    Size,
    available_memory,
    largest_fitting,
    refuse_oversize,
    size_of,
    sweep_size,
)

# Runs sim-run as the console script does, and reports its peak resident set size at exit.
MEASURED = ("import atexit, resource, sys\n"
            "atexit.register(lambda: print(f'maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}', "
            "file=sys.stderr))\n"
            "sys.argv = ['sim-run', *sys.argv[1:]]\n"
            "from sim.cli import main\n"
            "main()\n")


def test_the_memory_estimate_is_within_a_factor_of_two_of_a_measured_run(tmp_path: Path) -> None:
    """150 replications of the headline pair (about 0.6 GB at its peak, 5 s of simulation and tables):
    the estimate printed before the run starts is within a factor of 2 of the process's peak resident
    set size, and a run estimated to take more than a few seconds says so and reports its stages."""
    overrides = ["replications=150"]
    size = size_of(compose(overrides), 2, pairs=True)
    assert size.long
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    env.pop(MEMORY_LIMIT_VARIABLE, None)
    done = subprocess.run([sys.executable, "-c", MEASURED, f"hydra.run.dir={tmp_path / 'out'}", *overrides],
                          cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    peak = int(re.search(r"maxrss (\d+)", done.stderr).group(1)) * 1024  # Linux: kilobytes
    assert 0.5 < size.bytes / peak < 2, (size.bytes, peak)
    assert f"estimate: {size.line()}; progress follows" in done.stdout
    assert "baseline: done in" in done.stdout and "tables and figures next" in done.stdout


def test_the_estimate_grows_with_replications_horizon_and_world_and_sweeps_share_it_among_workers() -> None:
    base = size_of(compose([]), 2, pairs=True)
    assert (base.states, base.months, base.replications, base.cells) == (13, 86, 20, 2)
    assert base.pair_rows == 87 * 78 and base.columns == 45  # 27 + 4 demand counts + 3 x 4 per target + 2 twin
    more = base.with_replications(40)
    tables = 2 * 20 * base.replication_bytes  # 20 more replications of each of the 2 cells held
    assert more.bytes - base.bytes == tables + more.work_bytes - base.work_bytes and more.work_bytes > base.work_bytes
    assert size_of(compose(["horizon.end=2020-12"]), 2, pairs=True).bytes < base.bytes
    bigger = size_of(compose(["world=synthetic", "world.n_states=60", "scenario=outreach"]), 1, pairs=True)
    assert bigger.replication_bytes > base.replication_bytes and bigger.seconds > base.seconds / 2
    # a sweep keeps no pair tables by default; each worker holds one stack of cells, and the time is shared
    sweep = sweep_size(compose(["experiment=outreach_sweep"]), 12, 2, dyads=False)
    assert (sweep.pair_rows, sweep.processes, sweep.held) == (0, 2, 12)  # 256 slices // 20 replications >= 12 cells
    assert sweep.bytes >= 2 * PROCESS_BYTES
    one = sweep_size(compose(["experiment=outreach_sweep"]), 12, 1, dyads=False)
    assert one.seconds == pytest.approx(2 * sweep.seconds)


def test_largest_fitting_is_the_most_replications_within_the_limit() -> None:
    size = size_of(compose(["replications=100000000"]), 2, pairs=True)
    limit = 4 * 2**30
    fits = largest_fitting(size, limit)
    assert 0 < fits < size.replications
    assert size.with_replications(fits).bytes <= limit < size.with_replications(fits + 1).bytes
    assert largest_fitting(size, PROCESS_BYTES) == 0  # not even one replication


def test_a_run_beyond_the_memory_limit_is_refused_naming_replications_and_the_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = compose(["replications=100000000"])
    validate(cfg)  # a valid config: only its size is refused
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "4G")
    assert available_memory() == (4 * 2**30, MEMORY_LIMIT_VARIABLE)
    size = size_of(cfg, 2, pairs=True)
    with pytest.raises(ConfigError) as e:
        refuse_oversize(size, "config.yaml")
    fits = largest_fitting(size, 4 * 2**30)
    assert (e.value.file, e.value.key, e.value.value) == ("config.yaml", "replications", 100000000)
    assert e.value.allowed.startswith(f"at most {fits} for 2 cell(s) of 86 months and 13 states")
    assert "4.0 GB is available (SIM_MEMORY_LIMIT)" in e.value.allowed
    refuse_oversize(size.with_replications(fits), "config.yaml")  # the largest that fits passes
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "lots")
    with pytest.raises(ConfigError) as e:
        available_memory()
    assert (e.value.key, e.value.value) == (MEMORY_LIMIT_VARIABLE, "lots") and "4G" in e.value.allowed


def test_the_available_memory_is_what_the_system_says_without_a_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MEMORY_LIMIT_VARIABLE, raising=False)
    found = available_memory()
    if sys.platform == "linux":
        assert found is not None and found[0] > 0
        meminfo = Path("/proc/meminfo").read_text()
        kb = int(re.search(r"MemAvailable:\s+(\d+)", meminfo).group(1))
        assert found[0] <= kb * 1024  # the least of what the system and a container allow


def test_a_size_is_a_plain_record() -> None:
    s = Size(13, 86, 20, 27, 2, 2, True)
    assert s.stack == 40 and s.with_replications(5).replications == 5 and s.with_replications(5).stack == 10  # twins
