"""Structured configs (registered with Hydra's ConfigStore) and their validation.

The dataclasses are the schema: Hydra refuses a misspelt key or a wrong type while composing.
:func:`validate` then checks what a schema cannot express (ranges, NaN, unknown states, month
formats) and raises one :class:`ConfigError` naming the file, the key and what is
allowed, before anything is simulated.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import typing
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from sim.calibrated import BEFORE, default
from sim.levers import LEVERS, OUTREACH, SANCTIONS, lever

SYNTHETIC_ISSUES = 5  # issues of a generated world: issue_0 .. issue_4
CAMPS = ("shia_axis", "sunni", "western", "eurasian", "other")


class ConfigError(ValueError):
    """A config value that cannot be simulated; the message names file, key and allowed values."""

    def __init__(self, file: str, key: str, value: Any, allowed: str) -> None:
        self.file, self.key, self.value, self.allowed = file, key, value, allowed
        super().__init__(f"{file}: {key} = {value!r} is not allowed; allowed: {allowed}")


# ------------------------------------------------------------------ declared ranges

SPEC = "spec"  # the field-metadata key of a ParamSpec


def _finite(value: Any) -> bool:
    """Whether ``value`` is a finite int or float (a bool is not a number here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


PRIOR_SHAPES = ("uniform", "loguniform", "fixed")


@dataclass(frozen=True)
class Prior:
    """What is believed about a parameter before history is consulted: ``shape`` over ``[low, high]``.

    - ``uniform``: density 1 / (high - low) on [low, high];
    - ``loguniform``: density 1 / (x ln(high / low)) on [low, high], low > 0 (every factor of 2
      inside the range equally likely: for weights and rates known only to an order of magnitude);
    - ``fixed``: the point ``low == high`` (not a belief about the world but a device of the model,
      e.g. the counterfactual's scale): never calibrated.

    ``why`` gives the reasoning for the range. Raises ValueError for an unknown shape, low > high,
    a loguniform prior with low <= 0, or a fixed prior with low != high.
    """

    shape: str
    low: float
    high: float
    why: str

    def __post_init__(self) -> None:
        if self.shape not in PRIOR_SHAPES:
            raise ValueError(f"prior shape {self.shape!r} is not one of {', '.join(PRIOR_SHAPES)}")
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low > self.high:
            raise ValueError(f"a prior needs finite low <= high, not [{self.low}, {self.high}]")
        if self.shape == "fixed" and self.low != self.high:
            raise ValueError(f"a fixed prior is one point (low == high), not [{self.low}, {self.high}]")
        if self.shape != "fixed" and not self.low < self.high:
            raise ValueError(f"a {self.shape} prior needs low < high, not [{self.low}, {self.high}]")
        if self.shape == "loguniform" and self.low <= 0:
            raise ValueError(f"a loguniform prior needs low > 0, not {self.low}")

    @property
    def fixed(self) -> bool:
        return self.shape == "fixed"

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def mean(self) -> float:
        """The prior mean: (low + high) / 2, or (high - low) / ln(high / low) for a loguniform prior."""
        if self.shape == "loguniform":
            return (self.high - self.low) / math.log(self.high / self.low)
        return (self.low + self.high) / 2

    def sample(self, rng: Any, size: int) -> Any:
        """``size`` independent draws from a ``numpy.random.Generator``."""
        import numpy as np  # the schema is read without numpy (sim-run --help)

        if self.shape == "loguniform":
            return np.exp(rng.uniform(math.log(self.low), math.log(self.high), size))
        if self.shape == "fixed":
            return np.full(size, self.low)
        return rng.uniform(self.low, self.high, size)

    def from_unit(self, u: Any) -> Any:
        """The value at prior quantile ``u`` in [0, 1] (the inverse CDF): a uniform ``u`` gives a draw."""
        import numpy as np

        u = np.asarray(u, dtype=float)
        if self.shape == "loguniform":
            return np.exp(math.log(self.low) + u * math.log(self.high / self.low))
        return self.low + u * (self.high - self.low)

    def to_unit(self, value: float) -> float:
        """The prior quantile of ``value`` (the CDF, the inverse of :meth:`from_unit`): ``(x - low) /
        (high - low)``, ``ln(x / low) / ln(high / low)`` for a loguniform prior, clipped to [0, 1]
        (a value outside the prior: its nearer end); 0 for a fixed prior."""
        if self.fixed:
            return 0.0
        if self.shape == "loguniform":
            u = math.log(value / self.low) / math.log(self.high / self.low) if value > 0 else 0.0
        else:
            u = (value - self.low) / (self.high - self.low)
        return min(max(u, 0.0), 1.0)

    def describe(self) -> str:
        """E.g. ``loguniform on [0.25, 4]``."""
        return f"fixed at {self.low:g}" if self.fixed else f"{self.shape} on [{self.low:g}, {self.high:g}]"


def weight_prior(default: float, what: str = "weight") -> Prior:
    """Log-uniform over a factor 4 either side of ``default``: the rule for weights, costs, premiums
    and rates whose defaults are set to be of the right order (terms of order 1), not measured."""
    return Prior("loguniform", default / 4, default * 4,
                 f"a {what} known to its order of magnitude only: a factor 4 either side of the default spans "
                 "'the term barely matters' to 'the term dominates'; log-uniform, every factor equally likely")


@dataclass(frozen=True)
class ParamSpec:
    """The declared range and meaning of one numeric setting, kept beside its default (:func:`param`).

    Allowed values are the finite numbers from ``low`` to ``high`` (``high`` may be ``math.inf``:
    no upper bound, values still finite), each end included unless ``low_open`` / ``high_open``.
    ``description`` says in one line what the setting does; ``note`` says why the range is what it
    is and is appended to :attr:`allowed`. ``prior`` (mechanism parameters) is what is believed
    before history, inside the range: what the calibration (:mod:`sim.calibrate`) samples from.
    """

    low: float
    high: float
    description: str
    low_open: bool = False
    high_open: bool = False
    note: str = ""
    prior: Prior | None = None

    def __post_init__(self) -> None:
        if math.isnan(self.low) or math.isnan(self.high) or not self.low < self.high or math.isinf(self.low):
            raise ValueError(f"a range needs a finite low below high, not [{self.low}, {self.high}]")

    @property
    def allowed(self) -> str:
        """The range in words, as error messages state it (e.g. ``a number in (0, 1]``)."""
        if math.isinf(self.high):
            words = f"a finite number {'>' if self.low_open else '>='} {self.low:g}"
        else:
            words = (f"a number in {'(' if self.low_open else '['}{self.low:g}, "
                     f"{self.high:g}{')' if self.high_open else ']'}")
        return f"{words} ({self.note})" if self.note else words

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a finite number (not a bool) inside the range."""
        if not _finite(value):
            return False
        above = self.low < value if self.low_open else self.low <= value
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def check(self, file: str, key: str, value: Any) -> None:
        """Raise a ConfigError naming ``file``, ``key`` and :attr:`allowed` unless the range contains ``value``."""
        if not self.contains(value):
            raise ConfigError(file, key, value, self.allowed)


def param(default: float, low: float, high: float, description: str, *, low_open: bool = False,
          high_open: bool = False, note: str = "", prior: Prior | None = None) -> Any:
    """A dataclass field with ``default`` and its :class:`ParamSpec` as metadata (OmegaConf ignores it).

    Raises ValueError if the range does not contain the default, or the prior (if any) does not
    contain the default or lies outside the range.
    """
    spec = ParamSpec(low, high, description, low_open, high_open, note, prior)
    if not spec.contains(default):
        raise ValueError(f"default {default!r} outside its own range {spec.allowed}")
    if prior is not None and not (prior.contains(default) and spec.contains(prior.low) and spec.contains(prior.high)):
        raise ValueError(f"prior {prior.describe()} must contain the default {default!r} and lie in {spec.allowed}")
    return field(default=default, metadata={SPEC: spec})


# Bounds of the parameters that have no natural upper end. Relationship values are sums of terms of
# order 1 (each input lies in [-1, 1] or is a share), so a weight, cost or premium of 100 makes its
# term outweigh the others a hundredfold and a logistic slope or formation rate of 100 logits is a
# step function: larger values change nothing but the chance of overflow (1.7e308 gives inf - inf
# = NaN in the first month). Monthly rates are bounded by 1 (a whole affinity range in a month).
SCALE_MAX = 100.0
SCALE_NOTE = "terms are of order 1: larger values only saturate the model, and near 1.7e308 overflow to NaN"
RATE_MAX = 1.0
RATE_NOTE = "a monthly rate: 1 moves an affinity across its whole range in a month"
MIN_SHARE = 0.01  # the smallest allowed allocation.max_share


def scale_param(default: float, description: str, *, note: str = "", prior: Prior | None = None) -> Any:
    """A weight, cost, premium, slope or scale: a number in ``[0, SCALE_MAX]`` (see :data:`SCALE_MAX`);
    its prior is :func:`weight_prior` unless given."""
    return param(default, 0.0, SCALE_MAX, description, note=f"{note}; {SCALE_NOTE}" if note else SCALE_NOTE,
                 prior=prior or weight_prior(default))


def lever_param(name: str) -> Any:
    """The ``PolicyConfig`` field of lever ``name``: default 0 (off), an intensity in [0, 1]."""
    return param(0.0, 0.0, 1.0, f"intensity of {lever(name).label}: 0 off, 1 full strength")


# --------------------------------------------------------------------------- world


@dataclass
class StateConfig:
    """One actor. Positions and salience are lists in the order of ``WorldConfig.issues``."""

    name: str = MISSING
    camp: str = MISSING
    capability: float = MISSING  # share of world capability (CINC-like), > 0
    capability_trend: float = 0.0  # annual log-growth of capability before the start year, read under capability_trends
    industry: float = 0.0  # industrial capacity to produce materiel (any unit, only ratios are read), >= 0
    budget: float = 1.0  # strategic commitment capacity, > 0
    outside_option: float = 0.0  # value of ties outside the modelled world, >= 0
    positions: list[float] = field(default_factory=list)  # each in [-1, 1]
    salience: list[float] = field(default_factory=list)  # each >= 0, normalised on load
    non_state: bool = False
    source: str = MISSING


@dataclass
class TieConfig:
    """Directed commitment: share of ``origin``'s budget invested in ``target``."""

    origin: str = MISSING
    target: str = MISSING
    commitment: float = MISSING  # in [0, 1], share of the origin's budget
    source: str = MISSING


@dataclass
class PairConfig:
    """A symmetric pair attribute (affinity in [-1, 1]; complementarity or returns >= 0)."""

    states: list[str] = field(default_factory=list)  # exactly two codes
    value: float = MISSING
    source: str = MISSING


@dataclass
class GroupConfig:
    """A named group of states (OPEC+, the GCC, BRICS) that scenario events may name instead of listing members."""

    name: str = MISSING
    members: list[str] = field(default_factory=list)
    source: str = MISSING


@dataclass
class RolesConfig:
    """Who plays which part in the question; codes of the world's states."""

    entente: list[str] = field(default_factory=lambda: ["RUS", "IRN"])
    outreach_actor: str = OUTREACH.sender
    outreach_targets: list[str] = field(default_factory=lambda: list(OUTREACH.targets))
    # one [sender, target] per sanctions lever of sim.levers.LEVER_TABLE, named after it
    us_sanctions_on_iran: list[str] = field(default_factory=lambda: lever("us_sanctions_on_iran").pair)
    western_sanctions_on_russia: list[str] = field(default_factory=lambda: lever("western_sanctions_on_russia").pair)


@dataclass
class WorldConfig:
    name: str = MISSING
    description: str = ""
    issues: list[str] = field(default_factory=list)
    states: dict[str, StateConfig] = field(default_factory=dict)
    commitments: list[TieConfig] = field(default_factory=list)
    affinities: list[PairConfig] = field(default_factory=list)
    complementarity: list[PairConfig] = field(default_factory=list)
    returns: list[PairConfig] = field(default_factory=list)
    roles: RolesConfig = field(default_factory=RolesConfig)
    groups: list[GroupConfig] = field(default_factory=list)
    # synthetic generator (used when ``generator == "synthetic"``)
    generator: str = "table"  # "table" (states listed above) or "synthetic"
    n_states: int = 0
    seed: int = 0


# ------------------------------------------------------------------------- model


@dataclass
class ValueParams:
    """Relationship value V = w_c C + w_a align + w_r recip - w_t third_party - pressure.

    ``pressure`` is weighted by ``ConditionalityParams.weight``. With ``enabled=false`` values stay
    at their calibrated level (plus drivers and noise).
    """

    enabled: bool = True
    complementarity_weight: float = scale_param(default("value.complementarity_weight"),
                                                "w_c: weight of capability complementarity C",
                                                prior=weight_prior(BEFORE["value.complementarity_weight"]))
    alignment_weight: float = scale_param(default("value.alignment_weight"),
                                          "w_a: weight of salience-weighted interest alignment",
                                          prior=weight_prior(BEFORE["value.alignment_weight"]))
    reciprocity_weight: float = scale_param(default("value.reciprocity_weight"),
                                            "w_r: weight of the partner's commitment share back",
                                            prior=weight_prior(BEFORE["value.reciprocity_weight"]))
    third_party_weight: float = scale_param(default("value.third_party_weight"), "w_t: weight of third-party "
                                            "costs, from partners hostile to the partner",
                                            prior=weight_prior(BEFORE["value.third_party_weight"]))


@dataclass
class AllocationParams:
    """Desired commitment b_i * max_share * sigmoid(rationality * V + fixed effect), with inertia.

    With ``enabled=false`` commitments stay as calibrated (cut only if a budget shrinks below them).
    """

    enabled: bool = True
    rationality: float = scale_param(default("allocation.rationality"),
                                     "beta: logistic slope of desired commitment in value",
                                     prior=weight_prior(BEFORE["allocation.rationality"], "logistic slope"))
    max_share: float = param(default("allocation.max_share"), MIN_SHARE, 1.0,
                             "largest share of its budget one partner can take",
                             note="below 1% no tie could hold a calibrated commitment (the smallest in 2018 is 0.01 "
                             "of a budget), and tiny shares divide the calibration by nearly 0 (NaN)",
                             prior=Prior("uniform", 0.5, 1.0, "above the largest 2018 commitment share of a budget "
                                         "(0.45, which the calibration must be able to hold) up to the whole budget"))
    inertia: float = param(default("allocation.inertia"), 0.0, 1.0, "share of last month's commitment kept each month",
                           prior=Prior("uniform", 0.6, 0.98, "half-lives of commitments from about 1.4 months "
                                       "(0.6) to about 3 years (0.98): from fickle to glacial"))


@dataclass
class BudgetParams:
    """Positive-sum budgets: b_i = f_i b0_i clip(1 + gain * sum_j G_ij (T_ij - T0_ij), 0.05, max_growth).

    f_i is the product of exogenous factors (sanctions, events); ``enabled=false`` sets gain = 0.
    """

    enabled: bool = True
    gain: float = scale_param(default("budget.gain"), "budget growth per unit of returns-weighted tie change "
                              "since calibration", prior=weight_prior(BEFORE["budget.gain"]))
    max_growth: float = param(2.0, 1.0, SCALE_MAX, "cap on budget growth by partnerships, a multiple of the base",
                              note="partnerships cannot shrink a budget below its base nor grow it a hundredfold",
                              prior=Prior("uniform", 1.25, 4.0, "partnerships may add a quarter of a state's base "
                                          "capacity up to quadrupling it within seven years"))


@dataclass
class ConditionalityParams:
    """Hostile third parties condition cooperation; resolved by power-dependence."""

    enabled: bool = True
    weight: float = scale_param(default("conditionality.weight"),
                                "weight of the conditionality pressure in relationship value",
                                prior=weight_prior(BEFORE["conditionality.weight"]))
    hostility_threshold: float = param(0.2, 0.0, 1.0,
                                       "hostility (-affinity) above which a state demands against a partner",
                                       note="affinities are >= -1: at 1 no state is hostile enough",
                                       prior=Prior("uniform", 0.05, 0.5, "from 'any coolness' to 'open "
                                                   "rivalry' (affinity -0.5) before a state makes demands"))


@dataclass
class DemandsParams:
    """The demand game: each outreach target hostile to the entente partner demands that the
    outreach actor limit its cooperation with it; the actor refuses, concedes in words or concedes
    in deeds, whichever costs it least (sim/mechanisms/demands.py). With ``enabled=false`` those
    demands are conditionality terms like any other state's (always met in part, materially).

    ``scale`` multiplies the targets' demands on the entente in the game and in conditionality
    alike: 0 removes them, which is the counterfactual the realized leverage (H2) is measured
    against.
    """

    enabled: bool = True
    scale: float = param(1.0, 0.0, 1.0, "scale of the outreach targets' demands on the entente dyad "
                         "(0: without them, the H2 counterfactual)",
                         prior=Prior("fixed", 1.0, 1.0, "a device of the counterfactual (0 removes the "
                                     "demands), not a belief about the world: never calibrated"))
    verbal_cost: float = param(0.1, 0.0, 1.0, "v: cost to the actor of a verbal concession, relative to a "
                               "material one of the same demand",
                               note="approximate: a statement costs standing with the partner, not commitment",
                               prior=Prior("uniform", 0.02, 0.5, "a statement costs less than the deed it "
                                           "stands for: from a fiftieth to half of it"))
    weight: float = param(0.5, 0.0, 10.0, "w: value a material concession or a carried-out threat moves per "
                          "unit of demand and tie", note="the conditionality weight's default: the same units",
                          prior=weight_prior(0.5))


@dataclass
class AffinityParams:
    """dS = dt * (alignment_rate (anchor - S) + balance_rate S S / (N - 1) + cooperation_rate (T - T0)).

    With ``enabled=false`` affinities equal their anchors (calibration plus events).
    """

    enabled: bool = True
    alignment_rate: float = param(default("affinity.alignment_rate"), 0.0, 1.0,
                                  "monthly rate of affinity drift toward its anchor",
                                  prior=weight_prior(BEFORE["affinity.alignment_rate"], "monthly rate"))
    balance_rate: float = param(default("affinity.balance_rate"), 0.0, RATE_MAX,
                                "monthly rate of drift toward structural balance",
                                note=RATE_NOTE, prior=weight_prior(BEFORE["affinity.balance_rate"], "monthly rate"))
    cooperation_rate: float = param(0.02, 0.0, RATE_MAX, "monthly affinity gain per unit of tie above calibration",
                                    note=RATE_NOTE, prior=weight_prior(0.02, "monthly rate"))


@dataclass
class ScarcityParams:
    """Partners kept gain value as outside options shrink: V += weight * lost_i * max(0, V)."""

    enabled: bool = True
    weight: float = scale_param(default("scarcity.weight"), "value premium on kept partners per share of outside "
                                "options lost", prior=weight_prior(BEFORE["scarcity.weight"]))


@dataclass
class NoiseParams:
    """AR(1) value shocks xi_t = phi xi_{t-1} + sqrt(1 - phi^2) eps_t, scaled by sigma."""

    enabled: bool = True
    sigma: float = scale_param(default("noise.sigma"), "sigma: scale of the value shocks",
                               prior=weight_prior(BEFORE["noise.sigma"], "shock scale"))
    persistence: float = param(0.8, 0.0, 1.0, "phi: month-to-month persistence of the value shocks",
                               prior=Prior("uniform", 0.5, 0.95, "shocks that fade within a couple of months (0.5) "
                                           "to ones that last about a year and a half (0.95)"))


@dataclass
class OutreachParams:
    """Value premium Russia's outreach adds to its targets: V[actor, target] += premium * outreach."""

    enabled: bool = True
    premium: float = scale_param(default("outreach.premium"),
                                 "value the outreach actor adds to each target at full outreach",
                                 prior=weight_prior(BEFORE["outreach.premium"]))


@dataclass
class SanctionsParams:
    """Effect of a sanctions lever s on its target and on the sender's partners."""

    enabled: bool = True
    # target's outside option times (1 - s * cut)
    outside_option_cut: float = param(default("sanctions.outside_option_cut"), 0.0, 1.0,
                                      "share of the target's outside options full sanctions cut",
                                      prior=Prior("uniform", 0.3, 0.9, "full sanctions cut a sizeable share of "
                                                  "outside trade but never all of it (evasion, non-participants)"))
    # target's budget times (1 - s * cut)
    budget_cut: float = param(default("sanctions.budget_cut"), 0.0, 1.0, "share of the target's budget full "
                              "sanctions cut",
                              prior=Prior("uniform", 0.05, 0.4, "recorded GDP falls under full sanctions: a few "
                                          "percent (Russia 2022) to about a third (Iran 2012-2013 in dollars)"))
    # V[k, target] -= s * cost * (T[k, sender] + 1[k = sender])
    secondary_cost: float = scale_param(0.6, "secondary-sanctions cost of closeness to the target")


@dataclass
class ParticipationParams:
    """Who joins a sanctions regime. Participants cut their ties to the target and pay the whole
    secondary cost; a non-participant pays ``exposure`` of it per unit of its ties to participants.

    P[k, t] = s cost (pi_k + (1 - pi_k) e min(1, sum_m T[k, m] pi_m)). With ``enabled=false`` the
    lever's sender is the only participant and e = 1 (everyone tied to the sender pays in full).
    """

    enabled: bool = True
    exposure: float = param(0.25, 0.0, 1.0, "share of the secondary cost a non-participant pays per unit of ties "
                            "to the participants", note="1: as much as under the sender-only rule",
                            prior=Prior("uniform", 0.05, 0.75, "a non-participant pays some but less than a "
                                        "participant of the secondary cost"))


@dataclass
class DiversionParams:
    """Trade diversion: a state that lost outside options and the states that keep dealing with it
    (non-participants in the sanctions on it) gain value to each other, in both directions:

    V += D + D^T,  D[i, j] = weight * lost_i * hub[i, j]
    """

    enabled: bool = True
    weight: float = scale_param(default("diversion.weight"), "value a hub and a sanctioned state gain to each "
                                "other per share of the state's outside options lost",
                                prior=weight_prior(BEFORE["diversion.weight"]))


@dataclass
class WarParams:
    """Wartime supply: a state at war (``war`` events) and the partners able and willing to supply it
    gain value to each other, in both directions (sim/mechanisms/war.py):

    V += W + W^T,  W[i, j] = weight * war_i * x_j / (x_i + x_j) * hub[i, j] * max(0, S[i, j])

    x is the world's ``industry``, hub the non-participation in sanctions on i. Zero without a war.
    """

    enabled: bool = True
    weight: float = param(default("war.weight"), 0.0, 1.0, "omega: value a belligerent at full war and a friendly "
                          "(S = 1), non-sanctioning partner holding all the pair's industry gain to each other",
                          note="fitted (sim.calibrated); its prior is centred on 0.25, the scale of diversion.weight "
                          "and outreach.premium before calibration, and the range runs from absent to 4 times that",
                          prior=weight_prior(BEFORE["war.weight"]))


@dataclass
class FormationParams:
    """Ties form and break with the affinity anchor: the allocation's fixed effect moves by
    ``rate`` logits per unit change of the anchor (events, interests) since calibration,

    B'[i, j] = B[i, j] + rate (S*[i, j] - S*_0[i, j])
    """

    enabled: bool = True
    rate: float = scale_param(default("formation.rate"), "logits of desired commitment per unit of affinity "
                              "anchor gained since calibration", note="prior centred on the 2018 gap between a "
                              "ruptured pair and the median tied pair, per unit of affinity (approximate)",
                              prior=weight_prior(BEFORE["formation.rate"], "formation rate"))


RIVAL_PRIOR = ("a rival of dilution, off by default: from absent (0) to 4 times the weight that puts it on equal "
               "footing with the third-party cost at the calibrated defaults (docs/MODEL.md 7.2b); uniform, since 0 "
               "is a live possibility")


@dataclass
class AbandonmentParams:
    """Fear of abandonment (Snyder 1984), a rival of dilution, off by default:
    V[i, j] += kappa D0[i, j] max(0, 1 - D[j, i] / D0[j, i]),  D Emerson dependence, D0 calibrated."""

    enabled: bool = False
    weight: float = param(0.88, 0.0, 3.52, "kappa: value i adds to j per unit of its calibrated dependence on j, "
                          "as j loses all its dependence on i", note="0.88: on equal footing with the third-party "
                          "cost, docs/MODEL.md 7.2b; the prior runs to 4 times that",
                          prior=Prior("uniform", 0.0, 3.52, RIVAL_PRIOR))


@dataclass
class BrokerageParams:
    """Brokerage (pivot) premium, a rival of dilution, off by default:
    V[i, j] += lambda sum_m T[i, m] max(0, -S[m, j]) D[j, i]."""

    enabled: bool = False
    weight: float = param(13.0, 0.0, 52.0, "lambda: premium i draws from j per unit of ties to j's enemies "
                          "and of j's dependence on i", note="13: on equal footing with the third-party cost, "
                          "docs/MODEL.md 7.2b; the prior runs to 4 times that",
                          prior=Prior("uniform", 0.0, 52.0, RIVAL_PRIOR))


@dataclass
class SharedThreatParams:
    """Balance of threat (Walt 1987), a rival of dilution, off by default:
    V[i, j] += mu sum_m max(0, -S[i, m]) max(0, -S[j, m]) capability_m."""

    enabled: bool = False
    weight: float = param(4.3, 0.0, 17.2, "mu: value of a tie per unit of capability-weighted common hostility",
                          note="4.3: on equal footing with the third-party cost, docs/MODEL.md 7.2b; the prior "
                          "runs to 4 times that", prior=Prior("uniform", 0.0, 17.2, RIVAL_PRIOR))


@dataclass
class MechanismsConfig:
    value: ValueParams = field(default_factory=ValueParams)
    allocation: AllocationParams = field(default_factory=AllocationParams)
    budget: BudgetParams = field(default_factory=BudgetParams)
    conditionality: ConditionalityParams = field(default_factory=ConditionalityParams)
    demands: DemandsParams = field(default_factory=DemandsParams)
    affinity: AffinityParams = field(default_factory=AffinityParams)
    scarcity: ScarcityParams = field(default_factory=ScarcityParams)
    noise: NoiseParams = field(default_factory=NoiseParams)
    outreach: OutreachParams = field(default_factory=OutreachParams)
    sanctions: SanctionsParams = field(default_factory=SanctionsParams)
    participation: ParticipationParams = field(default_factory=ParticipationParams)
    diversion: DiversionParams = field(default_factory=DiversionParams)
    war: WarParams = field(default_factory=WarParams)
    formation: FormationParams = field(default_factory=FormationParams)
    abandonment: AbandonmentParams = field(default_factory=AbandonmentParams)
    brokerage: BrokerageParams = field(default_factory=BrokerageParams)
    shared_threat: SharedThreatParams = field(default_factory=SharedThreatParams)


@dataclass
class ModelConfig:
    mechanisms: MechanismsConfig = field(default_factory=MechanismsConfig)


# ------------------------------------------------------------------------ scenario


@dataclass
class PolicyConfig:
    """Policy levers, each an intensity in [0, 1]: one field per lever of ``sim.levers.LEVER_TABLE``."""

    outreach: float = lever_param("outreach")
    us_sanctions_on_iran: float = lever_param("us_sanctions_on_iran")
    western_sanctions_on_russia: float = lever_param("western_sanctions_on_russia")


@dataclass
class DriversConfig:
    """First month each policy lever applies (months before the horizon: in force from the start).

    One field per lever of ``sim.levers.LEVER_TABLE``, defaulting to its ``start``.
    """

    outreach: str = lever("outreach").start
    us_sanctions_on_iran: str = lever("us_sanctions_on_iran").start
    western_sanctions_on_russia: str = lever("western_sanctions_on_russia").start


@dataclass
class EventConfig:
    """A dated change. Pair fields need two ``states``; state fields need one.

    affinity sets the pair's affinity anchor; complementarity and returns add to the pair;
    budget and outside_option multiply the state's value; positions set issue positions; war
    sets the state's war level (0 at peace, 1 at full war; read by the wartime supply mechanism);
    salience sets the state's weight on an issue (a share in [0, 1); its other issues' weights
    are rescaled so that they still sum to 1); ``joins`` names a sanctions lever whose regime
    the ``states`` join. With ``scale_with`` naming a lever of intensity s, every change is scaled
    by s: additions by s, factors f become 1 + s (f - 1), and set levels move s of the way to the
    new level. A state entry may name a group of ``world.groups``: a pair [A, G] is A with each
    member of G, [G] alone with pair fields every pair within G, and with state fields each member.
    ``ref`` is the event's number in ``data/history/events_2018_2025.md``, if it has one.
    """

    date: str = MISSING
    name: str = MISSING
    source: str = MISSING
    states: list[str] = field(default_factory=list)
    affinity: float | None = None
    complementarity: float | None = None
    returns: float | None = None
    budget: float | None = None
    outside_option: float | None = None
    war: float | None = None
    positions: dict[str, float] = field(default_factory=dict)
    salience: dict[str, float] = field(default_factory=dict)
    joins: str | None = None
    scale_with: str | None = None
    ref: int | None = None


@dataclass
class ScenarioConfig:
    """A scenario: levers' start months, sanctions participants and dated events.

    ``include`` names other scenarios (files of ``configs/scenario/``) whose events come first,
    in order, each file once (:func:`sim.scenarios.expand`); their drivers and policies are not
    taken: a scenario sets its own. ``participants`` maps a sanctions lever to the states that
    join its regime from its start (default: the lever's sender alone). ``capability_trends`` is the
    first month from which every state's budget follows its capability trend (the world's
    ``capability_trend``, :func:`sim.mechanisms.budget.trend_factor`); null (default): budgets do not trend.
    """

    name: str = MISSING
    description: str = ""
    include: list[str] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)  # the scenarios include brought in (set by expand)
    drivers: DriversConfig = field(default_factory=DriversConfig)
    capability_trends: str | None = None  # first month budgets follow the states' capability trends; null: never
    participants: dict[str, list[str]] = field(default_factory=dict)
    events: list[EventConfig] = field(default_factory=list)


