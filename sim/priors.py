"""Priors: what is believed about every number of the model before history is consulted.

Mechanism parameters carry their prior beside their default in the schema
(:class:`sim.config.Prior` in each field's :class:`sim.config.ParamSpec`; :func:`mechanism_priors`).
The ~480 numbers of a world file and the magnitudes of a scenario's events are too many to
judge one by one: they get a prior by one rule (:func:`world_priors`, :func:`event_priors`),
readable by code as a table:

- a number **computed** from ``../shared/data`` (a state's ``capability``, CINC 2016; its
  ``budget``, sqrt(CINC / CINC_RUS); its ``us_alignment`` position, the rescaled UNGA ideal
  point) is known to within rounding and the data's own error: uniform on
  value x (1 -/+ :data:`COMPUTED_BAND`), or value -/+ :data:`COMPUTED_BAND` for a position;
- a state's ``capability_trend`` (annual log-growth of CINC, the OLS slope over 2000-2016) is computed
  too, but its error is the slope's and the extrapolation's: value -/+ :data:`TREND_BAND` (the LNA's,
  Libya's, is marked approximate and counted recalled, with the same band); drawn after every other number,
  so that a seed draws the others as it did before the trends existed;
- every other number is **recalled** (the world file marks them "approximate"; a capability
  the state's source calls approximate, as the LNA's, is one): uniform on value -/+ the larger
  of :data:`RECALLED_BAND` x |value| and the field's absolute floor (:data:`FLOORS`: a value
  near 0 is as uncertain as one of the field's typical size), clipped to the field's valid range;
- an event's magnitude (every one is approximate, ``configs/scenario/history.yaml``): an
  affinity anchor or position set to a level gets the recalled band around that level; an
  addition (complementarity, returns) the recalled band around the addition; a factor f
  (budget, outside option) the recalled band around its change f - 1 (so a factor of 1 stays
  1); a salience share the recalled band, clipped to [0, 1).

Drawing from them (:func:`draw_values`, :func:`draw_configs`): every row uniform on its [low, high]
(a computed number keeps its narrow band), applied to a copy of the config by the row's key path
(:func:`set_values`). The calibration (:mod:`sim.calibrate`, ``experiment.calibration.worlds``)
steps its stacks in worlds and history schedules drawn so, integrating over them as nuisance
uncertainty: world numbers and event magnitudes are not fitted.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.config import Prior, numeric_parameters, parameter_spec

COMPUTED_BAND = 0.02  # relative half-width of a number computed from data (rounding, the data's own error)
# Absolute half-width of a capability trend (annual log-growth): the widest 95% interval of the 2000-2016 OLS
# slopes of the world's states (0.0025-0.02 a year, median 0.0055; Libya's 0.020), and the trend is an
# extrapolation beyond the data
TREND_BAND = 0.02
RECALLED_BAND = 0.25  # relative half-width of a recalled ("approximate") number
# Absolute floor of a recalled number's half-width, and its valid range, per field
FLOORS: dict[str, tuple[float, float, float]] = {
    "capability": (0.0002, 1e-9, 1.0),
    "budget": (0.02, 1e-9, float("inf")),
    "outside_option": (0.05, 0.0, float("inf")),
    "position": (0.1, -1.0, 1.0),
    "salience": (0.1, 0.0, float("inf")),
    "commitment": (0.02, 0.0, 1.0),
    "affinity": (0.1, -1.0, 1.0),
    "complementarity": (0.05, 0.0, float("inf")),
    "returns": (0.05, 0.0, float("inf")),
    "event_affinity": (0.1, -1.0, 1.0),
    "event_addition": (0.02, -float("inf"), float("inf")),
    "event_factor": (0.05, 0.0, float("inf")),
    "event_position": (0.1, -1.0, 1.0),
    "event_salience": (0.05, 0.0, 1.0 - 1e-9),
}
COLUMNS = ("key", "value", "shape", "low", "high", "rule")


def mechanism_priors(own: Mapping[str, Prior] | None = None) -> dict[str, Prior]:
    """The prior of every numeric mechanism parameter, by ``model.mechanisms.<group>.<key>``: the
    schema's, or the one ``own`` gives (``experiment.priors``, checked by
    :func:`sim.config.prior_settings`)."""
    own = own or {}
    out = {}
    for key in numeric_parameters():
        prior = own.get(key) or parameter_spec(key).prior
        if prior is None:
            raise KeyError(f"{key} declares no prior (sim.config.param(..., prior=Prior(...)))")
        out[key] = prior
    return out


def recalled(value: float, field: str) -> tuple[float, float]:
    """The recalled band of ``value`` in ``field`` (:data:`FLOORS`), clipped to the field's range."""
    floor, lo, hi = FLOORS[field]
    half = max(RECALLED_BAND * abs(value), floor)
    return max(lo, value - half), min(hi, value + half)


def computed(value: float, *, absolute: bool = False) -> tuple[float, float]:
    """The computed band of ``value``: relative, or absolute for a position on [-1, 1]."""
    half = COMPUTED_BAND if absolute else COMPUTED_BAND * abs(value)
    low, high = value - half, value + half
    return (max(-1.0, low), min(1.0, high)) if absolute else (low, high)


