"""The schema owns its ranges (ParamSpec metadata) and one table owns the levers (sim.levers)."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
import typing
from types import MappingProxyType

import pytest
from omegaconf import OmegaConf

from sim.api import compose
from sim.cli import _blame, refuse_out_of_range
from sim.config import (
    RATE_NOTE,
    SCALE_NOTE,
    SPEC,
    AllocationParams,
    ConfigError,
    DriversConfig,
    MechanismsConfig,
    NoiseParams,
    ParamSpec,
    PolicyConfig,
    RolesConfig,
    numeric_parameters,
    param,
    parameter_spec,
    parameter_specs,
    validate,
)
from sim.design import sensitivity_problem
from sim.experiment import Cell
from sim.levers import LEVER_LABELS, LEVER_TABLE, LEVERS, OUTREACH, SANCTIONS, Lever, lever
from sim.sweep import plan
from sim.world import synthetic_world, world_from_config

SIGMA = "model.mechanisms.noise.sigma"


def _numeric_fields(cls: type) -> list[dataclasses.Field[typing.Any]]:
    """The fields of ``cls`` typed int or float (not bool)."""
    hints = typing.get_type_hints(cls)
    return [f for f in dataclasses.fields(cls) if hints[f.name] in (int, float)]


# ------------------------------------------------------------------ ranges in the schema


def test_every_numeric_mechanism_parameter_and_lever_declares_a_range_and_a_description() -> None:
    classes = [typing.get_type_hints(MechanismsConfig)[g.name] for g in dataclasses.fields(MechanismsConfig)]
    fields = [f for cls in [*classes, PolicyConfig] for f in _numeric_fields(cls)]
    assert len(fields) == len(numeric_parameters()) + len(LEVERS)
    undeclared = [f.name for f in fields if not isinstance(f.metadata.get(SPEC), ParamSpec)]
    assert not undeclared, f"numeric fields without a declared range (use sim.config.param): {undeclared}"
    for f in fields:
        spec = f.metadata[SPEC]
        assert spec.description.strip() and spec.contains(f.default), f.name


def test_declared_keys_are_the_numeric_parameters_the_levers_and_the_root_settings() -> None:
    keys = list(parameter_specs())
    n = len(numeric_parameters())
    assert keys[:n] == list(numeric_parameters())
    discovery = ("peel_alpha", "paste_alpha", "mass_min", "min_coverage", "max_quasi_p")
    assert keys[n:] == [*(f"policy.{name}" for name in LEVERS), "min_relative_effect", "experiment.span",
                        *(f"experiment.discovery.{key}" for key in discovery)]
    assert parameter_spec("model.mechanisms.allocation.inertia") is parameter_specs()[
        "model.mechanisms.allocation.inertia"]
    for undeclared in ("model.mechanisms.noise.enabled", "replications", "world.n_states", "inertia"):
        with pytest.raises(KeyError, match="declares no range"):
            parameter_spec(undeclared)


@pytest.mark.parametrize(("key", "inside", "outside", "allowed"), [
    ("model.mechanisms.allocation.inertia", [0.0, 1.0], [-0.01, 1.01], "a number in [0, 1]"),
    ("model.mechanisms.noise.persistence", [0.0, 1.0], [1.5], "a number in [0, 1]"),
    ("model.mechanisms.sanctions.outside_option_cut", [0.0, 1.0], [1.1], "a number in [0, 1]"),
    ("model.mechanisms.sanctions.budget_cut", [1.0], [-0.1], "a number in [0, 1]"),
    ("model.mechanisms.affinity.alignment_rate", [0.5], [2.0], "a number in [0, 1]"),
    ("model.mechanisms.allocation.max_share", [0.01, 1.0], [0.0, 5e-324, 0.0099, 1.01],
     "a number in [0.01, 1] (below 1% no tie could hold a calibrated commitment (the smallest in 2018 is 0.01 of "
     "a budget), and tiny shares divide the calibration by nearly 0 (NaN))"),
    ("model.mechanisms.budget.max_growth", [1.0, 100.0], [0.99, 100.01, math.inf],
     "a number in [1, 100] (partnerships cannot shrink a budget below its base nor grow it a hundredfold)"),
    ("model.mechanisms.allocation.rationality", [0.0, 100.0], [-1e-9, 1e9, math.inf, math.nan],
     f"a number in [0, 100] ({SCALE_NOTE})"),
    ("model.mechanisms.value.third_party_weight", [0, 3, 100], [-1, 1.7e308], f"a number in [0, 100] ({SCALE_NOTE})"),
    ("model.mechanisms.conditionality.hostility_threshold", [0.0, 1.0], [1.5],
     "a number in [0, 1] (affinities are >= -1: at 1 no state is hostile enough)"),
    ("model.mechanisms.affinity.balance_rate", [0.0, 1.0], [1.01], f"a number in [0, 1] ({RATE_NOTE})"),
    ("policy.us_sanctions_on_iran", [0, 1], [1.5, True, None, "0.5"], "a number in [0, 1]"),
    ("min_relative_effect", [0.0, 1.0], [1.1], "a number in [0, 1] (a share of the control mean)"),
    ("experiment.span", [1e-9, 1.0], [0.0, 1.5], "a number in (0, 1]"),
])
def test_declared_ranges_keep_the_allowed_values(key: str, inside: list[typing.Any], outside: list[typing.Any],
                                                 allowed: str) -> None:
    spec = parameter_spec(key)
    assert spec.allowed == allowed
    assert all(spec.contains(v) for v in inside), inside
    assert not any(spec.contains(v) for v in outside), outside
    with pytest.raises(ConfigError) as e:
        spec.check("some.yaml", key, outside[0])
    assert (e.value.file, e.value.key, e.value.allowed) == ("some.yaml", key, allowed)


def test_a_command_line_value_outside_its_range_is_refused_before_composing_as_validation_refuses_it(
        capsys: pytest.CaptureFixture[str]) -> None:
    """sim-run's early check (before Hydra composes) prints, for every declared key, the error the
    validation of the composed config prints for the same override: one rule, said the same way."""
    cfg = compose([])
    for key, spec in parameter_specs().items():
        line = f"{key}={spec.low - 1!r}"  # below every range (low is finite)
        bad = cfg.copy()
        OmegaConf.update(bad, key, spec.low - 1)
        with pytest.raises(ConfigError) as e:
            validate(bad)
        with pytest.raises(SystemExit) as stop:
            refuse_out_of_range([line])
        assert stop.value.code == 2
        assert capsys.readouterr().err == f"error: {_blame(e.value, [line])}\n", key
    with pytest.raises(SystemExit):  # an integer is converted as Hydra converts it: 2 -> 2.0
        refuse_out_of_range(["hydra.run.dir=out", "++policy.outreach=2"])
    assert capsys.readouterr().err == ("error: command line (++policy.outreach=2): policy.outreach = 2.0 is not "
                                       "allowed; allowed: a number in [0, 1]\n")


@pytest.mark.parametrize("argv", [
    ["policy.outreach=1", f"{SIGMA}=0.5", "replications=3"],  # in range, or declaring no range
    ["-m", "policy.outreach=2"],  # a multirun: its sweeper checks every job
    ["policy.outreach=0,2"],  # a sweep
    ["--cfg", "job", "policy.outreach=2"],  # not a run
    ["policy.outreach=${seed}"],  # an interpolation: only the composed config knows its value
    ["policy.outreach=abc"],  # text for a number: Hydra's own error names it
    ["+policy.outreach=2"],  # an addition of an existing key: Hydra's own error
    ["policy.outreach=[1"],  # not an override: Hydra's own error
])
def test_the_early_check_leaves_what_it_cannot_judge_to_hydra_and_the_full_validation(
        argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    refuse_out_of_range(argv)
    assert capsys.readouterr().err == ""


def test_param_refuses_a_default_outside_its_own_range_and_omegaconf_ignores_the_metadata() -> None:
    with pytest.raises(ValueError, match="outside its own range"):
        param(2.0, 0.0, 1.0, "a share")
    with pytest.raises(ValueError, match="finite low below high"):
        ParamSpec(1.0, 0.0, "upside down")
    unbounded = ParamSpec(0.0, math.inf, "no upper end")  # allowed by ParamSpec, though no schema field uses it
    assert unbounded.allowed == "a finite number >= 0"
    assert unbounded.contains(1e300) and not unbounded.contains(math.inf)
    structured = OmegaConf.to_container(OmegaConf.structured(MechanismsConfig))
    assert structured == dataclasses.asdict(MechanismsConfig())
    assert OmegaConf.structured(PolicyConfig).outreach == 0.0


@pytest.fixture
def narrow_sigma(monkeypatch: pytest.MonkeyPatch) -> ParamSpec:
    """Declare noise.sigma in [0.04, 0.06] (default 0.05) on the schema field itself."""
    (f,) = [f for f in dataclasses.fields(NoiseParams) if f.name == "sigma"]
    narrowed = ParamSpec(0.04, 0.06, "a narrowed sigma")
    monkeypatch.setattr(f, "metadata", MappingProxyType({SPEC: narrowed}))
    return narrowed


def _sigma_sweep() -> None:
    grid = f'++experiment.grid={{{SIGMA}:"0.05,0.07"}}'
    control = compose(["scenario=baseline", "experiment=outreach_sweep", grid])
    treatment = compose(["scenario=sunni_outreach", "experiment=outreach_sweep", grid])
    plan(Cell("baseline", control), Cell("sunni_outreach", treatment), treatment.experiment,
         treatment_only={"policy.outreach"})


def test_validation_sweep_check_and_sensitivity_bounds_read_the_declared_range(request: pytest.FixtureRequest) -> None:
    cfg = compose([f"{SIGMA}=0.07"])
    validate(cfg)  # allowed by the schema's range, a finite number >= 0
    _sigma_sweep()
    assert sensitivity_problem([SIGMA], 0.5)["bounds"] == [pytest.approx([0.0168, 0.0504])]  # 0.0336 -+ 50%

    refuse_out_of_range([f"{SIGMA}=0.07"])  # sim-run's early check reads the same range

    request.getfixturevalue("narrow_sigma")
    assert parameter_spec(SIGMA).allowed == "a number in [0.04, 0.06]"
    with pytest.raises(SystemExit):
        refuse_out_of_range([f"{SIGMA}=0.07"])
    with pytest.raises(ConfigError) as e:
        validate(cfg)
    assert (e.value.key, e.value.allowed) == (SIGMA, "a number in [0.04, 0.06]")
    with pytest.raises(ConfigError) as e:
        _sigma_sweep()
    assert (e.value.key, e.value.value, e.value.allowed) == (SIGMA, 0.07, "a number in [0.04, 0.06]")
    assert sensitivity_problem([SIGMA], 0.5)["bounds"] == [pytest.approx([0.04, 0.0504])]  # clipped below


def test_sensitivity_bounds_are_clipped_to_the_declared_range_and_never_touch_an_open_end(
        monkeypatch: pytest.MonkeyPatch) -> None:
    share, growth = "model.mechanisms.allocation.max_share", "model.mechanisms.budget.max_growth"
    bounds = sensitivity_problem([share, growth], 0.9)["bounds"]
    default = numeric_parameters()[share]  # calibrated: 0.734
    assert default * 1.9 > 1 and bounds[0] == pytest.approx([default * 0.1, 1.0])  # (1 -/+ 0.9) x, the top clipped to 1
    assert bounds[1] == pytest.approx([1.0, 3.8])  # 2 * (1 -/+ 0.9), 0.2 clipped to 1
    assert sensitivity_problem([share], 1.0)["bounds"] == [pytest.approx([0.01, 1.0])]  # 0 clipped to 0.01
    assert sensitivity_problem([growth], 1.0)["bounds"] == [pytest.approx([1.0, 4.0])]
    # a range open at its low end (no schema field declares one now): a span reaching it is refused
    (f,) = [f for f in dataclasses.fields(AllocationParams) if f.name == "max_share"]
    monkeypatch.setattr(f, "metadata", MappingProxyType({SPEC: ParamSpec(0.0, 1.0, "open at 0", low_open=True)}))
    with pytest.raises(ConfigError) as e:
        sensitivity_problem([share], 1.0)  # 0.683 x 0 = 0: outside (0, 1]
    assert e.value.key == "experiment.span" and share in e.value.allowed and "(0, 1]" in e.value.allowed


# ------------------------------------------------------------------ one table of levers


def test_the_lever_table_holds_the_2018_levers() -> None:
    assert LEVERS == ("outreach", "us_sanctions_on_iran", "western_sanctions_on_russia")
    assert LEVERS[1:] == SANCTIONS and OUTREACH is lever("outreach")
    assert LEVER_LABELS == {"policy.outreach": "outreach", "policy.us_sanctions_on_iran": "US sanctions on Iran",
                            "policy.western_sanctions_on_russia": "Western sanctions on Russia"}
    assert [lv.start for lv in LEVER_TABLE] == ["2018-11", "2018-11", "2022-02"]
    assert [lv.pair for lv in LEVER_TABLE[1:]] == [["USA", "IRN"], ["USA", "RUS"]]
    with pytest.raises(KeyError, match="us_sanctions_on_iran"):
        lever("eu_sanctions_on_iran")
    with pytest.raises(ValueError, match="exactly one target"):
        Lever("x", "sanctions", "x", "2020-01", "USA", ("IRN", "RUS"), 5, (1, 0))


def test_policy_drivers_and_roles_have_one_field_per_lever_of_the_table() -> None:
    assert [f.name for f in dataclasses.fields(PolicyConfig)] == list(LEVERS)
    assert dataclasses.asdict(DriversConfig()) == {lv.name: lv.start for lv in LEVER_TABLE}
    roles = RolesConfig()
    pairs = {f.name: getattr(roles, f.name) for f in dataclasses.fields(RolesConfig)
             if f.name not in ("entente", "outreach_actor", "outreach_targets")}
    assert pairs == {name: lever(name).pair for name in SANCTIONS}
    assert (roles.outreach_actor, roles.outreach_targets) == (OUTREACH.sender, list(OUTREACH.targets))


def test_world_roles_hold_every_sanctions_lever_of_the_table_in_its_order() -> None:
    world = world_from_config(compose([]).world)
    expected = {lv.name: (world.index(lv.sender), world.index(lv.targets[0])) for lv in LEVER_TABLE
                if lv.kind == "sanctions"}
    assert list(world.roles.sanctions.items()) == list(expected.items())
    assert world.roles.sanctions["us_sanctions_on_iran"] == (world.index("USA"), world.index("IRN"))
    synthetic = synthetic_world(8, seed=1)
    assert synthetic.roles.sanctions == {"us_sanctions_on_iran": (5, 1), "western_sanctions_on_russia": (5, 0)}
    assert (synthetic.roles.outreach_actor, synthetic.roles.outreach_targets) == (0, (2, 3, 4))


def test_a_bad_sanctions_role_is_refused_for_every_sanctions_lever() -> None:
    for name in SANCTIONS:
        cfg = compose([f"world.roles.{name}=[USA,USA]"])
        with pytest.raises(ConfigError) as e:
            validate(cfg)
        assert e.value.key == f"world.roles.{name}" and "two different state codes" in e.value.allowed


def test_the_lever_table_imports_without_hydra_mesa_or_matplotlib() -> None:
    code = ("import sys, sim.levers; heavy = {'hydra', 'omegaconf', 'mesa', 'matplotlib', 'numpy'} & "
            "{m.split('.')[0] for m in sys.modules}; assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)
