"""experiments/pattern_ceiling.py: the trade-off table on a hand-made sample, and a tiny run whose
tables agree with each other (every score the sum of its cells, every share the mean of its column)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "pattern_ceiling.py"


@pytest.fixture(scope="module")
def ceiling():
    spec = importlib.util.spec_from_file_location("pattern_ceiling", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tradeoffs_give_the_phi_coefficient_most_negative_first(ceiling) -> None:
    # a and b never right together (phi -1), a and c always together (phi 1), b and c opposite (phi -1)
    samples = pd.DataFrame({"a": [1, 1, 0, 0], "b": [0, 0, 1, 1], "c": [1, 1, 0, 0], "d": [1, 0, 1, 0]})
    table = ceiling.tradeoffs(samples, ["a", "b", "c", "d"])
    phi = {(r.a, r.b): r.phi for r in table.itertuples()}
    assert phi[("a", "b")] == pytest.approx(-1) and phi[("b", "c")] == pytest.approx(-1)
    assert phi[("a", "c")] == pytest.approx(1) and phi[("a", "d")] == pytest.approx(0)
    assert list(table["phi"]) == sorted(table["phi"])
    row = table[(table["a"] == "a") & (table["b"] == "d")].iloc[0]
    assert (row["p_a"], row["p_b"], row["p_both"]) == (0.5, 0.5, 0.25)


def test_a_tiny_run_writes_tables_that_agree_with_each_other(ceiling, tmp_path: Path) -> None:
    code = ceiling.main([str(tmp_path), "--samples", "16", "--generations", "1", "--popsize", "5",
                         "--replications", "2", "--worlds", "2"])
    assert code == 0
    samples = pd.read_parquet(tmp_path / "ceiling_samples.parquet")
    cells = pd.read_csv(tmp_path / "ceiling_cells.csv")
    labels = list(cells["cell"])
    assert len(labels) == 26 and len(samples) == 16
    assert (samples["score"] == samples[labels].sum(axis=1)).all()
    assert (samples["score_hm"] <= samples["score"]).all()
    assert np.allclose(cells["share_right"], samples[labels].mean().to_numpy())
    assert sorted(samples["world"].unique()) == [0, 1]  # point k in draw k mod 2
    best = pd.read_csv(tmp_path / "ceiling_best.csv", dtype={"world": str})
    assert best.groupby("set").size().tolist() == [3] * 5  # the world as written and the two draws, per set
    assert (best["score"] + best["missed"].fillna("").map(lambda m: len(m.split("; ")) if m else 0) == 26).all()
    tradeoffs = pd.read_csv(tmp_path / "ceiling_tradeoffs.csv")
    assert len(tradeoffs) == 26 * 25 // 2
    assert (tradeoffs["p_both"] <= np.minimum(tradeoffs["p_a"], tradeoffs["p_b"]) + 1e-9).all()
    record = json.loads((tmp_path / "ceiling.json").read_text())
    assert record["prior_best"] == samples["score"].max()
    assert record["histories"] == 16 + 5 * 2 + 5 * 3  # sample, search (first population and 1 generation), re-runs
    assert (tmp_path / "ceiling.png").stat().st_size > 10_000


def test_a_check_reruns_given_sets_beside_the_defaults_and_keeps_a_finished_check(ceiling, tmp_path: Path) -> None:
    from sim.api import calibration_cells
    from sim.config import MechanismsConfig, numeric_parameters

    keys = [str(k) for k in calibration_cells(["experiment=calibrate"])[1].experiment.parameters]
    values = numeric_parameters(MechanismsConfig())
    pd.DataFrame([{k: values[k] for k in keys}]).to_csv(tmp_path / "sets.csv", index=False)
    args = [str(tmp_path / "out"), "--check", str(tmp_path / "sets.csv"), "--replications", "2", "--worlds", "0"]
    assert ceiling.main(args) == 0
    table = pd.read_csv(tmp_path / "out" / "ceiling_check.csv")
    assert list(table["set"]) == ["sets 0", "model defaults"]
    assert ((table["score"] >= 0) & (table["score"] <= 26) & (table["control_drift"] <= 26)).all()
    with pytest.raises(SystemExit, match="not overwritten"):
        ceiling.main(args)
