"""The history replay: scenarios that include scenarios, the history scenario, its event types
(groups, salience, joining a sanctions regime) and the pair table ``dyads.parquet``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf, open_dict

from sim.api import CONFIG_DIR, checked, compose, scenario_files
from sim.config import ConfigError
from sim.events import build_schedule, month_range
from sim.experiment import Cell, prepare, run_cell
from sim.mechanisms.ties import tie_strength
from sim.scenarios import expand

ROOT = Path(__file__).resolve().parent.parent
PATTERNS = ROOT / "data" / "history" / "patterns_2018_2024.csv"
M = "model.mechanisms."


def _history(*overrides: str):
    return checked(compose(["scenario=history", *overrides]), scenario_files("history"))


# ------------------------------------------------------------------ scenarios include scenarios


def test_history_brings_in_the_events_of_the_scenarios_it_includes_each_once() -> None:
    cfg = _history()
    assert list(cfg.scenario.parts) == ["sunni_outreach", "us_sanctions", "gulf_iran_detente", "fall_of_assad"]
    assert not len(cfg.scenario.include)
    names = [e.name for e in cfg.scenario.events]
    for part in cfg.scenario.parts:
        own = OmegaConf.load(CONFIG_DIR / "scenario" / f"{part}.yaml").scenario.events
        for e in own:
            assert names.count(e.name) == 1, e.name  # included once, not copied
    # its drivers are its own: Western sanctions from 2022-02 although no part sets them
    assert cfg.scenario.drivers.western_sanctions_on_russia == "2022-02"
    assert expand(cfg, CONFIG_DIR) is cfg and len(cfg.scenario.events) == len(names)  # expanding again: no-op


def test_western_sanctions_2022_runs_the_events_it_ran_before_it_included_others() -> None:
    """Restructured into includes, it holds the same events as the file of one list did (plus the
    Gulf-Iran rapprochement it now includes), with the same numbers."""
    cfg = checked(compose(["scenario=western_sanctions_2022"]), scenario_files("western_sanctions_2022"))
    old = OmegaConf.load(ROOT / "tests" / "data" / "western_sanctions_2022_before_includes.yaml").scenario.events
    new = {(e.date, e.name): e for e in cfg.scenario.events}
    for e in old:
        got = new[(e.date, e.name)]
        for key in ("states", "affinity", "complementarity", "positions", "outside_option"):
            before = OmegaConf.to_container(e).get(key, {} if key == "positions" else None)
            assert OmegaConf.to_container(got)[key] == before, (e.name, key)
    added = {name for _, name in new} - {e.name for e in old}
    assert added == {e.name for e in OmegaConf.load(CONFIG_DIR / "scenario" / "gulf_iran_detente.yaml").scenario.events
                     } - {e.name for e in old}


def test_an_unknown_or_circular_include_is_one_error_naming_it(tmp_path: Path) -> None:
    cfg = compose(["scenario=history"])
    cfg.scenario.include = ["sunni_outreach", "no_such_scenario"]
    with pytest.raises(ConfigError, match=r"scenario.include\[1\] = 'no_such_scenario'.*one of .*baseline"):
        checked(cfg, scenario_files("history"))
    (tmp_path / "scenario").mkdir()
    for name, other in (("a", "b"), ("b", "a")):
        (tmp_path / "scenario" / f"{name}.yaml").write_text(f"scenario:\n  name: {name}\n  include: [{other}]\n")
    cfg = compose(["scenario=baseline"])
    cfg.scenario.include = ["a"]
    with pytest.raises(ConfigError, match="cycle: baseline -> a -> b -> a"):
        expand(cfg, tmp_path)


# ----------------------------------------------------------------------- the history scenario


def _rated_pairs() -> set[frozenset[str]]:
    patterns = pd.read_csv(PATTERNS)
    return {frozenset((a, b)) for a, b in zip(patterns.a, patterns.b, strict=True)}


def test_after_2024_11_history_holds_only_the_outside_shocks_and_no_step_between_rated_states() -> None:
    """2024-12 .. 2025-12 is a forecast: only #37, #45, #49, #51, and none of their compiled
    events (groups expanded) changes a pair of two rated states."""
    cfg = _history()
    world, _, schedule = prepare(cfg)
    rated = _rated_pairs()
    dates = schedule.dates
    late = [e for e in cfg.scenario.events if e.date > "2024-11"]
    assert late and {e.ref for e in late} <= {37, 45, 49, 51}
    first_late = dates.index("2024-12")
    for step, events in schedule.events.items():
        if step < first_late:
            continue
        for e in events:
            if len(e.states) == 2:
                pair = frozenset(world.codes[i] for i in e.states)
                assert pair not in rated, (e.name, sorted(pair))


def test_every_event_of_history_names_a_source_and_its_own_events_their_number() -> None:
    cfg = _history()
    own = OmegaConf.load(CONFIG_DIR / "scenario" / "history.yaml").scenario.events
    assert all(isinstance(e.ref, int) for e in own)
    assert all(str(e.source).strip() for e in cfg.scenario.events)
    listed = Path(ROOT / "data" / "history" / "events_2018_2025.md").read_text()
    for e in cfg.scenario.events:
        if e.ref is not None:
            assert f"| {e.ref} |" in listed, e.ref


def test_groups_expand_into_their_pairs_and_members() -> None:
    cfg = _history()
    world, _, schedule = prepare(cfg)
    by_name: dict[str, list[tuple[str, ...]]] = {}
    for events in schedule.events.values():
        for e in events:
            by_name.setdefault(e.name, []).append(tuple(world.codes[i] for i in e.states))
    assert by_name["Record OPEC+ cut of 9.7 mb/d"] == [
        ("RUS", "SAU"), ("RUS", "ARE"), ("RUS", "IRQ"), ("SAU", "ARE"), ("SAU", "IRQ"), ("ARE", "IRQ")]
    assert by_name["AlUla Declaration ends the blockade of Qatar (Gulf)"] == [("QAT", "SAU"), ("QAT", "ARE")]
    assert by_name["The Gaza war raises the weight of the Israel question (Gulf)"] == [("SAU",), ("ARE",), ("QAT",)]


def test_salience_and_joining_events_change_the_run() -> None:
    """The Gaza war's salience event moves alignment; the snapback's joiners pay the whole
    secondary cost of dealing with Iran from 2025-09 (participation 1)."""
    from sim.model import AllianceModel

    cfg = _history("horizon.end=2025-12")
    world, mech, schedule = prepare(cfg)
    model = AllianceModel(world, mech, schedule, rng=np.random.default_rng(0))
    sau, isr, irn = (world.index(c) for c in ("SAU", "ISR", "IRN"))
    israel = world.issues.index("israel")
    model.run()
    c = model.month.conditions
    assert c.salience[sau, israel] == pytest.approx(0.15) and c.salience[sau].sum() == pytest.approx(1.0)
    pi = c.participation["us_sanctions_on_iran"]
    assert pi[sau] == 1.0 and pi[isr] == 1.0 and pi[world.index("RUS")] == 0.0 and pi[irn] == 0.0


def test_iran_and_saudi_arabia_can_warm_after_the_beijing_deal_by_formation() -> None:
    """Their tie starts at zero (relations cut in 2016). With formation on, P2 (2022-02..2024-11)
    ends warmer by more than the pattern score's floor of 0.005; with it off the tie stays pinned."""
    def change(*overrides: str) -> float:
        dyads = run_cell(Cell("history", _history("replications=4", *overrides)), pairs=True).dyads
        pair = dyads[(dyads.a == "IRN") & (dyads.b == "SAU")].set_index(["date", "replication"]).tie
        return float((pair.loc["2024-11"] - pair.loc["2022-01"]).mean())

    assert change() > 0.005
    assert abs(change(M + "formation.enabled=false")) < 0.005


