"""The ``sim`` sweeper and its config (see the package docstring)."""


from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper, BasicSweeperConf
from hydra.core.config_store import ConfigStore


@dataclass
class SimSweeperConf(BasicSweeperConf):
    _target_: str = "hydra_plugins.sim_sweeper.sim_sweeper.SimSweeper"


ConfigStore.instance().store(group="hydra/sweeper", name="sim", node=SimSweeperConf, provider="alliance-sim")


class SimSweeper(BasicSweeper):
    """:class:`BasicSweeper` (same jobs, same batches, same launchers) with :func:`sim.multirun.sweep`."""

    def sweep(self, arguments: Sequence[str]) -> Any:
        from sim.multirun import sweep

        return sweep(self, arguments)
