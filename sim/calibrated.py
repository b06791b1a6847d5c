"""The mechanism parameters history fitted, and where their priors stay (issues 11 and 13).

``sim-run experiment=calibrate`` (the preset, seed 2018; docs/CALIBRATION.md) fits ten mechanism
parameters by ABC-SMC to the observed direction of 13 dyads over 2018-11..2022-01 and
2022-02..2024-11 (plus the drift of the 2018 start with nothing happening). Their posterior
medians (weighted, :func:`sim.calibrate.weighted_summary`), to three significant digits, are the
model's defaults: :data:`FITTED`, read by the schema (``sim/config.py``). The run's record is kept
in :data:`RECORD` (``calibration.json``, ``posterior.parquet``, ``screen.csv``, ...), and
``tests/test_calibrated.py`` checks that the two agree and that a replay of history at these
defaults is the one docs/MODEL.md reports.

Each fitted parameter's prior stays where it was before history was seen, centred on the
order-of-magnitude default of :data:`BEFORE` (``weight_prior(BEFORE[key])``; the budget cut's prior
is a uniform argued range, not centred on a default): the prior does not follow the fit, so a
calibration rerun samples the prior it sampled. ``pre_calibration_overrides()`` gives the command-line
overrides that restore the defaults of before, to compare with earlier results.

The other mechanism parameters keep their order-of-magnitude defaults: the screen found them
moving the fit less (docs/CALIBRATION.md). After a change to the model the calibration is rerun
and these numbers rewritten from its record, never set by hand.
"""

from __future__ import annotations

from pathlib import Path

PREFIX = "model.mechanisms."
# the record of the run these defaults come from (sim-run experiment=calibrate, seed 2018)
RECORD = Path(__file__).resolve().parents[1] / "data" / "calibration" / "history_2018_2024"
SIGNIFICANT = 3  # digits kept of each posterior median

# posterior medians of the calibration recorded in RECORD (calibration.json, "posterior", "q50")
FITTED: dict[str, float] = {
    "allocation.rationality": 1.32,
    "noise.sigma": 0.0378,
    "budget.gain": 1.48,
    "value.reciprocity_weight": 0.322,
    "affinity.alignment_rate": 0.0691,
    "formation.rate": 6.32,
    "value.complementarity_weight": 0.452,
    "value.third_party_weight": 0.312,
    "scarcity.weight": 0.384,
    "sanctions.budget_cut": 0.105,
}

# the defaults before calibration: terms of the right order, not measured (their priors' centres)
BEFORE: dict[str, float] = {
    "allocation.rationality": 4.0,
    "noise.sigma": 0.05,
    "budget.gain": 1.0,
    "value.reciprocity_weight": 0.5,
    "affinity.alignment_rate": 0.05,
    "formation.rate": 4.7,
    "value.complementarity_weight": 1.0,
    "value.third_party_weight": 0.3,
    "scarcity.weight": 1.0,
    "sanctions.budget_cut": 0.2,
}


def rounded(x: float, digits: int = SIGNIFICANT) -> float:
    """``x`` to ``digits`` significant digits."""
    return float(f"{x:.{digits}g}")


def pre_calibration_overrides() -> list[str]:
    """Command-line overrides that set every fitted parameter back to its default of before."""
    return [f"{PREFIX}{key}={value}" for key, value in BEFORE.items()]