def test_history_runs_the_capability_trends_from_its_start_and_other_scenarios_do_not() -> None:
    """The history scenario's budgets follow the world's capability trends from 2018-11 (its first
    step); the headline's scenarios hold them; a later start counts the months from it."""
    from sim.mechanisms.budget import trend_factor

    cfg = _history()
    world, _, schedule = prepare(cfg)
    assert schedule.trends == 0 and schedule.trend_months(0) == 1 and schedule.trend_months(30) == 31
    china = world.index("CHN")
    assert world.capability_trend[china] == pytest.approx(0.0281)  # OLS slope of ln CINC 2000-2016, NMC v6.0
    for name in ("baseline", "sunni_outreach"):
        assert prepare(checked(compose([f"scenario={name}"]), scenario_files(name)))[2].trends is None
    later = _history("scenario.capability_trends=2020-01")
    schedule = prepare(later)[2]
    assert schedule.trends == 14 and schedule.trend_months(13) == 0 and schedule.trend_months(14) == 1
    # a start before the horizon counts its months from there: in force ten months at the first step
    earlier = prepare(_history("scenario.capability_trends=2018-01"))[2]
    assert earlier.trends == -10 and earlier.trend_months(0) == 11
    # in the first month the ties are the calibrated ones, so the budgets differ by the trend factor alone
    from sim.step import Month

    def first_budget(trends: object) -> np.ndarray:
        c = _history(f"scenario.capability_trends={trends}")
        w, mechanisms, s = prepare(c)
        month = Month(w, mechanisms, s, shock=np.zeros((w.n, w.n)), draw=lambda _: np.zeros((w.n, w.n)))
        month.update_budgets(0)
        return month.budget

    ratio = first_budget("2018-11") / first_budget("null")
    assert ratio == pytest.approx(trend_factor(world.capability_trend, 1), rel=1e-12)
    assert ratio[china] > 1 > ratio[world.index("RUS")]


