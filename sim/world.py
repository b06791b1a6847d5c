"""The World: actors and their tie/affinity matrices, built from a config or generated."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from sim.config import SYNTHETIC_ISSUES, _synthetic_codes
from sim.levers import LEVER_TABLE, OUTREACH, SANCTIONS


@dataclass(frozen=True)
class Roles:
    """Indices of the actors the question is about."""

    entente: tuple[int, int]
    outreach_actor: int
    outreach_targets: tuple[int, ...]
    sanctions: dict[str, tuple[int, int]]  # sanctions lever -> (sender, target), in sim.levers.LEVER_TABLE order


@dataclass(frozen=True)
class World:
    """Initial state of the world. Arrays are indexed by position in ``codes``.

    capability (N,), industry (N,) (capacity to produce materiel, read only as ratios), camp (N,),
    non_state (N,), budget (N,), outside_option (N,),
    positions (N, K) in [-1, 1], salience (N, K) rows summing to 1,
    commitment (N, N): A0[i, j] in budget units, rows <= budget,
    affinity (N, N) symmetric in [-1, 1], complementarity (N, N) and returns (N, N) symmetric >= 0,
    groups: named groups of states that events may name (OPEC+, the GCC, BRICS);
    capability_trend (N,): each state's annual log-growth of capability before the start year, which
    moves budgets in a scenario that sets ``capability_trends`` (None: no trend data, budgets never trend).
    """

    name: str
    codes: tuple[str, ...]
    names: tuple[str, ...]
    issues: tuple[str, ...]
    camp: tuple[str, ...]
    non_state: np.ndarray
    capability: np.ndarray
    industry: np.ndarray
    budget: np.ndarray
    outside_option: np.ndarray
    positions: np.ndarray
    salience: np.ndarray
    commitment: np.ndarray
    affinity: np.ndarray
    complementarity: np.ndarray
    returns: np.ndarray
    roles: Roles
    meta: dict[str, Any] = field(default_factory=dict)
    groups: dict[str, tuple[int, ...]] = field(default_factory=dict)  # name -> member indices (OPEC+, GCC, ...)
    capability_trend: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.codes)

    def index(self, code: str) -> int:
        return self.codes.index(code)

    def with_arrays(self, **arrays: np.ndarray) -> World:
        """A copy with some arrays replaced (for tests and counterfactuals)."""
        return replace(self, **arrays)


def _symmetric(codes: list[str], pairs: Any) -> np.ndarray:
    m = np.zeros((len(codes), len(codes)))
    for p in pairs:
        i, j = codes.index(p.states[0]), codes.index(p.states[1])
        m[i, j] = m[j, i] = float(p.value)
    return m


def _roles(codes: list[str], r: Any) -> Roles:
    idx = codes.index
    return Roles(
        entente=(idx(r.entente[0]), idx(r.entente[1])),
        outreach_actor=idx(r.outreach_actor),
        outreach_targets=tuple(idx(c) for c in r.outreach_targets),
        sanctions={lever: (idx(r[lever][0]), idx(r[lever][1])) for lever in SANCTIONS},
    )


def world_from_config(w: Any) -> World:
    """Build a World from a validated ``WorldConfig`` (table or synthetic)."""
    if w.generator == "synthetic":
        return synthetic_world(int(w.n_states), seed=int(w.seed))
    codes = list(w.states.keys())
    states = [w.states[c] for c in codes]
    budget = np.array([float(s.budget) for s in states])
    commitment = np.zeros((len(codes), len(codes)))
    for t in w.commitments:
        i, j = codes.index(t.origin), codes.index(t.target)
        commitment[i, j] = float(t.commitment) * budget[i]
    salience = np.array([[float(x) for x in s.salience] for s in states])
    return World(
        name=str(w.name),
        codes=tuple(codes),
        names=tuple(str(s.name) for s in states),
        issues=tuple(str(x) for x in w.issues),
        camp=tuple(str(s.camp) for s in states),
        non_state=np.array([bool(s.non_state) for s in states]),
        capability=np.array([float(s.capability) for s in states]),
        industry=np.array([float(s.industry) for s in states]),
        budget=budget,
        outside_option=np.array([float(s.outside_option) for s in states]),
        positions=np.array([[float(x) for x in s.positions] for s in states]),
        salience=salience / salience.sum(axis=1, keepdims=True),
        commitment=commitment,
        affinity=_symmetric(codes, w.affinities),
        complementarity=_symmetric(codes, w.complementarity),
        returns=_symmetric(codes, w.returns),
        roles=_roles(codes, w.roles),
        groups={str(g.name): tuple(codes.index(c) for c in g.members) for g in w.groups},
        capability_trend=np.array([float(getattr(s, "capability_trend", 0.0)) for s in states]),  # older configs: 0
    )


def synthetic_world(n: int, *, seed: int = 0, n_issues: int = SYNTHETIC_ISSUES, density: float = 0.3) -> World:
    """A random world of ``n`` states for theory tests and scaling, fully determined by ``seed``.

    Positions are uniform in [-1, 1]; the affinity of i < j is 1 minus their mean absolute
    position gap plus N(0, 0.2) noise, clipped to [-1, 1] and mirrored; about ``density`` of
    pairs get complementarity, returns and commitments, with each state committing 60% of its
    budget spread over its tied partners. Industry is the capability (no draw of its own). No state
    is non-state. Roles: S0-S1 are the entente; the levers' synthetic roles come from
    :data:`sim.levers.LEVER_TABLE`: S0 courts S2-S4, S5 sanctions S1 (``us_sanctions_on_iran``)
    and S0 (``western_sanctions_on_russia``).
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    codes = _synthetic_codes(n)
    positions = rng.uniform(-1, 1, size=(n, n_issues))
    salience = rng.dirichlet(np.ones(n_issues), size=n)
    gap = np.abs(positions[:, None, :] - positions[None, :, :]).mean(axis=2)
    affinity = np.clip(1.0 - gap + rng.normal(0, 0.2, size=(n, n)), -1, 1)
    affinity = np.triu(affinity, 1)
    affinity = affinity + affinity.T
    linked = np.triu(rng.random((n, n)) < density, 1)
    linked = linked | linked.T
    linked[0, 1] = linked[1, 0] = True
    complementarity = np.where(linked, np.triu(rng.uniform(0, 0.6, (n, n)), 1), 0.0)
    complementarity = complementarity + complementarity.T
    returns = np.where(linked, np.triu(rng.uniform(0, 0.3, (n, n)), 1), 0.0)
    returns = returns + returns.T
    capability = rng.pareto(1.5, size=n) + 0.1
    capability = capability / capability.sum()
    budget = np.sqrt(capability / capability.max())
    weights = np.where(linked, rng.uniform(0.2, 1.0, (n, n)), 0.0)
    shares = 0.6 * weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    return World(
        name=f"synthetic_{n}",
        codes=tuple(codes),
        names=tuple(codes),
        issues=tuple(f"issue_{k}" for k in range(n_issues)),
        camp=tuple("other" for _ in codes),
        non_state=np.zeros(n, dtype=bool),
        capability=capability,
        industry=capability.copy(),
        budget=budget,
        outside_option=np.full(n, 0.2),
        positions=positions,
        salience=salience,
        commitment=shares * budget[:, None],
        affinity=affinity,
        complementarity=complementarity,
        returns=returns,
        roles=Roles(entente=(0, 1), outreach_actor=OUTREACH.synthetic_sender,
                    outreach_targets=OUTREACH.synthetic_targets,
                    sanctions={lv.name: (lv.synthetic_sender, lv.synthetic_targets[0])
                               for lv in LEVER_TABLE if lv.kind == "sanctions"}),
        meta={"seed": seed},
    )
