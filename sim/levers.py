"""The policy levers: one table that every other place reads.

A lever is an intensity in [0, 1] (``policy.<name>``) that applies from a start month
(``scenario.drivers.<name>``) between two roles of the world (``world.roles``). The schema
(:mod:`sim.config`: ``PolicyConfig``, ``DriversConfig``, ``RolesConfig`` and the validation of
roles), the world's roles (:mod:`sim.world`), the report's labels, the command line, the sweeps
and the dashboard's sliders derive their lever names, defaults and labels from :data:`LEVER_TABLE`.

Adding a sanctions lever is one entry here plus one field in each of ``PolicyConfig``,
``DriversConfig`` and ``RolesConfig`` (their field names are tested against this table); the
model applies every sanctions lever of the world's roles. There is exactly one outreach lever:
the model's outreach driver reads ``world.roles.outreach_actor`` and ``outreach_targets``.

Importable without Hydra, Mesa or matplotlib.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LeverKind = Literal["outreach", "sanctions"]
KINDS: tuple[LeverKind, ...] = ("outreach", "sanctions")


@dataclass(frozen=True)
class Lever:
    """One policy lever.

    ``sender`` and ``targets`` are its default roles in the 2018 world (state codes): the
    outreach actor and the states it courts, or the sanctioning state and its one target.
    ``synthetic_sender`` and ``synthetic_targets`` are the same roles in a generated world
    (indices of its states, which need at least 6 states). ``start`` is the default first month
    (``YYYY-MM``); ``label`` names the lever in tables and figures.
    """

    name: str
    kind: LeverKind
    label: str
    start: str
    sender: str
    targets: tuple[str, ...]
    synthetic_sender: int
    synthetic_targets: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"lever {self.name}: kind {self.kind!r} is not one of {KINDS}")
        if self.kind == "sanctions" and (len(self.targets) != 1 or len(self.synthetic_targets) != 1):
            raise ValueError(f"lever {self.name}: a sanctions lever has exactly one target")
        if not self.targets or not self.synthetic_targets:
            raise ValueError(f"lever {self.name}: at least one target in each world")

    @property
    def key(self) -> str:
        """Its config key, ``policy.<name>``."""
        return f"policy.{self.name}"

    @property
    def pair(self) -> list[str]:
        """``[sender, target]`` of a sanctions lever, the shape of its ``world.roles`` entry."""
        if self.kind != "sanctions":
            raise ValueError(f"lever {self.name} is not a sanctions lever")
        return [self.sender, self.targets[0]]


LEVER_TABLE: tuple[Lever, ...] = (
    Lever("outreach", "outreach", "outreach", "2018-11",
          "RUS", ("SAU", "ARE", "EGY", "LNA"), 0, (2, 3, 4)),
    Lever("us_sanctions_on_iran", "sanctions", "US sanctions on Iran", "2018-11",
          "USA", ("IRN",), 5, (1,)),
    Lever("western_sanctions_on_russia", "sanctions", "Western sanctions on Russia", "2022-02",
          "USA", ("RUS",), 5, (0,)),
)

LEVERS: tuple[str, ...] = tuple(lever.name for lever in LEVER_TABLE)
SANCTIONS: tuple[str, ...] = tuple(lever.name for lever in LEVER_TABLE if lever.kind == "sanctions")
LEVER_LABELS: dict[str, str] = {lever.key: lever.label for lever in LEVER_TABLE}  # policy.<name> -> label

if len(set(LEVERS)) != len(LEVERS) or [lv.kind for lv in LEVER_TABLE].count("outreach") != 1:
    raise ValueError("LEVER_TABLE needs unique names and exactly one outreach lever")


def lever(name: str) -> Lever:
    """The table's entry for ``name``; a KeyError naming the levers if there is none."""
    for entry in LEVER_TABLE:
        if entry.name == name:
            return entry
    raise KeyError(f"no lever {name!r}; levers: {', '.join(LEVERS)}")


OUTREACH: Lever = next(entry for entry in LEVER_TABLE if entry.kind == "outreach")
