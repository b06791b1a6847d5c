"""OmegaConf's YAML loader on libyaml's parser: what Hydra reads, parsed in C.

Hydra reads every config file through ``OmegaConf.load``, whose loader (``omegaconf._utils.
get_yaml_loader``) is PyYAML's pure-Python ``SafeLoader`` with OmegaConf's additions (a duplicate
key is an error, its own float rule, no timestamps). Parsing the 524-line 2018 world that way takes
about 0.1 s, and a headline run composes it three times. OmegaConf 2.4 parses with
``yaml.CSafeLoader`` where PyYAML has libyaml (omry/omegaconf#1150), but Hydra 1.3 requires
omegaconf < 2.4; :func:`use_libyaml` makes OmegaConf 2.3 do the same.

The loader it installs is OmegaConf's own class with libyaml's parser (``yaml.cyaml.CParser``, as in
``yaml.CSafeLoader``) in front: the scanner, parser and composer are C, while the constructor and
the resolver stay OmegaConf's, so the same text gives the same values (``tests/test_config.py``
loads every config file both ways), and a file that is not valid YAML fails with the same kind of
error at the same file, line and column (libyaml words some problems differently). Without libyaml
nothing changes.
"""

from __future__ import annotations

from typing import Any


def use_libyaml() -> bool:
    """Make ``OmegaConf.load`` and ``OmegaConf.create`` (and so Hydra) parse YAML with libyaml.

    Idempotent; returns whether libyaml parses now (False: PyYAML was built without it, and
    OmegaConf keeps its pure-Python loader).
    """
    import yaml
    from omegaconf import _utils

    if getattr(_utils.get_yaml_loader, "libyaml", False):
        return True
    if not getattr(yaml, "__with_libyaml__", False):
        return False
    from yaml.cyaml import CParser

    python_loader = _utils.get_yaml_loader

    def get_yaml_loader() -> Any:
        """OmegaConf's loader class (made anew per call, as OmegaConf does) on libyaml's parser."""
        own = python_loader()

        class OmegaConfCLoader(CParser, own):  # type: ignore[misc, valid-type]
            def __init__(self, stream: Any) -> None:  # as yaml.CSafeLoader: C parser, Python constructor
                CParser.__init__(self, stream)
                yaml.constructor.SafeConstructor.__init__(self)
                yaml.resolver.Resolver.__init__(self)

        return OmegaConfCLoader

    get_yaml_loader.libyaml = True  # type: ignore[attr-defined]
    get_yaml_loader.python_loader = python_loader  # type: ignore[attr-defined]
    _utils.get_yaml_loader = get_yaml_loader
    return True
