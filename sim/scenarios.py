"""Scenarios that include scenarios: ``scenario.include`` brings other scenarios' events in.

A scenario file of ``configs/scenario/`` may list other scenarios (by file name) under
``scenario.include``. :func:`expand` replaces the list by their events, in order and depth first,
before the scenario's own; each file comes in once however often it is included (so
``history`` can include ``us_sanctions`` and a scenario that includes it too), and a cycle is an
error. Only events are taken: levers' start months (``drivers``), ``participants`` and the
``policy`` stay the including scenario's own, so it says itself when each lever applies.

Expansion writes the events into the config (and the names into ``scenario.parts``), so the
config a run saves, hashes and reruns holds every event it ran, whatever the included files
become later.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from sim.config import ConfigError, ScenarioConfig


def expand(cfg: DictConfig, directory: Path, file: str = "scenario config") -> DictConfig:
    """Bring the events of ``cfg.scenario.include`` (files of ``directory/scenario``) into ``cfg``, in place.

    Returns ``cfg``. A no-op when nothing is included (an expanded config stays as it is). Raises
    a ConfigError naming ``file`` and the include entry for an unknown scenario or a cycle.
    """
    scenario = cfg.scenario
    if not len(scenario.get("include", [])):
        return cfg
    parts: list[str] = []
    events: list[Any] = []
    _collect(list(scenario.include), directory, file, "scenario.include", parts, events, chain=(str(scenario.name),))
    with open_dict(cfg):
        scenario.events = [*events, *scenario.events]
        scenario.parts = [*parts]
        scenario.include = []
    return cfg


def _collect(names: list[str], directory: Path, file: str, key: str, parts: list[str], events: list[Any],
             chain: tuple[str, ...]) -> None:
    """Events of each named scenario (its includes first), each file once, into ``events``."""
    available = sorted(p.stem for p in (directory / "scenario").glob("*.yaml"))
    for i, name in enumerate(names):
        if name in chain:
            raise ConfigError(file, f"{key}[{i}]", name, f"a scenario that does not include itself "
                              f"(cycle: {' -> '.join([*chain, name])})")
        if name not in available:
            raise ConfigError(file, f"{key}[{i}]", name, f"one of {', '.join(available)}")
        if name in parts:
            continue
        path = directory / "scenario" / f"{name}.yaml"
        node = OmegaConf.merge(OmegaConf.structured(ScenarioConfig), OmegaConf.load(path).get("scenario", {}))
        _collect(list(node.include), directory, str(path), "scenario.include", parts, events, (*chain, name))
        parts.append(name)
        events.extend(node.events)
