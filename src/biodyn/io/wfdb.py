"""WFDB records (formats 16, 212, ...) and annotation files through the ``wfdb`` package."""

from __future__ import annotations

import math
import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from biodyn.errors import ChannelError, RecordingError
from biodyn.types import Event, Recording


def _record_base(record_path: str | os.PathLike) -> Path:
    p = Path(record_path)
    return p.with_suffix("") if p.suffix in (".hea", ".dat") else p


def read_wfdb(record_path: str | os.PathLike, *, channels: list[str] | None = None) -> Recording:
    """Read a WFDB record (``.hea`` + signal files) in physical units.

    ``record_path`` may name the record with or without ``.hea``/``.dat``. The signal file must hold
    as many samples as the header says: a short file raises :class:`RecordingError`.
    """
    import wfdb

    base = _record_base(record_path)
    hea = base.with_suffix(".hea")
    if not hea.exists():
        raise RecordingError(hea, "WFDB header not found")
    try:
        header = wfdb.rdheader(str(base))
    except Exception as e:
        raise RecordingError(hea, f"malformed WFDB header: {e}") from e
    _check_signal_files(base, header)
    if channels is not None:
        missing = [c for c in channels if c not in header.sig_name]
        if missing:
            raise ChannelError(
                hea, f"missing channel(s) {', '.join(missing)}; record has {', '.join(header.sig_name)}"
            )
        idx = [header.sig_name.index(c) for c in channels]
    else:
        idx = None
    try:
        rec = wfdb.rdrecord(str(base), channels=idx, physical=True)
    except Exception as e:
        raise RecordingError(hea, f"cannot read WFDB signals: {e}") from e
    data = np.asarray(rec.p_signal, dtype=np.float32).T.copy()
    if data.size == 0:
        raise RecordingError(hea, "empty recording (0 samples)")
    meta = {
        "path": str(base),
        "format": "wfdb",
        "units": list(rec.units),
        "fmt": list(rec.fmt),
        "comments": list(rec.comments or []),
        "original_channels": list(rec.sig_name),
        "start_time": str(rec.base_datetime) if rec.base_datetime else None,
    }
    return Recording(data=data, fs=float(rec.fs), channels=list(rec.sig_name), meta=meta)


def wfdb_info(record_path: str | os.PathLike) -> dict:
    """Channels, rate and duration from the WFDB header alone (no samples read), like :func:`edf_info`."""
    import wfdb

    base = _record_base(record_path)
    try:
        h = wfdb.rdheader(str(base))
    except Exception as e:
        raise RecordingError(base.with_suffix(".hea"), f"malformed or missing WFDB header: {e}") from e
    n = h.sig_len
    if n is None:  # the length is optional in a WFDB header: the signal files' sizes give it
        frames = [
            (base.parent / f).stat().st_size * 8 // bits
            for f, bits in _bits_per_frame(h).items()
            if (base.parent / f).exists()
        ]
        if not frames:
            raise RecordingError(
                base.with_suffix(".hea"), "the header gives no signal length and no signal file to measure"
            )
        n = min(frames)
    return {"channels": list(h.sig_name), "fs": [float(h.fs)], "duration_s": n / h.fs}


_BITS = {
    "8": 8,
    "16": 16,
    "24": 24,
    "32": 32,
    "61": 16,
    "80": 8,
    "160": 16,
    "212": 12,
    "310": Fraction(32, 3),  # three samples in 32 bits
    "311": Fraction(32, 3),
}


def _bits_per_frame(header) -> dict[str, Fraction]:
    """``{signal file: bits per frame}`` (exact) of the files in a format of known width (all but the
    compressed ones); wfdb fills ``samps_per_frame`` with 1 where the header gives none."""
    per_file: dict[str, Fraction] = {}
    if not header.n_sig:  # a header without signals names no files
        return per_file
    for fname, fmt, spf in zip(header.file_name, header.fmt, header.samps_per_frame):
        if fmt in _BITS:
            per_file[fname] = per_file.get(fname, Fraction(0)) + _BITS[fmt] * spf
    return per_file


def _check_signal_files(base: Path, header) -> None:
    """Compare each signal file's size with the samples the header promises."""
    if not header.sig_len:  # no length given (or 0): nothing to compare
        return
    for fname, bits_per_frame in _bits_per_frame(header).items():
        f = base.parent / fname
        if not f.exists():
            raise RecordingError(f, "WFDB signal file not found")
        need = math.ceil(header.sig_len * bits_per_frame / 8)
        have = f.stat().st_size
        if have < need:
            raise RecordingError(
                f, f"truncated: header says {header.sig_len} samples ({need} bytes), file holds {have}"
            )


def read_wfdb_annotation_table(record_path: str | os.PathLike, extension: str):
    """Raw annotations: ``(samples int64 (N,), symbols list[str], aux_notes list[str], fs)``."""
    import wfdb

    base = _record_base(record_path)
    f = Path(f"{base}.{extension}")
    if not f.exists():
        raise RecordingError(f, "WFDB annotation file not found")
    try:
        ann = wfdb.rdann(str(base), extension)
    except Exception as e:
        raise RecordingError(f, f"malformed WFDB annotation file: {e}") from e
    fs = ann.fs  # rdann takes the header's rate when the file has none (None: no readable header)
    aux = [(a or "").replace("\x00", "").strip() for a in (ann.aux_note or [""] * len(ann.sample))]
    return np.asarray(ann.sample, dtype=np.int64), list(ann.symbol), aux, fs


def read_wfdb_annotations(
    record_path: str | os.PathLike, extension: str, fs: float | None = None
) -> list[Event]:
    """One :class:`Event` per annotation: onset ``sample / fs``, duration 0, label ``symbol`` (plus the
    aux note when present, e.g. ``"+ (N"``). ``fs`` overrides the file's/header's rate."""
    samples, symbols, aux, file_fs = read_wfdb_annotation_table(record_path, extension)
    rate = fs or file_fs
    if not rate:
        raise RecordingError(
            f"{_record_base(record_path)}.{extension}", "annotation file has no sampling rate; pass fs="
        )
    return [
        Event(onset_s=float(s) / rate, duration_s=0.0, label=(f"{sym} {a.strip()}" if a.strip() else sym))
        for s, sym, a in zip(samples, symbols, aux)
    ]
