"""Dated scenario events and policy drivers (outreach, sanctions).

A scenario compiles into a :class:`Schedule`: one date per monthly step, the events of each
step, and the drivers with their start step and intensity. Driver effects are pure functions.

Schedules of the same scenario under different lever levels combine into one schedule for a
stack (:func:`stack_schedules`): a lever level, and every change an event scales by it, is then
one value per slice (shape (S,)), and the conditions events change get the stack axis when an
event first gives them different values by slice. An event scaled by a lever at 0 changes
nothing in that slice (it adds 0, multiplies by 1, moves 0 of the way).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.config import month_index, parse_month
from sim.mechanisms.arrays import per_slice
from sim.world import World


def month_range(start: str, end: str) -> list[str]:
    """Every month from ``start`` to ``end`` inclusive, as ``YYYY-MM`` strings."""
    a = month_index(parse_month(start, "horizon", "start"))
    b = month_index(parse_month(end, "horizon", "end"))
    return [f"{m // 12}-{m % 12 + 1:02d}" for m in range(a, b + 1)]


@dataclass(frozen=True)
class Event:
    """A compiled event: indices instead of codes.

    Additive and multiplicative changes are already scaled by the event's lever; ``scale`` is
    kept for the changes that set a level (affinity anchor, positions), which move ``scale`` of
    the way from the current level to the new one.
    """

    step: int
    name: str
    states: tuple[int, ...]
    scale: float | np.ndarray = 1.0  # numeric fields: floats, or one per slice (shape (S,)) in a stack
    affinity: float | None = None
    complementarity: float | np.ndarray = 0.0
    returns: float | np.ndarray = 0.0
    budget: float | np.ndarray = 1.0
    outside_option: float | np.ndarray = 1.0
    positions: dict[int, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Sanctions:
    lever: str
    sender: int
    target: int
    start: int  # first step at which the lever applies
    intensity: float | np.ndarray  # or one per slice (shape (S,)) in a stack


@dataclass(frozen=True)
class Outreach:
    actor: int
    targets: tuple[int, ...]
    start: int
    intensity: float | np.ndarray


@dataclass(frozen=True)
class Schedule:
    dates: tuple[str, ...]
    events: dict[int, tuple[Event, ...]]
    outreach: Outreach
    sanctions: tuple[Sanctions, ...]

    def outreach_intensity(self, step: int) -> float | np.ndarray:
        return self.outreach.intensity if step >= self.outreach.start else 0.0

    def sanctions_intensity(self, s: Sanctions, step: int) -> float | np.ndarray:
        return s.intensity if step >= s.start else 0.0


def stack_schedules(schedules: Sequence[Schedule]) -> Schedule:
    """One schedule for a stack whose slice s runs ``schedules[s]``: the same scenario, horizon and
    roles under lever levels that may differ by slice.

    Each number that differs by slice (a lever's intensity, an event's scale and the changes it
    scales) becomes an array of shape (S,); equal numbers stay floats. Schedules must agree in
    everything else (dates, which events fall in which month and what they set, driver starts and
    roles): a ValueError names the first difference. Compile them with ``keep_unscaled=True`` so
    that an event scaled by a lever at 0 is kept (as a no-op) in every slice.
    """
    first = schedules[0]

    def merge(values: list[Any], where: str) -> Any:
        if all(same_value(v, values[0]) for v in values):
            return values[0]
        if all(isinstance(v, float) for v in values):
            return np.array(values)
        other = next(v for v in values if not same_value(v, values[0]))
        raise ValueError(f"schedules differ in {where}: {values[0]!r} against {other!r}; "
                         "only lever levels may differ within a stack")

    def merge_record(records: list[Any], where: str) -> Any:
        return dataclasses.replace(records[0], **{
            f.name: merge([getattr(r, f.name) for r in records], f"{where}.{f.name}")
            for f in dataclasses.fields(records[0])})

    merge([s.dates for s in schedules], "dates")
    merge([sorted(s.events) for s in schedules], "the months with events")
    events = {}
    for step, evs in first.events.items():
        columns = [s.events[step] for s in schedules]
        merge([len(c) for c in columns], f"the number of events in month {step}")
        events[step] = tuple(merge_record([c[k] for c in columns], f"event {evs[k].name!r}") for k in range(len(evs)))
    outreach = merge_record([s.outreach for s in schedules], "outreach")
    merge([len(s.sanctions) for s in schedules], "the number of sanctions levers")
    sanctions = tuple(merge_record([s.sanctions[k] for s in schedules], f"sanctions {x.lever}")
                      for k, x in enumerate(first.sanctions))
    return Schedule(first.dates, events, outreach, sanctions)


def same_value(a: Any, b: Any) -> bool:
    """Two values of a schedule are the same: lever levels (floats, or one per slice) or any other field."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(a, b))
    return bool(a == b)


