"""ABC calibration to history (issue 13): ``sim-run experiment=calibrate``.

Approximate Bayesian computation by pyabc's ABC-SMC (its history in ``calibration.db``, SQLite,
in the run directory). What is fitted and how:

- **parameters** ``experiment.parameters``: the candidate mechanism parameters, each sampled from
  its schema prior (:class:`sim.config.Prior`, :func:`sim.priors.mechanism_priors`); the rest keep
  the run's values.
- **worlds** ``calibration.worlds``: 0 (the default) runs every simulated history in the world and
  the events as written. N > 0 draws a pool of N worlds up front (:func:`world_pool`: the world's
  ~480 numbers and the events' magnitudes from their priors, :func:`sim.priors.draw_configs`; draw w
  from ``SeedSequence([seed, WORLD_STREAM, w])``), and every simulated history runs in one of them,
  its control in the same drawn world: nuisance uncertainty the simulator integrates over, never
  fitted. A candidate particle's draw is uniform over the pool, drawn from the candidate's own seed
  after its replications' seed (:class:`Simulator`), so it does not depend on how candidates are
  chunked; a chunk is stepped as one stack per draw (a stack shares its world and its events), so
  the particles of one draw are correlated through it, while each particle's marginal is over the
  whole pool. The screen runs Morris trajectory j in draw j mod N, posterior draw k is replayed,
  and its verdict pair run, in draw k mod N.
- **screen** (``calibration.screen`` Morris trajectories, :mod:`sim.screen`): when there are more
  candidates than ``calibration.keep``, only the ``keep`` of largest Morris mu* on the distance are
  fitted, the others stay at their defaults (``screen.csv``); ``calibration.always`` lists
  candidates fitted whatever their rank, on top of the ``keep``. ABC-SMC's importance weights
  degenerate with the number of free parameters (docs/CALIBRATION.md, "Why it collapsed").
- **simulator**: one simulated history per particle: the history scenario
  (``experiment.calibration.history``) over ``horizon.start .. calibration.fit_end`` with
  ``calibration.replications`` replications stepped together (:func:`sim.batch.run_batch`), and
  the control scenario (the "nothing happens" start, ``scenario``, baseline by default) over the
  same months with the same seeds.
- **summary**: what the pattern score's rule reads of each rated cell
  (``data/history/patterns_2018_2024.csv``, the P1-P2 cells up to ``fit_end``) in both runs: mean
  change, its interval's half-width, tie before (:func:`sim.patterns.rule_statistics`).
- **distance** ``d = D(history, observed) + D(control, 0)``: the first term is the pattern score's
  loss, the second how far the 2018 start drifts with nothing happening (rated dyads that move by
  the rule although nothing happens). D is ``calibration.distance``: ``smooth`` (default,
  :func:`sim.patterns.smooth_disagreement`: 0 on a cell where the rule's sign agrees, else 1/2 to 1
  by the change's distance from agreement in the rule's thresholds) or ``signs``
  (:func:`sim.patterns.weighted_disagreement` of the rule's signs, 26 confidence-weighted cells:
  few distinct values). Both weight H = 3, M = 2, L = 1; 0 <= d <= 2. The reported
  posterior-predictive score is always the signs'.
- **sampler** :class:`SeededSampler`: each candidate particle is evaluated with numpy's global
  generator seeded from ``SeedSequence([seed, generation, index])``, in rounds of ``particles``
  candidates, and the first ``particles`` accepted in index order are kept, so the same config
  and seed give the same posterior on one core, on many, or on a Dask cluster. pyabc's own
  samplers take the first particles to *finish*, which depends on timing.

- **model choice** ``calibration.structures`` (none by default: one structure, the run's mechanisms):
  a list of named structures, each the run's mechanisms with its overrides of ``model.mechanisms.*``
  (:class:`Structure`, checked by :func:`check_structures` before anything runs). pyabc's
  multi-model ABC-SMC with one model per structure, a uniform prior over them and pyabc's default
  model perturbation kernel (stay with probability 0.7): each structure fits the shared parameters
  (the screen's, run on the run's own mechanisms) that it neither holds by an override nor switches
  off, plus every free parameter of a mechanism it switches on (a rival's weight, from its schema
  prior). Its posterior probability per generation is ``History.get_model_probabilities``. The
  seeded sampler simulates each chunk's candidates one stack per structure (a stack shares its
  switches), each candidate still what it gets alone.

After the last generation (``outputs`` of :func:`run_calibration`): the posterior sample with
weights; ``calibration.draws`` parameter sets drawn from it by weight, each replayed over the
whole horizon (the stacked engine: one slice per draw and replication): the posterior-predictive
pattern score on the fitted cells and ``forecast.csv`` (the rated dyads after ``fit_end``); and
each draw's headline pair (``scenario`` against ``compare``, ``calibration.verdict_replications``
paired replications): the probability of each H1 and H2 verdict under the posterior and the
posterior distribution of the effects. Under model choice the draws are from the mixture across
structures (``structure`` in ``posterior.parquet``), each replayed under its own structure, and
``structures.csv``, ``structures.png`` and ``calibration.json``'s ``structures`` give each structure's
probability.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import threading
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.calibrated import PREFIX
from sim.config import ConfigError, MechanismsConfig, month_index, parse_month
from sim.patterns import (
    default_patterns,
    load_patterns,
    next_month,
    rule_statistics,
    signs_of,
    smooth_disagreement,
    weighted_disagreement,
)

OUTPUTS = ("calibration.db", "posterior.parquet", "generations.csv", "predictive.csv", "predictive_score.csv",
           "forecast.csv", "verdicts.csv", "effects.parquet", "calibration.json", "calibration.png")
VERDICTS = ("supported", "inconclusive", "refuted")
SIGN_COLUMNS = {1: "p_plus", 0: "p_zero", -1: "p_minus"}
KERNELS = ("multivariate_normal", "local")  # experiment.calibration.kernel: pyabc's transition
# experiment.calibration.space: the transform of the prior quantile ABC-SMC samples, as the scipy.stats
# distribution of pyabc's prior on it and the scipy.special function of its cdf (z -> the quantile)
SPACES: dict[str, tuple[str, str]] = {"logit": ("logistic", "expit"), "probit": ("norm", "ndtr")}
SCREEN = "screen.csv"  # the Morris screen's table (sim.screen), written when the run screens
STRUCTURE_OUTPUTS = ("structures.csv", "structures.png")  # written under model choice
STARTED = "calibration_started.json"  # the settings a calibration started with: a rerun into its directory resumes
# experiment.calibration.worlds at most: each draw is prepared up front (about 0.3 s) and splits
# every chunk of candidates into one stack per draw
MAX_WORLDS = 1000


# ------------------------------------------------------------------ the target and the simulator


@dataclass(frozen=True)
class Drawn:
    """One draw of the world pool (``experiment.calibration.worlds``): a world and the history's and
    the control's schedules, their numbers and event magnitudes drawn from their priors
    (:func:`world_pool`)."""

    world: Any
    history: Any
    control: Any


@dataclass
class Target:
    """What one simulated history needs: the world, the base parameters, the two schedules over
    the fitted months, the rated cells and where each cell's tie is in the recorded pair table;
    with a world pool (``worlds``), the drawn worlds and schedules a simulated history may run in
    instead of the written ones."""

    world: Any
    base: MechanismsConfig
    history: Any  # Schedule over horizon.start .. fit_end
    control: Any  # Schedule of the nothing-happens start over the same months
    cells: pd.DataFrame  # the patterns up to fit_end (sim.patterns.load_patterns)
    pair: np.ndarray  # (C,) column of each cell's pair in the pair table (numpy.triu_indices order)
    before: np.ndarray  # (C,) row of the month before each cell's start (row 0: the start state)
    end: np.ndarray  # (C,) row of each cell's end month
    keys: tuple[str, ...]  # calibrated parameters, model.mechanisms.<group>.<key>
    replications: int
    priors: dict[str, Any]  # the Prior of every mechanism parameter (sim.priors.mechanism_priors)
    worlds: tuple[Drawn, ...] = ()  # the world pool; () = the world and schedules as written
    space: str = "logit"  # how pyabc's variables map to values (values_of)

    def drawn(self, w: int | None) -> Drawn:
        """Draw ``w`` of the pool, or (None) the world and schedules as written."""
        return Drawn(self.world, self.history, self.control) if w is None else self.worlds[w]

    @property
    def observed(self) -> np.ndarray:
        return self.cells["sign"].to_numpy(dtype=int)

    @property
    def confidence(self) -> np.ndarray:
        return self.cells["confidence"].to_numpy()


def cell_rows(world: Any, cells: pd.DataFrame, first: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each cell's pair column and its rows (month before start, end) in a pair table whose row 0 is
    the month before ``first`` (``sim.batch.run_batch(..., pairs=True)``)."""
    index = {c: k for k, c in enumerate(world.codes)}
    i, j = np.triu_indices(world.n, 1)
    column = {(int(a), int(b)): p for p, (a, b) in enumerate(zip(i, j, strict=True))}
    start = month_index(parse_month(first, "horizon", "start"))
    pair = np.array([column[tuple(sorted((index[a], index[b])))] for a, b in zip(cells["a"], cells["b"], strict=True)])
    before = np.array([month_index(parse_month(str(s), "patterns", "start")) - start for s in cells["start"]])
    end = np.array([month_index(parse_month(str(e), "patterns", "end")) - start + 1 for e in cells["end"]])
    return pair, before, end


