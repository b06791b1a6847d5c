"""Results on disk: their file names, atomic writes, and the cell store of sweeps.

This module names the files of a result directory and writes them safely; it needs no engine,
so reading results (``sim-report``, notebooks) does not import one. A run directory holds
:data:`RESULT_FILES`; a sweep directory holds ``design.json`` (:data:`DESIGN_FILE`, in-process
sweeps only), ``points/<id>.json`` (:data:`POINTS`) and ``cells/``. Files are written to a
temporary name and renamed (:func:`atomic_write`), so no half-written file is read as a result; a
whole result (a run's tables and figures, a report) is written into a staging directory and
published when complete (:func:`staged`). Reading a stored table or record that is damaged, or
writing where one cannot, is one message naming the file and what to do (:class:`DamagedFileError`,
:class:`WriteError`, :func:`write_failure`).

The cell store: a *cell* is one fully resolved config (one scenario at one set of parameters) run for its
``replications`` seeded replications. Layout under a sweep's root directory::

    cells/<hash>/results.parquet   tidy table: scenario, replication, date, one column per metric
    cells/<hash>/config.json       the resolved config that was run
    cells/<hash>/cell.json         hash, code version, scenario, seconds, rows kept ("horizon" or "series"),
                                   environment, and each file's size and SHA-256 (``files``)
    cells/<hash>/dyads.parquet     every pair every month (only when ``experiment.dyads=true``)

A cell directory is written under a temporary name and renamed into place, so a cell either
exists whole or not at all: killing a sweep loses at most the cells in flight, and a rerun
skips every cell whose hash is already there and whose files still match the checksums
recorded when it was written (:meth:`CellStore.check`; a damaged cell is moved aside and
recomputed). The hash (:func:`cell_key`) covers everything that changes the numbers (world,
model, scenario, policy, horizon, replications, seed, and the code: :func:`code_version`) and
nothing that does not (the experiment preset, the comparison partner, the verdict threshold,
Hydra's own settings). One sweep at a time writes into a directory (:class:`DirectoryLock`).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import os
import shutil
import socket
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

if TYPE_CHECKING:
    import pandas as pd

# Keys of the root config that do not change a cell's numbers.
NOT_HASHED = ("experiment", "compare", "min_relative_effect", "hydra")
CELLS = "cells"
POINTS = "points"  # a sweep's points/<id>.json: each point's values and its two cells
DESIGN_FILE = "design.json"  # an in-process sweep's plan (a Hydra multirun has none)
DYADS = "dyads.parquet"  # a run's (and, when asked, a sweep cell's) pair table
RESULT_FILES = ("results.parquet", "network.parquet", DYADS, "summary.json", "summary.md", "provenance.json",
                "calibration.json")  # the last: a finished calibration (sim.calibrate writes it last)


class DamagedFileError(Exception):
    """A stored table or record that cannot be read (truncated, not parquet or JSON); the message names
    the file and what to do."""


class WriteError(Exception):
    """A result that cannot be written (the place is a file, read-only, not writable, or the disk is full);
    the message names the place, why and what to do."""


def read_parquet(path: Path, remedy: str = "rerun it into a new directory") -> pd.DataFrame:
    """``pandas.read_parquet(path)``, or :class:`DamagedFileError` naming the file, why it cannot be read and
    ``remedy``. A missing file is a FileNotFoundError, as from pandas."""
    import pandas as pd

    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        return pd.read_parquet(path)
    except Exception as e:  # pyarrow's errors (ArrowInvalid, ...) share no base class with OSError
        detail = str(e).replace(f" '{path}'", "").split(". ")[0][:160]  # the reason, without the file's name
        raise DamagedFileError(f"{path} cannot be read as a parquet table ({type(e).__name__}: {detail}): "
                               f"the file is damaged (truncated or overwritten); {remedy}") from None


def read_json(path: Path, remedy: str = "rerun it into a new directory") -> Any:
    """The JSON document in ``path``, or :class:`DamagedFileError` naming the file, why and ``remedy``."""
    try:
        return json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DamagedFileError(f"{path} cannot be read as JSON ({e}): the file is damaged; {remedy}") from None


_REMEDIES = {errno.ENOSPC: "free some space, or choose a directory on another disk, and run again",
             errno.EDQUOT: "free some space, or choose a directory on another disk, and run again",
             errno.EFBIG: "the file system refuses a file this large: choose another directory",
             errno.EROFS: "choose a directory on a writable file system",
             errno.EACCES: "choose a directory you may write to",
             errno.EPERM: "choose a directory you may write to"}


def write_failure(error: OSError, where: Path | str) -> str:
    """One line for an OSError that stopped writing into the directory ``where``: the system's reason and
    what to do (the file is a temporary one, or a library's, and not named)."""
    remedy = _REMEDIES.get(error.errno or 0, f"check {where} and run again")
    reason = os.strerror(error.errno) if error.errno else str(error)  # pyarrow words its own
    return f"cannot write into {where}: {reason} ({remedy})"


def unwritable(directory: Path) -> str | None:
    """Why files cannot be written into ``directory`` (made, with its parents, if missing), or None:
    a phrase that follows the directory's name (``is a regular file, not a directory``).

    Tries it: makes the directory and writes and removes a probe file, so a read-only file
    system, a missing permission, a full disk or a path through a regular file each give their
    own reason.
    """
    for part in (directory, *directory.parents):
        if part.exists():
            if not part.is_dir():
                return "is a regular file, not a directory" if part == directory else \
                    f"lies under {part}, a regular file"
            break
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"probe")
        probe.unlink()
    except OSError as e:
        return f"cannot be written ({e.strerror or e})"
    return None