# -------------------------------------------------------------------------- root


@dataclass
class HorizonConfig:
    start: str = "2018-11"
    end: str = "2025-12"


@dataclass
class StructureSetting:
    """One structure of ``experiment.calibration.structures`` (model choice, :mod:`sim.calibrate`): a name
    and the overrides of the run's mechanisms that make it, each ``model.mechanisms.<group>.<key>=<value>``
    (a switch, or a number held at that value)."""

    name: str = MISSING
    overrides: list[str] = field(default_factory=list)


@dataclass
class CalibrationConfig:
    """Settings of ``experiment.design=calibrate`` (ABC-SMC to history, :mod:`sim.calibrate`)."""

    history: str = "history"  # the scenario replayed against the rated patterns
    fit_end: str = "2024-11"  # last month fitted; the months after it up to horizon.end are forecast
    patterns: str = ""  # a patterns CSV; "" = data/history/patterns_2018_2024.csv
    particles: int = 200  # ABC-SMC population size
    generations: int = 6  # at most this many generations
    replications: int = 6  # replications per simulated history (the rule's interval needs >= 2)
    min_epsilon: float = 0.0  # stop when the distance threshold reaches this
    draws: int = 100  # posterior draws replayed for the predictive score, the forecast and the verdicts
    verdict_replications: int = 10  # paired replications of the headline pair per draw (>= 5 for a verdict)
    dask: str = ""  # a Dask scheduler's address; "" = experiment.workers local processes
    kernel: str = "multivariate_normal"  # pyabc's perturbation kernel: multivariate_normal or local (LocalTransition)
    # what ABC-SMC samples for each parameter: the logit or the probit of its prior quantile (sim.calibrate.values_of;
    # the probit's Gaussian tail tames the importance weights of far proposals, which let the logit's collapse)
    space: str = "logit"
    distance: str = "smooth"  # the ABC distance: smooth (sim.patterns.smooth_disagreement) or signs (the rule's)
    screen: int = 20  # Morris trajectories of the screen (sim.screen); 0: fit every listed parameter
    keep: int = 8  # the screen keeps this many parameters (largest mu*); the rest stay at their defaults
    # fitted whatever the screen ranks them (each one of experiment.parameters), on top of the `keep`
    always: list[str] = field(default_factory=list)
    # model choice (StructureSetting): the rival structures whose posterior probabilities the
    # calibration gives; [] = one structure, the run's own mechanisms
    structures: list[StructureSetting] = field(default_factory=list)
    # world draws (sim.priors.draw_configs): 0 = the world and the events as written; N > 0 = a pool
    # of N draws of the world's numbers and the events' magnitudes from their priors, each stack of
    # the calibration (a chunk of candidates, the predictive replay, the verdicts) in one of them
    worlds: int = 0


