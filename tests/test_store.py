"""Writing whole results and reading damaged ones (:mod:`sim.store`): staging, unwritable places, damaged files."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pandas as pd
import pytest

from sim import store
from sim.store import (
    DamagedFileError,
    WriteError,
    atomic_write,
    incomplete,
    read_json,
    read_parquet,
    staged,
    stale_temporaries,
    temporary_name,
    unwritable,
    write_failure,
)


def test_a_staged_result_is_published_whole_with_the_results_table_last(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "run"
    moved: list[str] = []
    replace = os.replace
    monkeypatch.setattr(store.os, "replace", lambda a, b: (moved.append(Path(b).name), replace(a, b)))
    with staged(out) as stage:
        assert stage.parent == out and stage.name.startswith(".tmp-run-") and incomplete(out) == [stage]
        for name in ("results.parquet", "summary.json", "network.parquet"):
            (stage / name).write_text(name)
        assert not (out / "summary.json").exists()  # nothing is in place before the block ends
    assert moved == ["network.parquet", "summary.json", "results.parquet"]
    assert sorted(p.name for p in out.iterdir()) == ["network.parquet", "results.parquet", "summary.json"]
    assert (out / "summary.json").read_text() == "summary.json" and not incomplete(out)


def test_a_temporary_a_killed_writer_left_in_the_stage_is_not_published(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with staged(out) as stage:
        (stage / "results.parquet").write_text("done")
        (stage / ".sunni_leverage.png.tmp-21246").write_text("half a PNG")  # its writer killed mid-save
        atomic_write(stage / ".hidden.tmp-x", lambda p: p.write_text("a finished file with such a name"))
    assert sorted(p.name for p in out.iterdir()) == [".hidden.tmp-x", "results.parquet"]


def test_a_failed_result_leaves_nothing_and_a_published_one_is_never_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "a" / "run"
    with pytest.raises(OSError, match="disk full"), staged(out) as stage:
        (stage / "figure.png").write_text("half")
        raise OSError(28, "disk full")
    assert not out.exists()  # made by staged(), removed with its staging directory
    (tmp_path / "a").rmdir()  # its parent, made on the way, stays (empty), as Hydra's would
    out.mkdir(parents=True)
    (out / "results.parquet").write_text("finished")
    with pytest.raises(FileExistsError, match=r"results\.parquet"), staged(out) as stage:
        (stage / "summary.json").write_text("new")
        (stage / "results.parquet").write_text("new")
    assert [p.name for p in out.iterdir()] == ["results.parquet"]
    assert (out / "results.parquet").read_text() == "finished"
    with staged(out, replace=True) as stage:  # a report is derived data: written again, it replaces the old
        (stage / "results.parquet").write_text("again")
    assert (out / "results.parquet").read_text() == "again"


def test_a_dead_writers_staging_directory_is_removed_by_the_next_one(tmp_path: Path) -> None:
    host = socket.gethostname().replace("-", "_")
    dead = tmp_path / f".tmp-run-{host}-999999999-0a1b2c3d"  # no such pid
    alive = tmp_path / temporary_name("run")  # this process
    other_host = tmp_path / ".tmp-run-elsewhere-1-0a1b2c3d"  # maybe at work on another host
    for d in (dead, alive, other_host):
        d.mkdir()
    assert stale_temporaries(tmp_path) == [dead]
    with staged(tmp_path):
        pass
    assert not dead.exists() and alive.exists() and other_host.exists()


def test_unwritable_says_why_a_place_cannot_take_results(tmp_path: Path) -> None:
    file = tmp_path / "results.parquet"
    file.write_text("x")
    assert unwritable(file) == "is a regular file, not a directory"
    assert unwritable(file / "out" / "deeper") == f"lies under {file}, a regular file"
    assert unwritable(tmp_path / "new" / "out") is None and (tmp_path / "new" / "out").is_dir()
    assert list((tmp_path / "new" / "out").iterdir()) == []  # the probe file is gone
    with pytest.raises(WriteError, match="is a regular file"), staged(file):
        pass
    if os.geteuid() != 0:  # root may write anywhere: test_reliability mounts a read-only file system instead
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert unwritable(locked) == "cannot be written (Permission denied)"


def test_a_write_failure_says_what_to_do() -> None:
    assert write_failure(OSError(28, "No space left on device"), "out") == (
        "cannot write into out: No space left on device (free some space, or choose a directory on another disk, "
        "and run again)")
    assert "a writable file system" in write_failure(OSError(30, "Read-only file system"), "out")
    assert write_failure(OSError("pyarrow's own words"), "out") == (
        "cannot write into out: pyarrow's own words (check out and run again)")


def test_a_damaged_table_or_record_is_one_message_naming_the_file(tmp_path: Path) -> None:
    table = tmp_path / "results.parquet"
    pd.DataFrame({"x": range(1000)}).to_parquet(table)
    assert read_parquet(table)["x"].sum() == 499500
    table.write_bytes(table.read_bytes()[:200])
    with pytest.raises(DamagedFileError) as e:
        read_parquet(table, "rerun it")
    assert str(e.value).startswith(f"{table} cannot be read as a parquet table (ArrowInvalid: ")
    assert str(e.value).endswith("the file is damaged (truncated or overwritten); rerun it")
    assert str(table) not in str(e.value)[len(str(table)):]  # pyarrow's text, without the name again
    with pytest.raises(FileNotFoundError):
        read_parquet(tmp_path / "missing.parquet")
    record = tmp_path / "summary.json"
    record.write_text('{"h1": ')
    with pytest.raises(DamagedFileError, match=r"summary\.json cannot be read as JSON .*; rerun it"):
        read_json(record, "rerun it")
