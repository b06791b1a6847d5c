"""The pattern score (sim.patterns), its figure and sim-validate, on hand-computed cases."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from sim.events import month_range
from sim.patterns import (
    DyadsError,
    PatternError,
    cell_changes,
    default_patterns,
    dyads_codes,
    dyads_horizon,
    load_patterns,
    rule_gap,
    score,
    score_table,
    signs_of,
    smooth_disagreement,
    weighted_disagreement,
)
from sim.plots import plot_pattern_score

REPO = Path(__file__).resolve().parents[1]
CODES = ["RUS", "IRN", "SAU", "ARE"]
HORIZON = ("2020-01", "2020-06")  # the run records 2019-12 (its start state) .. 2020-06
T2 = 4.302652729911275  # scipy.stats.t.ppf(0.975, 2): the 95% t quantile for three replications
HEADER = "a,b,start,end,sign,confidence\n"


def dyads(paths: dict[tuple[str, str], tuple[float, list[float]]], scenario: str = "history",
          codes: list[str] = CODES, months: list[str] | None = None) -> pd.DataFrame:
    """A dyads table: each pair's tie is ``before`` at the first month in every replication and moves
    linearly to its replication's end value at the last month; pairs not given stay at 0.1."""
    months = months or month_range("2019-12", HORIZON[1])
    n = len(next(iter(paths.values()))[1]) if paths else 1
    rows = []
    for a, b in itertools.combinations(codes, 2):
        before, ends = paths.get((a, b), (0.1, [0.1] * n))
        for r, end in enumerate(ends):
            for k, date in enumerate(months):
                tie = before + (end - before) * k / (len(months) - 1)
                rows.append({"scenario": scenario, "replication": r, "date": date, "a": a, "b": b, "tie": tie,
                             "commitment_ab": tie, "commitment_ba": tie, "affinity": 0.0})
    return pd.DataFrame(rows)


def patterns(*rows: tuple[str, str, int, str]) -> pd.DataFrame:
    """Patterns over the whole horizon: (a, b, observed sign, confidence)."""
    return pd.DataFrame([{"a": a, "b": b, "start": HORIZON[0], "end": HORIZON[1], "sign": s, "confidence": c}
                         for a, b, s, c in rows])


def one(cells: pd.DataFrame, a: str, b: str) -> pd.Series:
    match = cells[(cells["a"] == a) & (cells["b"] == b)]
    assert len(match) == 1
    return match.iloc[0]


# ------------------------------------------------------------------ the rule


def test_a_warming_and_a_cooling_pair_get_their_change_interval_and_sign_by_hand() -> None:
    d = dyads({("RUS", "IRN"): (0.10, [0.20, 0.21, 0.22]), ("RUS", "SAU"): (0.50, [0.40, 0.41, 0.42])})
    cells = cell_changes(d, patterns(("RUS", "IRN", 1, "H"), ("RUS", "SAU", 1, "M")))
    half = T2 * 0.01 / np.sqrt(3)  # sd of the three changes is 0.01 in both pairs
    warm = one(cells, "RUS", "IRN")
    assert warm["replications"] == 3
    assert warm["tie_before"] == pytest.approx(0.10) and warm["tie_end"] == pytest.approx(0.21)
    assert warm["change"] == pytest.approx(0.11)
    assert (warm["ci_low"], warm["ci_high"]) == pytest.approx((0.11 - half, 0.11 + half))
    assert warm["threshold"] == pytest.approx(0.005)  # max(0.05 x 0.10, 0.005)
    assert warm["model_sign"] == 1 and warm["agree"]
    cool = one(cells, "RUS", "SAU")
    assert cool["change"] == pytest.approx(-0.09)
    assert (cool["ci_low"], cool["ci_high"]) == pytest.approx((-0.09 - half, -0.09 + half))
    assert cool["threshold"] == pytest.approx(0.025)  # 0.05 x 0.50
    assert cool["model_sign"] == -1 and not cool["agree"]  # observed +1