def _row(key: str, value: float, band: tuple[float, float], rule: str) -> dict[str, Any]:
    return {"key": key, "value": float(value), "shape": "uniform", "low": band[0], "high": band[1], "rule": rule}


def world_priors(world: Any) -> pd.DataFrame:
    """One row per number of a table world (:data:`COLUMNS`): its key, value, prior and which rule gave it."""
    rows = []
    for code, s in world.states.items():
        source = str(s.source)
        key = f"world.states.{code}"
        cinc = "CINC" in source and "capability: approximate" not in source
        for name in ("capability", "budget"):
            value = float(s[name])
            rows.append(_row(f"{key}.{name}", value, computed(value) if cinc else recalled(value, name),
                             "computed" if cinc else "recalled"))
        rows.append(_row(f"{key}.outside_option", float(s.outside_option), recalled(float(s.outside_option),
                                                                                    "outside_option"), "recalled"))
        for i, p in enumerate(s.positions):
            unga = i == 0 and "UNGA ideal point" in source
            rows.append(_row(f"{key}.positions[{i}]", float(p), computed(float(p), absolute=True) if unga
                             else recalled(float(p), "position"), "computed" if unga else "recalled"))
        for i, p in enumerate(s.salience):
            rows.append(_row(f"{key}.salience[{i}]", float(p), recalled(float(p), "salience"), "recalled"))
    for n, t in enumerate(world.commitments):
        rows.append(_row(f"world.commitments[{n}].commitment", float(t.commitment),
                         recalled(float(t.commitment), "commitment"), "recalled"))
    for group, name in (("affinities", "affinity"), ("complementarity", "complementarity"), ("returns", "returns")):
        for n, p in enumerate(world[group]):
            rows.append(_row(f"world.{group}[{n}].value", float(p.value), recalled(float(p.value), name), "recalled"))
    # the capability trends last: draw() draws them after everything else, so that adding them left every
    # other number's draw from a seed as it was
    for code, s in world.states.items():
        trend = float(getattr(s, "capability_trend", 0.0))
        rows.append(_row(f"world.states.{code}.capability_trend", trend, (trend - TREND_BAND, trend + TREND_BAND),
                         "recalled" if "capability_trend: approximate" in str(s.source) else "computed"))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def event_priors(scenario: Any) -> pd.DataFrame:
    """One row per magnitude of a scenario's events (:data:`COLUMNS`), all recalled (see the module docstring)."""
    rows = []
    for n, e in enumerate(scenario.events):
        key = f"scenario.events[{n}]"
        if e.affinity is not None:
            rows.append(_row(f"{key}.affinity", e.affinity, recalled(float(e.affinity), "event_affinity"), "recalled"))
        for f in ("complementarity", "returns"):
            if e[f] is not None:
                rows.append(_row(f"{key}.{f}", e[f], recalled(float(e[f]), "event_addition"), "recalled"))
        for f in ("budget", "outside_option"):
            if e[f] is not None:
                lo, hi = recalled(float(e[f]) - 1.0, "event_addition")
                floor = FLOORS["event_factor"][1]
                rows.append(_row(f"{key}.{f}", e[f], (max(floor, 1.0 + lo), 1.0 + hi), "recalled"))
        for issue, value in e.positions.items():
            rows.append(_row(f"{key}.positions.{issue}", value, recalled(float(value), "event_position"), "recalled"))
        for issue, value in e.salience.items():
            rows.append(_row(f"{key}.salience.{issue}", value, recalled(float(value), "event_salience"), "recalled"))
    return pd.DataFrame(rows, columns=list(COLUMNS))


# ------------------------------------------------------------------ drawing a world and its events

MAX_REDRAWS = 100  # draws of one world the validation may refuse before draw_configs gives up
_PATH = re.compile(r"([^.\[\]]+)|\[(\d+)\]")  # a key path's parts: names and [index]