def _step_of(date: str, dates: list[str]) -> int:
    """Step of a month; months before the horizon map to step 0 (already in force), months after
    it to ``len(dates)`` (never reached)."""
    if date in dates:
        return dates.index(date)
    return 0 if date < dates[0] else len(dates)


def events_after(scenario: Any, horizon: Any) -> list[str]:
    """``name (date)`` of each scenario event dated after ``horizon.end``: not part of a run."""
    dates = month_range(horizon.start, horizon.end)
    return [f"{e.name} ({e.date})" for e in scenario.events if _step_of(str(e.date), dates) == len(dates)]


def build_schedule(scenario: Any, policy: Any, horizon: Any, world: World, *, keep_unscaled: bool = False
                   ) -> Schedule:
    """Compile a validated scenario and policy into a :class:`Schedule` for ``world``.

    An event scaled by a lever at 0 changes nothing and is left out, unless ``keep_unscaled``
    (schedules meant for :func:`stack_schedules`, whose slices must list the same events).
    """
    dates = month_range(horizon.start, horizon.end)
    events: dict[int, list[Event]] = {}
    for e in scenario.events:
        scale = float(policy[e.scale_with]) if e.scale_with else 1.0
        if scale == 0.0 and not keep_unscaled:
            continue
        step = _step_of(str(e.date), dates)
        if step == len(dates):  # after the horizon: not part of this run
            continue
        ev = Event(
            step=step,
            name=str(e.name),
            states=tuple(world.index(c) for c in e.states),
            scale=scale,
            affinity=None if e.affinity is None else float(e.affinity),
            complementarity=scale * float(e.complementarity or 0.0),
            returns=scale * float(e.returns or 0.0),
            budget=1.0 + scale * (float(e.budget) - 1.0) if e.budget is not None else 1.0,
            outside_option=1.0 + scale * (float(e.outside_option) - 1.0) if e.outside_option is not None else 1.0,
            positions={world.issues.index(k): float(v) for k, v in e.positions.items()},
        )
        events.setdefault(step, []).append(ev)
    roles = world.roles
    starts = scenario.drivers
    outreach = Outreach(
        actor=roles.outreach_actor,
        targets=roles.outreach_targets,
        start=_step_of(str(starts.outreach), dates),
        intensity=float(policy.outreach),
    )
    sanctions = tuple(
        Sanctions(lever, sender, target, _step_of(str(starts[lever]), dates), float(policy[lever]))
        for lever, (sender, target) in roles.sanctions.items()
    )
    return Schedule(tuple(dates), {k: tuple(v) for k, v in events.items()}, outreach, sanctions)


# ----------------------------------------------------------------- driver effects


def outreach_premium(n: int, actor: int, targets: tuple[int, ...], intensity: float | np.ndarray,
                     premium: float | np.ndarray) -> np.ndarray:
    """Value the outreach driver adds: O[actor, j] = premium * intensity for each target j, else 0.

    This is Russia's strategic intent (its own valuation of the new partners); whether the
    targets reciprocate, and what it costs the old partner, is left to the other mechanisms.
    (N, N), or (S, N, N) when the premium or the intensity is one per slice (shape (S,)).
    """
    size = np.multiply(premium, intensity)
    out = np.zeros((*np.shape(size), n, n))
    out[..., actor, list(targets)] = per_slice(size, 1)
    return out


