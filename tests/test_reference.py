"""The headline's numbers against a stored reference: the same seed gives the same files.

``tests/data/headline_r6/`` holds ``results.parquet`` and ``summary.json`` of
``sim-run replications=6`` (seed 2018, the default pair), rewritten on purpose when the demand game
and the realized-leverage H2 (issue 12) changed the default run. Any change to the numbers of the
default run (the model, the seeds, the statistics) fails here until the reference is rewritten on
purpose, last when the calibration's medians became the defaults (sim.calibrated), and again when
the calibration was rerun with the history replay's capability trends and its medians replaced them, and
again when it was rerun sampling each parameter's probit (``experiment.calibration.space``).
``tests/data/headline_r6_fit_without_trends/`` is the reference of the defaults fitted without the
trends: with those set back (``without_trends_overrides``) the run equals it (the headline pair runs
no trends, so the defaults are all that changed).
``tests/data/headline_r6_before_calibration/`` is the reference as it was before calibration: with the
fitted parameters set back to their old defaults (``pre_calibration_overrides``) the run equals
it, so the defaults are all that changed. ``tests/data/headline_r6_before_demands/results.parquet``
is the table as written at c297ff7, before the demand game: with the game switched off (and the
old defaults), every column it had is unchanged.

"The same" is exact for every column that is not a float, and for floats within a relative 1e-9
(an absolute 1e-12 near 0): numpy does not promise the last bit of its math functions across
builds and CPUs (it dispatches SIMD kernels by the CPU's features), and on another machine the
tables came out within 2.2e-16 of the reference, 3 to 30 of each table's ~1,000 rows a unit in the
last place apart. The summary's BCa intervals of an effect of ~1e-6 (H2 in a period where it is
zero but for noise) then move by up to 4e-8 (a bootstrap statistic a unit in the last place from
the observed one changes the bias correction, and so the order statistic the interval ends at):
its numbers are compared to within 1e-7 absolute, its words exactly.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sim.calibrated import pre_calibration_overrides, without_trends_overrides

REFERENCE = Path(__file__).resolve().parent / "data" / "headline_r6"
BEFORE_CALIBRATION = Path(__file__).resolve().parent / "data" / "headline_r6_before_calibration"
FIT_WITHOUT_TRENDS = Path(__file__).resolve().parent / "data" / "headline_r6_fit_without_trends"
BEFORE_DEMANDS = Path(__file__).resolve().parent / "data" / "headline_r6_before_demands"


def assert_same_table(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    floats = [c for c in expected.columns if pd.api.types.is_float_dtype(expected[c])]
    others = [c for c in expected.columns if c not in floats]
    pd.testing.assert_frame_equal(got[others], expected[others], check_exact=True)
    pd.testing.assert_frame_equal(got[floats], expected[floats], check_exact=False, rtol=1e-9, atol=1e-12)


def assert_same_summary(got: Any, expected: Any, where: str = "summary") -> None:
    """Numbers within 1e-7 absolute (relative 1e-9 for large ones), everything else equal."""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and got.keys() == expected.keys(), where
        for key in expected:
            assert_same_summary(got[key], expected[key], f"{where}/{key}")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), where
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            assert_same_summary(g, e, f"{where}[{i}]")
    elif isinstance(expected, float) and not isinstance(got, bool) and isinstance(got, (int, float)):
        assert math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-7) or (math.isnan(got) and math.isnan(expected)), \
            (where, got, expected)
    else:
        assert got == expected, (where, got, expected)


@pytest.mark.parametrize(("reference", "overrides"), [(REFERENCE, []),
                                                      (FIT_WITHOUT_TRENDS, without_trends_overrides()),
                                                      (BEFORE_CALIBRATION, pre_calibration_overrides())],
                         ids=["calibrated defaults", "defaults fitted without the trends",
                              "defaults before calibration"])
def test_headline_results_and_summary_equal_the_stored_reference(sim_run, tmp_path: Path, reference: Path,
                                                                  overrides: list[str]) -> None:
    p = sim_run("replications=6", *overrides)
    assert p.returncode == 0, p.stderr
    out = tmp_path / "out"
    expected = pd.read_parquet(reference / "results.parquet")
    got = pd.read_parquet(out / "results.parquet")
    assert list(got.columns) == list(expected.columns)
    assert_same_table(got, expected)
    assert_same_summary(json.loads((out / "summary.json").read_text()),
                        json.loads((reference / "summary.json").read_text()))


def test_without_the_demand_game_the_table_before_it_is_unchanged(sim_run, tmp_path: Path) -> None:
    p = sim_run("replications=6", "model.mechanisms.demands.enabled=false", *pre_calibration_overrides())
    assert p.returncode == 0, p.stderr
    before = pd.read_parquet(BEFORE_DEMANDS / "results.parquet")
    got = pd.read_parquet(tmp_path / "out" / "results.parquet")
    assert_same_table(got[before.columns], before)
