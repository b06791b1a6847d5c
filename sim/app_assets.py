"""Solara's browser assets from the npm registry, for machines that reach package registries only.

``solara run`` serves its JavaScript and CSS (the Vuetify app, require.js, the grid layout the
Mesa dashboard uses, Font Awesome) from a CDN through a local cache, ``<prefix>/share/solara/cdn``.
Where the CDN cannot be reached the page stays blank. The same files are npm packages: this
module finds the ``name@version`` specs the installed Solara asks for and fills the cache with
``npm pack``, so that ``solara run sim/app.py`` then works offline. Files already cached are
kept; without ``npm`` nothing is done and Solara fetches from its CDN as usual.

    .venv/bin/python -m sim.app_assets          # `make app` runs this after installing the extra
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

# name@version right after the CDN prefix: "{{cdn}}/requirejs@2.3.6/require.js", "${this.getCdn()}/@widgetti/..."
_SPEC = re.compile(r"(?:\{\{cdn\}\}|getCdn\(\)\}|_solara/cdn)/((?:@[\w.-]+/)?[\w.-]+@\d[\w.+-]*)/")
# the Solara files that name the assets a SolaraViz page loads (the page template, the grid layout)
_SOURCES = ("server/templates/solara.html.j2", "widgets/vue/gridlayout_v3.vue", "widgets/vue/gridlayout.vue")


def cache_dir() -> Path:
    """Where ``solara run`` looks for CDN files before fetching them (SOLARA_ASSETS_PROXY_CACHE_DIR)."""
    import solara.server.settings

    return Path(solara.server.settings.assets.proxy_cache_dir)


def needed_specs() -> list[str]:
    """The npm ``name@version`` specs the installed Solara loads for a SolaraViz page."""
    import solara
    import solara.server.settings
    import solara.util

    root = Path(solara.__file__).parent
    text = "\n".join((root / s).read_text() for s in _SOURCES if (root / s).exists())
    specs = set(_SPEC.findall(text))
    fontawesome = solara.server.settings.assets.fontawesome_path  # "/font-awesome@4.5.0/css/..."
    specs |= set(_SPEC.findall("{{cdn}}" + fontawesome))
    # the template names the Vuetify 2 and the Vuetify 3 app; the installed ipyvuetify picks one
    unused = "@widgetti/solara-vuetify-app@" if solara.util.ipyvuetify_major_version == 3 else (
        "@widgetti/solara-vuetify3-app@")
    return sorted(s for s in specs if not s.startswith(unused))


def provision(target: Path | None = None, specs: list[str] | None = None, *, quiet: bool = False) -> list[str]:
    """Unpack each missing package into ``target/<name@version>/``; return the specs fetched.

    Raises ``FileNotFoundError`` if a package is missing and ``npm`` is not on PATH.
    """
    target = target or cache_dir()
    specs = needed_specs() if specs is None else specs
    missing = [s for s in specs if not (target / s / "package.json").exists()]
    if not missing:
        return []
    npm = shutil.which("npm")
    if npm is None:
        raise FileNotFoundError(f"npm is needed to fetch {', '.join(missing)} into {target}")
    with tempfile.TemporaryDirectory() as tmp:
        for spec in missing:
            if not quiet:
                print(f"npm pack {spec} -> {target / spec}")
            out = subprocess.run([npm, "pack", spec, "--pack-destination", tmp, "--silent"], check=True,
                                 capture_output=True, text=True, timeout=300).stdout.strip().splitlines()[-1]
            staging = Path(tmp) / "unpacked"
            with tarfile.open(Path(tmp) / out) as tar:
                tar.extractall(staging, filter="data")
            dest = target / spec
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(dest, ignore_errors=True)
            shutil.move(staging / "package", dest)  # npm tarballs hold one top folder, "package"
            shutil.rmtree(staging)
    return missing


def main() -> None:
    try:
        fetched = provision()
    except FileNotFoundError as e:
        print(f"note: {e}; solara will fetch from its CDN instead", file=sys.stderr)
        return
    print(f"Solara assets in {cache_dir()}: {'fetched ' + ', '.join(fetched) if fetched else 'all present'}")


if __name__ == "__main__":
    main()
