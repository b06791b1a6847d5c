"""Paired effects, intervals, verdicts and time bands on tables with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.analysis import paired_differences, paired_effect, summarise, time_bands, verdict


def _table(effect: float, n: int = 30, noise: float = 0.1, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.to_datetime(["2025-11-01", "2025-12-01"])
    common = rng.normal(0.5, 1.0, n)  # a shared replication effect that pairing removes
    rows = []
    for r in range(n):
        for d in dates:
            rows.append(("control", r, d, common[r], common[r]))
            shift = effect + rng.normal(0, noise)
            rows.append(("treatment", r, d, common[r] + shift, common[r] - shift))
    return pd.DataFrame(rows, columns=["scenario", "replication", "date", "entente_strength", "realized_leverage"])


def test_verdict_rules() -> None:
    assert verdict(-0.3, -0.1, -1) == "supported"
    assert verdict(0.1, 0.3, -1) == "refuted"
    assert verdict(-0.1, 0.2, -1) == "inconclusive"
    assert verdict(0.1, 0.3, 1) == "supported"
    assert verdict(-0.3, -0.1, 1) == "refuted"
    assert verdict(-0.3, -0.1, -1, p_value=0.25) == "inconclusive"  # the exact test must reject too


def test_practical_threshold_turns_a_tiny_effect_into_a_refutation() -> None:
    """A clearly non-zero but negligible effect: without a threshold 'supported', with one 'refuted'."""
    diffs = np.random.default_rng(2).normal(-0.001, 0.0001, 20)
    assert paired_effect(diffs, -1)["verdict"] == "supported"
    assert paired_effect(diffs, -1, threshold=0.01)["verdict"] == "refuted"
    assert paired_effect(diffs, -1, threshold=0.001)["verdict"] == "inconclusive"  # straddles the threshold


def test_summarise_direction_flips_or_suspends_the_verdicts() -> None:
    t = _table(0.05, noise=0.02)
    assert summarise(t, "control", "treatment", direction=-1)["h1"]["verdict"] == "supported"
    assert summarise(t, "control", "treatment", direction=0)["h1"]["verdict"] == "not applicable"
    assert summarise(t, "control", "treatment", min_relative_effect=0.5)["h1"]["threshold"] > 0


def test_duplicate_or_identical_scenarios_cannot_be_paired() -> None:
    t = _table(0.05)
    with pytest.raises(ValueError, match="nothing to compare"):
        paired_differences(t, "entente_strength", "control", "control")
    doubled = pd.concat([t, t])
    with pytest.raises(ValueError, match="several rows"):
        paired_differences(doubled, "entente_strength", "control", "treatment")


def test_three_replications_cannot_be_conclusive() -> None:
    """With n = 3 the smallest sign-flip p-value is 2/8: no verdict, however clear the bootstrap."""
    e = paired_effect(np.array([-0.30, -0.31, -0.29]), -1)
    assert e["p_value"] == pytest.approx(0.25)
    assert e["ci_low"] is None and e["verdict"] == "inconclusive"  # no interval below 5 replications


def test_paired_differences_pair_by_replication() -> None:
    t = _table(0.2, n=5)
    d = paired_differences(t, "entente_strength", "control", "treatment")
    assert d.shape == (5,)
    last = t[t["date"] == t["date"].max()].set_index(["scenario", "replication"])["entente_strength"]
    assert d == pytest.approx((last["treatment"] - last["control"]).to_numpy())
    with pytest.raises(ValueError, match="pair"):
        paired_differences(t[~((t["scenario"] == "treatment") & (t["replication"] == 2))], "entente_strength",
                           "control", "treatment")


def test_paired_effect_recovers_a_known_shift_with_a_tight_interval() -> None:
    rng = np.random.default_rng(1)
    diffs = rng.normal(-0.2, 0.1, 40)
    e = paired_effect(diffs, -1)
    assert e["effect"] == pytest.approx(diffs.mean())
    assert e["ci_low"] < -0.2 < e["ci_high"]
    assert e["ci_high"] - e["ci_low"] < 0.1  # about 2 * 1.96 * 0.1 / sqrt(40) = 0.062
    assert e["p_value"] < 0.001 and e["verdict"] == "supported"


def test_paired_effect_under_the_null_is_mostly_inconclusive() -> None:
    verdicts = [paired_effect(np.random.default_rng(s).normal(0, 1, 20), 1, n_resamples=999)["verdict"]
                for s in range(40)]
    assert verdicts.count("inconclusive") >= 34  # about 95% coverage; 34 of 40 leaves room for sampling


def test_constant_differences() -> None:
    e = paired_effect(np.full(10, 0.0), -1)
    assert e["ci_low"] == e["ci_high"] == 0.0 and e["verdict"] == "inconclusive" and e["p_value"] == 1.0
    e = paired_effect(np.full(10, -0.1), -1)  # no noise: every replication agrees
    assert e["ci_low"] == e["ci_high"] == pytest.approx(-0.1)
    assert e["p_value"] == pytest.approx(2 / 2**10)  # exact sign-flip test: only all-minus and all-plus
    assert e["verdict"] == "supported"


def test_summarise_uses_the_pairing() -> None:
    """The replication effect (sd 1) dwarfs the shift (0.05); only the pairing detects it."""
    s = summarise(_table(0.05, noise=0.02), "control", "treatment")
    assert s["h1"]["verdict"] == "refuted"  # the entente rose: dilution refuted
    assert s["h2"]["verdict"] == "refuted"  # leverage fell
    assert s["h1"]["effect"] == pytest.approx(0.05, abs=0.01)


def test_time_bands_contain_the_mean() -> None:
    b = time_bands(_table(0.1), "entente_strength")
    assert (b["low"] <= b["mean"]).all() and (b["mean"] <= b["high"]).all()
    assert set(b["scenario"]) == {"control", "treatment"}


def test_paired_bands_remove_the_shared_replication_effect() -> None:
    from sim.analysis import paired_bands

    b = paired_bands(_table(0.05, noise=0.02), "entente_strength", "control", "treatment")
    assert len(b) == 2
    assert np.allclose(b["mean"], 0.05, atol=0.01)
    assert (b["high"] - b["low"] < 0.03).all()  # tight despite the replication sd of 1


def test_compare_blocs_orients_partitions_and_counts_agreement() -> None:
    from sim.analysis import compare_blocs

    codes = ["RUS", "IRN", "USA", "SAU"]
    t = compare_blocs(codes, {"ref": np.array([0, 0, 1, 1]), "mirror": np.array([1, 1, 0, 0]),
                              "signs": np.array([-1, 1, 1, 1])}, "ref")
    assert list(t["mirror"].iloc[:4]) == ["A", "A", "B", "B"]  # the mirror image is the same split
    assert list(t["signs"].iloc[:4]) == ["A", "B", "B", "B"]
    assert list(t.loc["agreement"]) == ["100%", "100%", "75%"]


def test_affinity_matrix_rebuilds_the_symmetric_matrix_in_world_order() -> None:
    from sim.analysis import affinity_matrix

    network = pd.DataFrame({"scenario": "s", "stage": "end", "origin": ["A", "A", "B"], "target": ["B", "C", "C"],
                            "tie": 0.0, "affinity": [0.5, -0.2, 0.1]})
    codes, s = affinity_matrix(network, "s", "end")
    assert codes == ["A", "B", "C"]
    assert np.allclose(s, [[0, 0.5, -0.2], [0.5, 0, 0.1], [-0.2, 0.1, 0]])
