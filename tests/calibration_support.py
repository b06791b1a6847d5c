"""What the calibration tests share (tests/test_calibrate*.py): a silent progress callback and an
in-process stand-in for the process pool; the ``cells`` fixture is in conftest.py."""

from __future__ import annotations


def quiet(_: str) -> None:
    """A ``say`` callback that prints nothing."""


class Serial:
    """A ProcessPoolExecutor evaluated in this process: ``experiment.workers=2`` splits each round's
    candidates into 2 chunks (so into other stacks) without a second process."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def map(self, fn, *iterables):
        return map(fn, *iterables)

    def shutdown(self, **kwargs) -> None:
        pass
