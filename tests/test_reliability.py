"""Reliability: every bad input and fault of :data:`FAULTS`, run as a user would run it.

Each fault runs its command (``sim-run`` as a process, ``python -m sim``; ``sim-report``,
``sim-validate`` and ``sim-reproduce`` through their ``main`` in this process, or as a process
when they write into a mounted file system) and must end with

- the exit status the fault declares (2: a bad config, data file, command line or output
  location, or a damaged result; 1: the disk or the system failed while writing; 130 and 143:
  interrupted by SIGINT and SIGTERM);
- exactly one message on stderr (progress bars aside), no traceback, naming the file or key
  the fault is about (``Fault.names``);
- nothing that looks like a result: every file and directory of the case's directory as it was
  (nothing created, changed or removed; ``left="nothing"``), or for a sweep stopped half-way only its
  resumable record (``design.json``, ``points/``, finished ``cells/``, no report:
  ``left="resumable"``).

The observed exit status and message of each fault must equal its row of the table in
``docs/RELIABILITY.md``. ``pytest tests/test_reliability.py -n 0 --write-reliability`` writes the
table again from what the faults print (paths of the test's temporary directory shown as
``<tmp>``, the project's ``configs/`` as ``configs``).

Faults on a file system that is read-only or full run the command in a user and mount
namespace (``unshare --user --map-root-user --mount``) over a tmpfs mounted read-only or of a
few hundred kilobytes: the kernel's own EROFS and ENOSPC, with no root rights and nothing
simulated. Where user namespaces are not allowed, those faults are skipped.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from process_support import default_sigint

from sim.api import CONFIG_DIR
from sim.store import LOCK_FILE

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "RELIABILITY.md"
BEGIN, END = "<!-- faults: begin (tests/test_reliability.py writes this table) -->", "<!-- faults: end -->"
WORLD = (CONFIG_DIR / "world" / "mena_2018.yaml").read_text()
SEARCHPATH = "hydra.searchpath=[file://{tmp}/extra]"
MEMORY = {"SIM_MEMORY_LIMIT": "4G"}  # a fixed limit: the message does not depend on the machine


@dataclass(frozen=True)
class Fault:
    """One bad input or fault, how to cause it, and how the tools must answer it."""

    id: str
    what: str  # the fault, in words
    tool: str  # sim-run, sim-report, sim-validate or sim-reproduce
    args: tuple[str, ...]  # {tmp}: the case's directory; {out}: <tmp>/out; {run}, {sweep}: prepared copies
    code: int  # the exit status
    names: tuple[str, ...]  # what the message must contain: the file or key, what was wrong, what to do
    left: str = "nothing"  # nothing (the case's directory as it was) or resumable (a sweep's record)
    files: dict[str, str] = field(default_factory=dict)  # config files under <tmp>/extra (a search path)
    prepare: tuple[str, ...] = ()  # copies of prepared results: "run", "sweep"
    damage: Callable[[Path], None] | None = None  # changes the prepared copies (under <tmp>)
    mount: str | None = None  # tmpfs options for <tmp>/mnt, in a user and mount namespace
    env: dict[str, str] = field(default_factory=dict)
    signal: int | None = None  # sent when the run starts simulating

    @property
    def command(self) -> str:
        return " ".join((self.tool, *self.args)).replace("{out}", "{tmp}/out")


def world_fault(fid: str, what: str, names: tuple[str, ...], edit: tuple[str, str] = ("", ""),
                text: str | None = None) -> Fault:
    """``sim-run world=bad`` with ``<tmp>/extra/world/bad.yaml`` the 2018 world renamed with one edit
    (``edit``: the first ``old`` becomes ``new``), or ``text``; the message names the file and ``names``."""
    if text is None:
        old, new = edit
        assert old in WORLD, old
        text = WORLD.replace("name: mena_2018", "name: bad", 1).replace(old, new, 1)
    file = () if "world/bad" in names else ("extra/world/bad.yaml",)
    return Fault(fid, what, "sim-run", (SEARCHPATH, "world=bad"), 2, (*file, *names), files={"world/bad.yaml": text})


def scenario_fault(fid: str, what: str, names: tuple[str, ...], body: str) -> Fault:
    """``sim-run scenario=bad`` with ``<tmp>/extra/scenario/bad.yaml`` the scenario ``bad`` with ``body``."""
    return Fault(fid, what, "sim-run", (SEARCHPATH, "scenario=bad"), 2, ("extra/scenario/bad.yaml", *names),
                 files={"scenario/bad.yaml": f"# @package _global_\nscenario:\n  name: bad\n{body}"})


def _events(*events: str) -> str:
    return "  events:\n" + "".join(f"    - {e}\n" for e in events)


def _truncate(path: str) -> Callable[[Path], None]:
    def damage(tmp: Path) -> None:
        data = (tmp / path).read_bytes()
        (tmp / path).write_bytes(data[: len(data) // 2])
    return damage


def _garbage(path: str, text: bytes = b"not what it should be\n") -> Callable[[Path], None]:
    def damage(tmp: Path) -> None:
        (tmp / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp / path).write_bytes(text)
    return damage


def _first_cell(tmp: Path) -> str:
    return sorted(p.name for p in (tmp / "sweep" / "cells").iterdir() if not p.name.startswith("."))[0]


def _damage_cell(name: str, how: Callable[[str], Callable[[Path], None]] = _truncate) -> Callable[[Path], None]:
    def damage(tmp: Path) -> None:
        how(f"sweep/cells/{_first_cell(tmp)}/{name}")(tmp)
    return damage


def _incomplete(tmp: Path) -> None:
    """What a run killed while writing leaves: its .hydra/ and its staging directory."""
    (tmp / "run" / ".hydra").mkdir(parents=True)
    (tmp / "run" / ".hydra" / "config.yaml").write_text("seed: 2018\n")
    stage = tmp / "run" / ".tmp-run-host-999999-0a1b2c3d"
    stage.mkdir()
    (stage / "entente_strength.png").write_bytes(b"\x89PNG")


def _with_only_results(tmp: Path) -> None:
    for p in (tmp / "run").iterdir():
        if p.name != "results.parquet":
            p.unlink()


SWEEP = ("experiment=outreach_sweep", "replications=2", "horizon.end=2019-06")

FAULTS: tuple[Fault, ...] = (
    # ------------------------------------------------------------ the command line
    Fault("run-lever-out-of-range", "a lever outside [0, 1]", "sim-run", ("policy.outreach=1.5",), 2,
          ("command line (policy.outreach=1.5)", "policy.outreach", "[0, 1]")),
    Fault("run-unknown-scenario", "a scenario file that does not exist", "sim-run", ("scenario=nope",), 2,
          ("scenario/nope", "baseline")),
    Fault("run-unknown-world", "a world file that does not exist", "sim-run", ("world=nope",), 2,
          ("world/nope", "mena_2018")),
    Fault("run-unknown-experiment", "an experiment preset that does not exist", "sim-run", ("experiment=nope",), 2,
          ("experiment/nope", "outreach_sweep")),
    Fault("run-unknown-key", "a misspelt key", "sim-run", ("policy.outreech=1",), 2, ("policy.outreech",)),
    Fault("run-added-unknown-key", "a key the schema does not know, forced in with +", "sim-run",
          ("+policy.outreech=1",), 2, ("policy.outreech", "outreach, us_sanctions_on_iran")),
    Fault("run-not-a-number", "text where a number is needed", "sim-run", ("replications=abc",), 2,
          ("replications=abc", "Integer")),
    Fault("run-override-syntax", "an override Hydra cannot parse", "sim-run", ("policy.outreach=[1",), 2, ("[1",)),
    Fault("run-replications-negative", "a negative number of replications", "sim-run", ("replications=-3",), 2,
          ("replications", ">= 1")),
    Fault("run-seed-negative", "a negative seed", "sim-run", ("seed=-1",), 2, ("seed", ">= 0")),
    Fault("run-scenario-names-clash", "both scenarios given the same name (results are keyed by it)", "sim-run",
          ("scenario.name=same",), 2, ("scenario.name", "a name other than")),
    Fault("run-compare-unknown", "a comparison scenario that does not exist", "sim-run", ("compare=nope",), 2,
          ("compare", "us_sanctions")),
    Fault("run-compare-itself", "a scenario compared with itself", "sim-run", ("compare=baseline",), 2,
          ("compare", "a scenario other than")),
    Fault("run-horizon-backwards", "a horizon that ends before it starts", "sim-run", ("horizon.end=2017-01",), 2,
          ("horizon.end", "a month after horizon.start")),
    Fault("run-horizon-one-month", "a horizon of one month (end = start): nothing to compare", "sim-run",
          ("horizon.end=2018-11",), 2, ("horizon.end", "one date")),
    Fault("run-horizon-not-a-month", "a month that does not exist", "sim-run", ("horizon.start=2018-13",), 2,
          ("horizon.start", "YYYY-MM")),
    Fault("run-parameter-infinite", "a mechanism parameter of inf", "sim-run", ("model.mechanisms.noise.sigma=inf",),
          2, ("model.mechanisms.noise.sigma", "[0, 100]")),
    Fault("run-max-share-subnormal", "max_share 5e-324 (made commitments NaN before it had a bound)", "sim-run",
          ("model.mechanisms.allocation.max_share=5e-324",), 2, ("model.mechanisms.allocation.max_share", "[0.01, 1]")),
    Fault("run-weight-huge", "a weight of 1.7e308 (overflowed to NaN before it had a bound)", "sim-run",
          ("model.mechanisms.value.complementarity_weight=1.7e308",), 2,
          ("model.mechanisms.value.complementarity_weight", "[0, 100]")),
    Fault("run-synthetic-too-small", "a synthetic world of 2 states", "sim-run",
          ("world=synthetic", "world.n_states=2"), 2, ("world.n_states", ">= 6")),
    Fault("run-grid-key-also-set", "a key both swept by the grid and set on the command line", "sim-run",
          ("experiment=outreach_sweep", "policy.outreach=0.5"), 2, ("policy.outreach", "experiment.grid")),
    Fault("run-workers-zero", "a sweep with 0 worker processes", "sim-run",
          ("experiment=outreach_sweep", "experiment.workers=0"), 2, ("experiment.workers", ">= 1")),
    Fault("run-prior-backwards", "a prior of your own whose low end is above its high end", "sim-run",
          ("experiment=calibrate",
           "experiment.priors=[{{parameter:model.mechanisms.outreach.premium,low:0.8,high:0.2}}]"),  # {{: str.format
          2, ("experiment.priors[0].low", "below high")),
    Fault("run-always-not-fitted", "a parameter to fit always that is not among those listed to fit", "sim-run",
          ("experiment=calibrate", "experiment.parameters=[model.mechanisms.outreach.premium]"),
          2, ("experiment.calibration.always[0]", "one of experiment.parameters")),
    Fault("run-structure-unknown-key", "model choice with a structure overriding a mechanism that does not exist",
          "sim-run", ("experiment=calibrate_structures",
                      "experiment.calibration.structures=[{{name:a,overrides:[]}},"
                      "{{name:b,overrides:['model.mechanisms.nope.enabled=true']}}]"),
          2, ("experiment.calibration.structures[1].overrides[0]", "a group among")),
    Fault("run-structure-named-twice", "model choice with two structures of one name", "sim-run",
          ("experiment=calibrate_structures",
           "experiment.calibration.structures=[{{name:a,overrides:[]}},"
           "{{name:a,overrides:['model.mechanisms.brokerage.enabled=true']}}]"),
          2, ("experiment.calibration.structures[1].name", "not already given")),
    Fault("run-structure-alone", "model choice with one structure: nothing to choose from", "sim-run",
          ("experiment=calibrate_structures", "experiment.calibration.structures=[{{name:a,overrides:[]}}]"),
          2, ("experiment.calibration.structures[1]", "at least 2")),
    Fault("run-worlds-negative", "a calibration over a negative number of world draws", "sim-run",
          ("experiment=calibrate", "experiment.calibration.worlds=-1"),
          2, ("experiment.calibration.worlds", "an integer from 0")),
    Fault("run-prior-outside-range", "a prior of your own reaching outside the parameter's range", "sim-run",
          ("experiment=discovery",
           "experiment.priors=[{{parameter:model.mechanisms.allocation.rationality,low:-1,high:4}}]"),
          2, ("experiment.priors[0].low", "range")),
    Fault("run-too-large", "100,000,000 replications (more memory than there is)", "sim-run",
          ("replications=100000000",), 2, ("replications", "at most", "SIM_MEMORY_LIMIT"), env=MEMORY),
    Fault("sweep-too-large", "a sweep of 100,000,000 replications per cell", "sim-run",
          (*SWEEP[:1], "replications=100000000"), 2, ("replications", "at most", "SIM_MEMORY_LIMIT"), env=MEMORY),
    Fault("run-memory-limit-garbage", "SIM_MEMORY_LIMIT that is not a size", "sim-run", ("replications=2",), 2,
          ("SIM_MEMORY_LIMIT", "4G"), env={"SIM_MEMORY_LIMIT": "lots"}),
    # ------------------------------------------------------------ world and scenario files
    world_fault("world-capability-missing", "a state without its capability",
                ("world.states.RUS.capability", "mandatory"), ("    capability: 0.036473\n", "")),
    world_fault("world-commitment-missing", "a commitment without its value (???)",
                ("world.commitments[0].commitment", "mandatory"), ("commitment: 0.15,", "commitment: '???',")),
    world_fault("world-duplicate-state", "a state listed twice",  # the line of IRN, renamed RUS
                (f"line {WORLD.splitlines().index('  IRN:') + 1}", "duplicate key RUS"), ("  IRN:\n", "  RUS:\n")),
    world_fault("world-yaml-syntax", "a YAML syntax error", ("line 11", "not valid YAML"),
                ("issues: [us_alignment", "issues: [us_alignment: [")),
    world_fault("world-unknown-state", "a commitment to a state the world does not have",
                ("world.commitments[0].target", "XYZ"), ("target: SYR, commitment", "target: XYZ, commitment")),
    world_fault("world-misspelt-key", "a misspelt key in a state", ("world/bad", "capabilty"),
                ("    capability: 0.014479", "    capabilty: 0.014479")),
    world_fault("world-capability-range", "a capability above 1", ("world.states.SAU.capability", "(0, 1]"),
                ("    capability: 0.014479", "    capability: 2.0")),
    world_fault("world-industry-negative", "a negative industrial capacity", ("world.states.SAU.industry", ">= 0"),
                ("    industry: 5461", "    industry: -5461")),
    world_fault("world-commitments-above-budget", "a state committing more than its whole budget",
                ("commitment", "<= 1"), ("commitment: 0.15,", "commitment: 0.95,")),
    world_fault("world-positions-length", "positions that do not match the issues",
                ("world.states.SAU.positions", "7 numbers"),
                ("positions: [-0.172, -0.7, -1.0, 0.8, -0.7, -1.0, 0.1]", "positions: [-0.172, -0.7]")),
    world_fault("world-not-a-mapping", "a world file that is a list", ("world/bad", "WorldConfig"),
                text="- RUS\n- IRN\n"),
    world_fault("world-empty", "an empty world file", ("world.states", "at least three states"), text=""),
    scenario_fault("scenario-event-date-missing", "a scenario event without a date",
                   ("scenario.events[0].date", "mandatory"),
                   _events("{name: treaty, source: test, states: [RUS, SAU], complementarity: 0.1}")),
    scenario_fault("scenario-event-unknown-state", "an event naming a state the world does not have",
                   ("scenario.events[0].states[1]", "ATLANTIS"),
                   _events("{date: '2019-01', name: treaty, source: test, states: [RUS, ATLANTIS], "
                           "complementarity: 0.1}")),
    scenario_fault("scenario-event-bad-date", "an event dated 2019-13", ("scenario.events[0].date", "YYYY-MM"),
                   _events("{date: '2019-13', name: treaty, source: test, states: [RUS, SAU], complementarity: 0.1}")),
    scenario_fault("scenario-event-changes-nothing", "an event that changes nothing",
                   ("scenario.events[0]", "at least one of"),
                   _events("{date: '2019-01', name: treaty, source: test, states: [RUS, SAU]}")),
    scenario_fault("scenario-event-war-range", "a war level above 1", ("scenario.events[0].war", "[0, 1]"),
                   _events("{date: '2022-02', name: invasion, source: test, states: [RUS], war: 2.0}")),
    scenario_fault("scenario-event-war-on-a-pair", "a war level given to a pair", ("scenario.events[0].states",
                                                                                    "exactly one state"),
                   _events("{date: '2022-02', name: invasion, source: test, states: [RUS, IRN], war: 1.0}")),
    scenario_fault("scenario-yaml-syntax", "a scenario file with a YAML syntax error", ("not valid YAML",),
                   "  events: [{date: '2019-01'\n"),
    scenario_fault("scenario-include-unknown", "a scenario including one that does not exist",
                   ("scenario.include[0]", "atlantis"), "  include: [atlantis]\n"),
    # ------------------------------------------------------------ where results go
    Fault("rundir-is-a-file", "hydra.run.dir is a regular file", "sim-run",
          ("hydra.run.dir={tmp}/run/results.parquet",), 2, ("hydra.run.dir=", "is a regular file"), prepare=("run",)),
    Fault("rundir-under-a-file", "hydra.run.dir inside a regular file", "sim-run",
          ("hydra.run.dir={tmp}/run/results.parquet/out",), 2, ("hydra.run.dir=", "a regular file"), prepare=("run",)),
    Fault("rundir-read-only", "hydra.run.dir on a read-only file system", "sim-run", ("hydra.run.dir={tmp}/mnt/out",),
          2, ("hydra.run.dir=", "Read-only file system"), mount="ro"),
    Fault("rundir-holds-results", "hydra.run.dir holding a finished run", "sim-run",
          ("hydra.run.dir={tmp}/run", "replications=2"), 2, ("already holds results", "refusing to overwrite"),
          prepare=("run",)),
    Fault("sweepdir-holds-another-sweep", "a sweep into a directory holding another sweep", "sim-run",
          ("experiment=conditions", "replications=2", "horizon.end=2019-06", "hydra.run.dir={tmp}/sweep"), 2,
          ("holds another sweep", "hydra.run.dir"), prepare=("sweep",)),
    Fault("sweepdir-other-code", "a sweep rerun into its directory after the code changed", "sim-run",
          (*SWEEP, "hydra.run.dir={tmp}/sweep"), 2, ("computed by code version", "this code is version",
                                                      "SIM_CODE_VERSION="),
          prepare=("sweep",), env={"SIM_CODE_VERSION": "0123456789abcdef"}),
    Fault("multirun-bad-last-job", "a bad value in the last job of a multirun", "sim-run",
          ("-m", "experiment=outreach_sweep", "policy.outreach=0,0.5,2", "hydra.sweep.dir={tmp}/out"), 2,
          ("job 2 (policy.outreach=2", "allowed: a number in [0, 1]")),
    Fault("disk-full-run", "the disk fills up during a run (a 1 MB file system)", "sim-run",
          ("replications=2", "hydra.run.dir={tmp}/mnt/out"), 1, ("No space left on device", "nothing of this run"),
          mount="size=1m"),
    Fault("disk-full-sweep", "the disk fills up during a sweep (a 300 kB file system)", "sim-run",
          (*SWEEP, "hydra.run.dir={tmp}/mnt/sweep"), 1, ("No space left on device", "finished cells are kept"),
          left="resumable", mount="size=300k"),
    Fault("run-interrupted", "Ctrl-C (SIGINT) while a run simulates", "sim-run", ("replications=300",), 130,
          ("interrupted (SIGINT)", "nothing of this run was kept"), signal=signal.SIGINT),
    Fault("run-terminated", "SIGTERM while a run simulates", "sim-run", ("replications=300",), 143,
          ("interrupted (SIGTERM)", "nothing of this run was kept"), signal=signal.SIGTERM),
    # ------------------------------------------------------------ reading results
    Fault("report-missing", "sim-report on a directory that does not exist", "sim-report", ("{tmp}/nope",), 2,
          ("nope", "neither a sweep")),
    Fault("report-not-a-result", "sim-report on a directory that holds no result", "sim-report", ("{tmp}",), 2,
          ("neither a sweep", "nor a run")),
    Fault("report-truncated-results", "sim-report on a truncated results.parquet", "sim-report", ("{tmp}/run",), 2,
          ("run/results.parquet", "cannot be read as a parquet table", "run it again"), prepare=("run",),
          damage=_truncate("run/results.parquet")),
    Fault("report-garbage-results", "sim-report on a results.parquet that is not parquet", "sim-report",
          ("{tmp}/run",), 2, ("run/results.parquet", "cannot be read"), prepare=("run",),
          damage=_garbage("run/results.parquet")),
    Fault("report-garbage-summary", "sim-report on a summary.json that is not JSON", "sim-report", ("{tmp}/run",), 2,
          ("run/summary.json", "cannot be read as JSON"), prepare=("run",), damage=_garbage("run/summary.json")),
    Fault("report-incomplete-run", "sim-report on a run killed before it wrote its results", "sim-report",
          ("{tmp}/run",), 2, ("incomplete run", "run it again"), damage=_incomplete),
    Fault("report-truncated-cell", "sim-report on a sweep with a truncated cell table", "sim-report", ("{tmp}/sweep",),
          2, ("results.parquet cannot be read", "rerun the sweep"), prepare=("sweep",),
          damage=_damage_cell("results.parquet")),
    Fault("report-garbage-design", "sim-report on a sweep whose design.json is not JSON", "sim-report",
          ("{tmp}/sweep",), 2, ("sweep/design.json", "cannot be read as JSON"), prepare=("sweep",),
          damage=_garbage("sweep/design.json")),
    Fault("report-out-is-a-file", "sim-report --out a regular file", "sim-report",
          ("{tmp}/run", "--out", "{tmp}/run/summary.md"), 2, ("summary.md is a regular file", "--out"),
          prepare=("run",)),
    Fault("report-out-read-only", "sim-report --out on a read-only file system", "sim-report",
          ("{tmp}/run", "--out", "{tmp}/mnt/report"), 2, ("Read-only file system", "--out"), prepare=("run",),
          mount="ro"),
    Fault("report-out-disk-full", "sim-report --out on a full disk (a 64 kB file system)", "sim-report",
          ("{tmp}/run", "--out", "{tmp}/mnt/report"), 1, ("No space left on device", "no report was written"),
          prepare=("run",), mount="size=64k"),
    Fault("validate-no-dyads", "sim-validate on a directory without dyads.parquet", "sim-validate", ("{tmp}/run",), 2,
          ("dyads.parquet", "no such file"), prepare=("run",), damage=_with_only_results),
    Fault("validate-truncated-dyads", "sim-validate on a truncated dyads.parquet", "sim-validate", ("{tmp}/run",), 2,
          ("dyads.parquet cannot be read as a parquet table",), prepare=("run",),
          damage=_truncate("run/dyads.parquet")),
    Fault("validate-garbage-patterns", "sim-validate --patterns a file that is not a patterns table",
          "sim-validate", ("{tmp}/run", "--patterns", "{tmp}/patterns.csv"), 2, ("patterns.csv", "column"),
          prepare=("run",), damage=_garbage("patterns.csv", b"garbage\n1,2\n")),
    Fault("validate-out-is-a-file", "sim-validate --out a regular file", "sim-validate",
          ("{tmp}/run", "--out", "{tmp}/run/summary.md"), 2, ("summary.md is a regular file", "--out"),
          prepare=("run",)),
    Fault("validate-out-read-only", "sim-validate --out on a read-only file system", "sim-validate",
          ("{tmp}/run", "--out", "{tmp}/mnt/validation"), 2, ("Read-only file system", "--out"), prepare=("run",),
          mount="ro"),
    Fault("reproduce-missing", "sim-reproduce on a directory that does not exist", "sim-reproduce", ("{tmp}/nope",),
          2, ("nope", "not a directory")),
    Fault("reproduce-no-record", "sim-reproduce on a run without its .hydra/ record", "sim-reproduce", ("{tmp}/run",),
          2, (".hydra/config.yaml is missing",), prepare=("run",)),
    Fault("reproduce-truncated-cell", "sim-reproduce on a sweep with a truncated cell table", "sim-reproduce",
          ("{tmp}/sweep",), 2, ("results.parquet cannot be read as a parquet table", "rerun"), prepare=("sweep",),
          damage=_damage_cell("results.parquet")),
    Fault("reproduce-damaged-cell", "sim-reproduce --cell of a cell whose config.json is not JSON",
          "sim-reproduce", ("{tmp}/sweep", "--cell", "{cell}"), 2, ("config.json", "damaged"), prepare=("sweep",),
          damage=_damage_cell("config.json", _garbage)),
)

# Faults the tools recover from, with no message to tabulate: each is shown by the test named in the
# second table of docs/RELIABILITY.md (test_every_recovered_fault_names_a_test_that_exists).
RECOVERED = (
    "sweep-sigkill-leaves-no-worker",
    "multirun-sigkill-leaves-no-job",
    "sweep-sigint-no-semaphore-warning",
    "sweep-sigterm-no-semaphore-warning",
    "sweep-truncated-cell-recomputed",
    "sweep-altered-cell-recomputed",
    "sweep-code-changed-recomputes",
    "multirun-resume-names-skipped",
    "sweep-two-at-once",
    "sweep-into-a-directory-in-use",
    "run-interrupted-while-validating",
    "run-figure-writer-killed",
)


# ------------------------------------------------------------------ running a fault


@functools.cache
def namespaces() -> bool:
    """Whether this machine lets an unprivileged process mount a tmpfs in its own namespaces."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                            "mount -t tmpfs -o size=64k tmpfs /mnt 2>/dev/null || mount -t tmpfs tmpfs /tmp"],
                           capture_output=True, timeout=30)
    return probe.returncode == 0