@dataclass
class PriorSetting:
    """One entry of ``experiment.priors``: a prior of your own for a mechanism parameter, replacing the
    schema's in the calibration and in a prior design (:func:`sim.priors.mechanism_priors`)."""

    parameter: str = MISSING  # model.mechanisms.<group>.<key>
    shape: str = "uniform"  # uniform, loguniform or fixed
    low: float = MISSING
    high: float = MISSING
    why: str = "set in the experiment config"


@dataclass
class DiscoveryConfig:
    """Settings of scenario discovery over a ``prior`` design (:mod:`sim.discovery`, EMA Workbench's PRIM)."""

    hypothesis: str = "h1"  # whose verdicts PRIM explains: h1 or h2
    peel_alpha: float = param(0.05, 0.0, 0.5, "share of the box's points PRIM peels off in one step",
                              low_open=True)
    paste_alpha: float = param(0.05, 0.0, 0.5, "share of points PRIM pastes back in one step", low_open=True)
    mass_min: float = param(0.05, 0.0, 1.0, "PRIM stops peeling when a box holds less than this share of the points",
                            low_open=True, high_open=True)
    min_coverage: float = param(0.5, 0.0, 1.0, "the box reported is the densest on the peeling trajectory that "
                                "keeps at least this share of the cases of interest")
    max_quasi_p: float = param(0.05, 0.0, 1.0, "... and whose every restriction has a quasi-p value below this",
                               low_open=True)


