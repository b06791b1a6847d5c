"""Validation: every bad input stops with one ConfigError naming file, key and allowed values."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import DictConfig, OmegaConf

from sim.api import compose
from sim.config import ConfigError, validate
from sim.experiment import prepare


def _error(overrides: list[str], edit: Callable[[DictConfig], None] | None = None) -> ConfigError:
    cfg = compose(overrides)
    if edit is not None:
        OmegaConf.set_struct(cfg, False)
        edit(cfg)
    with pytest.raises(ConfigError) as info:
        validate(cfg, {"world": "configs/world/mena_2018.yaml"})
    return info.value


def test_defaults_are_valid() -> None:
    for scenario in ("baseline", "sunni_outreach", "us_sanctions", "western_sanctions_2022"):
        validate(compose([f"scenario={scenario}"]))
    validate(compose(["world=synthetic", "world.n_states=30"]))
    validate(compose(["world=synthetic", "scenario=outreach"]))


@pytest.mark.parametrize(
    ("overrides", "key", "allowed"),
    [
        (["policy.outreach=1.5"], "policy.outreach", "[0, 1]"),
        (["policy.us_sanctions_on_iran=-0.1"], "policy.us_sanctions_on_iran", "[0, 1]"),
        (["policy.western_sanctions_on_russia=nan"], "policy.western_sanctions_on_russia", "[0, 1]"),
        (["horizon.end=2018-01"], "horizon.end", "a month after horizon.start (2018-11)"),
        (["horizon.end=2018-11"], "horizon.end", "a run of one month has one date"),
        (["horizon.start=2018-13"], "horizon.start", "YYYY-MM"),
        (["horizon.end=2019-5"], "horizon.end", "YYYY-MM"),
        (["scenario.drivers.outreach=2019-5"], "scenario.drivers.outreach", "YYYY-MM"),
        (["replications=-2"], "replications", "integer >= 1"),
        (["replications=0"], "replications", "integer >= 1"),
        (["model.mechanisms.allocation.inertia=1.5"], "model.mechanisms.allocation.inertia", "[0, 1]"),
        (["model.mechanisms.noise.sigma=-1"], "model.mechanisms.noise.sigma", "[0, 100]"),
        (["world=synthetic", "world.n_states=2"], "world.n_states", ">= 6"),
        (["world=synthetic", "world.seed=-1"], "world.seed", ">= 0"),
        (["seed=-1"], "seed", ">= 0"),
        (["model.mechanisms.noise.sigma=inf"], "model.mechanisms.noise.sigma", "[0, 100]"),
        (["model.mechanisms.allocation.max_share=0"], "model.mechanisms.allocation.max_share", "[0.01, 1]"),
        (["model.mechanisms.budget.max_growth=0.5"], "model.mechanisms.budget.max_growth", "[1, 100]"),
        (["+policy.outreech=1"], "policy.outreech", "PolicyConfig"),
        (["+world.states.RUS.foo=1"], "world.states.RUS.foo", "StateConfig"),
        (["min_relative_effect=2"], "min_relative_effect", "[0, 1]"),
    ],
)
def test_bad_values_name_key_and_allowed(overrides: list[str], key: str, allowed: str) -> None:
    e = _error(overrides)
    assert e.key == key
    assert allowed in e.allowed
    assert key in str(e)


def test_world_errors_name_the_world_file() -> None:
    def unknown_target(cfg: DictConfig) -> None:
        cfg.world.commitments[0].target = "XYZ"

    e = _error([], unknown_target)
    assert e.file == "configs/world/mena_2018.yaml"
    assert e.key == "world.commitments[0].target" and "RUS" in e.allowed

    def self_tie(cfg: DictConfig) -> None:
        cfg.world.affinities[0].states = ["RUS", "RUS"]

    assert "no tie to itself" in _error([], self_tie).allowed

    def negative_budget(cfg: DictConfig) -> None:
        cfg.world.states.IRN.budget = -1.0

    assert _error([], negative_budget).key == "world.states.IRN.budget"

    def nan_position(cfg: DictConfig) -> None:
        cfg.world.states.SAU.positions[2] = math.nan

    assert _error([], nan_position).key == "world.states.SAU.positions[2]"

    def affinity_out_of_range(cfg: DictConfig) -> None:
        cfg.world.affinities[1].value = 1.7

    assert _error([], affinity_out_of_range).key == "world.affinities[1].value"

    def unknown_role(cfg: DictConfig) -> None:
        cfg.world.roles.outreach_targets = ["SAU", "KSA"]

    assert _error([], unknown_role).key == "world.roles.outreach_targets[1]"

    def repeated_target(cfg: DictConfig) -> None:
        cfg.world.roles.outreach_targets = ["SAU", "SAU"]

    assert _error([], repeated_target).key == "world.roles.outreach_targets[1]"

    def entente_as_target(cfg: DictConfig) -> None:
        cfg.world.roles.outreach_targets = ["SAU", "IRN"]

    assert _error([], entente_as_target).key == "world.roles.outreach_targets[1]"

    def duplicate_commitment(cfg: DictConfig) -> None:
        cfg.world.commitments.append(OmegaConf.to_object(cfg.world.commitments[0]))

    assert "already listed" in _error([], duplicate_commitment).allowed

    def duplicate_affinity(cfg: DictConfig) -> None:
        cfg.world.affinities.append(OmegaConf.to_object(cfg.world.affinities[0]))

    assert "already listed" in _error([], duplicate_affinity).allowed


def test_event_errors() -> None:
    def unknown_state(cfg: DictConfig) -> None:
        cfg.scenario.events[0].states = ["RUS", "ZZZ"]

    e = _error(["scenario=sunni_outreach"], unknown_state)
    assert e.key == "scenario.events[0].states[1]" and "SAU" in e.allowed

    def unknown_issue(cfg: DictConfig) -> None:
        cfg.scenario.events[positions].positions = {"assad_survivl": 1.0}

    events = compose(["scenario=western_sanctions_2022"]).scenario.events
    positions = next(k for k, ev in enumerate(events) if len(ev.positions))
    e = _error(["scenario=western_sanctions_2022"], unknown_issue)
    assert e.key == f"scenario.events[{positions}].positions.assad_survivl"

    def misdated(cfg: DictConfig) -> None:
        cfg.scenario.events[2].date = "2019-9"

    e = _error(["scenario=sunni_outreach"], misdated)
    assert e.key == "scenario.events[2].date" and "YYYY-MM" in e.allowed


def test_a_horizon_shorter_than_the_scenario_keeps_the_events_inside_it() -> None:
    """Events after horizon.end are not in the run; events before horizon.start are in force from the start."""
    full = prepare(compose(["scenario=sunni_outreach"]))[2]
    short = prepare(compose(["scenario=sunni_outreach", "horizon.end=2019-12"]))[2]
    assert short.dates[-1] == "2019-12"
    inside = {step: [e.name for e in evs] for step, evs in full.events.items() if step < len(short.dates)}
    assert {step: [e.name for e in evs] for step, evs in short.events.items()} == inside
    assert 0 < sum(map(len, short.events.values())) < sum(map(len, full.events.values()))

    sanctions = prepare(compose(["scenario=western_sanctions_2022"]))[2]
    late = prepare(compose(["scenario=western_sanctions_2022", "horizon.start=2023-01"]))[2]
    offset = sanctions.dates.index("2023-01")
    before = [e.name for step in sorted(sanctions.events) if step <= offset for e in sanctions.events[step]]
    assert len(before) >= 2 and [e.name for e in late.events[0]] == before  # in force from the start
    after = {step - offset: [e.name for e in evs] for step, evs in sanctions.events.items() if step > offset}
    assert {step: [e.name for e in evs] for step, evs in late.events.items() if step > 0} == after


def test_misspelt_or_unknown_names_fail_while_composing() -> None:
    with pytest.raises(ConfigCompositionException, match="outreech"):
        compose(["policy.outreech=1"])
    with pytest.raises(MissingConfigException, match="scenario"):
        compose(["scenario=no_such_scenario"])
    with pytest.raises(MissingConfigException, match="world"):
        compose(["world=atlantis"])


def test_omegaconf_parses_every_config_file_with_libyaml_into_what_its_own_loader_gives(tmp_path) -> None:
    """sim.libyaml puts libyaml's parser under OmegaConf's loader: every file of configs/ (and the
    test data) loads into the same values, and bad YAML fails at the same line and column."""
    import yaml
    from omegaconf import _utils

    from sim.api import CONFIG_DIR

    c_loader = _utils.get_yaml_loader
    python_loader = c_loader.python_loader
    assert issubclass(c_loader(), yaml.cyaml.CParser) and not issubclass(python_loader(), yaml.cyaml.CParser)
    files = sorted(CONFIG_DIR.rglob("*.yaml")) + sorted((CONFIG_DIR.parent / "tests" / "data").rglob("*.yaml"))
    assert len(files) > 15
    for path in files:
        text = path.read_text()
        ours, theirs = yaml.load(text, Loader=c_loader()), yaml.load(text, Loader=python_loader())
        assert ours == theirs and repr(ours) == repr(theirs), path  # repr: 1 and 1.0, True and 'yes' differ
    scalars = "a: 1e3\nb: 100e100\nc: 2018-11-01\nd: .5\ne: 1_000\nf: yes\ng: '2019-07'\nh: ~\ni: .inf\n"
    assert repr(yaml.load(scalars, Loader=c_loader())) == repr(yaml.load(scalars, Loader=python_loader()))
    for bad, kind in (("a: 1\nb:\n  c: 2\na: 3\n", yaml.constructor.ConstructorError),  # a duplicate key
                      ("a: [1, 2\nb: 3\n", yaml.parser.ParserError)):
        marks = []
        for loader in (c_loader, python_loader):
            with pytest.raises(kind) as e:
                yaml.load(bad, Loader=loader())
            marks.append((e.value.problem_mark.line, e.value.problem_mark.column))
        assert marks[0] == marks[1], bad
    world = tmp_path / "world.yaml"
    world.write_text((CONFIG_DIR / "world" / "mena_2018.yaml").read_text())
    assert OmegaConf.load(world) == OmegaConf.create(yaml.load(world.read_text(), Loader=python_loader()))