MOUNTED = """mount -t tmpfs -o "$1" tmpfs "$2" || exit 99
mnt="$2"; listing="$3"; shift 3
"$@"; rc=$?
find "$mnt" -mindepth 1 > "$listing"
exit $rc
"""

TOOLS = {"sim-run": "sim.cli", "sim-report": "sim.report", "sim-validate": "sim.validate",
         "sim-reproduce": "sim.reproduce"}


def command(fault: Fault, args: list[str]) -> list[str]:
    """The process that runs ``fault``'s tool: ``python -m sim`` for sim-run, else the tool's main()."""
    if fault.tool == "sim-run":
        return [sys.executable, "-m", "sim", *args]
    code = f"import sys; from {TOOLS[fault.tool]} import main; sys.exit(main())"
    return [sys.executable, "-c", code, *args]


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    mounted: list[str] | None = None  # files and directories left on the mounted file system


def run_process(fault: Fault, args: list[str], tmp: Path) -> Outcome:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0", **fault.env}
    if "SIM_MEMORY_LIMIT" not in fault.env:
        env.pop("SIM_MEMORY_LIMIT", None)
    cmd = command(fault, args)
    listing = tmp.parent / f"{tmp.name}-mounted.txt"
    if fault.mount is not None:
        cmd = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", MOUNTED, "sh", fault.mount,
               str(tmp / "mnt"), str(listing), *cmd]
    if fault.signal is None:
        done = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, env=env, timeout=600)
        code, stdout, stderr = done.returncode, done.stdout, done.stderr
    else:  # wait until the run is simulating (it says so: its estimate is long), then signal it
        proc = subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                preexec_fn=default_sigint)  # Ctrl-C's default action, however the suite started
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if ": simulating" in line:
                proc.send_signal(fault.signal)
                break
        out, err = proc.communicate(timeout=600)
        code, stdout, stderr = proc.returncode, "".join(seen) + out, err
    mounted = None
    if fault.mount is not None:
        assert code != 99, f"mounting a tmpfs failed: {stderr}"
        mounted = [str(Path(p).relative_to(tmp)) for p in listing.read_text().split()]
    return Outcome(code, stdout, stderr, mounted)


