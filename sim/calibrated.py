"""The mechanism parameters history fitted, and where their priors stay (issues 11 and 13).

The defaults come from a calibration in two steps (docs/CALIBRATION.md, "The second step",
"Capability trends" and "The probit space"), each ``sim-run`` of a preset, seed 2018, in the world as
written, sampling each parameter's probit (``experiment.calibration.space``), fitting by ABC-SMC the
history replay (its budgets following the states' capability trends, docs/MODEL.md 7.5b)
to the observed direction of 13 dyads over 2018-11..2022-01 and 2022-02..2024-11 (plus the drift of
the 2018 start with nothing happening):

1. ``experiment=calibrate experiment.calibration.worlds=0``: a Morris screen of the 27 candidate
   parameters keeps 8, and the scarcity weight and the sanctions' budget cut are fitted too; the
   other 17 at their defaults of before (:data:`BEFORE`);
2. ``experiment=calibrate_second``: the 17 the first did not fit, screened at the first step's medians
   and the 8 most influential fitted, the first step's 10 held at those medians. Which 8 is the screen's
   call: the conditionality weight in the logit-space runs, the balance rate in the probit-space ones.

Each step's posterior medians (weighted, :func:`sim.calibrate.weighted_summary`), to three significant
digits, are the model's defaults: :data:`FITTED`, read by the schema (``sim/config.py``). Each run's
record is kept in :data:`RECORDS` (``calibration.json``, ``posterior.parquet``, ``screen.csv``, ...),
and ``tests/test_calibrated.py`` checks that they and the defaults agree. The same two steps run before
the replay had the capability trends gave the defaults of 2026-12-03..04, :data:`WITHOUT_TRENDS`
(records :data:`RECORDS_WITHOUT_TRENDS`; ``without_trends_overrides()`` restores them, to compare). The
two steps with the trends in the logit space, the defaults for part of 2026-12-04, are kept as records
only (``data/calibration/trend_first_2018_2024``, ``trend_second_2018_2024``).

Each fitted parameter's prior stays where it was before history was seen, centred on the
order-of-magnitude default of :data:`BEFORE` where it is a weight's (``weight_prior(BEFORE[key])``;
a share's or a threshold's prior is a uniform argued range, not centred on a default): the prior does
not follow the fit, so a calibration rerun samples the prior it sampled. ``pre_calibration_overrides()``
gives the command-line overrides that restore the defaults of before, to compare with earlier results;
``pre_calibration_overrides("second")`` those of the second step's parameters alone (the first step
reran as it was run: its 17 unfitted parameters at their defaults of then).

The other 9 candidate parameters keep their order-of-magnitude defaults (neither screen ranked them among
the most influential), the rivals' weights their equal-footing rule, and ``demands.scale`` (the H2
counterfactual's device) its 1. After a change to the model the calibration is rerun and these numbers
rewritten from its record, never set by hand.
"""

from __future__ import annotations

from pathlib import Path

PREFIX = "model.mechanisms."
CALIBRATIONS = Path(__file__).resolve().parents[1] / "data" / "calibration"
# the records of the runs these defaults come from, by step (sim-run of the preset named, seed 2018)
RECORDS: dict[str, Path] = {"first": CALIBRATIONS / "probit_first_2018_2024",
                            "second": CALIBRATIONS / "probit_second_2018_2024"}
RECORDS_WITHOUT_TRENDS: dict[str, Path] = {"first": CALIBRATIONS / "history_2018_2024",
                                           "second": CALIBRATIONS / "second_2018_2024"}
SIGNIFICANT = 3  # digits kept of each posterior median

# posterior medians of each step's calibration (its record's calibration.json, "posterior", "q50")
STEPS: dict[str, dict[str, float]] = {
    "first": {
        "allocation.rationality": 1.41,
        "noise.sigma": 0.0336,
        "affinity.alignment_rate": 0.0671,
        "budget.gain": 1.96,
        "formation.rate": 5.73,
        "value.reciprocity_weight": 0.411,
        "value.complementarity_weight": 0.532,
        "value.third_party_weight": 0.266,
        "scarcity.weight": 0.411,
        "sanctions.budget_cut": 0.11,
    },
    "second": {
        "allocation.inertia": 0.671,
        "outreach.premium": 0.332,
        "diversion.weight": 0.208,
        "sanctions.outside_option_cut": 0.424,
        "allocation.max_share": 0.734,
        "value.alignment_weight": 0.264,
        "war.weight": 0.185,
        "affinity.balance_rate": 0.0166,
    },
}
FITTED: dict[str, float] = {k: v for step in STEPS.values() for k, v in step.items()}

# the same two steps run before the history replay had the capability trends (docs/MODEL.md 7.5b): the
# defaults from 2026-12-03 to 2026-12-04, kept to compare with (records in RECORDS_WITHOUT_TRENDS)
WITHOUT_TRENDS: dict[str, dict[str, float]] = {
    "first": {
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
    },
    "second": {
        "diversion.weight": 0.171,
        "allocation.inertia": 0.653,
        "outreach.premium": 0.333,
        "sanctions.outside_option_cut": 0.432,
        "value.alignment_weight": 0.282,
        "allocation.max_share": 0.683,
        "war.weight": 0.649,
        "conditionality.weight": 0.44,
    },
}

# the defaults before calibration: terms of the right order, not measured (a weight's prior is centred on it)
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
    "diversion.weight": 0.25,
    "allocation.inertia": 0.85,
    "outreach.premium": 0.2,
    "sanctions.outside_option_cut": 0.6,
    "value.alignment_weight": 0.5,
    "allocation.max_share": 0.6,
    "war.weight": 0.25,
    "conditionality.weight": 0.5,
    "affinity.balance_rate": 0.02,
}


def default(key: str) -> float:
    """The schema's default of ``key`` (``<group>.<name>``) where a calibration step may fit it: its
    fitted median (:data:`FITTED`) if a step fits it, else its default of before (:data:`BEFORE`)."""
    return FITTED.get(key, BEFORE[key])


def rounded(x: float, digits: int = SIGNIFICANT) -> float:
    """``x`` to ``digits`` significant digits."""
    return float(f"{x:.{digits}g}")


def pre_calibration_overrides(step: str | None = None) -> list[str]:
    """Command-line overrides that set every fitted parameter (or those of one step of :data:`STEPS`)
    back to its default of before."""
    keys = FITTED if step is None else STEPS[step]
    return [f"{PREFIX}{key}={BEFORE[key]}" for key in keys]


def without_trends_overrides() -> list[str]:
    """Command-line overrides that set every parameter either fit fitted to the defaults fitted before
    the capability trends (:data:`WITHOUT_TRENDS`; its default of before where that fit left it)."""
    old = {key: value for step in WITHOUT_TRENDS.values() for key, value in step.items()}
    return [f"{PREFIX}{key}={value}" for key, value in old.items()] + [
        f"{PREFIX}{key}={BEFORE[key]}" for key in FITTED if key not in old]