@pytest.mark.parametrize("override, match", [
    ("scenario.capability_trends=2018-13", r"scenario.capability_trends = '?2018-13'?.*YYYY-MM"),
    ("world.states.CHN.capability_trend=0.9", r"world.states.CHN.capability_trend = 0.9.*\[-0.5, 0.5\]"),
])
def test_a_bad_trend_start_or_trend_is_one_error_naming_the_key(override, match) -> None:
    with pytest.raises(ConfigError, match=match):
        _history(override)


def test_wars_move_the_belligerents_suppliers_by_wartime_supply() -> None:
    """Russia at war from 2022-02 (#20) and Israel from 2023-10 (#30): with wartime supply on,
    Russia's tie to China (the partner with most of the pair's industry, friendly, not sanctioning
    Russia) and the US-Israel tie warm by more than 0.01 over those months than with it off (at the
    calibrated defaults +0.017 and +0.039); the 12-day war (#45) puts Iran at war for 2025-06 only."""
    def changes(*overrides: str) -> tuple[float, float]:
        dyads = run_cell(Cell("history", _history("replications=4", *overrides)), pairs=True).dyads

        def change(a: str, b: str, before: str, end: str) -> float:
            pair = dyads[(dyads.a == a) & (dyads.b == b)].set_index(["date", "replication"]).tie
            return float((pair.loc[end] - pair.loc[before]).mean())

        return change("RUS", "CHN", "2022-01", "2024-11"), change("USA", "ISR", "2023-09", "2024-11")

    on, off = changes(), changes(M + "war.enabled=false")
    assert on[0] - off[0] > 0.01 and on[1] - off[1] > 0.01, (on, off)
    world, _, schedule = prepare(_history())
    levels = {schedule.dates[step]: (e.states, e.war) for step, events in schedule.events.items() for e in events
              if e.war is not None}
    irn, rus, isr = (world.index(c) for c in ("IRN", "RUS", "ISR"))
    assert levels == {"2022-02": ((rus,), 1.0), "2023-10": ((isr,), 1.0), "2025-06": ((irn,), 1.0),
                      "2025-07": ((irn,), 0.0)}


# ---------------------------------------------------------------------------- the pair table