def run_here(fault: Fault, args: list[str]) -> Outcome:
    """sim-report, sim-validate or sim-reproduce through its main() in this process."""
    import importlib

    main = importlib.import_module(TOOLS[fault.tool]).main
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(args) or 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return Outcome(code, out.getvalue(), err.getvalue())


def snapshot(directory: Path) -> dict[str, str]:
    """Every file and directory under ``directory`` (hidden ones too): a digest of a file's bytes, ``dir``."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(directory.rglob("*"))}


def message_lines(stderr: str) -> list[str]:
    """stderr without progress bars (tqdm redraws its line with carriage returns) and blank lines."""
    lines = []
    for line in stderr.splitlines():
        line = line.split("\r")[-1].strip()
        if line and not re.search(r"\d+%\|", line) and "it/s]" not in line:
            lines.append(line)
    return lines


def shown(text: str, tmp: Path, cell: str = "") -> str:
    """A message as the table shows it: the case's directory as <tmp>, the configs as configs/, a
    sweep's cell hash as <hash>, this code's version as <code version>."""
    from sim.store import source_version

    text = text.replace(str(tmp), "<tmp>").replace(str(CONFIG_DIR), "configs")
    text = text.replace(source_version(), "<code version>")  # changes with every edit of sim/
    if cell:
        text = text.replace(cell, "<hash>")
    return text.replace("|", "\\|")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A finished run (its tables, pair table, summary; as sim-run writes them, without .hydra/) and a
    finished sweep, made once through the Python API."""
    from sim.analysis import summarise, summary_markdown
    from sim.api import build_pair, run_experiment
    from sim.experiment import provenance, run_cell, write_results

    root = tmp_path_factory.mktemp("prepared")
    pair = build_pair(["replications=2"], "baseline", "sunni_outreach")
    results = [run_cell(cell, pairs=True) for cell in pair.cells]
    import pandas as pd

    table = pd.concat([r.table for r in results], ignore_index=True)
    summary = summarise(table, "baseline", "sunni_outreach")
    write_results(root / "run", results, summary, summary_markdown(summary, 2), provenance(pair.cells, results))
    run_experiment(list(SWEEP), root / "sweep", workers=1, progress=False)
    return {"run": root / "run", "sweep": root / "sweep"}


