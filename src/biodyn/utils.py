"""Small shared helpers: atomic writes, the data root, seeding, run provenance."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

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


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path`` (atomic on POSIX)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or ".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and (when imported) torch."""
    random.seed(seed)
    np.random.seed(seed % (2**32))  # noqa: NPY002 (seeding the legacy global is the point)
    os.environ["PYTHONHASHSEED"] = str(seed)
    try:
        import torch
    except ImportError:  # pragma: no cover
        return
    torch.manual_seed(seed)


def stable_hash(obj: Any) -> str:
    """SHA-256 (first 16 hex) of the canonical JSON of ``obj``."""
    blob = json.dumps(obj, sort_keys=True, default=_json_default).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def versions() -> dict[str, str]:
    """Versions of the packages that shape results."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("biodyn", "torch", "numpy", "scipy", "mne", "wfdb", "scikit-learn"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out
