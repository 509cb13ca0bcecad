"""Helpers of the fault-injection suite: tiny recordings written by the tests, CLI runs, and the two
checks every fault test makes (nothing written outside the target, nothing half-written left)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from biodyn.datasets import Corpus, RecordRef, Target
from biodyn.signal import PreprocessConfig
from biodyn.types import Event, Recording

TINY = PreprocessConfig(fs=50.0, l_freq=1.0, h_freq=20.0, zscore=True, clip_sigma=10.0)
# names of files a writer leaves while it works: our temp files, download parts, checkpoint swaps
PARTIAL_MARKERS = (".~", ".part", ".tmp", ".old")


def write_tiny_edf(
    path: Path, *, seconds: int = 8, fs: float = 64.0, channels=("Fp1", "C3", "O2"), seed=0, events=()
) -> Path:
    """A small, valid EDF+ file (a few KiB)."""
    from biodyn.io import write_edf

    rng = np.random.default_rng(seed)
    data = (rng.standard_normal((len(channels), int(fs * seconds))) * 40).astype(np.float32)
    write_edf(path, Recording(data, fs, list(channels), list(events), {"units": ["uV"] * len(channels)}))
    return path


def patch_signal_field(path: Path, field_offset: int, signal: int, value: str, width: int = 8) -> None:
    """Overwrite one per-signal header field (``field_offset`` is the field's start in units of ns bytes,
    e.g. 120 for the digital minimum) of ``signal`` with ``value``."""
    raw = bytearray(path.read_bytes())
    ns = int(raw[252:256].decode().strip())
    start = 256 + field_offset * ns + width * signal
    raw[start : start + width] = value.ljust(width).encode()[:width]
    path.write_bytes(bytes(raw))


def patch_fixed_field(path: Path, start: int, width: int, value: str) -> None:
    raw = bytearray(path.read_bytes())
    raw[start : start + width] = value.ljust(width).encode()[:width]
    path.write_bytes(bytes(raw))


def tree(d: Path) -> dict[str, tuple[int, int]]:
    """``{relative path: (size, mtime_ns)}`` of every file and link under ``d``."""
    out = {}
    for p in sorted(Path(d).rglob("*")):
        if p.is_file() or p.is_symlink():
            st = p.lstat()
            out[p.relative_to(d).as_posix()] = (st.st_size, st.st_mtime_ns)
    return out


def changed_outside(before: dict, after: dict, *allowed_prefixes: str) -> list[str]:
    """Paths created, changed or removed between two :func:`tree` snapshots, outside ``allowed_prefixes``."""
    diff = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    return sorted(
        k for k in diff if not any(k == a or k.startswith(a.rstrip("/") + "/") for a in allowed_prefixes)
    )


def partial_files(d: Path) -> list[str]:
    """Half-written leftovers under ``d`` (see :data:`PARTIAL_MARKERS`)."""
    return sorted(
        p.relative_to(d).as_posix() for p in Path(d).rglob("*") if any(m in p.name for m in PARTIAL_MARKERS)
    )


def run_cli(argv, capsys) -> tuple[int, str, str]:
    """``biodyn ARGV`` in this process: exit code, stdout, stderr."""
    from biodyn.cli import main

    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    """The single ``biodyn: error: ...`` line of ``err`` (asserting there is exactly one and no traceback)."""
    lines = [ln for ln in err.splitlines() if ln.startswith("biodyn: error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err, err
    return lines[0]


class Toy(Corpus):
    """Deterministic 3-channel recordings at 100 Hz (20 + i seconds) with per-sample labels.

    ``sleep_s`` slows each load (killed-job tests); ``pid_dir`` receives one file per worker pid."""

    name = "toy"
    modality = "eeg"
    classes = ("bckg", "seiz")
    default_preprocess = TINY
    window_s = 4.0
    stride_s = 2.0

    def __init__(self, n=6, bad=(), sleep_s=0.0, pid_dir=None, warn=False):
        self.root = Path(".")
        self.n, self.bad, self.sleep_s, self.pid_dir, self.warn = n, set(bad), sleep_s, pid_dir, warn

    def records(self):
        return [
            RecordRef(
                f"r{i}",
                Path(f"toy/r{i}"),
                subject=f"p{i // 2}",
                split="train" if i < 4 else "dev",
                meta={"i": i},
            )
            for i in range(self.n)
        ]

    def load(self, ref):
        i = ref.meta["i"]
        if self.pid_dir is not None:
            (Path(self.pid_dir) / str(os.getpid())).touch()
        if self.sleep_s:
            time.sleep(self.sleep_s)
        if ref.record_id in self.bad:
            raise ValueError(f"{ref.path}: cannot parse header")
        if self.warn:
            import warnings

            warnings.warn(f"{ref.path}: channel Cz is noisy", stacklevel=1)
        rng = np.random.default_rng(i)
        x = rng.standard_normal((3, 100 * (20 + i))).astype(np.float32)
        return Recording(x, 100.0, ["Fp1", "Cz", "O1"], [Event(5.0, 3.0 + i, "seiz")])

    def target(self, ref, rec):
        y = np.zeros(rec.n_times, np.int64)
        for e in rec.events:
            y[int(e.onset_s * rec.fs) : int(e.offset_s * rec.fs)] = 1
        return Target(per_sample=y, classes=self.classes)