def test_the_pair_table_holds_every_pair_every_month_and_replication_from_the_calibrated_start() -> None:
    cfg = _history("replications=3", "horizon.end=2019-06")
    result = run_cell(Cell("history", cfg), pairs=True)
    assert "dyads" not in vars(result)  # made when first asked for (sim-run: in the thread that writes it)
    dyads = result.dyads
    assert result.dyads is dyads
    world = prepare(cfg)[0]
    months = month_range("2018-11", "2019-06")
    pairs = world.n * (world.n - 1) // 2
    assert list(dyads.columns) == ["scenario", "replication", "date", "a", "b", "tie", "commitment_ab",
                                   "commitment_ba", "affinity"]
    # the labels made by Arrow's take are the column NumPy's repeated strings give (pandas' str dtype)
    i, j = np.triu_indices(world.n, 1)
    codes = np.array(world.codes)
    expected = pd.DataFrame({"scenario": "history", "a": np.tile(codes[i], 3 * (len(months) + 1)),
                             "b": np.tile(codes[j], 3 * (len(months) + 1)),
                             "date": np.tile(np.repeat(np.array(["2018-10", *months]), pairs), 3)})
    pd.testing.assert_frame_equal(dyads[["scenario", "a", "b", "date"]], expected[["scenario", "a", "b", "date"]])
    assert len(dyads) == 3 * (len(months) + 1) * pairs
    assert list(dict.fromkeys(dyads.date)) == ["2018-10", *months]
    assert not dyads.duplicated(["replication", "date", "a", "b"]).any()
    order = {c: k for k, c in enumerate(world.codes)}
    assert (dyads.a.map(order) < dyads.b.map(order)).all()
    start = dyads[dyads.date == "2018-10"]
    t0 = tie_strength(world.commitment, world.budget)
    i, j = world.index("RUS"), world.index("IRN")
    row = start[(start.a == "RUS") & (start.b == "IRN")]
    assert (row.tie == t0[i, j]).all() and (row.affinity == world.affinity[i, j]).all()
    # the tie is the geometric mean of the commitment shares of the base budgets
    b = world.budget
    idx_a, idx_b = dyads.a.map(order).to_numpy(), dyads.b.map(order).to_numpy()
    np.testing.assert_allclose(dyads.tie, np.sqrt(dyads.commitment_ab / b[idx_a] * dyads.commitment_ba / b[idx_b]))
    # the last month is the run's final network, replication by replication
    last = dyads[dyads.date == months[-1]].groupby("replication").tie.mean()
    assert last.nunique() == 3


def test_sim_run_of_history_writes_dyads_parquet(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "sim", "scenario=history", "replications=2", "horizon.end=2019-03",
                           f"hydra.run.dir={out}"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    dyads = pd.read_parquet(out / "dyads.parquet")
    assert set(dyads.scenario) == {"history"} and dyads.date.iloc[0] == "2018-10" and dyads.date.iloc[-1] == "2019-03"
    assert len(dyads) == 2 * 6 * 78


# ------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("change", "match"), [
    (lambda c: c.scenario.events[-1].states.__setitem__(0, "OPEC"), r"states\[0\] = 'OPEC'.*GCC, OPEC\+, BRICS_2024"),
    (lambda c: next(e for e in c.scenario.events if e.joins).__setattr__("joins", "outreach"),
     r"joins = 'outreach'.*us_sanctions_on_iran"),
    (lambda c: c.scenario.participants.__setitem__("outreach", ["USA"]), r"participants.outreach"),
    (lambda c: c.scenario.participants.western_sanctions_on_russia.append("EU"),
     r"participants.western_sanctions_on_russia\[1\] = 'EU'"),
    (lambda c: c.world.groups[0].__setattr__("name", "SAU"), r"world.groups\[0\].name = 'SAU'"),
    (lambda c: c.world.groups[1].members.append("XXX"), r"world.groups\[1\].members\[4\] = 'XXX'"),
])
def test_bad_groups_participants_and_joins_are_one_error_naming_the_key(change, match) -> None:
    cfg = compose(["scenario=history"])
    expand(cfg, CONFIG_DIR)
    with open_dict(cfg):
        change(cfg)
    with pytest.raises(ConfigError, match=match):
        checked(cfg, scenario_files("history"))


