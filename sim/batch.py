"""The stacked runner: S runs stepped together by the one monthly step (:class:`sim.step.Month`).

A replication of the 2018 world is ~100 numpy calls a month on 13 x 13 matrices, and at that
size a call costs about the same whatever its size: the per-call overhead, not the arithmetic,
sets the speed of one run. This runner steps S runs at once, run s in slice s of (S, N, N) and
(S, N) arrays, so the overhead is paid once a month for all S.

The slices may be the R replications of one cell, or runs with different mechanism parameters
(one :class:`sim.config.MechanismsConfig` per slice: a Sobol' sample, a grid, a calibration
population), each with its own seed. Slice s draws from its own
``numpy.random.default_rng(seeds[s])`` exactly what :class:`sim.model.AllianceModel` draws (the
integer ``mesa.Model`` takes for Python's ``random``, the stationary shock, then one (N, N)
innovation a month), so its numbers are that model's, bit for bit (``tests/test_batch.py``).

    result = run_batch(world, mechanisms, schedule, seeds)        # R replications of one cell
    result = run_batch(world, [m0, m1, ...], schedule, seeds)     # one parameter set per slice
    result.metrics   # (S, months, columns): what each model's DataCollector records
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.config import MechanismsConfig
from sim.events import Schedule, stack_schedules
from sim.mechanisms.bargaining import DENSE_PRESSURE_MAX_N
from sim.metrics import measurer, metric_names
from sim.recording import DeferredMeasure
from sim.step import Month, stack_parameters
from sim.world import World

# Memory a stack may take (bytes): run_prepared runs the replications of a cell in stacks of at
# most batch_size(n) replications.
STACK_BYTES = 256 * 2**20
# Memory of the innovations drawn ahead (bytes).
INNOVATION_BYTES = 16 * 2**20
# Beyond this many replications a stack gets no faster per replication (the per-call overhead is
# already small) but its arrays outgrow the caches.
MAX_BATCH = 256
# Working arrays per replication, in units of N^2 float64 (state, temporaries, the month's
# values), and of N^3 for the pressure block of worlds up to DENSE_PRESSURE_MAX_N actors.
_MATRICES_PER_REPLICATION = 40
_CUBES_PER_REPLICATION = 4


def batch_size(n: int, *, stack_bytes: int = STACK_BYTES, max_batch: int = MAX_BATCH) -> int:
    """How many replications of an n-actor world one stack holds: at most ``max_batch``, and few
    enough that the stack's working arrays stay under ``stack_bytes`` (at least 1)."""
    per = 8 * n * n * _MATRICES_PER_REPLICATION
    if n <= DENSE_PRESSURE_MAX_N:
        per += 8 * n**3 * _CUBES_PER_REPLICATION
    return max(1, min(max_batch, stack_bytes // per))


@dataclass
class BatchResult:
    """What R replications leave: their recorded metrics and their final network."""

    metrics: np.ndarray  # (R, months, columns), row t of replication r = the model's collect at month t
    columns: tuple[str, ...]  # metric names, in the model's order
    dates: tuple[str, ...]  # the month of each row, "YYYY-MM"
    tie: np.ndarray  # (R, N, N) final ties
    affinity: np.ndarray  # (R, N, N) final affinities
    pairs: np.ndarray | None = None  # (R, months + 1, F, P): the pair fields recorded, each pair i < j, start first


# What run_batch(..., pairs=True) records of each unordered pair (i < j, numpy.triu_indices order)
PAIR_FIELDS = ("tie", "commitment_ab", "commitment_ba", "affinity")
# each field's array of the month, and whether it is read from j to i (the pair is i < j)
_PAIR_SOURCES = {"tie": ("tie", False), "commitment_ab": ("commit", False), "commitment_ba": ("commit", True),
                 "affinity": ("affinity", False)}


def run_batch(
    world: World,
    mechanisms: MechanismsConfig | Sequence[MechanismsConfig],
    schedule: Schedule | Sequence[Schedule],
    seeds: Sequence[np.random.SeedSequence | int],
    *,
    pairs: bool | Sequence[str] = False,
    pair_rows: Sequence[int] | None = None,
    metrics: bool = True,
) -> BatchResult:
    """Run one slice per seed to the horizon, all together; slice s gives the numbers of
    ``sim.experiment.run_replication(world, mechanisms_s, schedule_s, seeds[s])``.

    ``mechanisms`` is one parameter set for every slice, or one per slice (as many as seeds;
    their switches must agree, see :func:`sim.step.stack_parameters`); ``schedule`` likewise
    (one per slice: the same scenario under lever levels that may differ,
    :func:`sim.events.stack_schedules`). ``pairs``: also record every unordered pair's tie,
    commitments both ways and affinity each month, the calibrated start state first
    (``BatchResult.pairs``); a sequence of names of :data:`PAIR_FIELDS` records those only, in that
    order; ``pair_rows`` keeps only those rows of the table (row 0 the start state, row t + 1 the
    state after month t), in increasing order, and records nothing in the other months.
    ``metrics=False`` records no metric (``BatchResult.metrics`` has no column). Recording reads the
    state and never changes it, so the months are stepped as with it and the ties and pairs are the
    same, bit for bit; the calibration, which reads the ties of a few months, asks for nothing else
    (benchmarks/bench_calibration.py: 1.7 times as many histories a second as with the full record).
    """
    s = len(seeds)
    if isinstance(mechanisms, MechanismsConfig):
        params = mechanisms
    else:
        if len(mechanisms) != s:
            raise ValueError(f"{len(mechanisms)} parameter sets for {s} seeds: give one per slice")
        params = stack_parameters(mechanisms)
    if not isinstance(schedule, Schedule):
        if len(schedule) != s:
            raise ValueError(f"{len(schedule)} schedules for {s} seeds: give one per slice")
        schedule = stack_schedules(schedule)
    months = len(schedule.dates)
    draws = StackedDraws(seeds, world.n, months)
    month = Month(world, params, schedule, shock=draws.shock, draw=draws, stack=s)
    roles = world.roles
    columns = metric_names(world.codes, roles.entente, roles.outreach_actor, roles.outreach_targets
                           ) if metrics else ()
    threshold = params.conditionality.hostility_threshold
    measure = measurer(roles, threshold if np.ndim(threshold) == 0 else None)
    slice_args = {} if np.ndim(threshold) == 0 else {"hostility_threshold": threshold}
    pending = DeferredMeasure(measure, len(columns), capacity=months, batch=(s,), per_slice=slice_args)
    table = np.empty((s, months, len(columns)))

    def store(t: int, measured: np.ndarray | None) -> None:
        """Metrics of the ``len(measured)`` months up to ``t``, shape (k, S, columns), into ``table``."""
        if measured is not None and len(measured):
            table[:, t + 1 - len(measured): t + 1] = measured.swapaxes(0, 1)

    fields = () if pairs is False else PAIR_FIELDS if pairs is True else tuple(pairs)
    record = _PairRecorder(month, s, months, fields, pair_rows) if fields else None
    for t in range(months):
        month.step(t)
        if metrics:
            store(t, pending.push(**month.metric_inputs()))
        if record is not None:
            record(t + 1)
    if metrics:
        store(months - 1, pending.flush())
    return BatchResult(table, columns, schedule.dates, month.tie, month.affinity,
                       None if record is None else record.table)


class _PairRecorder:
    """Records ``fields`` (of ``PAIR_FIELDS``) of every pair i < j into ``table`` (S, rows, F, P), at
    the rows asked for (all months + 1 by default); row 0 at once."""

    def __init__(self, month: Month, stack: int, months: int, fields: Sequence[str] = PAIR_FIELDS,
                 rows: Sequence[int] | None = None) -> None:
        unknown = sorted(set(fields) - set(PAIR_FIELDS))
        if unknown:
            raise ValueError(f"pair fields {unknown}: the pair table records {', '.join(PAIR_FIELDS)}")
        kept = list(range(months + 1)) if rows is None else [int(r) for r in rows]
        if kept != sorted(set(kept)) or not all(0 <= r <= months for r in kept):
            raise ValueError(f"pair rows {kept}: distinct rows in increasing order, from 0 to {months}")
        self.month, self.fields, self.position = month, tuple(fields), {r: k for k, r in enumerate(kept)}
        self.i, self.j = np.triu_indices(month.world.n, 1)
        self.table = np.empty((stack, len(kept), len(self.fields), len(self.i)))
        self(0)

    def __call__(self, row: int) -> None:
        if row not in self.position:
            return
        m, i, j = self.month, self.i, self.j
        out = self.table[:, self.position[row]]
        for k, field in enumerate(self.fields):
            source, backwards = _PAIR_SOURCES[field]
            array = getattr(m, source)
            out[:, k] = array[..., j, i] if backwards else array[..., i, j]


class StackedDraws:
    """Each slice's random numbers from its own generator, as :class:`sim.model.AllianceModel` draws them.

    ``shock``: the AR(1) shock's stationary start, (S, N, N). Called with a month, the month's
    innovations (S, N, N). A generator fills an array element after element, so drawing a block
    of (months, N, N) at once is the same stream as one (N, N) draw a month, in fewer calls; a
    block takes at most ``INNOVATION_BYTES``.
    """

    def __init__(self, seeds: Sequence[np.random.SeedSequence | int], n: int, months: int) -> None:
        s = len(seeds)
        # mesa.Model seeds Python's random from the stream first, then the model draws the shock.
        self.rngs = [np.random.default_rng(seed) for seed in seeds]
        self.shock = np.empty((s, n, n))
        for k, g in enumerate(self.rngs):
            g.integers(np.iinfo(np.int32).max)
            g.standard_normal(out=self.shock[k])
        self.months_per_draw = max(1, min(months, INNOVATION_BYTES // (8 * n * n * s)))
        self.innovations = np.empty((s, self.months_per_draw, n, n))

    def __call__(self, month: int) -> np.ndarray:
        block = month % self.months_per_draw
        if block == 0:
            for k, g in enumerate(self.rngs):
                g.standard_normal(out=self.innovations[k])
        return self.innovations[:, block]


