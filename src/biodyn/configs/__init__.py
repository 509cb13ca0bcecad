"""biodyn's packaged Hydra config tree (``config.yaml``, ``model/``, ``data/``, ``train/``, ``experiment/``,
``cldtrans/``, ``prism/``, ``focal/``, ``fewshot/``) and the one helper that finds it.

``$BIODYN_CONFIG_DIR`` (or an explicit ``override``) replaces the packaged tree with a user's own;
:data:`PACKAGED` is always the tree shipped with biodyn (for data files such as the example onset table).
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

CONFIG_DIR_ENV = "BIODYN_CONFIG_DIR"
PACKAGED = Path(str(files(__name__)))


def config_dir(override: str | os.PathLike | None = None) -> Path:
    """The config tree: ``override``, else ``$BIODYN_CONFIG_DIR``, else the packaged one (resolved)."""
    cand = override or os.environ.get(CONFIG_DIR_ENV)
    return (Path(cand) if cand else PACKAGED).resolve()


def config_path(*parts: str, override: str | os.PathLike | None = None) -> Path:
    """``config_dir(override) / parts``: e.g. ``config_path("cldtrans")``, ``config_path("prism", "x.yaml")``."""
    return config_dir(override).joinpath(*parts)
