"""Leverage and structure metrics, each a pure function with its formula in the docstring.

Dependence, bilateral leverage (power advantage), third-party leverage and the balance index
are the formulas the mechanisms use (:mod:`sim.theory`, :mod:`sim.mechanisms.bargaining`),
imported here so that a metric and its mechanism cannot disagree.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from sim.mechanisms.arrays import zero_diagonal
from sim.mechanisms.bargaining import dependence, power_advantage, third_party_leverage
from sim.mechanisms.demands import exit_threat
from sim.theory.balance import balance_index

__all__ = [
    "METRICS",
    "Metric",
    "balance_index",
    "dependence",
    "entente_strength",
    "portfolio_concentration",
    "portfolio_share",
    "portfolio_shares",
    "power_advantage",
    "third_party_leverage",
]


def entente_strength(tie: np.ndarray, i: int, j: int) -> float | np.ndarray:
    """Entente strength: the mutual tie T[i, j] = sqrt(a[i, j] a[j, i]), a = commitment share.

    A float for one world; shape (R,) for a stack of R replications (R, N, N).
    """
    return tie[..., i, j]


def portfolio_shares(commit: np.ndarray, actor: int) -> np.ndarray:
    """Share of the actor's commitment that goes to each partner: s_j = A[a, j] / sum_k A[a, k] (0 if none).

    Shape (N,), or (R, N) for a stack of R replications' commitments (R, N, N).
    """
    row = commit[..., actor, :]
    total = row.sum(axis=-1, keepdims=True)
    return np.divide(row, total, out=np.zeros_like(row), where=total > 0)


def portfolio_share(commit: np.ndarray, actor: int, partners: tuple[int, ...]) -> float:
    """Share of the actor's commitment that goes to ``partners``: sum_{j in P} s_j."""
    return float(_share_of(portfolio_shares(commit, actor), list(partners)))


def portfolio_concentration(commit: np.ndarray, actor: int) -> float:
    """Herfindahl concentration of the actor's commitments: sum_j s_j^2, s_j = A[a, j] / sum_k A[a, k]."""
    return float(_herfindahl(portfolio_shares(commit, actor)))


def _share_of(shares: np.ndarray, partners: list[int]) -> np.floating | np.ndarray:
    return shares[..., partners].sum(axis=-1)


def _herfindahl(shares: np.ndarray) -> np.floating | np.ndarray:
    return (shares**2).sum(axis=-1)


class MonthArrays:
    """One month's arrays (or a stack of months or runs: leading axes) and the roles that name the
    metrics; what several metrics share (the leverage over the dyad, the portfolio shares) is
    computed once, when first read."""

    def __init__(self, *, entente: tuple[int, int], outreach_actor: int, outreach_targets: tuple[int, ...],
                 commit: np.ndarray, tie: np.ndarray, affinity: np.ndarray, dep: np.ndarray, outside: np.ndarray,
                 budget: np.ndarray, hostility_threshold: float | np.ndarray, demand: np.ndarray | None = None,
                 refused: np.ndarray | None = None, verbal: np.ndarray | None = None,
                 material: np.ndarray | None = None) -> None:
        self.i, self.j = entente
        self.actor, self.targets = outreach_actor, list(outreach_targets)
        self.commit, self.tie, self.affinity, self.dep, self.outside, self.budget = (
            commit, tie, affinity, dep, outside, budget)
        self.threshold = hostility_threshold
        # The month's demand game, per target (sim.mechanisms.demands; zeros when it is not played)
        none = np.zeros((*tie.shape[:-2], len(self.targets)))
        self.demand, self.refused, self.verbal, self.material = (
            none if a is None else a for a in (demand, refused, verbal, material))

    @functools.cached_property
    def leverage(self) -> np.ndarray:
        """lev[..., t]: :func:`third_party_leverage` of each outreach target over the entente dyad."""
        return third_party_leverage(self.tie, self.affinity, self.dep, self.outside, self.i, self.j,
                                    threshold=self.threshold)[..., self.targets]

    @functools.cached_property
    def shares(self) -> np.ndarray:
        """The outreach actor's :func:`portfolio_shares`."""
        return portfolio_shares(self.commit, self.actor)

    def partner_shares(self) -> np.ndarray:
        """The actor's shares to every partner but itself, in the order of the world's states."""
        return np.delete(self.shares, self.actor, axis=-1)