def test_an_event_of_two_kinds_is_refused() -> None:
    cfg = compose(["scenario=history"])
    expand(cfg, CONFIG_DIR)
    cfg.scenario.events[-1].budget = 0.9  # a pair change (affinity) and a state change at once
    with pytest.raises(ConfigError, match="an event of one kind"):
        checked(cfg, scenario_files("history"))


def test_a_world_saved_before_the_capability_trends_has_none() -> None:
    """A cell's plain config saved before the world held capability trends builds a world whose trends are 0."""
    from sim.experiment import Plain
    from sim.world import world_from_config

    cfg = checked(compose(["scenario=history"]), scenario_files("history"))
    plain = OmegaConf.to_container(cfg, resolve=True)
    for state in plain["world"]["states"].values():
        state.pop("capability_trend")
    world = world_from_config(Plain(plain["world"]))
    assert (world.capability_trend == 0.0).all() and world.n == 13


def test_build_schedule_tolerates_configs_saved_before_the_new_event_keys() -> None:
    """A config saved by an older version (no salience, joins, participants) still compiles."""
    cfg = checked(compose(["scenario=us_sanctions"]), scenario_files("us_sanctions"))
    plain = OmegaConf.to_container(cfg, resolve=True)
    for e in plain["scenario"]["events"]:
        e.pop("salience"), e.pop("joins")
    plain["scenario"].pop("participants")
    from sim.experiment import Plain

    world = prepare(cfg)[0]
    schedule = build_schedule(Plain(plain["scenario"]), Plain(plain["policy"]), Plain(plain["horizon"]), world)
    assert schedule.sanctions[0].participants == (world.index("USA"),)


def test_a_sweep_keeps_pair_tables_only_when_asked(tmp_path: Path) -> None:
    """experiment.dyads=false (default): cells hold no dyads.parquet; asked later, the finished
    cells get theirs (rerun, same metric table) and the table matches a run of the cell alone."""
    from sim.api import run_experiment
    from sim.store import DYADS, CellStore

    args = ["experiment=outreach_sweep", "replications=2", "horizon.end=2019-02",
            'experiment.grid={policy.outreach:"0,1"}']
    run_experiment(args, tmp_path, workers=1)
    store = CellStore(tmp_path)
    keys = sorted(store.done())
    assert keys and not any(store.has_file(k, DYADS) for k in keys)
    tables = {k: store.table(k) for k in keys}
    run_experiment([*args, "experiment.dyads=true"], tmp_path, workers=1)
    assert all(store.has_file(k, DYADS) for k in keys)
    for k in keys:
        pd.testing.assert_frame_equal(store.table(k), tables[k])
        dyads = pd.read_parquet(store.path(k) / DYADS)
        assert len(dyads) == 2 * 5 * 78 and dyads.date.iloc[0] == "2018-10"


def test_history_under_different_lever_levels_stacks_with_each_runs_numbers_alone() -> None:
    """Schedules of history at several lever levels in one stack (run_stacked): each cell's
    metrics and pair table equal that cell run alone, bit for bit."""
    from sim.experiment import prepare_plain, run_prepared, run_stacked
    from sim.store import cell_config

    # US sanctions on Iran off in one slice: Iran has still lost alternatives (the end of the oil
    # waivers), so its hubs must be every state in that slice, as in its run alone
    levels = [("policy.outreach=0", "policy.western_sanctions_on_russia=1", "policy.us_sanctions_on_iran=0"),
              ("policy.outreach=0.5", "policy.western_sanctions_on_russia=0.3"),
              ("policy.outreach=1", "policy.western_sanctions_on_russia=0")]
    configs = [cell_config(_history("replications=2", "horizon.end=2023-06", *lv)) for lv in levels]
    prepared = [prepare_plain(c, keep_unscaled=True) for c in configs]
    stacked = run_stacked([("history", m, s) for _, m, s in prepared], prepared[0][0], 2018, 2, pairs=True)
    for config, result in zip(configs, stacked, strict=True):
        alone = run_prepared("history", *prepare_plain(config), 2018, 2, pairs=True)
        pd.testing.assert_frame_equal(result.table, alone.table, check_exact=True)
        pd.testing.assert_frame_equal(result.dyads, alone.dyads, check_exact=True)