def test_a_change_below_the_floor_or_below_five_percent_of_the_tie_is_no_change() -> None:
    d = dyads({("SAU", "ARE"): (0.02, [0.024] * 3), ("IRN", "SAU"): (0.60, [0.62] * 3)})
    cells = cell_changes(d, patterns(("SAU", "ARE", 1, "L"), ("IRN", "SAU", 0, "H")))
    floor = one(cells, "SAU", "ARE")  # +0.004 with a zero-width interval, under the 0.005 floor
    assert floor["change"] == pytest.approx(0.004) and floor["ci_low"] > 0
    assert floor["threshold"] == 0.005 and floor["model_sign"] == 0 and not floor["agree"]
    relative = one(cells, "IRN", "SAU")  # +0.02 < 0.05 x 0.60 = 0.03
    assert relative["change"] == pytest.approx(0.02) and relative["ci_low"] > 0
    assert relative["threshold"] == pytest.approx(0.03) and relative["model_sign"] == 0 and relative["agree"]


def test_a_change_whose_interval_contains_zero_is_no_change() -> None:
    # changes +0.10, -0.05, +0.10: mean 0.05 (ten times the threshold 0.015), sd sqrt(0.0075)
    cells = cell_changes(dyads({("IRN", "ARE"): (0.30, [0.40, 0.25, 0.40])}), patterns(("IRN", "ARE", 1, "M")))
    c = one(cells, "IRN", "ARE")
    half = T2 * np.sqrt(0.0075) / np.sqrt(3)
    assert c["change"] == pytest.approx(0.05)
    assert (c["ci_low"], c["ci_high"]) == pytest.approx((0.05 - half, 0.05 + half))  # (-0.165, +0.265)
    assert c["model_sign"] == 0 and not c["agree"]


def test_one_replication_has_no_interval_and_counts_as_no_change() -> None:
    cells = cell_changes(dyads({("RUS", "IRN"): (0.10, [0.50])}), patterns(("RUS", "IRN", 1, "H")))
    c = one(cells, "RUS", "IRN")
    assert c["change"] == pytest.approx(0.40) and c["replications"] == 1
    assert np.isnan(c["ci_low"]) and np.isnan(c["ci_high"])
    assert c["model_sign"] == 0


def test_a_pair_given_in_reverse_order_is_matched_to_the_unordered_pair(tmp_path: Path) -> None:
    d = dyads({("RUS", "IRN"): (0.10, [0.20, 0.21, 0.22])})
    reverse = cell_changes(d, patterns(("IRN", "RUS", 1, "H")))
    assert reverse["change"].tolist() == pytest.approx([0.11]) and reverse["model_sign"].tolist() == [1]
    path = tmp_path / "p.csv"
    path.write_text(HEADER + "IRN,RUS,2020-01,2020-06,1,H\nARE,SAU,2020-02,2020-03,-1,L\n")
    loaded = load_patterns(path, CODES, HORIZON)
    assert loaded[["a", "b"]].values.tolist() == [["RUS", "IRN"], ["SAU", "ARE"]]  # the world's order
    assert loaded["sign"].tolist() == [1, -1] and loaded["row"].tolist() == [1, 2]


def test_each_scenario_is_scored_on_its_own_and_a_later_period_starts_from_the_month_before_it() -> None:
    up = dyads({("RUS", "IRN"): (0.10, [0.20, 0.21, 0.22])}, scenario="up")
    down = dyads({("RUS", "IRN"): (0.30, [0.20, 0.21, 0.22])}, scenario="down")
    later = pd.DataFrame([{"a": "RUS", "b": "IRN", "start": "2020-04", "end": "2020-06", "sign": 1,
                           "confidence": "H"}])
    cells = cell_changes(pd.concat([up, down]), later)
    assert cells["scenario"].tolist() == ["up", "down"]
    # linear paths over 2019-12..2020-06 (6 steps): tie(2020-03) = before + 3/6 (end - before)
    assert cells["tie_before"].tolist() == pytest.approx([0.155, 0.255])
    assert cells["change"].tolist() == pytest.approx([0.055, -0.045])
    assert cells["model_sign"].tolist() == [1, -1]