@dataclass(frozen=True)
class Metric:
    """One entry of :data:`METRICS`: a column name (or, with ``per``, one column per target or
    partner) and the formula that computes it from a :class:`MonthArrays`.

    ``name`` may use ``{a}`` and ``{b}`` (the entente's codes), ``{actor}`` (the outreach actor's)
    and, with ``per="target"`` or ``per="partner"``, ``{code}`` (each outreach target's, or each of
    the actor's partners', in the world's order); codes are written in lower case.
    """

    name: str
    compute: Callable[[MonthArrays], np.ndarray | float]
    description: str
    per: str | None = None


# The metrics recorded every month, in column order. Adding a metric is one entry here.
METRICS: tuple[Metric, ...] = (
    Metric("entente_strength", lambda m: entente_strength(m.tie, m.i, m.j),
           "mutual tie of the entente T[a, b] (:func:`entente_strength`)"),
    Metric("dependence_{a}_on_{b}", lambda m: m.dep[..., m.i, m.j], "D[a, b] (:func:`dependence`)"),
    Metric("dependence_{b}_on_{a}", lambda m: m.dep[..., m.j, m.i], "D[b, a] (:func:`dependence`)"),
    Metric("leverage_{a}_over_{b}", lambda m: power_advantage(m.dep)[..., m.i, m.j],
           "bilateral leverage D[b, a] - D[a, b] (:func:`power_advantage`)"),
    Metric("sunni_leverage", lambda m: m.leverage.sum(axis=-1),
           "diagnostic only: sum over the outreach targets of leverage_<t> (:func:`third_party_leverage` over the "
           "entente dyad); it grows with the actor's ties to the targets whatever their demands achieve"),
    Metric("sunni_share", lambda m: _share_of(m.shares, m.targets),
           "share of the actor's commitment that goes to the outreach targets (:func:`portfolio_share`)"),
    Metric("portfolio_concentration", lambda m: _herfindahl(m.shares),
           "Herfindahl index of the actor's commitments (:func:`portfolio_concentration`)"),
    # the balance index reads the relations, not self-appraisals
    Metric("balance_index", lambda m: balance_index(zero_diagonal(m.affinity.copy())),
           "weighted structural balance of the affinities without self-appraisals (:func:`balance_index`)"),
    Metric("affinity_{a}_{b}", lambda m: m.affinity[..., m.i, m.j], "S[a, b]"),
    Metric("budget_{actor}", lambda m: m.budget[..., m.actor], "the outreach actor's budget b_actor"),
    Metric("commitment_{actor}", lambda m: m.commit[..., m.actor, :].sum(axis=-1),
           "the outreach actor's total commitment sum_j A[actor, j]"),
    Metric("demands", lambda m: (m.demand > 0).sum(axis=-1),
           "outreach targets that demand something of the actor at the entente partner's expense (demand game)"),
    Metric("refusals", lambda m: m.refused.sum(axis=-1), "demands the actor refused"),
    Metric("verbal_concessions", lambda m: m.verbal.sum(axis=-1), "demands met by a statement (no material effect)"),
    Metric("material_concessions", lambda m: m.material.sum(axis=-1),
           "demands met by committing less to the entente partner"),
    Metric("demand_{code}", lambda m: m.demand, "each target's demand x_t (:func:`sim.mechanisms.demands.demand_game`)",
           per="target"),
    Metric("exit_threat_{code}", lambda m: exit_threat(m.dep, m.actor, m.targets),
           "credible exit threat K_t = max(0, D[actor, t] - D[t, actor]) (:func:`sim.mechanisms.demands.exit_threat`)",
           per="target"),
    Metric("power_{code}_over_{actor}", lambda m: power_advantage(m.dep)[..., m.targets, m.actor],
           "Emerson net power advantage of t over the actor D[actor, t] - D[t, actor] (:func:`power_advantage`)",
           per="target"),
    Metric("leverage_{code}", lambda m: m.leverage, "third-party leverage of each outreach target over the dyad",
           per="target"),
    Metric("share_{code}", lambda m: m.partner_shares(), "the actor's commitment share to each partner",
           per="partner"),
)