def with_values(base: MechanismsConfig, values: dict[str, float]) -> MechanismsConfig:
    """``base`` with each ``model.mechanisms.<group>.<key>`` of ``values`` replaced."""
    groups: dict[str, dict[str, float]] = {}
    for key, value in values.items():
        group, name = key.removeprefix(PREFIX).split(".")
        groups.setdefault(group, {})[name] = float(value)
    return dataclasses.replace(base, **{g: dataclasses.replace(getattr(base, g), **v) for g, v in groups.items()})


def simulate_statistics(target: Target, params: Sequence[MechanismsConfig], seeds: Sequence[Sequence[Any]],
                        worlds: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """What the rule reads of every cell (:func:`sim.patterns.rule_statistics`: mean change, interval
    half-width, tie before) under each parameter set: (K, 3, C) in the history scenario and (K, 3, C)
    in the control (nothing happens), parameter set k with its ``seeds[k]`` replications, all K x R
    slices stepped together per scenario (in stacks of at most ``sim.batch.batch_size``).

    ``worlds``: parameter set k runs in draw ``worlds[k]`` of ``target.worlds`` (the history and its
    control in the same drawn world); the sets of one draw are stepped together, one stack per draw
    (a stack shares its world and its events). None: every set in the world as written."""
    k = len(params)
    labels = [None] * k if worlds is None else [int(w) for w in worlds]
    if len(labels) != k:
        raise ValueError(f"{len(labels)} world draws for {k} parameter sets: give one per set")
    history, control = np.empty((2, k, 3, len(target.pair)))
    for w in dict.fromkeys(labels):
        index = [i for i, label in enumerate(labels) if label == w]
        h, c = _statistics(target, target.drawn(w), [params[i] for i in index], [seeds[i] for i in index])
        history[index], control[index] = h, c
    return history, control


def _statistics(target: Target, drawn: Drawn, params: Sequence[MechanismsConfig], seeds: Sequence[Sequence[Any]]
                ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`simulate_statistics` of parameter sets that all run in one world and its two schedules."""
    from sim.batch import batch_size, run_batch

    k, r = len(params), len(seeds[0])
    slices = [(m, s) for m, row in zip(params, seeds, strict=True) for s in row]
    size = max(r, batch_size(drawn.world.n) // r * r)
    rows = np.unique(np.concatenate([target.before, target.end]))  # the months the rule reads
    before_at, end_at = np.searchsorted(rows, target.before), np.searchsorted(rows, target.end)
    out = []
    for schedule in (drawn.history, drawn.control):
        ties = []
        for lo in range(0, len(slices), size):
            part = slices[lo:lo + size]
            batch = run_batch(drawn.world, [m for m, _ in part], schedule, [s for _, s in part], pairs=("tie",),
                              pair_rows=rows, metrics=False)
            ties.append(batch.pairs[:, :, 0, :])  # (S, rows, P): the tie of every pair in those months
        tie = np.concatenate(ties).reshape(k, r, len(rows), ties[0].shape[-1])
        out.append(rule_statistics(tie[:, :, before_at, target.pair], tie[:, :, end_at, target.pair]))
    return out[0], out[1]


def simulate_signs(target: Target, params: Sequence[MechanismsConfig], seeds: Sequence[Sequence[Any]],
                   worlds: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The rule's signs of every cell, (K, C) in the history and in the control (:func:`simulate_statistics`)."""
    history, control = simulate_statistics(target, params, seeds, worlds)
    return signs_of(history), signs_of(control)


DISTANCES = ("smooth", "signs")  # experiment.calibration.distance


def distance(target: Target, history: np.ndarray, control: np.ndarray, kind: str = "smooth") -> np.ndarray:
    """``D(history, observed) + D(control, 0)`` per row of (K, 3, C) rule statistics (module
    docstring): D the smooth loss (:func:`sim.patterns.smooth_disagreement`, ``kind="smooth"``) or the
    weighted disagreement of the rule's signs (:func:`sim.patterns.weighted_disagreement`, ``"signs"``)."""
    observed, confidence = target.observed, target.confidence
    history, control = np.asarray(history, dtype=float), np.asarray(control, dtype=float)
    if history.ndim == 2:
        history, control = history[None], control[None]
    if kind == "smooth":
        return (smooth_disagreement(observed, history, confidence)
                + smooth_disagreement(np.zeros_like(observed), control, confidence))
    return np.array([weighted_disagreement(observed, h, confidence) + weighted_disagreement(np.zeros_like(c), c,
                                                                                            confidence)
                     for h, c in zip(signs_of(history), signs_of(control), strict=True)])


def name(key: str) -> str:
    """pyabc's name of a parameter: the key without ``model.mechanisms.``."""
    return key.removeprefix(PREFIX)


def values_of(keys: Sequence[str], parameter: Any, priors: Mapping[str, Any], space: str = "logit") -> list[Any]:
    """The parameters' values from pyabc's variables: ABC-SMC samples each parameter as a transform z
    of its prior quantile u, so that its proposals are never outside the prior (in the bounded space,
    a Gaussian step in 26 dimensions almost always leaves the box, and pyabc redraws until it does not):

    - ``logit``: z = log(u / (1 - u)), u = 1 / (1 + exp(-z)), a standard logistic prior on z;
    - ``probit``: z = Phi^-1(u), u = Phi(z), a standard normal prior on z.

    Either prior on z is exactly the schema prior on the value (:func:`sampling_prior`). They differ in
    the tails: a proposal far from the population meets a logistic prior density that falls only as
    exp(-|z|) and a Gaussian proposal (pyabc's kernels, bandwidth h) that falls as exp(-z^2 / 2h^2), so
    its importance weight (prior over proposal density) grows as exp(z^2 / 2h^2 - |z|) and a handful of
    particles can carry the population; under the normal prior it grows as exp(z^2 (1/h^2 - 1) / 2),
    more slowly (not at all where h >= 1). ``priors``: each key's :class:`sim.config.Prior`."""
    from scipy import special

    quantile = getattr(special, SPACES[space][1])
    return [priors[k].from_unit(quantile(np.asarray(parameter[name(k)], dtype=float))) for k in keys]


def space_of(calibration: Any) -> str:
    """``experiment.calibration.space``; ``logit`` where the settings predate it (a saved config of a
    run made before the setting existed holds no such key, and it ran in the logit space)."""
    return str(getattr(calibration, "space", "logit"))


def abc_prior(keys: Sequence[str], space: str) -> Any:
    """pyabc's prior over the variables of ``keys`` in ``space``: each one's :func:`sampling_prior`,
    independent; pushed through :func:`values_of` in the same space it is the schema's prior."""
    import pyabc

    return pyabc.Distribution(**{name(key): pyabc.RV(*sampling_prior(space)) for key in keys})


def sampling_prior(space: str) -> tuple[str, float, float]:
    """pyabc's prior of each variable in ``space`` (``pyabc.RV(*sampling_prior(space))``): scipy's
    standard logistic (logit) or standard normal (probit), whose quantile function is the transform
    :func:`values_of` inverts."""
    return (SPACES[space][0], 0.0, 1.0)


class Recorded(Exception):  # noqa: N818 (a signal, not an error)
    """Raised by :class:`Simulator` in record mode, once it knows the proposal it would simulate."""


# The batch a worker evaluates: in "record" mode the simulator notes each proposal (and the seed of
# its replications) and stops; the proposals are then simulated together, stacked, into "cache";
# in replay mode each candidate, drawn again from the same seed, finds its summary there.
# A Dask worker may run several chunks at once in its threads, but pyabc draws from numpy's global
# generator (which _evaluate seeds per candidate): chunks in one process take turns.
_GLOBAL_GENERATOR = threading.Lock()
_LOCAL = threading.local()


def _batch() -> dict[str, Any]:
    if not hasattr(_LOCAL, "batch"):
        _LOCAL.batch = {"mode": None, "recorded": [], "cache": {}}
    return _LOCAL.batch


Key = tuple[tuple[float, ...], tuple[int, ...], int | None]  # a candidate: values, seed entropy, world draw


class Simulator:
    """pyabc's model: a parameter (a dict of :func:`name` -> value) to the summary
    ``{"history": statistics, "control": statistics}``, (3, C) each (:func:`simulate_statistics`).
    The seed of its replications is drawn from numpy's global generator after the proposal, which
    :class:`SeededSampler` seeds per candidate, and then, with a world pool, which of its draws the
    candidate runs in (uniform over the pool), so a candidate is the same whether simulated alone
    or stacked with others (:func:`_evaluate`), and on any number of workers."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def __call__(self, parameter: dict[str, float]) -> dict[str, np.ndarray]:
        values = tuple(float(v) for v in values_of(self.target.keys, parameter, self.target.priors,
                                                           self.target.space))
        entropy = tuple(np.random.randint(0, 2**32, size=4, dtype=np.uint64).tolist())
        # no pool: nothing more is drawn, so pyabc's draws after this one are what they were without pools
        world = int(np.random.randint(len(self.target.worlds))) if self.target.worlds else None
        key: Key = (values, entropy, world)
        batch = _batch()
        if batch["mode"] == "record":
            batch["recorded"].append((self, key))
            raise Recorded
        cached = (id(self), key)  # one Simulator per structure (model choice): its candidates' cache apart
        history, control = batch["cache"].pop(cached) if cached in batch["cache"] else self.simulate([key])[0]
        return {"history": history, "control": control}

    def simulate(self, keys: Sequence[Key]) -> list[tuple[np.ndarray, np.ndarray]]:
        """The summaries of several (values, seed entropy, world draw) candidates, stepped together
        (one stack per world draw)."""
        t = self.target
        params = [with_values(t.base, dict(zip(t.keys, values, strict=True))) for values, _, _ in keys]
        seeds = [np.random.SeedSequence(list(entropy)).spawn(t.replications) for _, entropy, _ in keys]
        worlds = None if not t.worlds else [w for _, _, w in keys]
        history, control = simulate_statistics(t, params, seeds, worlds)
        return list(zip(history, control, strict=True))


class Distance:
    """pyabc's distance between a simulated summary and the observed one (:func:`distance`)."""

    def __init__(self, target: Target, kind: str = "smooth") -> None:
        self.target, self.kind = target, kind

    def __call__(self, x: dict[str, np.ndarray], x0: dict[str, np.ndarray]) -> float:
        return float(distance(self.target, x["history"][None], x["control"][None], self.kind)[0])


# ------------------------------------------------------------------ the sampler


def _evaluate(blob: bytes, seeds: list[int]) -> list[Any]:
    """Evaluate one candidate particle per seed (numpy's global generator seeded with it), the
    simulations of all of them stepped together: a first pass records each candidate's proposal
    (:class:`Recorded`), one stacked run simulates them, a second pass evaluates each candidate
    again from its seed, finding its simulation done. Each candidate gets what it would alone."""

    import cloudpickle

    simulate_one = cloudpickle.loads(blob)
    with _GLOBAL_GENERATOR:  # pyabc draws from numpy's global generator: one chunk at a time per process
        return _evaluate_chunk(simulate_one, seeds)


def _evaluate_chunk(simulate_one: Callable[[], Any], seeds: list[int]) -> list[Any]:
    import random

    batch = _batch()
    batch.update(mode="record", recorded=[], cache={})
    try:
        for seed in seeds:
            np.random.seed(seed)
            random.seed(seed)
            with contextlib.suppress(Recorded):
                simulate_one()
        # one stack per Simulator (per structure under model choice: a stack shares its switches),
        # each in the order its candidates were recorded
        groups: dict[int, tuple[Simulator, list[Any]]] = {}
        for simulator, key in batch["recorded"]:
            groups.setdefault(id(simulator), (simulator, []))[1].append(key)
        cache = {}
        for ident, (simulator, keys) in groups.items():
            cache.update({(ident, key): out for key, out in zip(keys, simulator.simulate(keys), strict=True)})
        batch["cache"] = cache
        batch["mode"] = "replay"
        out = []
        for seed in seeds:
            np.random.seed(seed)
            random.seed(seed)
            out.append(simulate_one())
        return out
    finally:
        batch.update(mode=None, recorded=[], cache={})


def _make_sampler_base() -> type:
    from pyabc.sampler import Sampler

    class SeededSampler(Sampler):
        """Deterministic parallel sampling for pyabc (see the module docstring).

        Generation t draws candidates in rounds of ``n`` (the population size); candidate i of
        round q is evaluated with numpy's global generator seeded from
        ``SeedSequence([seed, t + 1, q]).spawn(n)[i]`` (t = -1: the prior sample pyabc draws
        first), wherever it runs; the first ``n`` accepted candidates in
        (q, i) order form the population. ``map_`` runs ``_evaluate`` over chunks of candidates:
        in this process (``workers=1``), in a pool of ``workers`` processes kept for the whole
        calibration (closed by :meth:`stop`, which pyabc calls at the end), or on a Dask client.
        ``nr_evaluations_`` counts every candidate evaluated.
        """

        def __init__(self, seed: int, workers: int = 1, client: Any = None) -> None:
            super().__init__()
            self.seed, self.workers, self.client = seed, workers, client
            self.pool: Any = None

        def _map(self, blob: bytes, chunks: list[list[int]]) -> list[list[Any]]:
            if self.client is not None:
                futures = self.client.map(_evaluate, [blob] * len(chunks), chunks, pure=False)
                return self.client.gather(futures)
            if self.workers == 1 or len(chunks) == 1:
                return [_evaluate(blob, c) for c in chunks]
            if self.pool is None:  # one pool for the whole calibration: a worker imports pyabc once (seconds)
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("forkserver"))
            return list(self.pool.map(_evaluate, [blob] * len(chunks), chunks))

        def stop(self) -> None:
            if self.pool is not None:
                self.pool.shutdown(cancel_futures=True)
                self.pool = None

        def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False,
                                    ana_vars=None):
            import cloudpickle

            blob = cloudpickle.dumps(simulate_one)
            sample = self._create_empty_sample()
            accepted = evaluated = 0
            parts = max(1, self.workers if self.client is None else len(self.client.nthreads()))
            for q in range(10**6):
                seeds = [int(s.generate_state(1)[0]) for s in
                         np.random.SeedSequence([self.seed, t + 1, q]).spawn(n)]
                chunks = [list(c) for c in np.array_split(np.array(seeds, dtype=np.uint64), parts) if len(c)]
                chunks = [[int(x) for x in c] for c in chunks]
                for particle in (p for chunk in self._map(blob, chunks) for p in chunk):
                    evaluated += 1
                    if accepted < n:
                        sample.append(particle)
                        accepted += particle.accepted
                if accepted >= n or evaluated >= max_eval:
                    break
            self.nr_evaluations_ = evaluated
            if sample.n_accepted < n:
                sample.ok = False
            return sample

    return SeededSampler