def test_a_month_a_pattern_needs_that_the_dyads_lack_is_named() -> None:
    d = dyads({}).query("date != '2020-03'")
    p = pd.DataFrame([{"a": "IRN", "b": "SAU", "start": "2020-04", "end": "2020-06", "sign": 1, "confidence": "H"}])
    with pytest.raises(DyadsError, match=r"no tie for IRN-SAU at 2020-03 \(scenario history, replication 0\)"):
        cell_changes(d, p)
    with pytest.raises(DyadsError, match="no column tie"):
        cell_changes(d.drop(columns="tie"), p)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5).flatmap(lambda r: st.lists(  # 1-4 pairs, each a tie before and r replications' ends
    st.tuples(st.floats(-1, 1), st.lists(st.floats(-1, 1), min_size=r, max_size=r)), min_size=1, max_size=4)))
def test_flipping_every_tie_path_flips_every_model_sign(paths: list[tuple[float, list[float]]]) -> None:
    pairs = list(itertools.combinations(CODES, 2))[: len(paths)]
    given_paths = dict(zip(pairs, paths, strict=False))
    flipped = {k: (-before, [-e for e in ends]) for k, (before, ends) in given_paths.items()}
    p = patterns(*[(a, b, 1, "H") for a, b in pairs])
    assert (cell_changes(dyads(flipped), p)["model_sign"]
            == -cell_changes(dyads(given_paths), p)["model_sign"]).all()


# ------------------------------------------------------------------ the scores


def test_the_scores_of_the_model_and_the_two_guesses_on_a_known_pattern_set() -> None:
    cells = pd.DataFrame({"scenario": "s", "observed": [1, 1, 0, -1, 1], "confidence": ["H", "M", "L", "M", "L"],
                          "model_sign": [1, 0, 0, -1, -1]})
    t = score_table(cells).set_index(["subset", "rule"])
    got = {k: (r["agree"], r["cells"]) for k, r in t.iterrows()}
    assert got == {("all", "model"): (3, 5), ("all", "nothing changes"): (1, 5),
                   ("all", "every relation warms"): (3, 5), ("H+M", "model"): (2, 3),
                   ("H+M", "nothing changes"): (0, 3), ("H+M", "every relation warms"): (2, 3)}
    assert t.loc[("all", "model"), "share"] == pytest.approx(0.6)
    # weights 3, 2, 1, 2, 1 (total 9): the model misses an M and an L cell, 3/9; "nothing changes" all but
    # the L zero, 8/9; "every relation warms" the L zero and the M cooling, 3/9
    assert t.loc[("all", "model"), "weighted_disagreement"] == pytest.approx(3 / 9)
    assert t.loc[("all", "nothing changes"), "weighted_disagreement"] == pytest.approx(8 / 9)
    assert t.loc[("all", "every relation warms"), "weighted_disagreement"] == pytest.approx(3 / 9)
    assert t.loc[("H+M", "model"), "weighted_disagreement"] == pytest.approx(2 / 7)


def test_weighted_disagreement_weights_a_high_confidence_miss_three_times_a_low_one() -> None:
    assert weighted_disagreement([1, 1], [0, 1], ["H", "L"]) == pytest.approx(3 / 4)
    assert weighted_disagreement([1, 1], [1, 0], ["H", "L"]) == pytest.approx(1 / 4)
    assert weighted_disagreement([1, 0, -1], 1, ["M", "M", "M"]) == pytest.approx(2 / 3)  # one sign for all
    assert np.isnan(weighted_disagreement([], [], []))


# ------------------------------------------------------------------ bad patterns files


GOOD = "RUS,IRN,2020-01,2020-06,1,H\n"


