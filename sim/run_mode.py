"""Hydra's run mode read without composing the config a second time (hydra issue #3440).

Before it runs or sweeps, Hydra 1.3 (``hydra._internal.utils._run_hydra``) asks
``Hydra.get_mode`` for ``hydra.mode``, and ``get_mode`` composes the whole config to read that one
key, then throws the config away; ``run`` or ``multirun`` composes it again. Composing this
project's config with the 2018 world costs about half a second, a tenth of a headline run.

The mode a composition returns is the command line's ``hydra.mode=`` if it has one, else the one
a config file declares, else None (Hydra then runs, or sweeps under ``-m``). No config of this
project declares one (``tests/test_run_mode.py`` asks Hydra's own ``get_mode`` for every option
of every config group), so :func:`mode_without_composing` returns the command line's mode or None:
what the composition would return, without it. Wherever a config this project does not hold
could take part, it asks Hydra's own ``get_mode`` instead: a config directory or name of the
user's (``--config-path``, ``--config-dir``, ``--config-name``: a saved run's ``.hydra/``), any
other search path, an override of ``hydra.searchpath`` or of any Hydra key or group but the run's
and sweep's directories, the job's settings and the launcher's and sweeper's values, and an
override Hydra cannot parse (its own composition then reports it, as before).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hydra._internal.hydra import Hydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.types import RunMode

COMPOSED = Hydra.get_mode  # Hydra's own: composes the whole config

# Hydra keys an override may set without bringing in a config that could declare hydra.mode: values
# inside the run's and sweep's directories, the job, verbosity, and the launcher's and sweeper's
# packages (a value, not a group choice: hydra/launcher=NAME picks a file, which gets COMPOSED)
QUIET = ("hydra.run.", "hydra.sweep.", "hydra.job.", "hydra.launcher.", "hydra.sweeper.", "hydra.verbose",
         "hydra.output_subdir")


def mode_without_composing(hydra: Hydra, config_name: str | None, overrides: list[str], *,
                           config_dir: Path) -> Any:
    """``hydra.get_mode(config_name, overrides)`` (a :class:`RunMode` or None) without a composition
    where only ``config_dir``'s ``config`` and Hydra's own configs take part (the module docstring)."""
    sources = {(s.provider, s.path) for s in hydra.config_loader.get_sources()}
    ours = config_name == "config" and sources == {("hydra", "hydra.conf"), ("main", str(config_dir)), ("schema", "")}
    if not ours:
        return COMPOSED(hydra, config_name, overrides)
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException:
        return COMPOSED(hydra, config_name, overrides)
    mode = None
    for o in parsed:
        key = o.key_or_group
        if key == "hydra.mode" and not o.is_sweep_override() and o.value() in RunMode.__members__:
            mode = RunMode[o.value()]
        elif key.startswith("hydra") and not key.startswith(QUIET):
            return COMPOSED(hydra, config_name, overrides)
    return mode


@contextlib.contextmanager
def composing_once(config_dir: Path) -> Iterator[None]:
    """Within the block, Hydra reads the run mode by :func:`mode_without_composing` (for ``config_dir``)."""
    def get_mode(self: Hydra, config_name: str | None, overrides: list[str]) -> Any:
        return mode_without_composing(self, config_name, overrides, config_dir=config_dir)

    before = Hydra.get_mode
    Hydra.get_mode = get_mode  # type: ignore[method-assign]
    try:
        yield
    finally:
        Hydra.get_mode = before  # type: ignore[method-assign]