# ------------------------------------------------------------------ settings and checks


def check_parameters(keys: Sequence[str], base: MechanismsConfig, file: str,
                     priors: Mapping[str, Any] | None = None) -> tuple[str, ...]:
    """The calibrated keys, or one ConfigError: an empty list, an unknown key, a key listed twice,
    a fixed prior (a device of the model), or a parameter of a mechanism switched off. ``priors``:
    :func:`sim.priors.mechanism_priors` (the schema's by default)."""
    from sim.config import numeric_parameters
    from sim.priors import mechanism_priors

    known = numeric_parameters()
    priors = priors or mechanism_priors()
    free = [k for k in known if not priors[k].fixed]
    if not len(keys):
        raise ConfigError(file, "experiment.parameters", [],
                          f"at least one parameter to calibrate, among {', '.join(free)}")
    for i, key in enumerate(keys):
        where = f"experiment.parameters[{i}]"
        if key not in known:
            raise ConfigError(file, where, key, f"one of {', '.join(free)}")
        if key in keys[:i]:
            raise ConfigError(file, where, key, "a parameter not already listed")
        if priors[key].fixed:
            raise ConfigError(file, where, key, f"a parameter with a prior to sample ({priors[key].why})")
        group = key.removeprefix(PREFIX).split(".")[0]
        if not getattr(base, group).enabled:
            raise ConfigError(file, where, key, f"a parameter of a mechanism switched on (model.mechanisms.{group}"
                              ".enabled is false: the parameter changes nothing)")
    return tuple(keys)


