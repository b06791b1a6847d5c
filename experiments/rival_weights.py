"""The default weights of the rival mechanisms, by the equal-footing rule of docs/MODEL.md 7.2b.

    .venv/bin/python experiments/rival_weights.py [override ...]

Each rival's weight is the one that makes its term, at the calibrated 2018 state of the default
model (rivals off), as large in mean absolute size over all ordered dyads (i != j) as the
third-party cost term it rivals, ``w_t * cost``: brokerage and shared threat are levels, taken
as they are in 2018, as the cost is. Abandonment fear is 0 at the calibration by construction
(a loss since then), so it is taken at its full extent, every patron needing its partner no
more (D[j, i] = 0): ``kappa * D0[i, j]`` where ``D0[j, i] > 0``. Prints a Markdown table; the defaults in
``sim/config.py`` are these weights rounded to two significant digits. Nothing here looks at a
run's outcome, the hypotheses or the history record.
"""

from __future__ import annotations

import sys

import numpy as np

from sim.api import compose
from sim.config import validate
from sim.experiment import prepare
from sim.mechanisms.rivals import abandonment_fear, brokerage_premium, shared_threat
from sim.mechanisms.value import third_party_cost
from sim.step import Month


def calibrated_terms(overrides: list[str]) -> dict[str, np.ndarray]:
    """Each term at weight 1 (the third-party cost at its configured w_t), at the calibrated 2018 state."""
    cfg = compose(overrides)
    validate(cfg)
    world, mechanisms, schedule = prepare(cfg)
    n = world.n
    m = Month(world, mechanisms, schedule, shock=np.zeros((n, n)), draw=lambda _: np.zeros((n, n)))
    abandoned = np.zeros_like(m.dependence)  # abandonment at its full extent: no patron needs its partner
    return {
        "third-party cost w_t cost": mechanisms.value.third_party_weight * third_party_cost(m.tie, m.affinity),
        "abandonment": abandonment_fear(abandoned, m.dependence, weight=1.0),
        "brokerage": brokerage_premium(m.tie, m.affinity, m.dependence, weight=1.0),
        "shared_threat": shared_threat(m.affinity, world.capability, weight=1.0),
    }


def equal_footing_weights(overrides: list[str]) -> dict[str, tuple[float, float]]:
    """Per rival: (mean |term| at weight 1 over the ordered dyads, the equal-footing weight)."""
    terms = calibrated_terms(overrides)
    off = ~np.eye(next(iter(terms.values())).shape[-1], dtype=bool)
    size = {k: float(np.abs(v[off]).mean()) for k, v in terms.items()}
    target = size.pop("third-party cost w_t cost")
    return {"third-party cost w_t cost": (target, 1.0)} | {k: (s, target / s) for k, s in size.items()}


def main(argv: list[str]) -> None:
    rows = equal_footing_weights(argv)
    print("| term | mean abs size at weight 1 (2018, ordered dyads) | equal-footing weight |")
    print("| --- | --- | --- |")
    for name, (size, weight) in rows.items():
        print(f"| {name} | {size:.5f} | {weight:.3f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
