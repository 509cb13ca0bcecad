"""Where the corpora are: ``$BIODYN_DATA_ROOT``, else ``../shared/data`` beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ROOT_ENV = "BIODYN_DATA_ROOT"


def data_root(required: bool = False) -> Path | None:
    """The folder holding corpora (``$BIODYN_DATA_ROOT``, else ``../shared/data`` when it exists).

    ``../shared/data`` is looked up from the current directory and from the source checkout.
    Returns ``None`` (or raises ``FileNotFoundError`` when ``required``) if there is none.
    """
    env = os.environ.get(DATA_ROOT_ENV)
    if env:
        p = Path(env).expanduser()
        if p.is_dir():
            return p
        if required:
            raise FileNotFoundError(f"${DATA_ROOT_ENV}={env} is not a directory")
        return None
    repo = Path(__file__).resolve().parents[2]
    for cand in (Path.cwd() / ".." / "shared" / "data", repo / ".." / "shared" / "data"):
        if cand.is_dir():
            return cand.resolve()
    if required:
        raise FileNotFoundError(
            f"no data root: set ${DATA_ROOT_ENV} or place the sample recordings in ../shared/data"
        )
    return None