def draw_values(table: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """One draw of every row of a prior table (:data:`COLUMNS`, every row ``uniform``, the only shape
    the rules give): ``low + u (high - low)``, u ~ U[0, 1) from ``rng``, one per row in order.
    A row with ``low == high`` gives its value."""
    if (table["shape"] != "uniform").any():
        raise ValueError(f"draw_values draws uniform rows, not {sorted(set(table['shape']) - {'uniform'})}")
    low, high = table["low"].to_numpy(dtype=float), table["high"].to_numpy(dtype=float)
    # the clip guards float rounding at the ends only: u < 1 puts every value inside [low, high]
    return np.clip(low + rng.random(len(table)) * (high - low), low, high)


def key_parts(key: str) -> list[str | int]:
    """``world.states.RUS.positions[0]`` -> ``["world", "states", "RUS", "positions", 0]``."""
    return [name if name else int(index) for name, index in _PATH.findall(key)]


def set_values(cfg: Any, values: Mapping[str, float]) -> Any:
    """A copy of the config ``cfg`` (a DictConfig) with each key path of ``values`` (a row key of
    :func:`world_priors` or :func:`event_priors`) set to its number; ``cfg`` is left as it was.
    A key ``cfg`` does not hold is a KeyError (setting it would add a number the model never reads)."""
    out = copy.deepcopy(cfg)
    for key, value in values.items():
        node: Any = out
        parts = key_parts(key)
        try:
            for part in parts[:-1]:
                node = node[part]
            node[parts[-1]]  # it must exist
        except (KeyError, IndexError, AttributeError) as e:
            raise KeyError(f"{key}: not a number of the config") from e
        node[parts[-1]] = float(value)
    return out


def _event_identity(scenario: Any, key: str) -> tuple[Any, ...]:
    """What makes a row of :func:`event_priors` the same magnitude in two scenarios: the event's date,
    name and states, and the field (``scenario.events[n].<field>``)."""
    index, field = re.fullmatch(r"scenario\.events\[(\d+)\]\.(.+)", key).groups()  # type: ignore[union-attr]
    e = scenario.events[int(index)]
    return str(e.date), str(e.name), tuple(str(c) for c in e.states), field


def draw_configs(cfgs: Sequence[Any], rng: np.random.Generator) -> list[Any]:
    """One draw of the world and the events from their priors, for configs of one world: copies of
    ``cfgs`` (validated DictConfigs with the same ``world``, e.g. the history scenario, its control
    and a treatment) sharing one drawn world (every row of :func:`world_priors`), each scenario's
    event magnitudes drawn (:func:`event_priors`). An event two scenarios share (the same date,
    name, states and field) gets the same prior quantile in both, so a paired comparison differs
    only by what one scenario adds. Every row uniform on its [low, high] (:func:`draw_values`:
    first the world's rows, then one quantile per distinct event magnitude in order of appearance).

    A draw :func:`sim.config.validate` refuses (a state whose drawn commitment shares sum above 1:
    the band of each share is the rule's, their sum is not bounded by it) is drawn again from
    ``rng``: the prior restricted to valid worlds, never clipped. ValueError after
    :data:`MAX_REDRAWS` refusals. (:class:`ConfigPrior` reads the priors once for many draws.)"""
    return ConfigPrior.of(cfgs).draw(rng)


@dataclass(frozen=True)
class ConfigPrior:
    """The priors of the world and the events of configs of one world, read once
    (:meth:`of`); :meth:`draw` is :func:`draw_configs`."""

    cfgs: tuple[Any, ...]
    world: pd.DataFrame  # world_priors of the shared world
    events: tuple[pd.DataFrame, ...]  # event_priors of each config's scenario
    identities: tuple[tuple[tuple[Any, ...], ...], ...]  # each event row's identity (_event_identity)
    distinct: tuple[tuple[Any, ...], ...]  # the identities, each once, in order of appearance

    @classmethod
    def of(cls, cfgs: Sequence[Any]) -> ConfigPrior:
        from omegaconf import OmegaConf

        first = OmegaConf.to_container(cfgs[0].world, resolve=True)
        if any(OmegaConf.to_container(c.world, resolve=True) != first for c in cfgs[1:]):
            raise ValueError("draw_configs draws one world for configs of the same world; these differ")
        events = tuple(event_priors(c.scenario) for c in cfgs)
        identities = tuple(tuple(_event_identity(c.scenario, k) for k in t["key"])
                           for c, t in zip(cfgs, events, strict=True))
        return cls(tuple(cfgs), world_priors(cfgs[0].world), events, identities,
                   tuple(dict.fromkeys(i for ids in identities for i in ids)))

    def draw(self, rng: np.random.Generator) -> list[Any]:
        from sim.config import ConfigError, validate

        refused = ""
        trends = self.world["key"].str.endswith(".capability_trend").to_numpy()
        world, later = self.world[~trends], self.world[trends]
        for _ in range(MAX_REDRAWS):
            values = dict(zip(world["key"], draw_values(world, rng), strict=True))
            quantile = dict(zip(self.distinct, rng.random(len(self.distinct)), strict=True))
            values |= dict(zip(later["key"], draw_values(later, rng), strict=True))
            out = []
            for cfg, table, ids in zip(self.cfgs, self.events, self.identities, strict=True):
                low, high = table["low"].to_numpy(dtype=float), table["high"].to_numpy(dtype=float)
                u = np.array([quantile[i] for i in ids])
                drawn = np.clip(low + u * (high - low), low, high)
                out.append(set_values(cfg, {**values, **dict(zip(table["key"], drawn, strict=True))}))
            try:
                for c in out:
                    validate(c)
            except ConfigError as e:
                refused = str(e)
                continue
            return out
        raise ValueError(f"{MAX_REDRAWS} draws of the world in a row were invalid (the last: {refused}): the "
                         "priors put almost no weight on a valid world")


def draw_config(cfg: Any, rng: np.random.Generator) -> Any:
    """A copy of the validated config ``cfg`` with its world and its scenario's event magnitudes drawn
    from their priors (:func:`draw_configs` of one config)."""
    return draw_configs([cfg], rng)[0]
