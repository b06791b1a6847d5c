"""The cell store: finished cells on disk, keyed by a hash of their resolved config.

A *cell* is one fully resolved config (one scenario at one set of parameters) run for its
``replications`` seeded replications. Layout under a sweep's root directory::

    cells/<hash>/results.parquet   tidy table: scenario, replication, date, one column per metric
    cells/<hash>/config.json       the resolved config that was run
    cells/<hash>/cell.json         hash, scenario, seconds, rows kept ("horizon" or "series")

A cell directory is written under a temporary name and renamed into place, so a cell either
exists whole or not at all: killing a sweep loses at most the cells in flight, and a rerun
skips every cell whose hash is already there. The hash covers everything that changes the
numbers (world, model, scenario, policy, horizon, replications, seed) and nothing that does not
(the experiment preset, the comparison partner, the verdict threshold, Hydra's own settings).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import DictConfig, OmegaConf

# Keys of the root config that do not change a cell's numbers.
NOT_HASHED = ("experiment", "compare", "min_relative_effect", "hydra")
CELLS = "cells"


def cell_config(cfg: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """The resolved plain-dict config of a cell, without the keys that do not change its numbers."""
    container = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    return {k: v for k, v in container.items() if k not in NOT_HASHED}  # type: ignore[union-attr]


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 (first 16 hex digits) of a cell config's canonical JSON (sorted keys)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def temporary_name(key: str) -> str:
    """``.tmp-<hash>-<host>-<pid>-<random>``: unique across the hosts sharing a sweep directory."""
    host = socket.gethostname().replace("-", "_")
    return f".tmp-{key}-{host}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


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
        """Hashes of every finished cell."""
        if not self.cells.is_dir():
            return set()
        return {p.name for p in self.cells.iterdir() if (p / "cell.json").exists()}

    def write(self, key: str, table: pd.DataFrame, config: Mapping[str, Any], meta: Mapping[str, Any]) -> bool:
        """Write a finished cell atomically; False if an identical cell was already there.

        The files go into ``cells/.tmp-<hash>-<host>-<pid>-<random>/`` and the directory is renamed to
        ``cells/<hash>``; ``cell.json`` is written last, so a cell counts as done only when whole.
        """
        final = self.path(key)
        if self.has(key):
            return False
        self.cells.mkdir(parents=True, exist_ok=True)
        tmp = self.cells / temporary_name(key)
        tmp.mkdir()
        try:
            table.to_parquet(tmp / "results.parquet", index=False)
            # JSON, not YAML: a world's config is large, and PyYAML's representer costs ~0.1 s a cell
            (tmp / "config.json").write_text(json.dumps(dict(config), indent=1, default=str))
            (tmp / "cell.json").write_text(json.dumps({"hash": key, **meta}, indent=2, default=str))
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
        return pd.read_parquet(self.path(key) / "results.parquet")

    def meta(self, key: str) -> dict[str, Any]:
        return json.loads((self.path(key) / "cell.json").read_text())

    def config(self, key: str) -> dict[str, Any]:
        return json.loads((self.path(key) / "config.json").read_text())
