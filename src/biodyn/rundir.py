"""Checks every entry point makes before it reads data or writes anything: the output folder (not a file,
writable, not a finished run unless resumed or forced) and the device (one that exists on this machine).

The run-folder rule: a folder that already holds a run (its ``config.yaml``/``config.json``, ``results.json``,
``log.jsonl`` or ``checkpoints/``) is continued only with ``resume`` and replaced only with ``force``; given
again without either it is refused, so a finished run is never overwritten by accident.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from biodyn.errors import ConfigError

# what marks a folder as holding a run (the Trainer's and the systems' outputs)
RUN_MARKERS = ("config.yaml", "config.json", "results.json", "log.jsonl", "checkpoints")


def check_out_dir(path: str | os.PathLike, key: str) -> Path:
    """``path`` as a folder that can be created or written: a file there (or on the way) is a
    ``NotADirectoryError``, a folder (or the nearest existing parent) this process cannot write a
    ``PermissionError``, each naming the path and ``key`` (the CLI's exit 8, as the OS would refuse it later,
    but before any work; a folder that refuses a write although the permission bits allow it, as ``/sys`` does
    to root: the OS's error). Leaves nothing behind (one empty folder is made and removed to ask the OS)."""
    p = Path(path)
    probe = p
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():  # as mkdir would refuse it, but before any work
        raise NotADirectoryError(
            errno.ENOTDIR, f"is a file, expected a folder ({key} {os.fspath(path)})", str(probe)
        )
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, f"cannot write here ({key})", str(probe))
    if probe.exists():
        _try_write(probe, key)
    return p


def _try_write(folder: Path, key: str) -> None:
    """Make and remove one empty folder in ``folder``: ``os.access`` answers yes to root everywhere but on a
    read-only mount, while ``/sys``, ``/proc``, a root-squashed share or a read-only bind mount still refuse
    the write. The OS's error, naming ``folder`` and ``key`` (exit 8); nothing is left behind."""
    import tempfile

    from biodyn.atomic import temp_prefix

    try:
        made = tempfile.mkdtemp(prefix=temp_prefix("probe"), dir=folder)
    except OSError as e:
        raise type(e)(e.errno, f"cannot write here ({key}): {e.strerror}", str(folder)) from None
    os.rmdir(made)


def check_out_file(path: str | os.PathLike, key: str) -> Path:
    """``path`` as a file that can be written: a folder there is an ``IsADirectoryError``, a file on the way a
    ``NotADirectoryError``, an unwritable folder a ``PermissionError`` (exit 8). Creates nothing."""
    p = Path(path)
    if p.is_dir():
        raise IsADirectoryError(errno.EISDIR, f"is a folder, expected a file path ({key})", str(p))
    check_out_dir(p.parent if str(p.parent) else Path("."), key)
    if p.exists() and not os.access(p.parent, os.W_OK):
        raise PermissionError(errno.EACCES, f"cannot write here ({key})", str(p))
    return p


def existing_run(path: str | os.PathLike) -> list[str]:
    """The run files :data:`RUN_MARKERS` names that exist in ``path`` (empty: no run there)."""
    p = Path(path)
    return [m for m in RUN_MARKERS if (p / m).exists()] if p.is_dir() else []


def check_new_run(
    path: str | os.PathLike, *, resume: bool, force: bool, key: str, resume_hint: str, force_hint: str
) -> None:
    """Refuse (:class:`ConfigError`) a folder that holds a run when neither ``resume`` nor ``force`` is set;
    also the :func:`check_out_dir` checks. ``resume_hint``/``force_hint`` name the user's own switches."""
    check_out_dir(path, key)
    found = existing_run(path)
    if found and not resume and not force:
        raise ConfigError(
            f"{key}={os.fspath(path)} already holds a run ({', '.join(found)}); {resume_hint} to continue it "
            f"or {force_hint} to replace it"
        )


def clear_run(path: str | os.PathLike) -> None:
    """Remove the run files of ``path`` (the ``force`` of :func:`check_new_run`), nothing else, on rank 0
    only: under torchrun every rank gets here, and two ranks removing the same files race (the others wait
    for rank 0 in the process group's start)."""
    import shutil

    if int(os.environ.get("RANK", "0")) != 0:
        return
    p = Path(path)
    for m in (*RUN_MARKERS, "tb", "curves.png", "eval_results.json", "eval_results.png"):
        q = p / m
        if q.is_dir() and not q.is_symlink():
            shutil.rmtree(q)
        elif q.exists() or q.is_symlink():
            q.unlink()


def check_device(device: str, key: str = "device") -> str:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N`` that exists here, else a :class:`ConfigError` naming
    ``key``, the value and what this machine has. Imports torch only for a CUDA name."""
    d = str(device).strip()
    if d in ("auto", "cpu"):
        return d
    kind, _, index = d.partition(":")
    if kind != "cuda" or (index and not index.isdigit()):
        raise ConfigError(f"invalid {key}={device!r}; allowed: auto, cpu, cuda, cuda:N")
    import torch

    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if n == 0:
        raise ConfigError(f"invalid {key}={device!r}: CUDA is not available on this machine; use auto or cpu")
    if index and int(index) >= n:
        raise ConfigError(
            f"invalid {key}={device!r}: this machine has {n} CUDA device(s) (cuda:0..cuda:{n - 1})"
        )
    return d
