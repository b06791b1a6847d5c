"""What tests that signal a sim-run process share."""

from __future__ import annotations

import signal


def default_sigint() -> None:
    """In a child before ``exec``: SIGINT back to its default action, as a terminal's foreground command has it.

    A suite started in the background by a shell without job control (``cmd &`` in a script) inherits
    SIGINT ignored, Python then leaves it ignored, and its children with it: a Ctrl-C could not be tested.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