OBSERVED: dict[str, dict[str, str]] = {}  # fault id -> its row, as observed (for --write-reliability)


def observe(fault: Fault, tmp: Path, prepared: dict[str, Path]) -> tuple[Outcome, dict[str, str]]:
    """Run ``fault`` in ``tmp`` and check what every fault must do; its table row."""
    if fault.mount is not None and not namespaces():
        pytest.skip("no user namespaces here: a read-only or full file system cannot be mounted")
    for name, text in fault.files.items():
        (tmp / "extra" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / "extra" / name).write_text(text)
    for name in fault.prepare:
        shutil.copytree(prepared[name], tmp / name)
    if fault.damage is not None:
        fault.damage(tmp)
    if fault.mount is not None:
        (tmp / "mnt").mkdir()  # where the file system is mounted
    cell = _first_cell(tmp) if "sweep" in fault.prepare else ""
    args = [a.format(tmp=tmp, out=tmp / "out", cell=cell) for a in fault.args]
    if fault.tool == "sim-run" and not any(a.startswith("hydra.run.dir=") for a in args):
        args.append(f"hydra.run.dir={tmp / 'out'}")
    before = snapshot(tmp)
    in_process = fault.tool != "sim-run" and fault.mount is None
    outcome = run_here(fault, args) if in_process else run_process(fault, args, tmp)
    lines = message_lines(outcome.stderr)
    assert "Traceback" not in outcome.stderr and "Traceback" not in outcome.stdout, outcome.stderr
    assert len(lines) == 1, (f"one message, not {len(lines)} (exit {outcome.code}):\n" + "\n".join(lines)
                             + f"\nstderr: {outcome.stderr[-1500:]!r}\nstdout: {outcome.stdout[-1500:]!r}")
    message = lines[0]
    assert outcome.code == fault.code, (outcome.code, message)
    for text in fault.names:
        assert text in message, (text, message)
    after = snapshot(tmp)
    if fault.left == "nothing":
        assert after == before, sorted(set(after.items()) ^ set(before.items()))
        assert not outcome.mounted, outcome.mounted
    else:  # a sweep's resumable record: its plan, points and finished cells, no report and no temporary files
        assert outcome.mounted, "the sweep kept nothing"
        for path in outcome.mounted:
            parts = Path(path).parts[2:]  # below mnt/<sweep>
            if not parts:
                continue
            assert parts[0] in ("design.json", "points", "cells", ".hydra", LOCK_FILE), path
            assert not any(p.startswith(".tmp-") for p in parts), path
    row = {"id": fault.id, "what": fault.what, "command": shown(fault.command.format(tmp=tmp, cell="<hash>"), tmp),
           "exit": str(outcome.code), "message": shown(message, tmp, cell),
           "left": "nothing" if fault.left == "nothing" else "the sweep's plan and finished cells (to resume)"}
    return outcome, row