# Columns a cell adds to the metrics from each replication's counterfactual twin: the same seed and
# parameters with the outreach targets' demands removed (``demands.scale = 0``, run beside it by
# sim.experiment): ``entente_without_demands`` is its entente strength, and ``realized_leverage`` =
# entente_without_demands - entente_strength, what the targets' demands take from the entente (H2).
COUNTERFACTUAL: tuple[str, ...] = ("entente_without_demands", "realized_leverage")


def metric_names(
    codes: tuple[str, ...], entente: tuple[int, int], outreach_actor: int, outreach_targets: tuple[int, ...]
) -> tuple[str, ...]:
    """Column names of :data:`METRICS` for a world's codes and roles, in column order (codes in lower case)."""
    lower = [c.lower() for c in codes]
    names = {"a": lower[entente[0]], "b": lower[entente[1]], "actor": lower[outreach_actor]}
    each = {"target": [lower[t] for t in outreach_targets],
            "partner": [c for k, c in enumerate(lower) if k != outreach_actor]}
    out: list[str] = []
    for metric in METRICS:
        if metric.per is None:
            out.append(metric.name.format(**names))
        else:
            out += [metric.name.format(**names, code=code) for code in each[metric.per]]
    return tuple(out)


def measure_into(out: np.ndarray, **arrays: Any) -> np.ndarray:
    """Write every metric of :data:`METRICS` into ``out`` in column order and return it.

    ``arrays`` are the keywords of :class:`MonthArrays` (the roles, the month's ``commit``,
    ``tie``, ``affinity``, ``dep``, ``outside``, ``budget`` and the ``hostility_threshold``). For
    one month ``out`` is 1-d; for a stack of K months or runs (arrays (K, N, N) and (K, N), the
    threshold a float or one per slice, shape (K,)) ``out`` is (K, columns): one row each.
    """
    m = MonthArrays(**arrays)
    k = 0
    for metric in METRICS:
        value = np.asarray(metric.compute(m))
        if metric.per is None:
            out[..., k] = value
            k += 1
        else:
            width = value.shape[-1]
            out[..., k:k + width] = value
            k += width
    return out


def measurer(roles: Any, hostility_threshold: float | None) -> Callable[..., np.ndarray]:
    """:func:`measure_into` for one world's roles and threshold: ``measure(out, commit=..., tie=...,
    affinity=..., dep=..., outside=..., budget=...)``, for one month or a stack of them. With
    ``hostility_threshold=None`` each call passes its own (one per slice, for stacks of parameter sets)."""
    return partial(measure_into, entente=roles.entente, outreach_actor=roles.outreach_actor,
                   outreach_targets=roles.outreach_targets, hostility_threshold=hostility_threshold)


def step_metrics(
    *,
    codes: tuple[str, ...],
    entente: tuple[int, int],
    outreach_actor: int,
    outreach_targets: tuple[int, ...],
    commit: np.ndarray,
    tie: np.ndarray,
    affinity: np.ndarray,
    dep: np.ndarray,
    outside: np.ndarray,
    budget: np.ndarray,
    hostility_threshold: float,
    demand: np.ndarray | None = None,
    refused: np.ndarray | None = None,
    verbal: np.ndarray | None = None,
    material: np.ndarray | None = None,
) -> dict[str, float]:
    """Every metric recorded each month (:data:`METRICS`), by column name (state codes in lower case).
    ``demand`` ... ``material``: the month's demand game per target (:class:`MonthArrays`; zeros if omitted)."""
    names = metric_names(codes, entente, outreach_actor, outreach_targets)
    row = measure_into(np.empty(len(names)), entente=entente, outreach_actor=outreach_actor,
                       outreach_targets=outreach_targets, commit=commit, tie=tie, affinity=affinity, dep=dep,
                       outside=outside, budget=budget, hostility_threshold=hostility_threshold, demand=demand,
                       refused=refused, verbal=verbal, material=material)
    return dict(zip(names, row.tolist(), strict=True))
