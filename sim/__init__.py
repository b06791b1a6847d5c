"""Alliance leverage laboratory: an agent-based model (Mesa) of outreach, dilution and leverage."""

from pathlib import Path

__version__ = "0.1.0"


def project_dir(name: str, marker: str) -> Path:
    """The project's ``name/`` folder that holds ``marker``: the repository's (a source checkout or an
    editable install), else the copy a wheel packs beside the code (``sim/<name>``, pyproject's force-include)."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / name, here / name):
        if (candidate / marker).exists():
            return candidate
    raise FileNotFoundError(f"no {name}/{marker} beside {here}")
