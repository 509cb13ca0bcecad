"""What a result was made with: a stable hash of a config or manifest, the git commit, package versions."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from biodyn.atomic import json_default


def stable_hash(obj: Any) -> str:
    """SHA-256 (first 16 hex) of the canonical JSON of ``obj``."""
    blob = json.dumps(obj, sort_keys=True, default=json_default).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


# tracked folders and files that hold results and their write-ups, not code: a run that writes into them (the
# CPU evaluation's run.sh into its own folder) does not make its own provenance "+dirty"
OUTPUT_PATHS = ("results", "benchmarks/results", "benchmarks/RESULTS.md", "docs")


def git_commit(path: str | Path | None = None) -> str | None:
    """The ``HEAD`` commit of the checkout holding ``path`` (default: biodyn's own), with ``+dirty`` appended
    when tracked files outside :data:`OUTPUT_PATHS` differ from it (a result made from uncommitted code does
    not claim a clean commit), or ``None`` outside a git checkout."""
    cwd = Path(path) if path is not None else Path(__file__).resolve().parent

    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10, cwd=cwd)
        return out.stdout.strip() if out.returncode == 0 else ""

    try:
        sha = git("rev-parse", "HEAD")
        if not sha:
            return None
        spec = [":(top)", *(f":(top,exclude){p}" for p in OUTPUT_PATHS)]
        return sha + ("+dirty" if git("status", "--porcelain", "--untracked-files=no", "--", *spec) else "")
    except (OSError, subprocess.SubprocessError):
        return None


# the arguments biodyn.cli.main was called with (set by it), so that a command run from Python is named too
CLI_ARGV: list[str] | None = None


def command_line(argv: list[str] | None = None) -> str:
    """The command this process runs, shell-quoted: ``biodyn train experiment=x ...`` when it runs through
    :func:`biodyn.cli.main` (the script or a call from Python), else ``python -m <module> ...`` or
    ``python <script> ...`` from ``sys.argv``."""
    import shlex
    import sys

    if argv is None and CLI_ARGV is not None:
        return shlex.join(["biodyn", *CLI_ARGV])
    argv = list(sys.argv if argv is None else argv)
    if not argv:
        return ""
    prog = Path(argv[0]).name
    if prog in ("biodyn", "biodyn.exe") or argv[0].endswith(f"biodyn{os.sep}__main__.py"):
        head = ["biodyn"]
    elif prog == "__main__.py":
        head = ["python", "-m", Path(argv[0]).parent.name]
    else:
        head = ["python", argv[0]]
    return shlex.join(head + argv[1:])


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
