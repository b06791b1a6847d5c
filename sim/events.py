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

from sim.config import month_index, month_name, parse_month
from sim.mechanisms.arrays import per_slice
from sim.world import World


def month_range(start: str, end: str) -> list[str]:
    """Every month from ``start`` to ``end`` inclusive, as ``YYYY-MM`` strings."""
    a = month_index(parse_month(start, "horizon", "start"))
    b = month_index(parse_month(end, "horizon", "end"))
    return [month_name(m) for m in range(a, b + 1)]


@dataclass(frozen=True)
class Event:
    """A compiled event: indices instead of codes.

    Additive and multiplicative changes are already scaled by the event's lever; ``scale`` is
    kept for the changes that set a level (affinity anchor, positions, war), which move ``scale``
    of the way from the current level to the new one.
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
    war: float | None = None  # the state's war level, set ``scale`` of the way
    positions: dict[int, float] = field(default_factory=dict)
    salience: dict[int, float] = field(default_factory=dict)
    joins: str | None = None  # a sanctions lever whose regime ``states`` join (``scale`` of the way)


@dataclass(frozen=True)
class Sanctions:
    """A sanctions regime: its lever, sender and target, the states that join it from its start
    (the sender and any ``scenario.participants``), first step and intensity."""

    lever: str
    sender: int
    target: int
    start: int  # first step at which the lever applies
    intensity: float | np.ndarray  # or one per slice (shape (S,)) in a stack
    participants: tuple[int, ...] = ()


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
    trends: int | None = None  # step of the capability trends' first month (negative: before the horizon), None: never

    def trend_months(self, step: int) -> int:
        """Months the capability trends have run at ``step`` (1 in their first month; 0 before it or without them)."""
        return 0 if self.trends is None else max(0, step - self.trends + 1)

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
    merge([s.trends for s in schedules], "the capability trends' start")
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
    return Schedule(first.dates, events, outreach, sanctions, first.trends)


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
        for states in event_states(e, world):
            ev = Event(
                step=step,
                name=str(e.name),
                states=states,
                scale=scale,
                affinity=None if e.affinity is None else float(e.affinity),
                complementarity=scale * float(e.complementarity or 0.0),
                returns=scale * float(e.returns or 0.0),
                budget=1.0 + scale * (float(e.budget) - 1.0) if e.budget is not None else 1.0,
                outside_option=(1.0 + scale * (float(e.outside_option) - 1.0) if e.outside_option is not None
                                else 1.0),
                war=None if _get(e, "war") is None else float(e.war),
                positions={world.issues.index(k): float(v) for k, v in e.positions.items()},
                salience={world.issues.index(k): float(v) for k, v in _items(e, "salience")},
                joins=None if _get(e, "joins") is None else str(e.joins),
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
    joined = _get(scenario, "participants") or {}
    sanctions = tuple(
        Sanctions(lever, sender, target, _step_of(str(starts[lever]), dates), float(policy[lever]),
                  participants=tuple(dict.fromkeys([sender, *(world.index(c) for c in joined.get(lever, ()))])))
        for lever, (sender, target) in roles.sanctions.items()
    )
    trends = _get(scenario, "capability_trends")
    if trends is not None:  # the step of the trends' first month, negative before the horizon (months still count)
        trends = month_index(parse_month(str(trends), "scenario", "scenario.capability_trends")) \
            - month_index(parse_month(str(horizon.start), "horizon", "horizon.start"))
    return Schedule(tuple(dates), {k: tuple(v) for k, v in events.items()}, outreach, sanctions, trends)


def _get(node: Any, key: str) -> Any:
    """``node[key]``, or None where an older saved config lacks the key."""
    try:
        return node[key]
    except (KeyError, AttributeError):
        return None


def _items(node: Any, key: str) -> list[tuple[str, Any]]:
    value = _get(node, key)
    return list(value.items()) if value else []


def event_states(e: Any, world: World) -> list[tuple[int, ...]]:
    """The state indices each compiled event of scenario event ``e`` applies to, groups expanded.

    A state change or a join: one event per state (the members of a group, in order). A pair
    change between two entries: every pair (a, b) with a from the first and b from the second,
    a != b, each unordered pair once; a pair change naming one group: every pair within it.
    """
    def members(code: str) -> tuple[int, ...]:
        return world.groups[code] if code in world.groups else (world.index(code),)

    entries = [members(str(c)) for c in e.states]
    pair = any(e[f] is not None for f in ("affinity", "complementarity", "returns"))
    if not pair:
        return [(i,) for group in entries for i in group]
    if len(entries) == 1:
        group = entries[0]
        return [(a, b) for k, a in enumerate(group) for b in group[k + 1:]]
    seen: set[frozenset[int]] = set()
    out = []
    for a in entries[0]:
        for b in entries[1]:
            if a != b and frozenset((a, b)) not in seen:
                seen.add(frozenset((a, b)))
                out.append((a, b))
    return out


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


def sanctions_penalty(tie: np.ndarray, participation: np.ndarray, target: int, intensity: float | np.ndarray,
                      cost: float | np.ndarray, exposure: float | np.ndarray = 1.0) -> np.ndarray:
    """Secondary-sanctions cost on the value of the target, with participation pi in [0, 1]:

        P[k, target] = s * cost * (pi_k + (1 - pi_k) * e * min(1, sum_m T[k, m] pi_m))

    a participant cuts (pays the whole cost), a non-participant pays ``exposure`` e of it per unit
    of its ties to the participants; zero elsewhere and for the target itself. With the sender
    the only participant and e = 1 this is the sender-only rule s * cost * (T[k, sender] +
    1[k = sender]), to the last bit. ``tie`` may be a stack (R, N, N), ``participation`` (N,) or
    (R, N), and ``intensity``, ``cost`` and ``exposure`` one per slice (shape (R,)).
    """
    exposed = np.minimum(1.0, tie @ participation[..., :, None])[..., 0]  # one matmul per slice either way
    exposure_k = participation + (1.0 - participation) * per_slice(exposure, 1) * exposed
    out = np.zeros_like(tie)
    out[..., :, target] = per_slice(np.multiply(intensity, cost), 1) * exposure_k
    out[..., target, target] = 0.0
    return out


def participation_vector(n: int, participants: tuple[int, ...]) -> np.ndarray:
    """pi: 1 for each participant of a regime, 0 elsewhere, shape (N,)."""
    pi = np.zeros(n)
    pi[list(participants)] = 1.0
    return pi


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
    salience: np.ndarray
    participation: dict[str, np.ndarray] = field(default_factory=dict)  # sanctions lever -> pi, (N,) or (S, N)
    war: np.ndarray | None = None  # each state's war level in [0, 1], (N,) or (S, N); None: 0 everywhere

    def __post_init__(self) -> None:
        if self.war is None:
            self.war = np.zeros(self.outside_option.shape[-1])

    @classmethod
    def from_world(cls, world: World, sanctions: Sequence[Sanctions] = ()) -> Conditions:
        return cls(
            anchor=world.affinity.copy(),
            complementarity=world.complementarity.copy(),
            returns=world.returns.copy(),
            budget_factor=np.ones(world.n),
            outside_option=world.outside_option.copy(),
            positions=world.positions.copy(),
            salience=world.salience.copy(),
            participation={x.lever: participation_vector(world.n, x.participants) for x in sanctions},
            war=np.zeros(world.n),
        )


def apply_event(c: Conditions, e: Event) -> None:
    """Apply one event in place: pair changes to both directions, state changes to one row.

    affinity moves the anchor (affinities then drift toward it), positions, salience and a
    state's war level move, each by ``scale`` of the way to the new level (a salience change
    rescales the state's other weights to keep the row's sum at 1); a join moves the joiner's
    participation in the regime ``scale`` of the way to 1; complementarity and returns are added
    and floored at 0; budget and outside_option multiply. With the event's numbers one per slice (shape (S,)),
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
    elif e.joins is not None:
        (i,) = e.states
        pi = c.participation[e.joins]
        c.participation[e.joins] = _set(pi, (i,), pi[..., i] + e.scale * (1.0 - pi[..., i]), core=1)
    else:
        (i,) = e.states
        for k, v in e.salience.items():
            c.salience = _set_salience(c.salience, i, k, c.salience[..., i, k] + e.scale * (v - c.salience[..., i, k]))
        c.budget_factor = _set(c.budget_factor, (i,), c.budget_factor[..., i] * e.budget, core=1)
        c.outside_option = _set(c.outside_option, (i,), c.outside_option[..., i] * e.outside_option, core=1)
        if e.war is not None:
            c.war = _set(c.war, (i,), c.war[..., i] + e.scale * (e.war - c.war[..., i]), core=1)
        for k, v in e.positions.items():
            c.positions = _set(c.positions, (i, k), c.positions[..., i, k] + e.scale * (v - c.positions[..., i, k]),
                               core=2)


def _set_salience(salience: np.ndarray, i: int, k: int, value: Any) -> np.ndarray:
    """A copy of ``salience`` with state i's weight on issue k set to ``value`` and its other weights
    rescaled to sum 1 - value (shared equally if they were all 0); with ``value`` one per slice
    (shape (S,)) the result gets the stack axis."""
    value = np.asarray(value, dtype=float)
    if value.ndim > salience.ndim - 2:
        salience = np.broadcast_to(salience, (*value.shape, *salience.shape[-2:])).copy()
    else:
        salience = salience.copy()
    row = salience[..., i, :]  # a view: writing it writes salience
    shape = np.broadcast_shapes(row.shape[:-1], value.shape)
    rest = np.broadcast_to(1.0 - row[..., k], shape)
    others = [j for j in range(row.shape[-1]) if j != k]
    scale = np.divide(1.0 - value, rest, out=np.zeros(shape), where=rest > 0)
    row[..., others] = np.where((rest > 0)[..., None], row[..., others] * scale[..., None],
                                ((1.0 - value) / len(others))[..., None])
    row[..., k] = value
    return salience


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