def stale_temporaries(directory: Path) -> list[Path]:
    """The temporary entries (:func:`temporary_name`) in ``directory`` whose writer on this host is gone."""
    if not directory.is_dir():
        return []
    host = socket.gethostname().replace("-", "_")
    found = []
    for tmp in directory.glob(".tmp-*"):
        parts = tmp.name.split("-")  # .tmp, key, host, pid, random
        if len(parts) == 5 and parts[2] == host and parts[3].isdigit() and not _alive(int(parts[3])):
            found.append(tmp)  # only this host's dead writers: others may be at work
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


STAGE = "run"  # the key of a staging directory's temporary name: .tmp-run-<host>-<pid>-<random>


@contextmanager
def staged(directory: Path, *, replace: bool = False) -> Iterator[Path]:
    """A staging directory inside ``directory`` to write a whole result into, published only when complete.

    Yields ``directory/.tmp-run-<host>-<pid>-<random>/`` (``directory`` is made if missing, and a
    :class:`WriteError` says why when it cannot be written: :func:`unwritable`; stale staging
    directories of dead writers on this host are removed first). When the block ends
    without error, every file staged is moved into ``directory`` (renames in one file system),
    ``results.parquet`` last, as the completion mark (an :func:`atomic_write` temporary a killed
    writer left behind is not moved); without ``replace`` a name ``directory``
    already holds is refused (FileExistsError) before anything moves. When the block fails, the
    staging directory is removed, and ``directory`` too if this made it and it is left empty. A
    killed process leaves only the hidden staging directory: :func:`incomplete` recognises it.
    """
    made = not directory.exists()
    why = unwritable(directory)
    if why is not None:
        if made:
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise WriteError(f"{directory} {why}")
    for stale in stale_temporaries(directory):
        shutil.rmtree(stale, ignore_errors=True)
    stage = directory / temporary_name(STAGE)
    moved: list[Path] = []
    try:
        stage.mkdir()
        yield stage
        # an atomic write's temporary still here was abandoned by a killed writer (a figure process): not a result
        names = sorted((p.name for p in stage.iterdir() if not _abandoned_write(p.name)),
                       key=lambda n: (n == "results.parquet", n))
        if not replace and (taken := [n for n in names if (directory / n).exists()]):
            raise FileExistsError(f"{directory} already holds {', '.join(taken)}; refusing to overwrite")
        for name in names:
            os.replace(stage / name, directory / name)
            moved.append(directory / name)
    except BaseException:
        if not replace:  # what this call moved in was not there before
            for path in moved:
                path.unlink(missing_ok=True)
        shutil.rmtree(stage, ignore_errors=True)
        if made:
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise
    shutil.rmtree(stage, ignore_errors=True)


def incomplete(directory: Path) -> list[Path]:
    """The staging directories (:func:`staged`) a run, report or validation left in ``directory``: a
    process killed before it published its result."""
    return sorted(directory.glob(f".tmp-{STAGE}-*")) if directory.is_dir() else []