# ------------------------------------------------------------------ the tests


@pytest.mark.parametrize("fault", FAULTS, ids=[f.id for f in FAULTS])
def test_a_fault_ends_in_one_message_and_leaves_no_result(fault: Fault, tmp_path: Path,
                                                          prepared: dict[str, Path],
                                                          request: pytest.FixtureRequest) -> None:
    _, row = observe(fault, tmp_path, prepared)
    if request.config.getoption("--write-reliability"):
        OBSERVED[fault.id] = row
        return
    committed = table_rows(DOC.read_text())
    assert fault.id in committed, f"{fault.id} has no row in {DOC}: run pytest {__file__} -n 0 --write-reliability"
    assert committed[fault.id] == row, f"{DOC} differs: run pytest {__file__} -n 0 --write-reliability"


def test_the_table_lists_every_fault_once_in_order() -> None:
    ids = list(table_rows(DOC.read_text()))
    assert ids == [f.id for f in FAULTS]
    assert len(set(ids)) == len(ids) >= 40
    assert not set(RECOVERED) & set(ids)


RECOVERY_BEGIN, RECOVERY_END = "<!-- recovered: begin -->", "<!-- recovered: end -->"


def test_every_recovered_fault_names_a_test_that_exists() -> None:
    """Each row of the second table: a fault id of RECOVERED, what happens, and `tests/FILE.py::TEST`,
    a test function that exists (it runs the fault)."""
    import ast

    body = DOC.read_text().split(RECOVERY_BEGIN, 1)[1].split(RECOVERY_END, 1)[0]
    rows = re.findall(r"\(`([a-z0-9-]+)`\).*`(tests/[a-z_]+\.py)::(test_[a-z0-9_]+)", body)
    assert [fid for fid, _, _ in rows] == list(RECOVERED)
    for _, file, name in rows:
        tree = ast.parse((REPO / file).read_text())
        assert name in {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}, (file, name)


