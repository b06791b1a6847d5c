"""The calibration over drawn worlds (experiment.calibration.worlds): each stack runs in one draw of the
world's numbers and the events' magnitudes; a parameter set's statistics move with the draw and, with no
pool, are those of the world as written; the screen keeps its common random numbers; the verdicts run each
draw's pair in its world; the same seed gives the same posterior however the candidates are chunked."""

from __future__ import annotations

import concurrent.futures
import json

import numpy as np
import pandas as pd
import pytest
from calibration_support import Serial, quiet

from sim.api import run_calibration
from sim.batch import run_batch
from sim.calibrate import (
    STARTED,
    Cells,
    Simulator,
    prepare_target,
    simulate_statistics,
    verdicts_under,
    with_values,
    world_pool,
)
from sim.config import ConfigError
from sim.patterns import default_patterns, rule_statistics
from sim.screen import screen

PREMIUM, SIGMA = "model.mechanisms.outreach.premium", "model.mechanisms.noise.sigma"
RATIONALITY, INERT = "model.mechanisms.allocation.rationality", "model.mechanisms.abandonment.weight"
TINY = ["experiment=calibrate_small", "experiment.workers=1", f"experiment.parameters=[{PREMIUM},{SIGMA}]",
        "experiment.calibration.always=[]", "experiment.calibration.screen=0",
        "experiment.calibration.draws=4", "experiment.calibration.verdict_replications=5"]


@pytest.fixture(scope="module")
def pool(cells) -> list[Cells]:
    return world_pool(cells, 3, seed=11)


def written_statistics(target, params, seeds):
    """The statistics as the calibration computed them before world pools: every slice in the written
    world and schedules, one stack per scenario."""
    slices = [(m, s) for m, row in zip(params, seeds, strict=True) for s in row]
    out = []
    for schedule in (target.history, target.control):
        tie = run_batch(target.world, [m for m, _ in slices], schedule, [s for _, s in slices], pairs=True).pairs
        tie = tie[:, :, 0, :].reshape(len(params), len(seeds[0]), -1, tie.shape[-1])
        out.append(rule_statistics(tie[:, :, target.before, target.pair], tie[:, :, target.end, target.pair]))
    return out


def test_the_pool_is_drawn_from_the_seed_draw_by_draw(cells, pool):
    again = world_pool(cells, 4, seed=11)  # a larger pool: its first draws are the smaller one's
    for a, b in zip(pool, again, strict=False):
        assert a.history.world.states.RUS.capability == b.history.world.states.RUS.capability
    capability = [d.history.world.states.RUS.capability for d in again]
    assert len(set(capability)) == 4 and cells.history.world.states.RUS.capability not in capability
    other = world_pool(cells, 1, seed=12)[0]
    assert other.history.world.states.RUS.capability != pool[0].history.world.states.RUS.capability
    for d in pool:  # the history, its control and the pair's treatment in one drawn world
        assert d.history.world == d.control.world == d.treatment.world


def test_one_parameter_sets_statistics_move_with_the_world_draw_and_without_a_pool_are_the_written_worlds(
        cells, pool):
    target = prepare_target(cells, (PREMIUM,), "2024-11", default_patterns(), 3, pool=pool)
    params = [with_values(target.base, {PREMIUM: 0.3})] * 3
    seeds = [np.random.SeedSequence(5).spawn(3)] * 3  # the same seeds: only the world differs
    history, control = simulate_statistics(target, params, seeds, worlds=[0, 1, 2])
    for a, b in ((0, 1), (0, 2), (1, 2)):
        assert not np.array_equal(history[a], history[b]) and not np.array_equal(control[a], control[b])
    # each is what its draw gives when prepared on its own (history and control in that drawn world)
    for w in range(3):
        alone = prepare_target(pool[w], (PREMIUM,), "2024-11", default_patterns(), 3)
        h, c = written_statistics(alone, params[:1], seeds[:1])
        assert np.array_equal(history[w], h[0]) and np.array_equal(control[w], c[0])
    # no pool (worlds=None): the written world, as before pools existed
    h, c = simulate_statistics(target, params[:1], seeds[:1])
    expected = written_statistics(target, params[:1], seeds[:1])
    assert np.array_equal(h, expected[0]) and np.array_equal(c, expected[1])
    assert not np.array_equal(h[0], history[0])
    # stacked by world: a set gets in a mixed stack what it gets alone
    mixed = [with_values(target.base, {PREMIUM: v}) for v in (0.1, 0.5, 0.9, 0.2)]
    mixed_seeds = [np.random.SeedSequence([9, k]).spawn(3) for k in range(4)]
    together = simulate_statistics(target, mixed, mixed_seeds, worlds=[2, 0, 2, 1])
    for k, w in enumerate([2, 0, 2, 1]):
        single = simulate_statistics(target, mixed[k:k + 1], mixed_seeds[k:k + 1], worlds=[w])
        assert np.array_equal(together[0][k], single[0][0]) and np.array_equal(together[1][k], single[1][0])


