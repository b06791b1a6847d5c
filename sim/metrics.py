"""Leverage and structure metrics, each a pure function with its formula in the docstring.

Dependence, bilateral leverage (power advantage), third-party leverage and the balance index
are the formulas the mechanisms use (:mod:`sim.theory`, :mod:`sim.mechanisms.bargaining`),
imported here so that a metric and its mechanism cannot disagree.
"""

from __future__ import annotations

import numpy as np

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


def entente_strength(tie: np.ndarray, i: int, j: int) -> float:
    """Entente strength: the mutual tie T[i, j] = sqrt(a[i, j] a[j, i]), a = commitment share."""
    return float(tie[i, j])


def portfolio_shares(commit: np.ndarray, actor: int) -> np.ndarray:
    """Share of the actor's commitment that goes to each partner: s_j = A[a, j] / sum_k A[a, k] (0 if none)."""
    row = commit[actor]
    total = row.sum()
    return row / total if total > 0 else np.zeros_like(row)


def portfolio_share(commit: np.ndarray, actor: int, partners: tuple[int, ...]) -> float:
    """Share of the actor's commitment that goes to ``partners``: sum_{j in P} s_j."""
    return float(portfolio_shares(commit, actor)[list(partners)].sum())


def portfolio_concentration(commit: np.ndarray, actor: int) -> float:
    """Herfindahl concentration of the actor's commitments: sum_j s_j^2, s_j = A[a, j] / sum_k A[a, k]."""
    return float(np.sum(portfolio_shares(commit, actor) ** 2))


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
    asymmetric dependence), leverage_<t> for each outreach target t over the entente dyad and
    their sum sunni_leverage, sunni_share and portfolio_concentration of the outreach actor,
    share_<j> of the actor's commitment to each partner j, balance_index, affinity_<a>_<b>,
    budget_<actor> and commitment_<actor> (its total commitment).
    """
    i, j = entente
    a, b = codes[i].lower(), codes[j].lower()
    actor = outreach_actor
    lev = third_party_leverage(tie, affinity, dep, outside, i, j, threshold=hostility_threshold)
    out = {
        "entente_strength": entente_strength(tie, i, j),
        f"dependence_{a}_on_{b}": float(dep[i, j]),
        f"dependence_{b}_on_{a}": float(dep[j, i]),
        f"leverage_{a}_over_{b}": float(power_advantage(dep)[i, j]),
        "sunni_leverage": float(lev[list(outreach_targets)].sum()),
        "sunni_share": portfolio_share(commit, actor, outreach_targets),
        "portfolio_concentration": portfolio_concentration(commit, actor),
        "balance_index": balance_index(affinity - np.diag(np.diag(affinity))),
        f"affinity_{a}_{b}": float(affinity[i, j]),
        f"budget_{codes[actor].lower()}": float(budget[actor]),
        f"commitment_{codes[actor].lower()}": float(commit[actor].sum()),
    }
    for t in outreach_targets:
        out[f"leverage_{codes[t].lower()}"] = float(lev[t])
    shares = portfolio_shares(commit, actor)
    for k, code in enumerate(codes):
        if k != actor:
            out[f"share_{code.lower()}"] = float(shares[k])
    return out