def check_always(always: list[str], candidates: Sequence[str], file: str) -> tuple[str, ...]:
    """``experiment.calibration.always``, checked: each a candidate (one of ``experiment.parameters``),
    none twice; one ConfigError naming the entry otherwise."""
    for i, key in enumerate(always):
        if key not in candidates or key in always[:i]:
            raise ConfigError(file, f"experiment.calibration.always[{i}]", key,
                              "one of experiment.parameters, each once (or none: experiment.calibration.always=[]): "
                              + ", ".join(candidates))
    return tuple(always)


@dataclass(frozen=True)
class Structure:
    """One structure of model choice (``experiment.calibration.structures``): its name, its overrides as
    given, the run's mechanisms with them (``base``), the keys it holds (``held``: set by an override,
    never fitted) and the free parameters of the mechanisms it switches on (``own``: fitted from their
    priors beside the shared parameters)."""

    name: str
    overrides: tuple[str, ...]
    base: MechanismsConfig
    held: frozenset[str]
    own: tuple[str, ...]

    def keys(self, shared: Sequence[str]) -> tuple[str, ...]:
        """What this structure fits: the ``shared`` parameters it neither holds nor switches off, then its own."""
        on = [k for k in shared if k not in self.held and getattr(self.base, _group(k)).enabled]
        return (*on, *self.own)


def _group(key: str) -> str:
    return key.removeprefix(PREFIX).split(".")[0]


def with_overrides(base: MechanismsConfig, values: Mapping[str, Any]) -> MechanismsConfig:
    """``base`` with each ``model.mechanisms.<group>.<key>`` of ``values`` set (switches and numbers)."""
    groups: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        group, field_name = key.removeprefix(PREFIX).split(".")
        groups.setdefault(group, {})[field_name] = value
    return dataclasses.replace(base, **{g: dataclasses.replace(getattr(base, g), **v) for g, v in groups.items()})


def check_structures(settings: Any, base: MechanismsConfig, candidates: Sequence[str], priors: Mapping[str, Any],
                     file: str) -> tuple[Structure, ...]:
    """``experiment.calibration.structures`` as :class:`Structure` s, or one ConfigError naming
    ``experiment.calibration.structures[i]``: what :func:`sim.config.structure_settings` refuses (fewer
    than 2, a name given twice, an unknown or malformed override), a structure whose mechanisms are an
    earlier one's (the two cannot be told apart), or one that leaves none of ``candidates`` and no
    parameter of its own to fit. ``()`` when none are given (one structure: the run's mechanisms)."""
    from sim.config import STRUCTURES_KEY, numeric_parameters, structure_settings

    out: list[Structure] = []
    for i, (label, values) in enumerate(structure_settings(settings, file)):
        where = f"{STRUCTURES_KEY}[{i}]"
        mechanisms = with_overrides(base, values)
        for j, earlier in enumerate(out):
            if earlier.base == mechanisms:
                raise ConfigError(file, where, label, f"a structure whose mechanisms differ from {STRUCTURES_KEY}[{j}]"
                                  f" ({earlier.name}): the same mechanisms twice cannot be told apart")
        on = {f.name for f in dataclasses.fields(mechanisms)
              if getattr(mechanisms, f.name).enabled and not getattr(base, f.name).enabled}
        own = tuple(k for k in numeric_parameters() if _group(k) in on and k not in values and not priors[k].fixed)
        structure = Structure(label, tuple(str(o) for o in settings[i].overrides), mechanisms, frozenset(values), own)
        if not structure.keys(candidates):
            raise ConfigError(file, where, label, "a structure that leaves a parameter to fit: it holds or switches "
                              "off every one of experiment.parameters and switches on no mechanism")
        out.append(structure)
    return tuple(out)