def test_hydra_full_error_still_gives_the_traceback(tmp_path: Path) -> None:
    fault = next(f for f in FAULTS if f.id == "world-duplicate-state")
    for name, text in fault.files.items():
        (tmp_path / "extra" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "extra" / name).write_text(text)
    done = subprocess.run([sys.executable, "-m", "sim", SEARCHPATH.format(tmp=tmp_path), "world=bad",
                           f"hydra.run.dir={tmp_path / 'out'}"], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "HYDRA_FULL_ERROR": "1"}, timeout=300)
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr and "found duplicate key RUS" in done.stderr


# ------------------------------------------------------------------ the table in docs/RELIABILITY.md

COLUMNS = ("#", "fault", "command", "exit", "message", "left behind")


def table_rows(doc: str) -> dict[str, dict[str, str]]:
    """The rows between the markers of ``doc``, by fault id."""
    body = doc.split(BEGIN, 1)[1].split(END, 1)[0]
    rows = {}
    for line in body.splitlines():
        if not re.match(r"\| \d+ \|", line):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        _, fault, cmd, code, message, left = cells
        what, fid = re.match(r"(.*) \(`([^`]+)`\)$", fault).groups()
        rows[fid] = {"id": fid, "what": what, "command": cmd.strip("`"), "exit": code,
                     "message": message.strip("`"), "left": left}
    return rows


def render(rows: list[dict[str, str]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "| " + " | ".join("---" for _ in COLUMNS) + " |"]
    for n, r in enumerate(rows, 1):
        lines.append(f"| {n} | {r['what']} (`{r['id']}`) | `{r['command']}` | {r['exit']} | `{r['message']}` | "
                     f"{r['left']} |")
    return "\n".join(lines)


@pytest.fixture(scope="module", autouse=True)
def write_table(request: pytest.FixtureRequest):
    """With ``--write-reliability``, the table in docs/RELIABILITY.md is written again from the faults run
    (a fault that did not run keeps its committed row)."""
    yield
    if not request.config.getoption("--write-reliability") or not OBSERVED:
        return
    doc = DOC.read_text()
    committed = table_rows(doc)
    rows = [OBSERVED.get(f.id) or committed.get(f.id) for f in FAULTS]
    missing = [f.id for f, r in zip(FAULTS, rows, strict=True) if r is None]
    assert not missing, f"no observed or committed row for {missing}"
    head, rest = doc.split(BEGIN, 1)
    DOC.write_text(f"{head}{BEGIN}\n{render(rows)}\n{END}{rest.split(END, 1)[1]}")