@pytest.mark.parametrize(("text", "where", "allowed"), [
    (HEADER + GOOD + "RUS,XYZ,2020-01,2020-06,1,H\n", "data row 2 (line 3", "column 'b': 'XYZ' is not a state; "
     "allowed: a state code of the world: RUS, IRN, SAU, ARE"),
    ("a,b,start,end,sign\n" + "RUS,IRN,2020-01,2020-06,1\n", "header (line 1)", "column 'confidence': column "
     "'confidence' is missing (header: a,b,start,end,sign); allowed: a header naming the columns "
     "a,b,start,end,sign,confidence"),
    (HEADER + GOOD + "RUS,SAU,2020-01,2020-06,2,H\n", "data row 2 (line 3", "column 'sign': '2' is not allowed; "
     "allowed: -1 (cooler), 0 (unchanged) or 1 (warmer)"),
    (HEADER + "RUS,SAU,2020-01,2020-06,1,X\n", "data row 1 (line 2", "column 'confidence': 'X' is not allowed; "
     "allowed: H, M or L"),
    (HEADER + GOOD + GOOD.replace("RUS,IRN", "RUS,SAU").replace("2020-06", "2020-6"), "data row 2 (line 3",
     "column 'end': '2020-6' is not a month; allowed: a month written YYYY-MM"),
    (HEADER + "RUS,SAU,2020-05,2020-02,1,H\n", "data row 1 (line 2", "column 'start': '2020-05' is after end; "
     "allowed: a month no later than end (2020-02)"),
    (HEADER + "RUS,SAU,2019-12,2020-02,1,H\n", "data row 1 (line 2", "column 'start': '2019-12' is before the run's "
     "horizon; allowed: a month from horizon.start (2020-01; the run's first recorded month, 2019-12, is then the "
     "month before) to 2020-06"),
    (HEADER + GOOD + "\n" + "RUS,SAU,2020-01,2020-07,1,H\n", "data row 2 (line 4", "column 'end': '2020-07' is "
     "after the run's horizon; allowed: a month up to horizon.end (2020-06)"),
    (HEADER + "SAU,SAU,2020-01,2020-06,1,H\n", "data row 1 (line 2", "column 'b': 'SAU' pairs a state with itself"),
    (HEADER + GOOD + "IRN,RUS,2020-01,2020-06,0,L\n", "data row 2 (line 3", "column 'start': '2020-01' repeats the "
     "period of IRN-RUS of data row 1; allowed: one row per pair and period"),
], ids=["unknown state", "missing column", "sign", "confidence", "malformed month", "start after end",
        "before horizon", "after horizon", "self pair", "duplicate"])
def test_a_bad_patterns_file_stops_with_one_message_naming_file_row_and_column(
        tmp_path: Path, text: str, where: str, allowed: str) -> None:
    path = tmp_path / "patterns.csv"
    path.write_text(text)
    with pytest.raises(PatternError) as e:
        load_patterns(path, CODES, HORIZON)
    message = str(e.value)
    assert message.startswith(f"{path}, {where}"), message
    assert allowed in message, message
    assert "\n" not in message


def test_the_projects_patterns_load_for_the_mena_world_over_the_default_horizon() -> None:
    path = default_patterns()
    assert path == REPO / "data" / "history" / "patterns_2018_2024.csv"  # the checkout's copy, not ../shared
    world = OmegaConf.load(REPO / "configs" / "world" / "mena_2018.yaml")
    p = load_patterns(path, list(world.states), ("2018-11", "2025-12"))
    assert len(p) == 26 and p.groupby(["a", "b"]).ngroups == 13
    assert set(zip(p["start"], p["end"], strict=True)) == {("2018-11", "2022-01"), ("2022-02", "2024-11")}
    assert ("ARE", "ISR") in set(zip(p["a"], p["b"], strict=True))  # ISR,ARE in the file, in the world's order
    assert p["sign"].value_counts().to_dict() == {1: 20, 0: 5, -1: 1}


def test_the_world_order_and_horizon_are_read_from_the_dyads_table() -> None:
    d = dyads({}).sample(frac=1, random_state=1)  # shuffled rows
    assert dyads_codes(d) == CODES
    assert dyads_horizon(d) == HORIZON


# ------------------------------------------------------------------ the figure


def test_the_figure_shows_the_scores_and_frames_the_agreeing_cells() -> None:
    d = dyads({("RUS", "IRN"): (0.10, [0.20, 0.21, 0.22]), ("RUS", "SAU"): (0.50, [0.40, 0.41, 0.42])})
    cells, _ = score(d, patterns(("RUS", "IRN", 1, "H"), ("RUS", "SAU", 1, "L")))
    fig = plot_pattern_score(cells)
    ax = fig.axes[0]
    title = ax.get_title().replace("\n", " ")
    assert "model agrees on 1/2 (H+M: 1/1) cells" in title
    assert "nothing changes 0/2 (H+M: 0/1)" in title and "every relation warms 2/2 (H+M: 1/1)" in title
    frames = [p for p in ax.patches if not p.get_fill()]
    assert len(frames) == 1 and frames[0].get_xy() == pytest.approx((-0.45, -0.42))  # RUS-IRN, the first row
    assert [t.get_text() for t in ax.get_yticklabels()] == ["RUS-IRN", "RUS-SAU"]
    labels = {t.get_text() for t in fig.legends[0].get_texts()}
    assert {"+1 warmer", "0 unchanged", "-1 cooler", "model agrees", "observed, confidence L"} <= labels