@dataclass
class ExperimentConfig:
    """What ``sim-run`` runs: a preset of ``configs/experiment/``.

    ``design`` is ``pair`` (the control ``scenario`` against ``compare``, once), ``grid`` (that
    pair at every point of ``grid``), ``sobol`` or ``morris`` (that pair at every point of a
    SALib sample of model parameters), ``prior`` (that pair at ``samples`` parameter sets drawn
    from the priors, then scenario discovery: ``discovery``) or ``calibrate``. Grid values use
    Hydra's sweep syntax (``"0,0.5,1"``), so the same preset drives ``sim-run -m`` through
    ``hydra.sweeper.params``.
    """

    name: str = "hypothesis"
    design: str = "pair"
    grid: dict[str, str] = field(default_factory=dict)  # override key -> comma-separated values
    # sensitivity: keys under model.mechanisms; [] = those of every mechanism switched on
    parameters: list[str] = field(default_factory=list)
    span: float = param(0.5, 0.0, 1.0, "sensitivity bounds: default * (1 -/+ span), clipped to the allowed range",
                        low_open=True)
    samples: int = 64  # Sobol base sample N (N (D + 2) points) or Morris trajectories
    levels: int = 4  # Morris grid levels
    workers: int = 2  # processes of the in-process evaluator (-1: every core)
    record: str = "horizon"  # rows kept per replication: "horizon" (last month) or "series" (every month)
    dyads: bool = False  # also keep each cell's pair table (dyads.parquet): every pair, month and replication
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    discovery: DiscoveryConfig = field(default_factory=DiscoveryConfig)
    priors: list[PriorSetting] = field(default_factory=list)  # priors of your own (PriorSetting), by parameter


