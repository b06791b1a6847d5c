"""``sim-reproduce OUTDIR``: rerun a result from its directory into a new one, and say whether it matches.

What a directory holds decides how it is rerun (:func:`inspect`):

- a **run** (``sim-run``, paired or one scenario: ``results.parquet``), an **in-process sweep**
  (``design.json``) or one **job** of a ``-m`` multirun (``<sweep>/<n>/.hydra``) is rerun from
  Hydra's record of it: ``sim-run --config-path OUTDIR/.hydra --config-name config
  hydra.run.dir=NEW`` (:func:`sim.cli.invocation` says how a saved config is read);
- a **multirun** sweep directory (``points/`` and ``cells/``, no ``design.json``), a sweep
  written by :func:`sim.api.run_experiment` (no ``.hydra/``), or one point or cell of any sweep
  (``--point ID``, ``--cell HASH``), is rerun cell by cell from the resolved configs its store
  holds (``cells/<hash>/config.json``, checked against its hash), then reported again if it was.

The rerun goes into a new directory (default ``<OUTDIR>-reproduced``, numbered if taken); the
original is only read. Then every result table of the original is compared with the rerun's
(:func:`compare_tables`): a run's ``results.parquet``, ``network.parquet``, ``dyads.parquet`` and
``summary.json``,
a sweep's ``cells/<hash>/results.parquet`` and its ``report/*.parquet``. Equality is exact, to
the bit (NaN equals NaN): both engines, every launcher and every stack give identical numbers
by design, and no difference is documented that a tolerance would excuse. The verdict names each
table, column and row that differs and by how much, beside the differences of environment
(git revision, dirty tree, package versions, Python, platform: :func:`sim.experiment.environment`)
and of the resolved configs. Exit status: 0 identical, 1 different, 2 not a result (or damaged,
or the rerun failed), with one message and no traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.api import SavedRun, saved_run
from sim.store import (
    CELLS,
    DESIGN_FILE,
    DYADS,
    POINTS,
    CellStore,
    DamagedFileError,
    cell_key,
    config_hash,
    read_json,
    read_parquet,
    write_failure,
)

KEY_COLUMNS = ("scenario", "cell", "replication", "date", "stage", "origin", "target", "a", "b", "point",
               "hypothesis")
SHOWN_ROWS = 3  # rows named per differing column


class ResultError(Exception):
    """A directory that is not a result, is damaged, or cannot be rerun: one message, exit 2."""


@dataclass(frozen=True)
class Source:
    """What a result directory is (see the module docstring) and where its results are."""

    kind: str  # "run", "sweep" (in-process), "multirun" (a -m sweep directory) or "job" (one of its jobs)
    path: Path  # the directory given
    root: Path  # where its results are: the directory, or a job's sweep directory
    saved: SavedRun | None  # Hydra's record of it (runs, in-process sweeps and jobs)


def inspect(outdir: str | Path) -> Source:
    """The kind of result ``outdir`` is; :class:`ResultError` if it is none."""
    path = Path(outdir).absolute()
    if not path.is_dir():
        raise ResultError(f"{path} does not exist or is not a directory: give a directory written by sim-run")
    try:
        if (path / "results.parquet").exists():
            return Source("run", path, path, saved_run(path))
        if (path / DESIGN_FILE).exists():  # sim.api.run_experiment writes no .hydra/: rerun cell by cell
            return Source("sweep", path, path, saved_run(path) if (path / ".hydra").is_dir() else None)
        if (path / POINTS).is_dir():
            return Source("multirun", path, path, None)
        if (path / ".hydra").is_dir() and (path.parent / POINTS).is_dir():
            saved = saved_run(path)
            if saved.multirun:
                return Source("job", path, path.parent, saved)
    except (FileNotFoundError, ValueError) as e:
        raise ResultError(f"{e}; the directory cannot be rerun from its record") from e
    raise ResultError(f"{path} is not a result: it holds neither results.parquet (a run), design.json (a sweep), "
                      "points/ (a multirun) nor a multirun job's .hydra/; give a directory written by sim-run")


# ------------------------------------------------------------------ comparing


@dataclass
class TableDiff:
    """How a rerun's table differs from the stored one (``identical`` when it does not)."""

    name: str
    shape: tuple[int, int] | None = None
    problem: str | None = None  # a difference of shape, columns or types, or a missing table
    columns: dict[str, str] = field(default_factory=dict)  # column -> where and by how much it differs

    @property
    def identical(self) -> bool:
        return self.problem is None and not self.columns

    def lines(self) -> list[str]:
        if self.identical:
            rows, cols = self.shape or (0, 0)
            return [f"  {self.name}: identical ({rows} rows x {cols} columns)"]
        out = [f"  {self.name}: DIFFERS" + (f": {self.problem}" if self.problem else "")]
        out += [f"    column {c}: {d}" for c, d in self.columns.items()]
        return out


