"""The ``sim`` sweeper of ``sim-run -m``: Hydra's basic sweeper, whose ``sweep`` validates every job
before the first one runs and skips the finished jobs of a resumed multirun (:mod:`sim.multirun`).

A Hydra plugin must live in the ``hydra_plugins`` namespace package; Hydra imports this module
when it looks for plugins (every Hydra app of the environment does), so it imports nothing of
``sim`` until a multirun sweeps (and uses no ``from __future__ import annotations``: Hydra runs a
plugin module before it is in ``sys.modules``, where dataclasses cannot resolve string
annotations). ``configs/config.yaml`` chooses it (``override hydra/sweeper:
sim``); ``hydra/sweeper=basic`` on the command line goes back to Hydra's own.
"""