# ------------------------------------------------------------------ sim-validate


def sim_validate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("sim-validate")  # the console script pyproject declares
    return subprocess.run([str(script), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    d = dyads({("RUS", "IRN"): (0.10, [0.20, 0.21, 0.22]), ("RUS", "SAU"): (0.50, [0.40, 0.41, 0.42])})
    d.to_parquet(run / "dyads.parquet", index=False)
    (tmp_path / "patterns.csv").write_text(HEADER + "IRN,RUS,2020-01,2020-06,1,H\nRUS,SAU,2020-01,2020-06,1,L\n")
    return run


def test_sim_validate_writes_the_cells_the_scores_and_the_figure(run_dir: Path) -> None:
    p = sim_validate(str(run_dir), "--patterns", str(run_dir.parent / "patterns.csv"), cwd=run_dir.parent)
    assert p.returncode == 0, p.stderr
    out = run_dir / "validation"
    assert sorted(f.name for f in out.iterdir()) == ["pattern_score.png", "pattern_scores.csv", "patterns.csv"]
    cells = pd.read_csv(out / "patterns.csv")
    assert cells[["a", "b", "model_sign", "agree"]].values.tolist() == [["RUS", "IRN", 1, True],
                                                                        ["RUS", "SAU", -1, False]]
    scores = pd.read_csv(out / "pattern_scores.csv").set_index(["subset", "rule"])
    assert scores.loc[("all", "model"), "agree"] == 1 and scores.loc[("all", "every relation warms"), "agree"] == 2
    table = [[c.strip() for c in line.strip("|").split("|")] for line in p.stdout.splitlines() if line.startswith("|")]
    assert table[0][:5] == ["scenario", "subset", "model", "nothing changes", "every relation warms"]
    assert table[2][:5] == ["history", "all", "1/2 (50%)", "0/2 (0%)", "2/2 (100%)"]
    assert table[3][:5] == ["history", "H+M", "1/1 (100%)", "0/1 (0%)", "1/1 (100%)"]
    assert (out / "pattern_score.png").read_bytes()[:4] == b"\x89PNG"


def test_sim_validate_scores_the_projects_patterns_by_default_from_any_directory(tmp_path: Path) -> None:
    codes = ["RUS", "IRN", "SYR", "USA", "CHN", "SAU", "ARE", "EGY", "QAT", "TUR", "ISR"]
    run = tmp_path / "run"
    run.mkdir()
    d = dyads({("RUS", "IRN"): (0.10, [0.20, 0.21])}, codes=codes, months=["2018-10", "2022-01", "2024-11"])
    d.to_parquet(run / "dyads.parquet", index=False)
    p = sim_validate(str(run), "--out", str(tmp_path / "v"), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    cells = pd.read_csv(tmp_path / "v" / "patterns.csv")
    assert len(cells) == 26
    # RUS-IRN: 0.10 at 2018-10, 0.15/0.155 at 2022-01, 0.20/0.21 at 2024-11: both periods warm (t interval,
    # one degree of freedom: 0.0525 +- 0.032 in each); every other pair stays at 0.1
    rus_irn = (cells["a"] == "RUS") & (cells["b"] == "IRN")
    assert cells.loc[rus_irn, "model_sign"].tolist() == [1, 1]
    assert (cells.loc[~rus_irn, "model_sign"] == 0).all()


@pytest.mark.parametrize("case", ["bad patterns", "no dyads"])
def test_sim_validate_on_bad_input_prints_one_message_and_writes_nothing(run_dir: Path, case: str) -> None:
    bad = run_dir.parent / "bad.csv"
    bad.write_text(HEADER + "RUS,IRN,2020-01,2020-06,1,H\nRUS,SAU,2020-01,2021-01,1,H\n")
    if case == "no dyads":
        (run_dir / "dyads.parquet").unlink()
    p = sim_validate(str(run_dir), "--patterns", str(bad), cwd=run_dir.parent)
    assert p.returncode == 2 and p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr
    if case == "bad patterns":
        assert lines[0].startswith(f"error: {bad}, data row 2 (line 3") and "column 'end'" in lines[0]
    else:
        assert lines[0] == (f"error: {run_dir / 'dyads.parquet'}: no such file (sim-run writes dyads.parquet for a "
                            f"scenario or a pair; is {run_dir} a run directory?)")
    assert not (run_dir / "validation").exists()


# the smooth loss of the calibration: rule_gap / smooth_disagreement on hand-computed cells
# (change, half-width, tie before) -> observed, gap in thresholds tau = max(0.05 |tie before|, 0.005)
GAP_CASES = [
    ((0.10, 0.02, 0.4), 1, 0.0),  # tau 0.02: the rule gives +1 (0.08 > 0, 0.10 >= tau): agrees, gap 0
    ((0.01, 0.005, 0.4), 1, 0.5),  # |change| < tau: rule 0; (0.02 - 0.01) / 0.02
    ((-0.03, 0.01, 0.4), 1, 2.5),  # moved the wrong way: (0.02 + 0.03) / 0.02
    ((0.05, 0.03, 0.0), 0, 4.0),  # tau 0.005, m = half 0.03: rule +1; (0.05 - 0.03) / 0.005
    ((0.05, 0.06, 0.0), 0, 0.0),  # the interval contains 0: rule 0, agrees
    ((-0.012, 0.004, -0.2), -1, 0.0),  # tau 0.01: rule -1, agrees
    ((0.007, 0.001, 0.1), 0, 0.4),  # tau 0.005: rule +1; (0.007 - 0.005) / 0.005
    ((0.5, np.nan, 0.4), 1, np.inf),  # one replication: the rule says 0 whatever the change
]


def test_rule_gap_counts_thresholds_to_agreement_on_hand_computed_cells() -> None:
    stats = np.array([c for c, _, _ in GAP_CASES]).T  # (3, C)
    observed = np.array([o for _, o, _ in GAP_CASES])
    np.testing.assert_allclose(rule_gap(observed, stats), [g for _, _, g in GAP_CASES])
    # 0 exactly where the rule agrees
    assert ((rule_gap(observed, stats) == 0) == (signs_of(stats) == observed)).all()


def test_smooth_disagreement_weights_capped_gaps_like_the_signs() -> None:
    stats = np.array([c for c, _, _ in GAP_CASES]).T
    observed = np.array([o for _, o, _ in GAP_CASES])
    confidence = ["H", "H", "M", "L", "H", "M", "L", "H"]  # weights 3 3 2 1 3 2 1 3: total 18
    # costs (1 + min(gap, 2) / 2) / 2 where gap > 0: 0, 0.625, 1, 1, 0, 0, 0.6, 1
    expected = (3 * 0.625 + 2 * 1 + 1 * 1 + 1 * 0.6 + 3 * 1) / 18
    assert smooth_disagreement(observed, stats, confidence) == pytest.approx(expected)
    # between half the signs' weighted disagreement and all of it, and 0 for the signs the rule gives
    signs = weighted_disagreement(observed, signs_of(stats), confidence)
    assert signs / 2 <= expected <= signs and signs == pytest.approx(10 / 18)
    assert smooth_disagreement(signs_of(stats), stats, confidence) == 0.0
    stacked = np.stack([stats, stats])  # (K, 3, C): one loss per row
    np.testing.assert_allclose(smooth_disagreement(observed, stacked, confidence), [expected, expected])


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_the_gap_is_zero_exactly_where_the_rule_agrees(seed: int) -> None:
    rng = np.random.default_rng(seed)
    stats = np.stack([rng.normal(0, 0.05, 40), rng.uniform(0, 0.05, 40), rng.normal(0, 0.5, 40)])
    observed = rng.integers(-1, 2, 40)
    assert ((rule_gap(observed, stats) == 0) == (signs_of(stats) == observed)).all()