def sanctions_penalty(tie: np.ndarray, sender: int, target: int, intensity: float, cost: float) -> np.ndarray:
    """Secondary-sanctions cost on the value of the target:

        P[k, target] = s * cost * (T[k, sender] + 1[k = sender])

    every state pays to deal with the target in proportion to its tie to the sender (the
    sender itself pays fully); zero elsewhere. ``tie`` may be a stack (R, N, N) of replications,
    and ``intensity`` and ``cost`` one per slice (shape (R,)).
    """
    exposure = tie[..., :, sender].copy()
    exposure[..., sender] += 1.0
    out = np.zeros_like(tie)
    out[..., :, target] = per_slice(np.multiply(intensity, cost), 1) * exposure
    out[..., target, target] = 0.0
    return out


def sanctions_factor(n: int, target: int, intensity: float | np.ndarray, cut: float | np.ndarray) -> np.ndarray:
    """Multiplier on a per-state quantity: 1 - s * cut for the target, 1 elsewhere.

    Shape (N,), or (S, N) when the intensity or the cut is one per slice (shape (S,)).
    """
    size = np.multiply(intensity, cut)
    f = np.ones((*np.shape(size), n))
    f[..., target] = 1.0 - size
    return f


# ---------------------------------------------------------------------- events


@dataclass
class Conditions:
    """The parts of the world that events change, as the model's working copies."""

    anchor: np.ndarray
    complementarity: np.ndarray
    returns: np.ndarray
    budget_factor: np.ndarray
    outside_option: np.ndarray
    positions: np.ndarray

    @classmethod
    def from_world(cls, world: World) -> Conditions:
        return cls(
            anchor=world.affinity.copy(),
            complementarity=world.complementarity.copy(),
            returns=world.returns.copy(),
            budget_factor=np.ones(world.n),
            outside_option=world.outside_option.copy(),
            positions=world.positions.copy(),
        )


def apply_event(c: Conditions, e: Event) -> None:
    """Apply one event in place: pair changes to both directions, state changes to one row.

    affinity moves the anchor (affinities then drift toward it) and positions move, each by
    ``scale`` of the way to the new level; complementarity and returns are added and floored at
    0; budget and outside_option multiply. With the event's numbers one per slice (shape (S,)),
    a condition it changes gets the stack axis (S, ...) and each slice its own change.
    """
    if len(e.states) == 2:
        i, j = e.states
        if e.affinity is not None:
            new = c.anchor[..., i, j] + e.scale * (e.affinity - c.anchor[..., i, j])
            c.anchor = _set_pair(c.anchor, i, j, new)
        for name, delta in (("complementarity", e.complementarity), ("returns", e.returns)):
            arr = getattr(c, name)
            setattr(c, name, _set_pair(arr, i, j, np.maximum(0.0, arr[..., i, j] + delta)))
    else:
        (i,) = e.states
        c.budget_factor = _set(c.budget_factor, (i,), c.budget_factor[..., i] * e.budget, core=1)
        c.outside_option = _set(c.outside_option, (i,), c.outside_option[..., i] * e.outside_option, core=1)
        for k, v in e.positions.items():
            c.positions = _set(c.positions, (i, k), c.positions[..., i, k] + e.scale * (v - c.positions[..., i, k]),
                               core=2)


def _set(arr: np.ndarray, index: tuple[int, ...], value: Any, *, core: int) -> np.ndarray:
    """``arr[..., index] = value``, first giving ``arr`` the stack axis if ``value`` is one per slice."""
    if np.ndim(value) > arr.ndim - core:
        arr = np.broadcast_to(arr, (*np.shape(value), *arr.shape[arr.ndim - core:])).copy()
    arr[(..., *index)] = value
    return arr


def _set_pair(arr: np.ndarray, i: int, j: int, value: Any) -> np.ndarray:
    """Both directions of a symmetric pair: ``arr[..., i, j] = arr[..., j, i] = value``."""
    arr = _set(arr, (i, j), value, core=2)
    arr[..., j, i] = value
    return arr
