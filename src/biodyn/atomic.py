"""Atomic file writes: write beside the target, then rename over it (POSIX ``rename`` is atomic)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


def current_umask() -> int:
    """The process umask (read from ``/proc`` where possible: setting it to read it is not thread-safe)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def honour_umask(path: str | os.PathLike, directory: bool = False) -> None:
    """Give ``path`` the mode a plain ``open``/``mkdir`` would (``0o666``/``0o777`` minus the umask):
    ``tempfile`` creates files 0600 and folders 0700, which would otherwise survive the rename."""
    os.chmod(path, (0o777 if directory else 0o666) & ~current_umask())


def _host() -> str:
    import socket

    return "".join(c if c.isalnum() or c in "-_" else "_" for c in socket.gethostname())[:32] or "host"


def temp_prefix(name: str) -> str:
    """Prefix of a temporary sibling of ``name``: ``.~<host>~<pid>~<name>.`` so that writers on several
    machines or processes never share one, and a cleanup can tell whose temporary file it is."""
    return f".~{_host()}~{os.getpid()}~{name}."


def temp_writer_alive(temp_name: str) -> bool | None:
    """Whether the writer of a :func:`temp_prefix` file may still be writing it: ``True`` when it is alive
    on this host or runs on another host (that cannot be checked from here), ``False`` when its process is
    gone, ``None`` when the name is not a :func:`temp_prefix` name."""
    parts = temp_name.split("~", 3)
    if len(parts) != 4 or parts[0] != "." or not parts[2].isdigit():
        return None
    if parts[1] != _host():
        return True
    try:
        os.kill(int(parts[2]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path`` (atomic on POSIX).

    The temporary name is unique per writer (host, pid, random part; see :func:`temp_prefix`) and the final
    file gets the mode the umask allows, as a plain ``open`` would give it.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, expected a file path", str(path))
    try:
        if path.parent.exists() and not path.parent.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "is a file, expected a folder", str(path.parent))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name), suffix=suffix or ".tmp", dir=path.parent)
    except OSError as e:  # name the target, not the temporary sibling (`.~host~pid~x.json.tmp`)
        if e.filename == str(path.parent):
            raise
        raise type(e)(e.errno, e.strerror, str(path)) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        honour_umask(tmp_path)
        os.replace(tmp_path, path)
    except OSError as e:
        tmp_path.unlink(missing_ok=True)
        if e.filename is not None and Path(e.filename).name.startswith(".~"):
            raise type(e)(e.errno, e.strerror, str(path)) from None
        raise
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """JSON (indented; NumPy scalars/arrays and paths converted, NaN and infinities written as ``null``)
    written atomically."""
    atomic_write_text(path, dumps_json(obj, indent=2) + "\n")


def dumps_json(obj: Any, **kw) -> str:
    """``json.dumps`` that always writes valid JSON: a NaN or infinite float (Python or NumPy, also inside
    arrays) becomes ``null``, NumPy scalars and arrays and paths are converted (:func:`json_default`)."""
    return json.dumps(finite_json(obj), allow_nan=False, default=json_default, **kw)


def finite_json(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by ``None`` (dicts, lists and tuples walked; NumPy
    scalars and arrays converted to Python values first)."""
    if isinstance(obj, float | np.floating):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, np.ndarray):
        return finite_json(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {k: finite_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite_json(v) for v in obj]
    return obj


def json_default(o: Any) -> Any:
    """``json.dumps(default=...)`` for NumPy scalars and arrays and paths."""
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