def test_without_a_pool_the_simulator_draws_nothing_more_from_numpys_generator(cells, pool):
    """pyabc draws from numpy's global generator after the model: with no pool the candidate takes only
    its seed entropy from it, as before pools existed; with a pool it takes the draw it runs in, too."""
    target = prepare_target(cells, (PREMIUM,), "2024-11", default_patterns(), 2)
    for t, extra in ((target, 0), (prepare_target(cells, (PREMIUM,), "2024-11", default_patterns(), 2, pool=pool), 1)):
        np.random.seed(3)
        Simulator(t)({"outreach.premium": 0.0})
        after = np.random.random()
        np.random.seed(3)
        np.random.randint(0, 2**32, size=4, dtype=np.uint64)
        if extra:
            np.random.randint(3)
        assert np.random.random() == after


def test_the_screen_keeps_common_random_numbers_in_each_drawn_world(cells, pool):
    target = prepare_target(cells, (), "2024-11", default_patterns(), 3, pool=pool)
    table = screen(target, [INERT, RATIONALITY], trajectories=3, levels=4, seed=5)
    # each trajectory in one drawn world: an inert parameter's elementary effects are still exactly 0
    assert list(table["parameter"]) == [RATIONALITY, INERT]
    assert table.loc[0, "mu_star"] > 0.01 and table.loc[1, "mu_star"] == 0.0
    written = screen(prepare_target(cells, (), "2024-11", default_patterns(), 3), [INERT, RATIONALITY], 3, 4, 5)
    assert table.loc[0, "mu_star"] != written.loc[0, "mu_star"]


def test_each_draws_verdict_pair_runs_in_its_drawn_world(cells, pool):
    from sim.experiment import prepare

    base = prepare(cells.control)[1]
    params = [base, base, base]
    effects = verdicts_under(params, cells, 4, 5, 0.05, None, pool, [0, 1, 0])
    h1 = effects[effects["hypothesis"] == "h1"].set_index("draw")["effect"]
    assert h1[0] == h1[2] and h1[0] != h1[1]  # the same world, the same pair; another world, another effect
    alone = verdicts_under([base], pool[1], 4, 5, 0.05)  # draw 1's configs as if written
    assert alone[alone["hypothesis"] == "h1"]["effect"].iloc[0] == h1[1]
    written = verdicts_under([base], cells, 4, 5, 0.05)
    assert written[written["hypothesis"] == "h1"]["effect"].iloc[0] != h1[0]


@pytest.mark.parametrize("value", [-1, 1001])  # not an integer: refused by the schema when composed
def test_a_bad_number_of_worlds_is_one_error_before_anything_is_written(tmp_path, value):
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match=r"experiment\.calibration\.worlds") as e:
        run_calibration([*TINY, f"experiment.calibration.worlds={value}"], out, say=quiet)
    assert "an integer from 0 (the world and the events as written) to 1000" in str(e.value)
    assert not out.exists() or not any(out.iterdir())


def test_the_same_seed_gives_the_same_posterior_over_drawn_worlds_however_the_work_is_chunked(tmp_path, monkeypatch):
    small = [*TINY, "experiment.calibration.particles=12", "experiment.calibration.generations=2",
             "experiment.calibration.worlds=3"]
    one = run_calibration(small, tmp_path / "one", say=quiet)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", Serial)
    two = run_calibration([*small, "experiment.workers=2"], tmp_path / "two", say=quiet)
    posterior = pd.read_parquet(tmp_path / "one" / "posterior.parquet")
    pd.testing.assert_frame_equal(posterior, pd.read_parquet(tmp_path / "two" / "posterior.parquet"))
    assert one["verdicts"] == two["verdicts"] and one["predictive_score"] == two["predictive_score"]
    assert posterior["distance"].nunique() > 1
    assert one["worlds"] == 3 and one["settings"]["worlds"] == 3
    assert json.loads((tmp_path / "one" / STARTED).read_text())["calibration"]["worlds"] == 3
    # the pool changes the posterior: the draws are used
    written = run_calibration([*small, "experiment.calibration.worlds=0"], tmp_path / "written", say=quiet)
    assert not posterior.equals(pd.read_parquet(tmp_path / "written" / "posterior.parquet"))
    assert written["worlds"] == 0
    # the record a run without a pool starts with is the one before pools existed (an older run resumes)
    assert "worlds" not in json.loads((tmp_path / "written" / STARTED).read_text())["calibration"]