@dataclass
class Config:
    world: WorldConfig = MISSING
    model: ModelConfig = field(default_factory=ModelConfig)
    scenario: ScenarioConfig = MISSING
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    horizon: HorizonConfig = field(default_factory=HorizonConfig)
    compare: str | None = None
    replications: int = 20
    seed: int = 2018
    min_relative_effect: float = param(0.05, 0.0, 1.0, "practical-significance threshold of a verdict",
                                       note="a share of the control mean")
    experiment: ExperimentConfig = field(default_factory=ExperimentConfig)


def register_configs() -> None:
    """Register the schemas; YAML files extend them through their defaults lists."""
    cs = ConfigStore.instance()
    cs.store(name="base_config", node=Config)
    cs.store(group="world", name="base_world", node=WorldConfig)
    cs.store(group="model", name="base_model", node=ModelConfig)


# ---------------------------------------------------------------------- validation


def parse_month(text: str, file: str, key: str) -> tuple[int, int]:
    """Parse ``YYYY-MM`` into (year, month) or raise a ConfigError for ``key``."""
    parts = str(text).split("-")
    if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit() and len(parts[1]) == 2:
        year, month = int(parts[0]), int(parts[1])
        if len(parts[0]) == 4 and 1 <= month <= 12:
            return year, month
    raise ConfigError(file, key, text, "a month written YYYY-MM, e.g. 2018-11")


def month_index(ym: tuple[int, int]) -> int:
    return ym[0] * 12 + ym[1] - 1


def month_name(index: int) -> str:
    """``YYYY-MM`` of a :func:`month_index`."""
    return f"{index // 12}-{index % 12 + 1:02d}"


def shift_month(month: str, months: int) -> str:
    """The month ``months`` after ``month`` (``YYYY-MM``; negative: before)."""
    return month_name(month_index(parse_month(month, "month", "month")) + months)


def _number(file: str, key: str, value: Any, lo: float, hi: float, allowed: str) -> None:
    """A ConfigError unless ``value`` is a finite number in [lo, hi] (for values without a ParamSpec)."""
    if not _finite(value) or not lo <= value <= hi:
        raise ConfigError(file, key, value, allowed)


@functools.cache
def _declared_fields() -> dict[str, dataclasses.Field[Any]]:
    """Every schema field that declares a ParamSpec, by its dotted key from the root :class:`Config`.

    Walks the dataclasses nested as fields (not those inside lists or dicts). Cached: the schema's
    classes do not change; the metadata is read from the fields at each look-up.
    """
    found: dict[str, dataclasses.Field[Any]] = {}

    def walk(cls: type, prefix: str) -> None:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if SPEC in f.metadata:
                found[prefix + f.name] = f
            elif isinstance(hints[f.name], type) and dataclasses.is_dataclass(hints[f.name]):
                walk(hints[f.name], f"{prefix}{f.name}.")

    walk(Config, "")
    return found


def parameter_specs() -> dict[str, ParamSpec]:
    """The declared :class:`ParamSpec` of every numeric setting, by full dotted key, in schema order."""
    return {key: f.metadata[SPEC] for key, f in _declared_fields().items()}


def parameter_spec(key: str) -> ParamSpec:
    """The declared range and description of the setting at the full dotted ``key``.

    E.g. ``parameter_spec("model.mechanisms.allocation.inertia")``. Raises KeyError for a key
    that declares none (a switch, a string, a world value, an unknown key).
    """
    f = _declared_fields().get(key)
    if f is None:
        raise KeyError(f"{key} declares no range (numeric schema fields declare one with sim.config.param)")
    return f.metadata[SPEC]