def check_settings(c: Any, horizon: Any, file: str) -> None:
    """One ConfigError for a calibration setting out of range (``experiment.calibration``)."""
    for key, low in (("particles", 2), ("generations", 1), ("replications", 2), ("draws", 1),
                     ("verdict_replications", 5)):
        value = c[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            reason = {"replications": " (the rule's interval needs two)", "verdict_replications":
                      " (a verdict needs an interval: 5 replications at least)"}.get(key, "")
            raise ConfigError(file, f"experiment.calibration.{key}", value, f"an integer >= {low}{reason}")
    for key, low in (("screen", 0), ("keep", 1)):
        value = c[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ConfigError(file, f"experiment.calibration.{key}", value, f"an integer >= {low}")
    worlds = c.worlds
    if not isinstance(worlds, int) or isinstance(worlds, bool) or not 0 <= worlds <= MAX_WORLDS:
        raise ConfigError(file, "experiment.calibration.worlds", worlds,
                          f"an integer from 0 (the world and the events as written) to {MAX_WORLDS} (that many "
                          "draws of the world's numbers and the events' magnitudes from their priors)")
    if c.screen == 1:
        raise ConfigError(file, "experiment.calibration.screen", c.screen,
                          "0 (no screen) or at least 2 Morris trajectories (one gives no interval)")
    if space_of(c) not in SPACES:
        raise ConfigError(file, "experiment.calibration.space", space_of(c),
                          f"one of {', '.join(SPACES)} (the transform of the prior quantile ABC-SMC samples)")
    if c.kernel not in KERNELS:
        raise ConfigError(file, "experiment.calibration.kernel", c.kernel, f"one of {', '.join(KERNELS)}")
    if c.distance not in DISTANCES:
        raise ConfigError(file, "experiment.calibration.distance", c.distance, f"one of {', '.join(DISTANCES)}")
    if not isinstance(c.min_epsilon, (int, float)) or not 0 <= c.min_epsilon <= 2:
        raise ConfigError(file, "experiment.calibration.min_epsilon", c.min_epsilon, "a number in [0, 2]")
    fit = month_index(parse_month(c.fit_end, file, "experiment.calibration.fit_end"))
    if not month_index(parse_month(horizon.start, file, "horizon.start")) < fit <= month_index(
            parse_month(horizon.end, file, "horizon.end")):
        raise ConfigError(file, "experiment.calibration.fit_end", c.fit_end,
                          f"a month after horizon.start ({horizon.start}) up to horizon.end ({horizon.end})")


# ------------------------------------------------------------------ the run


@dataclass
class Cells:
    """The three configs a calibration runs: the history replay and the headline pair."""

    history: Any  # DictConfig of the history scenario (validated)
    control: Any  # DictConfig of the control (nothing happens), the pair's control
    treatment: Any  # DictConfig of the pair's treatment


WORLD_STREAM = 31  # draw w of the world pool is drawn from SeedSequence([seed, WORLD_STREAM, w])


def world_pool(cells: Cells, count: int, seed: int) -> list[Cells]:
    """``count`` draws of the world and the events from their priors (:func:`sim.priors.draw_configs`):
    draw w the three configs of ``cells`` in one drawn world, each scenario's event magnitudes drawn
    (an event the control and the treatment share, the same in both), from
    ``SeedSequence([seed, WORLD_STREAM, w])``: draw w is the same in a pool of any size."""
    from sim.priors import ConfigPrior

    if not count:
        return []
    prior = ConfigPrior.of([cells.history, cells.control, cells.treatment])
    return [Cells(*prior.draw(np.random.default_rng(np.random.SeedSequence([seed, WORLD_STREAM, w]))))
            for w in range(count)]


def _drawn(cells: Cells, horizon: Any) -> Drawn:
    """The world of ``cells.history`` and the history's and the control's schedules over ``horizon``."""
    from sim.events import build_schedule
    from sim.world import world_from_config

    h = cells.history
    world = world_from_config(h.world)
    return Drawn(world, build_schedule(h.scenario, h.policy, horizon, world),
                 build_schedule(cells.control.scenario, cells.control.policy, horizon, world))


def prepare_target(cells: Cells, keys: tuple[str, ...], fit_end: str, patterns: Path, replications: int,
                   *, full: bool = False, priors: Mapping[str, Any] | None = None,
                   pool: Sequence[Cells] = (), space: str = "logit") -> Target:
    """The :class:`Target` of a calibration; ``full``: schedules over the whole horizon (the predictive
    runs); ``priors``: :func:`sim.priors.mechanism_priors` (the schema's by default); ``pool``: drawn
    configs (:func:`world_pool`), prepared into ``Target.worlds``; ``space``: :func:`values_of`'s."""
    from sim.experiment import Plain, prepare
    from sim.priors import mechanism_priors

    h = cells.history
    horizon = Plain({"start": str(h.horizon.start), "end": str(h.horizon.end if full else fit_end)})
    base = prepare(h)[1]
    written = _drawn(cells, horizon)
    table = load_patterns(patterns, written.world.codes, (horizon["start"], fit_end))
    pair, before, end = cell_rows(written.world, table, horizon["start"])
    return Target(written.world, base, written.history, written.control, table, pair, before, end, keys,
                  replications, dict(priors or mechanism_priors()), tuple(_drawn(d, horizon) for d in pool), space)


def forecast_cells(world: Any, fitted: pd.DataFrame, fit_end: str, end: str) -> pd.DataFrame:
    """The rated dyads of ``fitted``, each once, over ``next_month(fit_end) .. end`` (sign to forecast)."""
    dyads = fitted[["a", "b"]].drop_duplicates().reset_index(drop=True)
    return dyads.assign(start=next_month(fit_end), end=end, sign=0, confidence="H")


def _plain(node: Any) -> dict[str, Any]:
    """A config node as plain JSON-able values."""
    from omegaconf import OmegaConf

    return json.loads(json.dumps(OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node)
                                 else dataclasses.asdict(node)))


def started_settings(calibration: Any) -> dict[str, Any]:
    """``experiment.calibration`` as :data:`STARTED` records it: plain values, without ``worlds`` when
    it is 0 and ``space`` when it is ``logit`` (as written before each setting existed, so that such a
    run still resumes)."""
    settings = _plain(calibration)
    if not settings["worlds"]:
        del settings["worlds"]
    if settings.get("space") == "logit":
        del settings["space"]
    return settings


def _resumable(outdir: Path, started: dict[str, Any]) -> bool:
    """Whether ``outdir`` holds an unfinished calibration started with ``started`` (then True), nothing
    of one (False: :data:`STARTED` is written), or a finished one or one with other settings
    (FileExistsError naming what differs)."""
    from sim.store import atomic_write

    record = outdir / STARTED
    if (outdir / "calibration.json").exists():
        raise FileExistsError(f"{outdir} already holds a finished calibration (calibration.json); refusing to "
                              "overwrite it: choose another directory")
    if not record.exists():
        found = [n for n in (*OUTPUTS, SCREEN, *STRUCTURE_OUTPUTS) if (outdir / n).exists()]
        if found:
            raise FileExistsError(f"{outdir} already holds calibration files ({', '.join(found)}) but no "
                                  f"{STARTED}; refusing to overwrite them: choose another directory")
        outdir.mkdir(parents=True, exist_ok=True)
        atomic_write(record, lambda p: p.write_text(json.dumps(started, indent=2)))
        return False
    before = json.loads(record.read_text())
    if before != started:
        differ = sorted(k for k in set(before) | set(started) if before.get(k) != started.get(k))
        raise FileExistsError(f"{outdir} holds an unfinished calibration started with other settings "
                              f"({', '.join(differ)} differ; see {STARTED}): rerun it with those to resume it, "
                              "or choose another directory")
    return True


def run_calibration(cells: Cells, experiment: Any, outdir: Path, *, seed: int, file: str,
                    patterns: Path | None = None, min_relative_effect: float = 0.05,
                    say: Callable[[str], None] = print) -> dict[str, Any]:
    """Calibrate, then write :data:`OUTPUTS` into ``outdir``; return the record (``calibration.json``).

    Every check (parameters, settings, the patterns file against the world) comes before any
    simulation, each a ConfigError or :class:`sim.patterns.PatternError`. Refuses a directory
    that holds a finished calibration (``calibration.json``: FileExistsError). A directory holding
    an unfinished one (killed or interrupted: :data:`STARTED` and ``calibration.db`` without
    ``calibration.json``) is resumed when the settings are the ones it started with: its screen is
    read back, pyabc continues from the last generation in ``calibration.db`` (``ABCSMC.load``), and
    the seeded sampler draws what it would have drawn uninterrupted. Other settings: FileExistsError.
    """
    import pyabc

    c = experiment.calibration
    check_settings(c, cells.history.horizon, file)
    from sim.config import prior_settings
    from sim.experiment import prepare
    from sim.priors import mechanism_priors

    base = prepare(cells.history)[1]
    space = space_of(c)
    priors = mechanism_priors(prior_settings(experiment.priors, file))
    candidates = check_parameters(list(experiment.parameters), base, file, priors)
    always = check_always(list(c.always), candidates, file)
    structures = check_structures(c.structures, base, candidates, priors, file)
    patterns = Path(patterns or (c.patterns or default_patterns()))
    settings = started_settings(c)
    started = {"seed": int(seed), "parameters": list(candidates), "calibration": settings,
               "levels": int(experiment.levels), "patterns": str(patterns),
               "priors": {k: [priors[k].shape, priors[k].low, priors[k].high] for k in candidates}}
    # the pool before anything is written: a draw the priors cannot give valid stops the run here
    began = time.perf_counter()
    pool = world_pool(cells, int(c.worlds), seed)
    target = prepare_target(cells, candidates, str(c.fit_end), patterns, int(c.replications), priors=priors,
                            pool=pool, space=space)
    pool_seconds = time.perf_counter() - began if pool else 0.0
    resume = _resumable(outdir, started)
    if pool:
        say(f"world pool: {len(pool)} draws of the world's numbers and the events' magnitudes from their priors "
            f"in {pool_seconds:.1f} s")
    from sim.screen import influential, screen

    keys, screened, screen_seconds = candidates, None, 0.0
    if resume and (outdir / SCREEN).exists():
        screened = pd.read_csv(outdir / SCREEN)
        keys = influential(screened, int(c.keep), always)
        target = dataclasses.replace(target, keys=keys)
    elif int(c.screen) and len(candidates) > int(c.keep) + len(always):
        began = time.perf_counter()
        screened = screen(target, candidates, int(c.screen), int(experiment.levels), seed, str(c.distance))
        screen_seconds = time.perf_counter() - began
        keys = influential(screened, int(c.keep), always)
        target = dataclasses.replace(target, keys=keys)
        from sim.store import atomic_write

        atomic_write(outdir / SCREEN, lambda p: screened.to_csv(p, index=False))
        say(f"screen: {int(c.screen) * (len(candidates) + 1)} simulated histories in "
            f"{screen_seconds:.1f} s; fitting the {len(keys) - len(always)} of {len(candidates)} parameters of "
            "largest mu*: " + ", ".join(name(k) for k in keys[:len(keys) - len(always)])
            + ("; and always: " + ", ".join(name(k) for k in always) if always else ""))
    workers = int(experiment.workers)
    workers = max(1, os.cpu_count() or 1) if workers == -1 else workers
    client = None
    if c.dask:
        from distributed import Client

        client = Client(str(c.dask))
    sampler = _make_sampler_base()(seed, workers, client)
    np.random.seed(seed)  # pyabc's own draws (the initial population's proposal, the kernels) use numpy's global one

    def kernel() -> Any:
        return pyabc.LocalTransition() if c.kernel == "local" else pyabc.MultivariateNormalTransition()

    if structures:  # model choice: one pyabc model per structure, a uniform prior over them
        models = [pyabc.FunctionModel(Simulator(dataclasses.replace(target, base=s.base, keys=s.keys(keys))),
                                      name=s.name) for s in structures]
        abc = pyabc.ABCSMC(models, [abc_prior(s.keys(keys), space) for s in structures],
                           Distance(target, str(c.distance)),
                           population_size=int(c.particles), sampler=sampler,
                           transitions=[kernel() for _ in structures], eps=pyabc.MedianEpsilon())
    else:
        abc = pyabc.ABCSMC(Simulator(target), abc_prior(keys, space), Distance(target, str(c.distance)),
                           population_size=int(c.particles), sampler=sampler, transitions=kernel(),
                           eps=pyabc.MedianEpsilon())
    db = outdir / "calibration.db"
    observed = {"history": target.observed, "control": np.zeros_like(target.observed)}
    if resume and db.exists():
        done = abc.load(f"sqlite:///{db}", 1).max_t + 1
        say(f"resuming the calibration in {outdir}: {done} of {c.generations} generations done")
    else:
        done = 0
        abc.new(f"sqlite:///{db}", observed)
    choice = (f"model choice among {len(structures)} structures (parameters fitted: "
              + ", ".join(f"{s.name} {len(s.keys(keys))}" for s in structures) + "); ") if structures else ""
    say(f"{choice}calibrating {len(keys)} parameters: {c.particles} particles, up to {c.generations} generations, "
        f"{c.replications} replications per simulated history, {workers if client is None else 'Dask'} worker(s)")
    began = time.perf_counter()
    try:
        left = int(c.generations) - done
        history = abc.run(minimum_epsilon=float(c.min_epsilon), max_nr_populations=left) if left > 0 else abc.history
    finally:  # pyabc stops the sampler (its process pool) itself; the Dask client is this function's
        if client is not None:
            client.close()
    abc_seconds = time.perf_counter() - began
    populations = history.get_all_populations()
    populations = populations[populations["t"] >= 0].reset_index(drop=True)
    populations["acceptance_rate"] = populations["particles"] / populations["samples"]
    if structures:
        probabilities = model_probabilities(history, len(structures))
        populations["effective_sample_size"] = [effective_sample_size(population_weights(history, int(t),
                                                                                          probabilities))
                                                for t in populations["t"]]
        posterior = mixture_posterior(history, structures, keys, priors, probabilities, space)
        weights = posterior["weight"].to_numpy()
    else:
        populations["effective_sample_size"] = [effective_sample_size(history.get_distribution(m=0, t=int(t))[1])
                                                for t in populations["t"]]
        frame, weights = history.get_distribution(m=0, t=history.max_t)
        posterior = pd.DataFrame(dict(zip(keys, values_of(keys, frame, priors, space), strict=True)))
        posterior["weight"] = weights
        distances = history.get_weighted_distances(t=history.max_t)
        posterior["distance"] = distances["distance"].to_numpy()
    histories = int(populations["samples"].sum())
    say(f"ABC-SMC: {len(populations)} generations, {histories} simulated histories in {abc_seconds:.1f} s "
        f"({histories / abc_seconds:.1f} histories/s, {histories * c.replications * 2 / abc_seconds:.0f} "
        f"replications/s), final epsilon {populations['epsilon'].iloc[-1]:.3f}, "
        f"acceptance {populations['acceptance_rate'].iloc[-1]:.2f}, effective sample size "
        f"{effective_sample_size(weights):.1f} of {len(weights)}")
    table = None
    if structures:
        table = structure_table(structures, keys, probabilities)
        say("structures' posterior probabilities: " + ", ".join(f"{r.structure} {r.probability:.3f}"
                                                                for r in table.itertuples()))

    # ---- posterior draws: predictive pattern score, forecast, verdicts
    rng = np.random.default_rng([seed, 13])
    draws = rng.choice(len(posterior), size=int(c.draws), replace=True, p=weights / weights.sum())
    if structures:  # the mixture: each draw replayed under its own structure
        by_name = {s.name: s for s in structures}
        labels = [str(posterior["structure"].iloc[d]) for d in draws]
        params = [with_values(by_name[label].base, {k: posterior[k].iloc[d] for k in by_name[label].keys(keys)})
                  for label, d in zip(labels, draws, strict=True)]
    else:
        labels = [""] * len(draws)
        params = [with_values(base, {k: posterior[k].iloc[d] for k in keys}) for d in draws]
    full = prepare_target(cells, keys, str(c.fit_end), patterns, int(c.replications), full=True, priors=priors,
                          pool=pool, space=space)
    # with a world pool, draw k is replayed (and its verdicts found) in draw k mod W of it
    worlds = [k % len(pool) for k in range(len(params))] if pool else None
    end = str(cells.history.horizon.end)
    ahead = forecast_cells(full.world, full.cells, str(c.fit_end), end) if end != str(c.fit_end) else None
    scored = full.cells if ahead is None else pd.concat([full.cells, ahead], ignore_index=True)
    pair, before, end_rows = cell_rows(full.world, scored, str(cells.history.horizon.start))
    predictive_target = dataclasses.replace(full, cells=scored, pair=pair, before=before, end=end_rows)
    began = time.perf_counter()
    seeds = [np.random.SeedSequence([seed, 1, k]).spawn(int(c.replications)) for k in range(len(params))]
    signs = np.array(by_structure(labels, lambda i: simulate_signs(
        predictive_target, [params[k] for k in i], [seeds[k] for k in i],
        None if worlds is None else [worlds[k] for k in i])[0]))
    predictive_seconds = time.perf_counter() - began
    predictive_rate = len(params) * int(c.replications) * 2 / predictive_seconds
    fitted = len(full.cells)
    predictive = sign_probabilities(full.cells, signs[:, :fitted])
    score = predictive_score(predictive)
    forecast = None
    if ahead is not None:
        forecast = sign_probabilities(ahead, signs[:, fitted:])[["a", "b", "start", "end", "p_plus", "p_zero",
                                                                 "p_minus", "sign"]]
    began = time.perf_counter()
    effects = verdicts_under(params, cells, seed, int(c.verdict_replications), min_relative_effect, labels,
                             pool, worlds)
    verdict_seconds = time.perf_counter() - began
    verdict_table = verdict_probabilities(effects)

    fitted_keys = list(dict.fromkeys(k for s in structures for k in s.keys(keys))) if structures else list(keys)
    record = {
        "parameters": fitted_keys,
        "candidates": list(candidates),
        "screen": None if screened is None else screened.to_dict(orient="records"),
        "priors": {k: {"shape": priors[k].shape, "low": priors[k].low, "high": priors[k].high} for k in fitted_keys},
        "settings": {k: (v if not isinstance(v, Path) else str(v)) for k, v in dict(c).items()},
        "seed": seed, "workers": workers if client is None else "dask", "patterns": str(patterns),
        "generations": len(populations), "simulated_histories": histories,
        "final_epsilon": float(populations["epsilon"].iloc[-1]),
        "effective_sample_size": effective_sample_size(weights),
        "effective_sample_sizes": populations["effective_sample_size"].round(2).tolist(),
        "epsilons": populations["epsilon"].tolist(),
        "acceptance_rate_last": float(populations["acceptance_rate"].iloc[-1]),
        "acceptance_rate_all": float(populations["particles"].sum() / histories),
        "worlds": len(pool),
        "seconds": {"worlds": pool_seconds, "screen": screen_seconds, "abc": abc_seconds,
                    "predictive": predictive_seconds, "verdicts": verdict_seconds},
        "histories_per_second": histories / abc_seconds,
        "abc_replications_per_second": histories * int(c.replications) * 2 / abc_seconds,
        "stacked_replications_per_second": predictive_rate,
        # a parameter that only structures which died out fit has no posterior sample: left out
        "posterior": {k: weighted_summary(*rows) for k in fitted_keys if len((rows := _fitted_rows(posterior, k))[0])},
        "structures": None if table is None else structure_record(structures, keys, table, posterior),
        "predictive_score": score.to_dict(orient="records"),
        "verdicts": verdict_table.to_dict(orient="records"),
    }
    write_outputs(outdir, posterior, populations, predictive, score, forecast, verdict_table, effects, record, priors,
                  table)
    return record


# ------------------------------------------------------------------ model choice: the structures' posterior


def model_probabilities(history: Any, count: int) -> pd.DataFrame:
    """Each structure's posterior probability per generation (pyabc's ``History.get_model_probabilities``):
    rows t = 0, 1, ..., columns the structure's index 0 .. ``count`` - 1, 0 where it has died out."""
    table = history.get_model_probabilities()
    table = table[table.index >= 0].reindex(columns=range(count), fill_value=0.0).fillna(0.0)
    table.columns = list(range(count))
    return table.astype(float)


def population_weights(history: Any, t: int, probabilities: pd.DataFrame) -> np.ndarray:
    """Generation ``t``'s importance weights over every structure alive: each structure's own
    (``get_distribution``: summing to 1 within it) times its probability."""
    row = probabilities.loc[t]
    return np.concatenate([row[m] * history.get_distribution(m=m, t=t)[1] for m in row.index if row[m] > 0])


def mixture_posterior(history: Any, structures: Sequence[Structure], shared: Sequence[str],
                      priors: Mapping[str, Any], probabilities: pd.DataFrame, space: str = "logit") -> pd.DataFrame:
    """The last generation across structures: column ``structure``, one column per parameter fitted by
    any (values, not logits; NaN in the rows of a structure that does not fit it), ``weight`` (the
    particle's weight within its structure times the structure's probability: summing to 1) and
    ``distance``; the structures in their order, each one's particles in pyabc's order (particle id)."""
    t = history.max_t
    parts = []
    for m, structure in enumerate(structures):
        p = float(probabilities.loc[t, m])
        if p <= 0:
            continue
        # one row per particle, parameter and summary statistic (pyabc's tidy form drops particles whose
        # weight and distance are another's): each particle's parameters, weight and distance, by particle id
        rows = history.get_population_extended(m=m, t=t, tidy=False)
        values = (rows.drop_duplicates(["particle_id", "par_name"])
                  .pivot(index="particle_id", columns="par_name", values="par_val").sort_index())
        first = rows.groupby("particle_id", sort=True)[["w", "distance"]].first().loc[values.index]
        fitted = structure.keys(shared)
        part = pd.DataFrame(dict(zip(fitted, values_of(fitted, {name(k): values[name(k)].to_numpy() for k in fitted},
                                                         priors, space), strict=True)))
        w = first["w"].to_numpy(dtype=float)
        part.insert(0, "structure", structure.name)
        part["weight"] = p * w / w.sum()
        part["distance"] = first["distance"].to_numpy(dtype=float)
        parts.append(part)
    columns = ["structure", *dict.fromkeys(k for s in structures for k in s.keys(shared)), "weight", "distance"]
    return pd.concat(parts, ignore_index=True).reindex(columns=columns)


def _fitted_rows(posterior: pd.DataFrame, key: str) -> tuple[np.ndarray, np.ndarray]:
    """The values of ``key`` and their weights in the rows that fit it (every row but under model choice)."""
    values, weights = posterior[key].to_numpy(dtype=float), posterior["weight"].to_numpy(dtype=float)
    fitted = ~np.isnan(values)
    return values[fitted], weights[fitted]


def structure_table(structures: Sequence[Structure], shared: Sequence[str], probabilities: pd.DataFrame
                    ) -> pd.DataFrame:
    """``structures.csv``: per structure its overrides, the parameters it fits beyond the shared ones,
    how many it fits, its posterior probability at the last generation and at each generation
    (``p_generation_<t>``)."""
    rows = []
    for m, s in enumerate(structures):
        row: dict[str, Any] = {"structure": s.name, "overrides": "; ".join(s.overrides),
                               "own_parameters": "; ".join(s.own), "parameters": len(s.keys(shared)),
                               "probability": float(probabilities[m].iloc[-1])}
        row.update({f"p_generation_{int(t)}": float(p) for t, p in probabilities[m].items()})
        rows.append(row)
    return pd.DataFrame(rows)


def structure_record(structures: Sequence[Structure], shared: Sequence[str], table: pd.DataFrame,
                     posterior: pd.DataFrame) -> list[dict[str, Any]]:
    """``calibration.json``'s ``structures``: per structure what :func:`structure_table` says, its prior
    probability, its particles and effective sample size at the last generation and its posterior
    (the weighted summary of each parameter it fits, given the structure)."""
    out = []
    generations = [c for c in table.columns if c.startswith("p_generation_")]
    for s, row in zip(structures, table.itertuples(index=False), strict=True):
        own = posterior[posterior["structure"] == s.name]
        w = own["weight"].to_numpy(dtype=float)
        fitted = s.keys(shared)
        out.append({"name": s.name, "overrides": list(s.overrides), "parameters": list(fitted),
                    "prior_probability": 1 / len(structures), "probability": float(row.probability),
                    "probabilities": [float(getattr(row, g)) for g in generations],
                    "particles": len(own), "effective_sample_size": effective_sample_size(w) if len(own) else 0.0,
                    "posterior": {k: weighted_summary(own[k].to_numpy(dtype=float), w) for k in fitted}
                    if len(own) else {}})
    return out


def by_structure(labels: Sequence[Hashable], run: Callable[[list[int]], Sequence[Any]]) -> list[Any]:
    """``run(indices)`` once per structure (a stack shares its switches; a label may also name the world
    draw, which a stack shares too), the indices of its draws in their order; the results put back in
    the draws' order. One label: one call over every draw."""
    out: list[Any] = [None] * len(labels)
    for label in dict.fromkeys(labels):
        indices = [k for k, other in enumerate(labels) if other == label]
        for k, result in zip(indices, run(indices), strict=True):
            out[k] = result
    return out


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size of importance weights: ``(sum w)^2 / sum w^2``."""
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / (w**2).sum())


def weighted_summary(values: np.ndarray, weights: np.ndarray) -> dict[str, float]:
    """Weighted mean and the 5%, 50%, 95% weighted quantiles (the inverse of the weighted CDF)."""
    order = np.argsort(values)
    v, w = values[order], weights[order] / weights.sum()
    cdf = np.cumsum(w)
    q = {f"q{int(p * 100):02d}": float(v[min(np.searchsorted(cdf, p), len(v) - 1)]) for p in (0.05, 0.5, 0.95)}
    return {"mean": float((v * w).sum()), **q}


def sign_probabilities(cells: pd.DataFrame, signs: np.ndarray) -> pd.DataFrame:
    """Per cell: the share of posterior draws whose rule sign is +1, 0, -1 and the most probable
    sign (ties: 0 before +1 before -1, the order of caution); ``agree`` where it equals the observed."""
    out = cells[["a", "b", "start", "end", "sign", "confidence"]].rename(columns={"sign": "observed"}).copy()
    for s, column in SIGN_COLUMNS.items():
        out[column] = (signs == s).mean(axis=0)
    probabilities = out[["p_zero", "p_plus", "p_minus"]].to_numpy()
    out["sign"] = np.array([0, 1, -1])[probabilities.argmax(axis=1)]
    out["agree"] = out["sign"] == out["observed"]
    return out.reset_index(drop=True)


def predictive_score(predictive: pd.DataFrame) -> pd.DataFrame:
    """Agreement of the posterior-predictive sign and of the two guesses with the observed signs,
    over all cells and the H+M cells (as :func:`sim.patterns.score_table`)."""
    from sim.patterns import GUESSES, SUBSETS

    rows = []
    for subset, confidences in SUBSETS.items():
        g = predictive[predictive["confidence"].isin(confidences)]
        for rule, predicted in (("posterior predictive", g["sign"].to_numpy()), *GUESSES.items()):
            agree = int((np.broadcast_to(predicted, len(g)) == g["observed"].to_numpy()).sum())
            rows.append({"subset": subset, "rule": rule, "cells": len(g), "agree": agree,
                         "weighted_disagreement": weighted_disagreement(g["observed"], predicted, g["confidence"])})
    return pd.DataFrame(rows)


def verdicts_under(params: Sequence[MechanismsConfig], cells: Cells, seed: int, replications: int,
                   min_relative_effect: float, labels: Sequence[str] | None = None, pool: Sequence[Cells] = (),
                   worlds: Sequence[int] | None = None) -> pd.DataFrame:
    """Each posterior draw's headline pair (control against treatment, ``replications`` paired
    replications, the draws stacked: :func:`sim.experiment.run_stacked`, one stack per structure of
    ``labels`` and world draw): its H1 and H2 effect and verdict. ``worlds``: draw k's pair runs in
    ``pool[worlds[k]]`` (:func:`world_pool`: control and treatment in one drawn world); None: as written."""
    from sim.analysis import summarise
    from sim.cli import outreach_direction
    from sim.experiment import prepare, run_stacked

    control, treatment = cells.control, cells.treatment
    names = (str(control.scenario.name), str(treatment.scenario.name))
    drawn = [cells] if worlds is None else list(pool)
    where = [0] * len(params) if worlds is None else list(worlds)
    prepared = {}
    for w in dict.fromkeys(where):
        world, _, control_schedule = prepare(drawn[w].control)
        prepared[w] = world, control_schedule, prepare(drawn[w].treatment)[2]
    tables = []
    labels = labels if labels is not None else [""] * len(params)
    stacks = list(zip(labels, where, strict=True))  # a stack shares its switches and its world
    for s, scenario in enumerate(names):
        results = by_structure(stacks, lambda i, s=s, scenario=scenario: run_stacked(
            [(scenario, params[k], prepared[where[i[0]]][1 + s]) for k in i], prepared[where[i[0]]][0], seed,
            replications))
        tables.append([r.table for r in results])
    direction = outreach_direction(control, treatment)
    rows = []
    for k in range(len(params)):
        table = pd.concat([tables[0][k], tables[1][k]], ignore_index=True)
        summary = summarise(table, names[0], names[1], seed=seed, direction=direction,
                            min_relative_effect=min_relative_effect)
        for h in ("h1", "h2"):
            rows.append({"draw": k, "hypothesis": h, "effect": summary[h]["effect"],
                         "relative_effect": summary[h]["relative_effect"], "verdict": summary[h]["verdict"]})
    return pd.DataFrame(rows)


def verdict_probabilities(effects: pd.DataFrame) -> pd.DataFrame:
    """Per hypothesis: the probability of each verdict under the posterior (share of draws) and the
    effect's posterior mean and 5-95% range."""
    rows = []
    for h, g in effects.groupby("hypothesis", sort=True):
        row: dict[str, Any] = {"hypothesis": h, "draws": len(g)}
        for v in VERDICTS:
            row[f"p_{v}"] = float((g["verdict"] == v).mean())
        e = g["relative_effect"].to_numpy(dtype=float)
        row.update({"relative_effect_mean": float(np.nanmean(e)), "relative_effect_q05": float(np.nanquantile(e, 0.05)),
                    "relative_effect_q95": float(np.nanquantile(e, 0.95))})
        rows.append(row)
    return pd.DataFrame(rows)


