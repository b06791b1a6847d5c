"""Leverage and structure metrics, each a pure function with its formula in the docstring.

Dependence, bilateral leverage (power advantage), third-party leverage and the balance index
are the formulas the mechanisms use (:mod:`sim.theory`, :mod:`sim.mechanisms.bargaining`),
imported here so that a metric and its mechanism cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from sim.mechanisms.arrays import zero_diagonal
from sim.mechanisms.bargaining import dependence, power_advantage, third_party_leverage
from sim.theory.balance import balance_index

__all__ = [
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


def metric_names(
    codes: tuple[str, ...], entente: tuple[int, int], outreach_actor: int, outreach_targets: tuple[int, ...]
) -> tuple[str, ...]:
    """Column names of :func:`step_metrics`, in its order (state codes in lower case)."""
    i, j = entente
    a, b = codes[i].lower(), codes[j].lower()
    actor = codes[outreach_actor].lower()
    return (
        "entente_strength", f"dependence_{a}_on_{b}", f"dependence_{b}_on_{a}", f"leverage_{a}_over_{b}",
        "sunni_leverage", "sunni_share", "portfolio_concentration", "balance_index", f"affinity_{a}_{b}",
        f"budget_{actor}", f"commitment_{actor}",
        *(f"leverage_{codes[t].lower()}" for t in outreach_targets),
        *(f"share_{code.lower()}" for k, code in enumerate(codes) if k != outreach_actor),
    )


def measure_into(
    out: np.ndarray,
    *,
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
) -> np.ndarray:
    """Write every metric of the month into ``out`` (length ``len(metric_names(...))``), in that order.

    The formulas are those of :func:`step_metrics`; this form fills one row of a preallocated
    array without building a dict, which is what the model records every month. For a stack of
    R replications (arrays (R, N, N) and (R, N)) ``out`` is (R, columns): one row each.
    """
    i, j = entente
    actor = outreach_actor
    targets = list(outreach_targets)
    lev = third_party_leverage(tie, affinity, dep, outside, i, j, threshold=hostility_threshold)[..., targets]
    shares = portfolio_shares(commit, actor)
    # the balance index reads the relations, not self-appraisals
    relations = zero_diagonal(affinity.copy())
    columns = out.T  # columns[k]: column k (of every replication); out is 1-d or (R, columns)
    columns[0] = entente_strength(tie, i, j)
    columns[1] = dep[..., i, j]
    columns[2] = dep[..., j, i]
    columns[3] = power_advantage(dep)[..., i, j]
    columns[4] = lev.sum(axis=-1)
    columns[5] = _share_of(shares, targets)
    columns[6] = _herfindahl(shares)
    columns[7] = balance_index(relations)
    columns[8] = affinity[..., i, j]
    columns[9] = budget[..., actor]
    columns[10] = commit[..., actor, :].sum(axis=-1)
    k = 11 + len(targets)
    out[..., 11:k] = lev
    out[..., k:k + actor] = shares[..., :actor]
    out[..., k + actor:] = shares[..., actor + 1:]
    return out


def measurer(roles: Any, hostility_threshold: float) -> Callable[..., np.ndarray]:
    """:func:`measure_into` for one world's roles and threshold: ``measure(out, commit=..., tie=...,
    affinity=..., dep=..., outside=..., budget=...)``, for one month or a stack of them."""
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
) -> dict[str, float]:
    """Every metric recorded each month, by column name (state codes in lower case).

    entente_strength, dependence_<a>_on_<b> and _<b>_on_<a>, leverage_<a>_over_<b> (bilateral,
    asymmetric dependence: :func:`power_advantage`), sunni_leverage (the sum over the outreach
    targets t of leverage_<t>, :func:`third_party_leverage` over the entente dyad), sunni_share
    and portfolio_concentration of the outreach actor (:func:`portfolio_share`,
    :func:`portfolio_concentration`), balance_index (:func:`balance_index` of the affinities
    without self-appraisals), affinity_<a>_<b>, budget_<actor> and commitment_<actor> (its
    total commitment), leverage_<t> for each target, and share_<j> of the actor's commitment to
    each partner j (:func:`portfolio_shares`).
    """
    names = metric_names(codes, entente, outreach_actor, outreach_targets)
    row = measure_into(np.empty(len(names)), entente=entente, outreach_actor=outreach_actor,
                       outreach_targets=outreach_targets, commit=commit, tie=tie, affinity=affinity, dep=dep,
                       outside=outside, budget=budget, hostility_threshold=hostility_threshold)
    return dict(zip(names, row.tolist(), strict=True))