def _abandoned_write(name: str) -> bool:
    """Whether ``name`` is an :func:`atomic_write` temporary (``.<name>.tmp-<pid>``)."""
    head, _, pid = name.rpartition(".tmp-")
    return name.startswith(".") and bool(head) and pid.isdigit()


def atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """Write through ``write(tmp_path)`` to a temporary name, then rename onto ``path``.

    The temporary file is removed if ``write`` fails; ``path`` is then left as it was.
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def existing_results(outdir: Path) -> list[str]:
    """The names among :data:`RESULT_FILES` that ``outdir`` already holds (a finished run's)."""
    return [name for name in RESULT_FILES if (outdir / name).exists()]


def write_figures(outdir: Path, figures: Mapping[str, Any], formats: tuple[str, ...] = ("png",)) -> list[Path]:
    """Save each matplotlib figure as ``outdir/<stem>.<fmt>`` (atomically); return the paths.

    Figures made with the object API (``matplotlib.figure.Figure``, as :mod:`sim.plots` makes them)
    need no closing; one made through pyplot is closed here, so pyplot does not keep it.
    """
    _save(outdir, figures, formats)
    paths = []
    for stem, fig in figures.items():
        paths += [outdir / f"{stem}.{fmt}" for fmt in formats]
        if getattr(fig.canvas, "manager", None) is not None:  # registered with pyplot
            import matplotlib.pyplot as plt

            plt.close(fig)
    return paths


# zlib level 1 for PNGs: the same pixels, files about 10% larger, encoded in two thirds of the time
# (Pillow's default, 6, took 0.05-0.1 s of each headline figure's 0.3-0.4 s).
PNG_OPTIONS = {"pil_kwargs": {"compress_level": 1}}


def _save(outdir: Path, figures: Mapping[str, Any], formats: tuple[str, ...]) -> None:
    for stem, fig in figures.items():
        for fmt in formats:
            options = PNG_OPTIONS if fmt == "png" else {}
            atomic_write(outdir / f"{stem}.{fmt}",
                         lambda p, fig=fig, fmt=fmt, options=options: fig.savefig(p, dpi=150, format=fmt, **options))


def config_at(config: Mapping[str, Any], key: str) -> Any:
    """The value at a dotted ``key`` (``policy.outreach``) of a plain config dict; KeyError if absent."""
    node: Any = config
    for part in key.split("."):
        node = node[part]
    return node


def cell_config(cfg: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """The resolved plain-dict config of a cell, without the keys that do not change its numbers."""
    container = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    return {k: v for k, v in container.items() if k not in NOT_HASHED}  # type: ignore[union-attr]


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 (first 16 hex digits) of a cell config's canonical JSON (sorted keys)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


CODE_ENV = "SIM_CODE_VERSION"  # set to a recorded code version to reuse its cells deliberately
PACKAGE = Path(__file__).resolve().parent


def source_version(package: Path | None = None) -> str:
    """SHA-256 (first 16 hex digits) of the package's Python source: every ``**/*.py`` under
    ``package`` (default: this package, computed once per process), by relative path and bytes, in
    sorted order.

    The source files are the whole of what the code is, committed or not, in a git checkout or an
    installed copy (the configs a cell runs are in its config already). Any edit changes it,
    a comment too: the store cannot tell an edit that changes numbers from one that does not.
    About 3 ms for the package's 40 files.
    """
    return _source_version(PACKAGE) if package is None else _source_version.__wrapped__(package)


@functools.cache
def _source_version(package: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def code_version() -> str:
    """The code version cells are keyed by: :func:`source_version`, unless ``SIM_CODE_VERSION`` is set
    (a user's declaration that cells of that version are valid for this code: see the README)."""
    return os.environ.get(CODE_ENV) or source_version()


def cell_key(config: Mapping[str, Any], code: str | None = None) -> str:
    """A cell's hash: :func:`config_hash` of its config (:func:`cell_config`) and the code version
    that computes it (default :func:`code_version`), so changed code never finds old cells."""
    return config_hash({"code": code or code_version(), "config": config})


def file_digest(path: Path) -> dict[str, Any]:
    """``{"bytes": size, "sha256": hex digest}`` of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


class DirectoryError(Exception):
    """A sweep directory that cannot be used as asked (another sweep at work in it, or another code's
    cells): one message for the user."""


LOCK_FILE = ".sweep.lock"  # held by the process that runs a sweep into the directory (DirectoryLock)
OWNER_FILE = ".sweep.owner"  # who holds it: pid, host, start, command (the lock file itself is truncated by others)


class DirectoryLock:
    """The lock of a sweep directory: one sweep (evaluator or multirun) at a time writes into it.

    ``filelock.FileLock`` (``flock`` on ``<root>/.sweep.lock``): released by the operating system
    when its holder dies, even by SIGKILL, so a killed sweep never leaves the directory locked.
    A second sweep started into a directory in use is refused (:meth:`acquire`: a DirectoryError
    naming the holder), never mixed with the first: without it, two plans written at once would
    leave both plans' points, and their report would mix them. The workers and Hydra jobs a
    sweep starts write their cells under their parent's lock (cells are written atomically and
    named by their hash, so two writers of one cell write the same one).
    """

    def __init__(self, root: str | Path) -> None:
        from filelock import FileLock

        self.root = Path(root)
        self._lock = FileLock(self.root / LOCK_FILE)

    def acquire(self) -> DirectoryLock:
        """Take the lock (creating ``root``), or raise DirectoryError at once if another process holds it."""
        import shlex
        import sys
        import time

        from filelock import Timeout

        self.root.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            try:
                holder = json.loads((self.root / OWNER_FILE).read_text())
                who = (f"pid {holder['pid']} on {holder['host']}, started {holder['started']}: "
                       f"{holder['command']}")
            except (OSError, ValueError, KeyError):
                who = "its owner unknown"
            raise DirectoryError(f"{self.root} is in use by another sweep ({who}); wait for it to end, then rerun "
                                 "to resume, or run into another directory (hydra.run.dir=... or hydra.sweep.dir=...)"
                                 ) from None
        owner = {"pid": os.getpid(), "host": socket.gethostname(),
                 "started": time.strftime("%Y-%m-%d %H:%M:%S"), "command": shlex.join(sys.argv)}
        atomic_write(self.root / OWNER_FILE, lambda p: p.write_text(json.dumps(owner)))
        return self

    def release(self) -> None:
        if self._lock.is_locked:
            (self.root / OWNER_FILE).unlink(missing_ok=True)
            self._lock.release()

    def __enter__(self) -> DirectoryLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def temporary_name(key: str) -> str:
    """``.tmp-<hash>-<host>-<pid>-<random>``: unique across the hosts sharing a sweep directory."""
    host = socket.gethostname().replace("-", "_")
    return f".tmp-{key}-{host}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


DAMAGED_CELL = "remove {path} and rerun the sweep into its directory: the cell is computed again"


class CellStore:
    """Finished cells under ``root/cells/``; see the module docstring for the layout."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.cells = self.root / CELLS

    def path(self, key: str) -> Path:
        return self.cells / key

    def has(self, key: str) -> bool:
        return (self.path(key) / "cell.json").exists()

    def done(self) -> set[str]:
        """Hashes of every finished cell (not the temporary directory of a cell being written)."""
        if not self.cells.is_dir():
            return set()
        return {p.name for p in self.cells.iterdir() if not p.name.startswith(".") and (p / "cell.json").exists()}

    def has_file(self, key: str, name: str) -> bool:
        """Whether finished cell ``key`` holds the table ``name`` (e.g. :data:`DYADS`), with its checksum
        when the cell records checksums (a table added without one was cut short)."""
        if not self.has(key) or not (self.path(key) / name).exists():
            return False
        try:
            files = self.meta(key).get("files")
        except ValueError:
            return False
        return files is None or name in files

    def check(self, key: str) -> str | None:
        """Why finished cell ``key`` cannot be trusted, or None if it can.

        Every file ``cell.json`` lists (``files``: bytes and SHA-256 recorded when it was written)
        must be there with that size and digest; a cell written before checksums were recorded must
        have a ``config.json`` and a ``results.parquet`` that read whole.
        """
        path = self.path(key)
        try:
            meta = json.loads((path / "cell.json").read_text())
        except (OSError, ValueError) as e:
            return f"cell.json cannot be read ({type(e).__name__})"
        files = meta.get("files") if isinstance(meta, dict) else None
        if files is None:
            import pandas as pd

            try:
                json.loads((path / "config.json").read_text())
                pd.read_parquet(path / "results.parquet")
            except (OSError, ValueError) as e:  # pyarrow's errors are ValueErrors
                return f"{type(e).__name__}: {str(e)[:120]}"
            return None
        for name, recorded in files.items():
            if not (path / name).is_file():
                return f"{name} is missing"
            found = file_digest(path / name)
            if found["bytes"] != recorded["bytes"]:
                return f"{name} has {found['bytes']} bytes, {recorded['bytes']} were written"
            if found["sha256"] != recorded["sha256"]:
                return f"{name} does not match the checksum recorded when it was written"
        return None

    def discard(self, key: str) -> Path | None:
        """Move cell ``key`` aside to ``cells/.damaged-<hash>-<random>`` (out of :meth:`done`, kept for
        a look); None if another process moved it first."""
        aside = self.cells / f".damaged-{key}-{uuid.uuid4().hex[:8]}"
        try:
            os.rename(self.path(key), aside)
        except FileNotFoundError:
            return None
        return aside

    def intact(self, keys: Iterable[str], say: Callable[[str], None] = print) -> set[str]:
        """The finished cells among ``keys`` that pass :meth:`check`; each damaged one is moved aside
        (:meth:`discard`) with one line to ``say``, so that it is computed again."""
        good = set()
        for key in keys:
            if not self.has(key):
                continue
            problem = self.check(key)
            if problem is None:
                good.add(key)
                continue
            aside = self.discard(key)
            where = f"moved to {aside}" if aside is not None else "already moved by another process"
            say(f"cells/{key} is damaged ({problem}): {where}; computing it again")
        return good

    def add(self, key: str, tables: Mapping[str, pd.DataFrame]) -> bool:
        """Add tables to a finished cell, each written atomically, then their checksums to its
        ``cell.json``; False if there was nothing to add."""
        added = []
        for name, table in tables.items():
            if not self.has_file(key, name):
                atomic_write(self.path(key) / name, lambda p, t=table: t.to_parquet(p, index=False))
                added.append(name)
        if added:
            meta = self.meta(key)
            if meta.get("files") is not None:
                meta["files"] |= {name: file_digest(self.path(key) / name) for name in added}
                atomic_write(self.path(key) / "cell.json",
                             lambda p: p.write_text(json.dumps(meta, indent=2, default=str)))
        return bool(added)

    def write(self, key: str, table: pd.DataFrame, config: Mapping[str, Any], meta: Mapping[str, Any],
              extra: Mapping[str, pd.DataFrame] | None = None) -> bool:
        """Write a finished cell atomically, with ``extra`` tables by file name; False if an
        identical cell was already there.

        The files go into ``cells/.tmp-<hash>-<host>-<pid>-<random>/`` and the directory is renamed to
        ``cells/<hash>``; ``cell.json`` is written last, with each other file's size and SHA-256
        (``files``, what :meth:`check` verifies), so a cell counts as done only when whole.
        """
        final = self.path(key)
        if self.has(key):
            return False
        self.cells.mkdir(parents=True, exist_ok=True)
        tmp = self.cells / temporary_name(key)
        tmp.mkdir()
        try:
            table.to_parquet(tmp / "results.parquet", index=False)
            for name, other in (extra or {}).items():
                other.to_parquet(tmp / name, index=False)
            # JSON, not YAML: a world's config is large, and PyYAML's representer costs ~0.1 s a cell
            (tmp / "config.json").write_text(json.dumps(dict(config), indent=1, default=str))
            files = {p.name: file_digest(p) for p in sorted(tmp.iterdir())}
            (tmp / "cell.json").write_text(json.dumps({"hash": key, **meta, "files": files}, indent=2, default=str))
            try:
                os.rename(tmp, final)
            except OSError:
                if not self.has(key):  # not a concurrent writer of the same cell: a real failure
                    raise
                return False
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return True

    def table(self, key: str) -> pd.DataFrame:
        """The cell's results table; :class:`DamagedFileError` if it cannot be read."""
        return read_parquet(self.path(key) / "results.parquet", DAMAGED_CELL.format(path=self.path(key)))

    def meta(self, key: str) -> dict[str, Any]:
        return read_json(self.path(key) / "cell.json", DAMAGED_CELL.format(path=self.path(key)))

    def config(self, key: str) -> dict[str, Any]:
        return read_json(self.path(key) / "config.json", DAMAGED_CELL.format(path=self.path(key)))