def write_outputs(outdir: Path, posterior: pd.DataFrame, populations: pd.DataFrame, predictive: pd.DataFrame,
                  score: pd.DataFrame, forecast: pd.DataFrame | None, verdicts: pd.DataFrame,
                  effects: pd.DataFrame, record: dict[str, Any], priors: dict[str, Any],
                  structures: pd.DataFrame | None = None) -> None:
    """Every output file, each atomically; ``calibration.json`` last (the completion mark).
    ``structures`` (model choice): ``structures.csv`` and ``structures.png`` too."""
    from sim.plots import calibration_figure, structures_figure
    from sim.store import atomic_write, write_figures

    atomic_write(outdir / "posterior.parquet", lambda p: posterior.to_parquet(p, index=False))
    atomic_write(outdir / "generations.csv", lambda p: populations.to_csv(p, index=False))
    atomic_write(outdir / "predictive.csv", lambda p: predictive.to_csv(p, index=False))
    atomic_write(outdir / "predictive_score.csv", lambda p: score.to_csv(p, index=False))
    if forecast is not None:
        atomic_write(outdir / "forecast.csv", lambda p: forecast.to_csv(p, index=False))
    atomic_write(outdir / "verdicts.csv", lambda p: verdicts.to_csv(p, index=False))
    atomic_write(outdir / "effects.parquet", lambda p: effects.to_parquet(p, index=False))
    figures = {"calibration": calibration_figure(posterior, priors, verdicts, forecast, score)}
    if structures is not None:
        atomic_write(outdir / "structures.csv", lambda p: structures.to_csv(p, index=False))
        figures["structures"] = structures_figure(structures, int(record["settings"]["particles"]))
    write_figures(outdir, figures)
    atomic_write(outdir / "calibration.json", lambda p: p.write_text(json.dumps(record, indent=2, default=str)))