def check_value(file: str, key: str, value: Any) -> None:
    """A ConfigError naming ``file``, ``key`` and the allowed values unless ``value`` is in ``key``'s declared range.

    Raises KeyError if ``key`` declares no range (see :func:`parameter_spec`).
    """
    parameter_spec(key).check(file, key, value)


class _NoValue:
    """The value of a mandatory key a file left out (or set to ``???``), as error messages show it."""

    def __repr__(self) -> str:
        return "(no value)"


NO_VALUE = _NoValue()


def file_of(key: str, files: Mapping[str, str]) -> str:
    """The file :func:`validate`'s ``files`` names for a dotted ``key``: its top-level group's, else ``config``."""
    group = key.split(".", 1)[0].split("[", 1)[0]
    defaults = {"world": "world config", "scenario": "scenario config", "model": "model config"}
    return files.get(group, defaults.get(group, files.get("config", "config")))


@contextmanager
def mandatory_values(files: Mapping[str, str]) -> Iterator[None]:
    """Turn OmegaConf's MissingMandatoryValue (a key the schema requires, left out by a file) into a
    ConfigError naming the file and the key."""
    try:
        yield
    except MissingMandatoryValue as e:
        key = str(e.full_key)
        raise ConfigError(file_of(key, files), key, NO_VALUE,
                          "a value: the key is mandatory; set it in the file") from None


def validate(cfg: DictConfig | Config, files: dict[str, str] | None = None) -> None:
    """Check everything the schema cannot; raise one ConfigError at the first problem.

    ``files`` maps top-level groups (world, scenario, model) to the file that set them, so that
    the message can name it; unknown groups fall back to ``config``. A mandatory key without a
    value (a state's ``capability``, an event's ``date``) is a ConfigError too.
    """
    files = files or {}
    with mandatory_values(files):
        _validate(cfg, files)


def _validate(cfg: DictConfig | Config, files: dict[str, str]) -> None:
    fw, fs, fm, fc = (file_of(group, files) for group in ("world", "scenario", "model", "config"))
    c: Any = cfg

    check_schema(cfg, files)
    if not isinstance(c.replications, int) or c.replications < 1:
        raise ConfigError(fc, "replications", c.replications, "an integer >= 1")
    if not isinstance(c.seed, int) or c.seed < 0:
        raise ConfigError(fc, "seed", c.seed, "an integer >= 0")
    check_value(fc, "min_relative_effect", c.min_relative_effect)
    for name in LEVERS:
        check_value(fc, f"policy.{name}", c.policy[name])
    start = parse_month(c.horizon.start, fc, "horizon.start")
    end = parse_month(c.horizon.end, fc, "horizon.end")
    if month_index(end) <= month_index(start):
        raise ConfigError(fc, "horizon.end", c.horizon.end,
                          f"a month after horizon.start ({c.horizon.start}): the verdicts compare the scenarios at "
                          "the horizon, and a run of one month has one date (the levers' first response) and no "
                          "change to measure")

    _validate_model(c.model, fm)
    _validate_experiment(c.experiment, files.get("experiment", fc))
    codes = _validate_world(c.world, fw)
    if c.world.generator == "table":
        _validate_roles(c.world.roles, fw, codes)
    groups = _validate_groups(c.world, fw, codes)
    issues = list(c.world.issues) if c.world.generator == "table" else [f"issue_{k}" for k in range(SYNTHETIC_ISSUES)]
    _validate_scenario(c.scenario, fs, codes, issues, groups)