def _row_label(table: pd.DataFrame, i: int) -> str:
    keys = [k for k in KEY_COLUMNS if k in table.columns]
    if not keys:
        return f"row {i}"
    return f"row {i} (" + ", ".join(f"{k}={table[k].iloc[i]}" for k in keys) + ")"


def compare_tables(name: str, stored: pd.DataFrame, new: pd.DataFrame) -> TableDiff:
    """Compare two tables cell by cell, exactly (NaN equals NaN); name the differing columns and rows."""
    diff = TableDiff(name, stored.shape)
    if list(stored.columns) != list(new.columns):
        gone, added = sorted(set(stored.columns) - set(new.columns)), sorted(set(new.columns) - set(stored.columns))
        diff.problem = (f"columns differ (only stored: {gone or 'none'}; only rerun: {added or 'none'}"
                        + ("; same columns in another order" if not gone and not added else "") + ")")
        return diff
    if len(stored) != len(new):
        diff.problem = f"{len(stored)} rows stored, {len(new)} in the rerun"
        return diff
    for col in stored.columns:
        a, b = stored[col].reset_index(drop=True), new[col].reset_index(drop=True)
        if a.dtype != b.dtype:
            diff.columns[col] = f"type {a.dtype} stored, {b.dtype} in the rerun"
            continue
        differs = ~((a == b) | (a.isna() & b.isna())).to_numpy(dtype=bool)
        if not differs.any():
            continue
        rows = np.flatnonzero(differs)
        where = "; ".join(_row_label(stored, int(i)) for i in rows[:SHOWN_ROWS])
        more = f" and {len(rows) - SHOWN_ROWS} more" if len(rows) > SHOWN_ROWS else ""
        text = f"{len(rows)} of {len(a)} rows differ: {where}{more}"
        if pd.api.types.is_numeric_dtype(a) and not pd.api.types.is_bool_dtype(a):
            gap = (a.astype(float) - b.astype(float)).abs()[differs]
            text += f"; max |difference| {gap.max():.3g}" if gap.notna().any() else "; NaN in one only"
        diff.columns[col] = text
    return diff


