"""What a result was made with: a stable hash of a config or manifest, the git commit, package versions."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

from biodyn.atomic import json_default


def stable_hash(obj: Any) -> str:
    """SHA-256 (first 16 hex) of the canonical JSON of ``obj``."""
    blob = json.dumps(obj, sort_keys=True, default=json_default).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def git_commit() -> str | None:
    """The checkout's ``HEAD`` commit, or ``None`` outside a git checkout."""
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