def numeric_parameters(mechanisms: MechanismsConfig | None = None) -> dict[str, float]:
    """Every model parameter that is a number (not a switch), as ``model.mechanisms.<group>.<key>``."""
    mechanisms = mechanisms or MechanismsConfig()
    out = {}
    for group in dataclasses.fields(mechanisms):
        params = getattr(mechanisms, group.name)
        for f in dataclasses.fields(params):
            value = getattr(params, f.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out[f"model.mechanisms.{group.name}.{f.name}"] = float(value)
    return out


def _validate_model(m: Any, file: str) -> None:
    """Check every mechanism parameter but the ``enabled`` switches against its declared range."""
    for group, params in m.mechanisms.items():
        for key, value in params.items():
            if not isinstance(value, bool):
                check_value(file, f"model.mechanisms.{group}.{key}", value)


DESIGNS = ("pair", "grid", "sobol", "morris", "prior", "calibrate")
HYPOTHESIS_NAMES = ("h1", "h2")
RECORDS = ("horizon", "series")


def _validate_experiment(e: Any, file: str) -> None:
    if e.design not in DESIGNS:
        raise ConfigError(file, "experiment.design", e.design, f"one of {', '.join(DESIGNS)}")
    if e.record not in RECORDS:
        raise ConfigError(file, "experiment.record", e.record, f"one of {', '.join(RECORDS)}")
    if not isinstance(e.workers, int) or e.workers == 0 or e.workers < -1:
        raise ConfigError(file, "experiment.workers", e.workers, "an integer >= 1, or -1 for every core")
    if not isinstance(e.samples, int) or e.samples < 2:
        raise ConfigError(file, "experiment.samples", e.samples, "an integer >= 2")
    if e.design == "sobol" and e.samples & (e.samples - 1):
        raise ConfigError(file, "experiment.samples", e.samples, "a power of 2 for a Sobol' design (e.g. 64, 256)")
    if not isinstance(e.levels, int) or e.levels < 2 or e.levels % 2:
        raise ConfigError(file, "experiment.levels", e.levels, "an even integer >= 2 (Morris grid levels)")
    check_value(file, "experiment.span", e.span)
    if e.discovery.hypothesis not in HYPOTHESIS_NAMES:
        raise ConfigError(file, "experiment.discovery.hypothesis", e.discovery.hypothesis,
                          f"one of {', '.join(HYPOTHESIS_NAMES)}")
    for key in ("peel_alpha", "paste_alpha", "mass_min", "min_coverage", "max_quasi_p"):
        check_value(file, f"experiment.discovery.{key}", e.discovery[key])
    if e.design == "grid" and not len(e.grid):
        raise ConfigError(file, "experiment.grid", dict(e.grid), "at least one key: comma-separated values")
    known = numeric_parameters()
    for i, key in enumerate(e.parameters):
        if key not in known:
            raise ConfigError(file, f"experiment.parameters[{i}]", key, f"one of {', '.join(known)}")
    prior_settings(e.priors, file)
    structure_settings(e.calibration.structures, file)


STRUCTURES_KEY = "experiment.calibration.structures"


def structure_settings(settings: Any, file: str) -> list[tuple[str, dict[str, Any]]]:
    """``experiment.calibration.structures`` as ``[(name, {model.mechanisms.<group>.<key>: value})]``,
    each checked: none, or at least 2 (model choice needs a rival); a name of letters, digits, ``_`` or
    ``-``, given once; each override ``key=value`` with a known mechanism key, given once in its structure,
    a switch set to true or false, a number inside the key's declared range. A ConfigError naming
    ``file`` and ``experiment.calibration.structures[i]...`` at the first problem."""
    if len(settings) == 1:
        raise ConfigError(file, f"{STRUCTURES_KEY}[1]", NO_VALUE, "a second structure: model choice needs at least "
                          f"2 (or none, {STRUCTURES_KEY}=[]: the run's own mechanisms alone)")
    out: list[tuple[str, dict[str, Any]]] = []
    for i, s in enumerate(settings):
        where = f"{STRUCTURES_KEY}[{i}]"
        name = s.name
        if not isinstance(name, str) or not name or not all(ch.isalnum() or ch in "_-" for ch in name):
            raise ConfigError(file, f"{where}.name", name, "a name of letters, digits, _ or - (it labels the "
                              "structure in structures.csv and posterior.parquet)")
        if name in [n for n, _ in out]:
            raise ConfigError(file, f"{where}.name", name, "a name not already given to a structure here")
        out.append((name, _structure_overrides(list(s.overrides), file, where)))
    return out


def _structure_overrides(overrides: list[Any], file: str, where: str) -> dict[str, Any]:
    """One structure's overrides as ``{key: value}`` (:func:`structure_settings`)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import OverrideType
    from hydra.errors import HydraException

    groups = {f.name: f.type for f in dataclasses.fields(MechanismsConfig)}
    hints = typing.get_type_hints(MechanismsConfig)
    values: dict[str, Any] = {}
    for j, text in enumerate(overrides):
        at = f"{where}.overrides[{j}]"
        allowed = ("model.mechanisms.<group>.<key>=<value>, a group among " + ", ".join(groups)
                   + " and one of its keys (enabled: true or false)")
        try:
            parsed = OverridesParser.create().parse_override(str(text))
        except HydraException:
            raise ConfigError(file, at, text, allowed) from None
        key, value = parsed.key_or_group, parsed.value()
        parts = key.split(".")
        if (parsed.type != OverrideType.CHANGE or parsed.package is not None or len(parts) != 4
                or parts[:2] != ["model", "mechanisms"] or parts[2] not in groups
                or not isinstance(value, (bool, int, float))):
            raise ConfigError(file, at, text, allowed)
        fields = {f.name for f in dataclasses.fields(hints[parts[2]])}
        if parts[3] not in fields:
            raise ConfigError(file, at, text, f"a key of model.mechanisms.{parts[2]}: {', '.join(sorted(fields))}")
        if key in values:
            raise ConfigError(file, at, text, f"{key} set once in a structure")
        if parts[3] == "enabled":
            if not isinstance(value, bool):
                raise ConfigError(file, at, text, f"{key}=true or {key}=false")
        else:
            spec = parameter_spec(key)
            if not spec.contains(value):
                raise ConfigError(file, at, text, f"{key} set to {spec.allowed}")
            value = float(value)
        values[key] = value
    return values


def prior_settings(settings: Any, file: str) -> dict[str, Prior]:
    """``experiment.priors`` as ``{parameter: Prior}``, each checked: a known mechanism parameter,
    listed once, a known shape, low <= high (low < high unless fixed, low > 0 if log-uniform), and
    inside the parameter's declared range (a prior puts no weight where the model cannot run).
    A ConfigError naming ``file`` and ``experiment.priors[i]...`` at the first problem."""
    known = numeric_parameters()
    out: dict[str, Prior] = {}
    for i, s in enumerate(settings):
        where = f"experiment.priors[{i}]"
        key = str(s.parameter)
        if key not in known:
            raise ConfigError(file, f"{where}.parameter", key, f"one of {', '.join(known)}")
        if key in out:
            raise ConfigError(file, f"{where}.parameter", key, "a parameter not already given a prior here")
        if s.shape not in PRIOR_SHAPES:
            raise ConfigError(file, f"{where}.shape", s.shape, f"one of {', '.join(PRIOR_SHAPES)}")
        for end in ("low", "high"):
            if not _finite(s[end]):
                raise ConfigError(file, f"{where}.{end}", s[end], "a finite number")
        try:
            prior = Prior(str(s.shape), float(s.low), float(s.high), str(s.why))
        except ValueError:
            raise ConfigError(file, f"{where}.low", s.low, f"below high ({s.high}) for a {s.shape} prior"
                              + (" and above 0" if s.shape == "loguniform" else "")
                              if s.shape != "fixed" else f"equal to high ({s.high}) for a fixed prior") from None
        spec = parameter_spec(key)
        for end in ("low", "high"):
            if not spec.contains(getattr(prior, end)):
                raise ConfigError(file, f"{where}.{end}", getattr(prior, end),
                                  f"a prior inside {key}'s range: {spec.allowed}")
        out[key] = prior
    return out


def _validate_world(w: Any, file: str) -> list[str]:
    if w.generator == "synthetic":
        if not isinstance(w.n_states, int) or w.n_states < 6:
            raise ConfigError(file, "world.n_states", w.n_states, "an integer >= 6")
        if not isinstance(w.seed, int) or w.seed < 0:
            raise ConfigError(file, "world.seed", w.seed, "an integer >= 0")
        return _synthetic_codes(w.n_states)
    if w.generator != "table":
        raise ConfigError(file, "world.generator", w.generator, "'table' or 'synthetic'")
    codes = list(w.states.keys())
    if len(codes) < 3:
        raise ConfigError(file, "world.states", codes, "at least three states")
    k = len(w.issues)
    if k < 1:
        raise ConfigError(file, "world.issues", list(w.issues), "a non-empty list of issue names")
    known = f"one of {', '.join(codes)}"
    for code, s in w.states.items():
        key = f"world.states.{code}"
        if s.camp not in CAMPS:
            raise ConfigError(file, f"{key}.camp", s.camp, f"one of {', '.join(CAMPS)}")
        _number(file, f"{key}.capability", s.capability, 1e-9, 1.0, "a number in (0, 1]")
        _number(file, f"{key}.capability_trend", s.capability_trend, -0.5, 0.5,
                "a number in [-0.5, 0.5] (annual log-growth of capability)")
        _number(file, f"{key}.industry", s.industry, 0.0, math.inf, "a finite number >= 0")
        _number(file, f"{key}.budget", s.budget, 1e-9, math.inf, "a finite number > 0")
        _number(file, f"{key}.outside_option", s.outside_option, 0.0, math.inf, "a finite number >= 0")
        if len(s.positions) != k:
            raise ConfigError(file, f"{key}.positions", list(s.positions), f"{k} numbers, one per issue")
        if len(s.salience) != k:
            raise ConfigError(file, f"{key}.salience", list(s.salience), f"{k} numbers, one per issue")
        for i, p in enumerate(s.positions):
            _number(file, f"{key}.positions[{i}]", p, -1.0, 1.0, "a number in [-1, 1]")
        for i, p in enumerate(s.salience):
            _number(file, f"{key}.salience[{i}]", p, 0.0, math.inf, "a finite number >= 0")
        if sum(s.salience) <= 0:
            raise ConfigError(file, f"{key}.salience", list(s.salience), "numbers >= 0 with a positive sum")
    totals: dict[str, float] = {}
    seen: set[tuple[str, str]] = set()
    for n, t in enumerate(w.commitments):
        key = f"world.commitments[{n}]"
        for part in ("origin", "target"):
            if t[part] not in codes:
                raise ConfigError(file, f"{key}.{part}", t[part], known)
        if t.origin == t.target:
            raise ConfigError(file, f"{key}.target", t.target, f"a state other than {t.origin} (no tie to itself)")
        _number(file, f"{key}.commitment", t.commitment, 0.0, 1.0, "a share of the origin's budget in [0, 1]")
        if (t.origin, t.target) in seen:
            raise ConfigError(file, f"{key}.target", t.target, f"a target not already listed for {t.origin}")
        seen.add((t.origin, t.target))
        totals[t.origin] = totals.get(t.origin, 0.0) + t.commitment
        if totals[t.origin] > 1.0 + 1e-9:
            raise ConfigError(file, f"{key}.commitment", t.commitment,
                              f"shares whose sum for {t.origin} stays <= 1 (now {totals[t.origin]:.3f})")
    for group, lo, hi, allowed in (("affinities", -1.0, 1.0, "a number in [-1, 1]"),
                                   ("complementarity", 0.0, math.inf, "a finite number >= 0"),
                                   ("returns", 0.0, math.inf, "a finite number >= 0")):
        pairs: set[frozenset[str]] = set()
        for n, p in enumerate(w[group]):
            key = f"world.{group}[{n}]"
            _pair(file, key, p.states, codes)
            if frozenset(p.states) in pairs:
                raise ConfigError(file, f"{key}.states", list(p.states), f"a pair not already listed in {group}")
            pairs.add(frozenset(p.states))
            _number(file, f"{key}.value", p.value, lo, hi, allowed)
    return codes


def _validate_roles(r: Any, file: str, codes: list[str]) -> None:
    known = f"one of {', '.join(codes)}"
    for key in ("entente", *SANCTIONS):
        pair = list(r[key])
        for i, code in enumerate(pair):
            if code not in codes:
                raise ConfigError(file, f"world.roles.{key}[{i}]", code, known)
        if len(pair) != 2 or pair[0] == pair[1]:
            raise ConfigError(file, f"world.roles.{key}", pair, "two different state codes")
    if r.outreach_actor not in codes:
        raise ConfigError(file, "world.roles.outreach_actor", r.outreach_actor, known)
    targets = list(r.outreach_targets)
    for i, code in enumerate(targets):
        if code not in codes or code in r.entente or code in targets[:i]:
            raise ConfigError(file, f"world.roles.outreach_targets[{i}]", code,
                              f"{known}, listed once, not one of the entente {list(r.entente)}")


def _pair(file: str, key: str, states: Any, codes: list[str]) -> None:
    if len(states) != 2:
        raise ConfigError(file, f"{key}.states", list(states), "exactly two state codes")
    for i, code in enumerate(states):
        if code not in codes:
            raise ConfigError(file, f"{key}.states[{i}]", code, f"one of {', '.join(codes)}")
    if states[0] == states[1]:
        raise ConfigError(file, f"{key}.states", list(states), "two different states (no tie to itself)")


def _validate_groups(w: Any, file: str, codes: list[str]) -> dict[str, list[str]]:
    """The world's groups by name, after checking names (not state codes, each once) and members."""
    groups: dict[str, list[str]] = {}
    for n, g in enumerate(w.groups):
        key = f"world.groups[{n}]"
        if g.name in codes or g.name in groups:
            raise ConfigError(file, f"{key}.name", g.name, "a name that is neither a state code nor another group's")
        members = list(g.members)
        for i, code in enumerate(members):
            if code not in codes or code in members[:i]:
                raise ConfigError(file, f"{key}.members[{i}]", code, f"one of {', '.join(codes)}, listed once")
        if len(members) < 2:
            raise ConfigError(file, f"{key}.members", members, "at least two state codes")
        groups[str(g.name)] = members
    return groups


PAIR_FIELDS = ("affinity", "complementarity", "returns")
STATE_FIELDS = ("budget", "outside_option", "positions", "salience")


def _validate_scenario(s: Any, file: str, codes: list[str], issues: list[str], groups: dict[str, list[str]]) -> None:
    known = f"one of {', '.join([*codes, *groups])}"
    if len(s.include):
        raise ConfigError(file, "scenario.include", list(s.include),
                          "an expanded scenario (sim.scenarios.expand brings included events in before validation)")
    for name in LEVERS:
        parse_month(s.drivers[name], file, f"scenario.drivers.{name}")
    if s.capability_trends is not None:
        parse_month(s.capability_trends, file, "scenario.capability_trends")
    for name, members in s.participants.items():
        if name not in SANCTIONS:
            raise ConfigError(file, f"scenario.participants.{name}", list(members),
                              f"a key among {', '.join(SANCTIONS)}")
        for i, code in enumerate(members):
            if code not in codes:
                raise ConfigError(file, f"scenario.participants.{name}[{i}]", code, f"one of {', '.join(codes)}")
    for n, e in enumerate(s.events):
        key = f"scenario.events[{n}]"
        # Any month: an event before horizon.start is in force from the start, one after horizon.end
        # falls outside the run (sim.events.build_schedule), so a shorter horizon needs no edited scenario.
        parse_month(e.date, file, f"{key}.date")
        for i, code in enumerate(e.states):
            if code not in codes and code not in groups:
                raise ConfigError(file, f"{key}.states[{i}]", code, known)
        pair_fields = [f for f in PAIR_FIELDS if e[f] is not None]
        state_fields = [f for f in ("budget", "outside_option", "war") if e[f] is not None] + [
            f for f in ("positions", "salience") if len(e[f])]
        if not pair_fields and not state_fields and e.joins is None:
            raise ConfigError(file, key, e.name, "an event that changes at least one of affinity, "
                              "complementarity, returns, budget, outside_option, war, positions, salience, or joins "
                              "a sanctions regime")
        if sum(map(bool, (pair_fields, state_fields, e.joins is not None))) > 1:
            raise ConfigError(file, key, e.name, "an event of one kind: pair changes, state changes or joins, "
                              "not several (split it into events of the same date)")
        if pair_fields:
            group_alone = len(e.states) == 1 and e.states[0] in groups
            if not group_alone:
                _pair(file, key, e.states, [*codes, *groups])
        if (state_fields or e.joins is not None) and not len(e.states):
            raise ConfigError(file, f"{key}.states", [], "at least one state or group")
        if state_fields and (len(e.states) != 1):
            raise ConfigError(file, f"{key}.states", list(e.states),
                              f"exactly one state or group for {', '.join(state_fields)}")
        if e.joins is not None and e.joins not in SANCTIONS:
            raise ConfigError(file, f"{key}.joins", e.joins, f"null or one of {', '.join(SANCTIONS)}")
        if e.affinity is not None:
            _number(file, f"{key}.affinity", e.affinity, -1.0, 1.0, "a number in [-1, 1]")
        for f in ("complementarity", "returns"):
            if e[f] is not None:
                _number(file, f"{key}.{f}", e[f], -math.inf, math.inf, "a finite number (a change)")
        for f in ("budget", "outside_option"):
            if e[f] is not None:
                _number(file, f"{key}.{f}", e[f], 0.0, math.inf, "a finite factor >= 0")
        if e.war is not None:
            _number(file, f"{key}.war", e.war, 0.0, 1.0, "a war level in [0, 1] (0 at peace, 1 at full war)")
        for issue, value in e.positions.items():
            if issue not in issues:
                raise ConfigError(file, f"{key}.positions.{issue}", value, f"an issue among {', '.join(issues)}")
            _number(file, f"{key}.positions.{issue}", value, -1.0, 1.0, "a number in [-1, 1]")
        for issue, value in e.salience.items():
            if issue not in issues:
                raise ConfigError(file, f"{key}.salience.{issue}", value, f"an issue among {', '.join(issues)}")
            _number(file, f"{key}.salience.{issue}", value, 0.0, 1.0 - 1e-9, "a share in [0, 1)")
        if len(e.salience) > 1:
            raise ConfigError(file, f"{key}.salience", dict(e.salience), "one issue per event")
        if e.scale_with is not None and e.scale_with not in LEVERS:
            raise ConfigError(file, f"{key}.scale_with", e.scale_with, f"null or one of {', '.join(LEVERS)}")
        if e.ref is not None and (not isinstance(e.ref, int) or e.ref < 1):
            raise ConfigError(file, f"{key}.ref", e.ref, "null or an event number (an integer >= 1)")


def check_schema(cfg: Any, files: dict[str, str]) -> None:
    """Refuse keys the schema does not know (e.g. forced in with ``+key=...``), naming the key."""
    for key, node_type in _unknown_keys(cfg, ""):
        group = key.split(".", 1)[0]
        allowed = ", ".join(f.name for f in dataclasses.fields(node_type))
        raise ConfigError(files.get(group, files.get("config", "config")), key, "(unknown key)",
                          f"one of the keys of {node_type.__name__}: {allowed}")


def _unknown_keys(node: Any, path: str) -> list[tuple[str, type]]:
    """(dotted key, dataclass) for every key of a structured node that its dataclass lacks."""
    found: list[tuple[str, type]] = []
    if isinstance(node, DictConfig):
        node_type = OmegaConf.get_type(node)
        names = {f.name for f in dataclasses.fields(node_type)} if dataclasses.is_dataclass(node_type) else None
        for key in node:
            child = f"{path}.{key}" if path else str(key)
            if names is not None and key not in names:
                found.append((child, node_type))  # type: ignore[arg-type]
                continue
            found += _unknown_keys(node._get_node(key), child)
    elif isinstance(node, ListConfig):
        for i in range(len(node)):
            found += _unknown_keys(node._get_node(i), f"{path}[{i}]")
    return found


def _synthetic_codes(n: int) -> list[str]:
    width = len(str(n - 1))
    return [f"S{i:0{width}d}" for i in range(n)]


def to_container(cfg: DictConfig) -> dict[str, Any]:
    """Resolved plain-dict copy of a config (for provenance and hashing)."""
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