def _flat(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in config.items():
        if isinstance(v, Mapping):
            out |= _flat(v, f"{prefix}{k}.")
        else:
            out[f"{prefix}{k}"] = v
    return out


def config_differences(name: str, stored: Mapping[str, Any], new: Mapping[str, Any], shown: int = 5) -> list[str]:
    """The keys whose values differ between two resolved configs, as ``name: key stored -> rerun`` lines."""
    a, b = _flat(stored), _flat(new)
    keys = sorted(k for k in a.keys() | b.keys() if json.dumps(a.get(k), default=str) != json.dumps(b.get(k),
                                                                                                         default=str))
    lines = [f"  {name}: {k} {json.dumps(a.get(k), default=str)[:60]} -> {json.dumps(b.get(k), default=str)[:60]}"
             for k in keys[:shown]]
    return lines + ([f"  {name}: and {len(keys) - shown} more keys"] if len(keys) > shown else [])


def environment_differences(stored: Mapping[str, Any] | None, now: Mapping[str, Any]) -> list[str]:
    """What differs between a stored environment and this one (:func:`sim.experiment.environment`)."""
    if not stored:
        return ["the stored result records no environment (written before sim-run recorded it)"]
    out = []
    for key in ("code", "git_revision", "python", "platform"):
        if stored.get(key) != now.get(key):
            out.append(f"{key}: {stored.get(key)} -> {now.get(key)}")
    for name in sorted(set(stored.get("packages", {})) | set(now.get("packages", {}))):
        was, is_ = stored.get("packages", {}).get(name), now.get("packages", {}).get(name)
        if was != is_:
            out.append(f"package {name}: {was} -> {is_}")
    dirty = [w for w, rev in (("stored", stored.get("git_revision")), ("current", now.get("git_revision")))
             if str(rev).endswith("-dirty")]
    if dirty:
        out.append(f"uncommitted changes in the {' and '.join(dirty)} tree: the revision alone does not pin the code")
    return out


# ------------------------------------------------------------------ reading a result


DAMAGED = "rerun it with sim-run into a new directory"


def _read_table(path: Path) -> pd.DataFrame:
    """A stored table (parquet, or ``summary.json`` flattened to one row); ResultError if unreadable."""
    if path.suffix == ".json":
        return pd.json_normalize(_read_json(path))
    try:
        return read_parquet(path, DAMAGED)
    except (DamagedFileError, OSError) as e:
        raise ResultError(str(e)) from e


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return read_json(path, DAMAGED)
    except (DamagedFileError, OSError) as e:
        raise ResultError(str(e)) from e


def result_tables(root: Path, kind: str, cells: Sequence[str] | None = None) -> dict[str, Path]:
    """The result tables under ``root``, by name relative to it: a run's tables, or a sweep's cells
    (``cells`` among them; default all, with the sweep's ``report/*.parquet``)."""
    if kind == "run":
        return {n: root / n for n in ("results.parquet", "network.parquet", DYADS, "summary.json")
                if (root / n).exists()}
    keys = sorted(CellStore(root).done()) if cells is None else cells
    tables = {f"{CELLS}/{k}/{name}": root / CELLS / k / name for k in keys for name in ("results.parquet", DYADS)
              if name == "results.parquet" or (root / CELLS / k / name).exists()}
    if cells is None:
        tables |= {f"report/{p.name}": p for p in sorted((root / "report").glob("*.parquet"))}
    return tables


def _check_cell(store: CellStore, key: str) -> dict[str, Any]:
    """A stored cell's resolved config, checked against its hash (of the config and the code version
    ``cell.json`` records; the config alone for a cell written before the code was hashed); ResultError
    if absent or damaged."""
    if not store.has(key):
        raise ResultError(f"{store.path(key)} is not a finished cell of {store.root}: give a hash listed under cells/")
    config = _read_json(store.path(key) / "config.json")
    code = _read_json(store.path(key) / "cell.json").get("code")
    if (cell_key(config, code) if code else config_hash(config)) != key:
        raise ResultError(f"{store.path(key) / 'config.json'} does not hash to {key}: the cell is damaged "
                          "(or was written by another version of sim.store); rerun its sweep instead")
    return config


def _points(root: Path) -> dict[str, dict[str, Any]]:
    return {p.stem: _read_json(p) for p in sorted((root / POINTS).glob("*.json"))}


def stored_environments(source: Source, cells: Sequence[str]) -> list[dict[str, Any] | None]:
    """The distinct environments the stored result was computed in (None: not recorded)."""
    from sim.experiment import ENVIRONMENT

    if source.kind == "run":
        prov = _read_json(source.root / "provenance.json") if (source.root / "provenance.json").exists() else {}
        return [{k: prov[k] for k in ENVIRONMENT if k in prov} or None]
    store = CellStore(source.root)
    found: dict[str, dict[str, Any] | None] = {}
    for key in cells:
        env = _read_json(store.path(key) / "cell.json").get("environment")
        found.setdefault(json.dumps(env, sort_keys=True), env)
    return list(found.values()) or [None]


# ------------------------------------------------------------------ rerunning


def default_out(source: Source) -> Path:
    """``<OUTDIR>-reproduced`` beside the original (for a job, beside its sweep), numbered if taken."""
    base = source.root if source.kind != "job" else source.root.parent / f"{source.root.name}-{source.path.name}"
    out, n = base.with_name(f"{base.name}-reproduced"), 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-reproduced-{n}")
    return out


def rerun_saved(saved: SavedRun, out: Path, quiet: bool) -> None:
    """``sim-run --config-path <saved .hydra> --config-name config hydra.run.dir=OUT`` in a new process."""
    command = [sys.executable, "-m", "sim", "--config-path", str(saved.directory.absolute()),
               "--config-name", "config", f"hydra.run.dir={out}"]
    done = subprocess.run(command, capture_output=quiet, text=True, env={**os.environ, "HYDRA_FULL_ERROR": "0"})
    if done.returncode != 0:
        tail = (done.stderr or "").strip().splitlines()[-3:] if quiet else []
        raise ResultError(f"the rerun failed (exit {done.returncode}): {' '.join(command)}"
                          + ("\n" + "\n".join(tail) if tail else ""))


def rerun_cells(source: Source, keys: Sequence[str], points: Sequence[Mapping[str, Any]], out: Path,
                renamed: Mapping[str, str]) -> None:
    """Rerun stored cells from their resolved configs into ``out``'s store, each under its hash for this
    code (``renamed``, :func:`rerun_keys`), and their points' records with those hashes."""
    from sim.sweep import PlannedCell, run_and_store, write_point  # the engine, only when rerunning

    store = CellStore(source.root)
    for key in keys:
        config, meta = _check_cell(store, key), store.meta(key)
        run_and_store(str(out), PlannedCell(renamed[key], str(meta["scenario"]), config),
                      str(meta.get("record", "series")), dyads=store.has_file(key, DYADS))
    for point in points:
        write_point(out, renamed_point(point, renamed))


def rerun_keys(store: CellStore, keys: Sequence[str]) -> dict[str, str]:
    """Each stored cell's hash -> the hash a rerun of its config gets from this code (the same hash
    unless the code version differs: :func:`sim.store.cell_key`)."""
    return {key: cell_key(_check_cell(store, key)) for key in keys}


def renamed_point(point: Mapping[str, Any], renamed: Mapping[str, str]) -> dict[str, Any]:
    """A point record with its cells' hashes for this code (and so its id: :func:`sim.sweep.point_id`)."""
    from sim.sweep import point_id

    control = renamed.get(point["control"], point["control"])
    treatment = None if point["treatment"] is None else renamed.get(point["treatment"], point["treatment"])
    return {**point, "id": point_id(control, treatment if treatment is not None else control),
            "control": control, "treatment": treatment}


def _as_stored(tables: Mapping[str, Path], renamed: Mapping[str, str]) -> dict[str, Path]:
    """The rerun's tables by the name of the stored table they rerun (``cells/<stored hash>/...``)."""
    back = {new: old for old, new in renamed.items()}
    out = {}
    for name, path in tables.items():
        parts = name.split("/")
        if parts[0] == CELLS and len(parts) == 3:
            name = f"{CELLS}/{back.get(parts[1], parts[1])}/{parts[2]}"
        out[name] = path
    return out


def _with_rerun_keys(table: pd.DataFrame, renamed: Mapping[str, str], points: Mapping[str, str]) -> pd.DataFrame:
    """A stored report table with its ``cell`` and ``point`` columns in the rerun's hashes."""
    table = table.copy()
    for column, names in (("cell", renamed), ("point", points)):
        if column in table.columns and any(a != b for a, b in names.items()):
            table[column] = table[column].map(lambda k, names=names: names.get(k, k))
    return table


# ------------------------------------------------------------------ the verdict


@dataclass
class Verdict:
    """The outcome of :func:`reproduce`: the rerun's directory and every difference found."""

    source: Source
    out: Path
    tables: list[TableDiff]
    environment: list[str]  # differences of environment (warnings: they need not change numbers)
    configs: list[str]  # differences of resolved configs, and cells one side has and the other not

    @property
    def identical(self) -> bool:
        """Every stored result table equals the rerun's, bit for bit, and the configs are the same."""
        return all(t.identical for t in self.tables) and not self.configs

    def __str__(self) -> str:
        lines = [f"reproduced {self.source.path} ({self.source.kind}) into {self.out}"]
        lines += ["environment: " + ("same as stored" if not self.environment else "differs from the stored one")]
        lines += [f"  {d}" for d in self.environment]
        lines += ["configs: " + ("same as stored" if not self.configs else "differ"), *self.configs]
        bad = [t for t in self.tables if not t.identical]
        lines += [f"tables: {len(self.tables) - len(bad)} of {len(self.tables)} identical"]
        shown = bad if len(self.tables) > 10 else self.tables
        for t in shown:
            lines += t.lines()
        if self.identical:
            lines += ["verdict: IDENTICAL: every result table equals the stored one, bit for bit"]
        else:
            lines += [f"verdict: DIFFERENT: {len(bad)} table(s) differ"
                      + (", and the configs" if self.configs else "")
                      + (" (the environment differs too: see above)" if self.environment else "")]
        return "\n".join(lines)


def _selected(source: Source, point: str | None, cell: str | None) -> tuple[list[str] | None, list[dict[str, Any]]]:
    """The cells (None: all) and point records a --point or --cell selects; ResultError if unknown."""
    if point is None and cell is None:
        return None, []
    if source.kind in ("run", "job"):
        raise ResultError(f"{source.path} is a {source.kind}, not a sweep: --point and --cell select within a sweep "
                          "directory; drop them")
    points = _points(source.root)
    if point is not None:
        if point not in points:
            raise ResultError(f"{source.root / POINTS / (point + '.json')} does not exist: give one of "
                              f"{', '.join(sorted(points)[:8])}{' ...' if len(points) > 8 else ''}")
        p = points[point]
        return [k for k in (p["control"], p["treatment"]) if k is not None], [p]
    return [str(cell)], []


def _params(point: Mapping[str, Any]) -> str:
    return json.dumps(point.get("params", {}), sort_keys=True, default=str)


def sweep_config_lines(old_root: Path, new_root: Path, compared: set[str],
                       renamed: Mapping[str, str] | None = None) -> list[str]:
    """Cells among ``compared`` (stored hashes) the rerun did not write, and cells it wrote that the
    stored sweep lacks; where a point with the same values has other cells, the keys that differ.
    ``renamed``: a stored hash -> the rerun's hash of the same config (:func:`rerun_keys`)."""
    old, new = CellStore(old_root), CellStore(new_root)
    renamed = renamed or {}
    missing = sorted(k for k in compared if renamed.get(k, k) not in new.done())
    extra = sorted(new.done() - {renamed.get(k, k) for k in old.done()})
    if not missing and not extra:
        return []
    lines: list[str] = []
    explained: set[str] = set()
    by_params = {_params(p): p for p in _points(old_root).values()}
    for point in _points(new_root).values():
        before = by_params.get(_params(point))
        for role in ("control", "treatment") if before else ():
            a, b = before[role], point[role]
            if renamed.get(a, a) != b and a is not None and b is not None and old.has(a):
                lines += config_differences(f"point {_params(point)} {role} (cells/{a} -> cells/{b})",
                                            old.config(a), new.config(b))
                explained |= {a, b}
    lines += [f"  cells/{k}: stored, not written by the rerun" for k in missing if k not in explained]
    lines += [f"  cells/{k}: written by the rerun, not in the stored sweep" for k in extra if k not in explained]
    return lines


def run_config_lines(old_root: Path, new_root: Path) -> list[str]:
    """The keys of each scenario's resolved config (``provenance.json``) that differ."""
    def configs(root: Path) -> dict[str, Any]:
        return _read_json(root / "provenance.json").get("configs", {}) if (root / "provenance.json").exists() else {}

    a, b = configs(old_root), configs(new_root)
    lines = []
    for name in sorted(a.keys() | b.keys()):
        if name not in a or name not in b:
            lines.append(f"  scenario {name}: only in the {'rerun' if name in b else 'stored run'}")
        else:
            lines += config_differences(f"scenario {name}", a[name], b[name])
    return lines


def reproduce(outdir: str | Path, out: str | Path | None = None, *, point: str | None = None,
              cell: str | None = None, quiet: bool = False) -> Verdict:
    """Rerun the result in ``outdir`` (all of it, one ``point`` or one ``cell`` of a sweep) into ``out``
    (default :func:`default_out`) and compare (see the module docstring). ``outdir`` is only read.

    Raises :class:`ResultError` (one message) when ``outdir`` is not a result or is damaged, when
    ``out`` already exists and is not empty or lies inside ``outdir``, or when the rerun fails.
    """
    from sim.experiment import environment  # the engine's packages: not needed to inspect a directory

    source = inspect(outdir)
    selected, points = _selected(source, point, cell)
    store = CellStore(source.root)
    for key in selected or []:
        _check_cell(store, key)
    target = Path(out).absolute() if out is not None else default_out(source)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ResultError(f"{target} already exists and is not empty: give a new directory with --out")
    if target == source.root or source.root in target.parents:
        raise ResultError(f"{target} is inside the original {source.root}: give a directory outside it with --out")
    # read what is compared before rerunning, so a damaged result stops before any work
    stored = {} if source.kind == "job" else {
        name: _read_table(path) for name, path in result_tables(source.root, source.kind, selected).items()}
    cells = [] if source.kind == "run" else selected if selected is not None else sorted(store.done())
    renamed = rerun_keys(store, cells)  # identical hashes unless this code's version differs
    now = environment()
    env = sorted({line for e in stored_environments(source, cells) for line in environment_differences(e, now)})
    for line in env:
        print(f"warning: the stored result's environment differs: {line}", file=sys.stderr)
    if selected is not None or source.saved is None:
        rerun_cells(source, cells, points if selected is not None else list(_points(source.root).values()), target,
                    renamed)
        if selected is None and (source.root / "report").is_dir():
            from sim.report import write_report

            write_report(target)
    else:
        assert source.saved is not None
        rerun_saved(source.saved, target, quiet)
    if source.kind == "run":
        configs = run_config_lines(source.root, target)
    else:
        if source.kind == "job":  # the stored cells of the point the job's rerun wrote
            mine = {_params(p) for p in _points(target).values()}
            cells = [k for p in _points(source.root).values() if _params(p) in mine
                     for k in (p["control"], p["treatment"]) if k is not None]
            renamed = rerun_keys(store, cells)
            stored = {name: _read_table(path) for name, path in result_tables(source.root, "sweep", cells).items()}
        configs = sweep_config_lines(source.root, target, set(cells), renamed)
        points_renamed = {p["id"]: renamed_point(p, renamed)["id"] for p in _points(source.root).values()}
        stored = {name: _with_rerun_keys(t, renamed, points_renamed) if name.startswith("report/") else t
                  for name, t in stored.items()}
    wanted = selected if source.kind != "job" else cells
    rerun = _as_stored(result_tables(target, source.kind, None if wanted is None else [renamed[k] for k in wanted]),
                       renamed)
    tables = [compare_tables(name, table, _read_table(rerun[name])) if rerun[name].exists()
              else TableDiff(name, table.shape, problem="not written by the rerun")
              for name, table in stored.items() if name in rerun]
    tables += [TableDiff(name, table.shape, problem="not written by the rerun")
               for name, table in stored.items() if name not in rerun]
    return Verdict(source, target, tables, env, configs)


def main(argv: Sequence[str] | None = None) -> int:
    """``sim-reproduce OUTDIR [--point ID | --cell HASH] [--out NEW]``: exit 0 identical, 1 different, 2 error."""
    parser = argparse.ArgumentParser(
        prog="sim-reproduce",
        description="Rerun a result (a sim-run run, sweep, multirun or multirun job directory) into a new "
                    "directory and compare every result table with the stored one.")
    parser.add_argument("outdir", help="the directory sim-run wrote (only read)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--point", help="rerun one point of a sweep (points/<ID>.json)")
    which.add_argument("--cell", help="rerun one cell of a sweep (cells/<HASH>)")
    parser.add_argument("--out", help="the new directory (default: <OUTDIR>-reproduced beside it)")
    args = parser.parse_args(argv)
    try:
        verdict = reproduce(args.outdir, args.out, point=args.point, cell=args.cell)
    except (ResultError, DamagedFileError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # writing the rerun's cells (a sim-run rerun reports its own errors)
        print(f"error: {write_failure(e, args.out or 'the rerun directory')}", file=sys.stderr)
        return 1
    print(verdict)
    return 0 if verdict.identical else 1
