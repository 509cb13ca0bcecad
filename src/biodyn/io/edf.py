"""EDF, EDF+ and BDF: read into a :class:`Recording`, write EDF+ with annotations.

Reading goes through edfio after our own header check, so that a truncated file or a header that
lies about the file's size is an error that names the file, never a silently shortened recording.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from biodyn import branches
from biodyn.errors import ChannelError, RecordingError
from biodyn.montage import canonical_name, unique_names
from biodyn.signal.filters import resample
from biodyn.types import Event, Recording

ANNOTATION_LABELS = ("EDF Annotations", "BDF Annotations")


@dataclass
class EdfHeader:
    """The fields of an EDF/BDF header needed to check the file's size."""

    is_bdf: bool
    header_bytes: int
    n_records: int
    record_duration_s: float
    labels: list[str]
    samples_per_record: list[int]
    reserved: str = ""  # "EDF+C" (continuous) or "EDF+D" (discontinuous: records may leave gaps) for EDF+

    @property
    def discontinuous(self) -> bool:
        return self.reserved[:5] in ("EDF+D", "BDF+D")

    @property
    def record_bytes(self) -> int:
        return sum(self.samples_per_record) * (3 if self.is_bdf else 2)


def _field(raw: bytes, start: int, length: int, what: str, path) -> str:
    try:
        return raw[start : start + length].decode("ascii").strip()
    except UnicodeDecodeError:
        raise RecordingError(path, f"header field {what!r} is not ASCII") from None


def read_edf_header(path: str | os.PathLike) -> EdfHeader:
    """Parse and sanity-check an EDF/BDF header against the file size."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            fixed = f.read(256)
            if len(fixed) < 256:
                raise RecordingError(
                    path, f"not an EDF/BDF file: {size} bytes, shorter than the 256-byte header"
                )
            is_bdf = fixed[:1] == b"\xff"
            if not is_bdf and fixed[:1] != b"0":
                raise RecordingError(path, "not an EDF/BDF file: bad version field")

            def num(start, length, what, cast):
                s = _field(fixed, start, length, what, path)
                try:
                    return cast(s)
                except ValueError:
                    raise RecordingError(path, f"header field {what!r} is not a number: {s!r}") from None

            header_bytes = num(184, 8, "header bytes", int)
            n_records = num(236, 8, "number of data records", int)
            duration = num(244, 8, "data record duration", float)
            ns = num(252, 4, "number of signals", int)
            if ns <= 0 or header_bytes != 256 * (ns + 1):
                raise RecordingError(
                    path,
                    f"header says {ns} signals and {header_bytes} header bytes (expected {256 * (ns + 1)})",
                )
            rest = f.read(256 * ns)
            if len(rest) < 256 * ns:
                raise RecordingError(path, f"truncated header: {256 + len(rest)} of {header_bytes} bytes")
    except OSError as e:
        raise RecordingError(path, f"cannot read: {e.strerror or e}") from None
    labels = [_field(rest, 16 * i, 16, "label", path) for i in range(ns)]
    off = 216 * ns
    spr = []
    for i in range(ns):
        s = _field(rest, off + 8 * i, 8, "samples per record", path)
        try:
            spr.append(int(s))
        except ValueError:
            raise RecordingError(
                path, f"samples per record of signal {labels[i]!r} is not an integer: {s!r}"
            ) from None
    data_signals = [i for i, lab in enumerate(labels) if lab not in ANNOTATION_LABELS]
    for i in range(ns):
        if spr[i] < 0 or (spr[i] == 0 and i in data_signals):
            raise RecordingError(
                path,
                f"header field 'samples per record' of signal {labels[i]!r} is {spr[i]}; allowed: an integer >= 1",
            )
    if n_records < -1:
        raise RecordingError(
            path, f"header field 'number of data records' is {n_records}; allowed: -1 (unknown) or >= 0"
        )
    # a record duration of 0 is allowed only in annotation-only EDF+ files (EDF+ spec, section 2.2.4)
    if not math.isfinite(duration) or duration < 0 or (duration == 0 and data_signals):
        raise RecordingError(
            path, f"header field 'data record duration' is {duration!r} s; allowed: a finite number > 0"
        )
    _check_calibration(path, rest, ns, labels, data_signals)
    hdr = EdfHeader(
        is_bdf, header_bytes, n_records, duration, labels, spr, _field(fixed, 192, 44, "reserved", path)
    )
    if data_signals and duration != 1:
        branches.hit("edf.record_not_1s")
    data_bytes = size - header_bytes
    if hdr.record_bytes <= 0:
        raise RecordingError(path, "header describes data records of 0 bytes")
    if n_records == -1:  # allowed while recording: derive from the size, which must be whole records
        if data_bytes % hdr.record_bytes:
            raise RecordingError(
                path,
                f"truncated: {data_bytes} data bytes is not a whole number of {hdr.record_bytes}-byte records",
            )
        hdr.n_records = data_bytes // hdr.record_bytes
    else:
        expected = n_records * hdr.record_bytes
        if data_bytes < expected:
            raise RecordingError(
                path,
                f"truncated: header says {n_records} data records ({expected} bytes), file holds {data_bytes} "
                f"bytes ({data_bytes // hdr.record_bytes} whole records)",
            )
        if data_bytes > expected:
            raise RecordingError(
                path,
                f"header says {n_records} data records ({expected} bytes) but the file holds {data_bytes} data bytes",
            )
    if hdr.n_records == 0:
        raise RecordingError(path, "empty recording: 0 data records")
    return hdr


def _check_calibration(path, rest: bytes, ns: int, labels: list[str], data_signals: list[int]) -> None:
    """Physical and digital min/max of every data signal: numbers, finite, with max != min (a signal whose
    range is empty cannot be converted to physical units)."""
    fields = {}
    for what, start in (
        ("physical minimum", 104),
        ("physical maximum", 112),
        ("digital minimum", 120),
        ("digital maximum", 128),
    ):
        vals = []
        for i in range(ns):
            s = _field(rest, start * ns + 8 * i, 8, what, path)
            try:
                v = float(s)
            except ValueError:
                v = None
            if i in data_signals and (v is None or not math.isfinite(v)):
                raise RecordingError(
                    path, f"header field {what!r} of signal {labels[i]!r} is not a number: {s!r}"
                )
            vals.append(v)
        fields[what] = vals
    for i in data_signals:
        dmin, dmax = fields["digital minimum"][i], fields["digital maximum"][i]
        pmin, pmax = fields["physical minimum"][i], fields["physical maximum"][i]
        if dmax <= dmin:
            raise RecordingError(
                path,
                f"header fields 'digital minimum'/'digital maximum' of signal {labels[i]!r} are {dmin:g}/"
                f"{dmax:g}; allowed: maximum > minimum (the signal cannot be calibrated)",
            )
        if pmax == pmin:
            raise RecordingError(
                path,
                f"header fields 'physical minimum'/'physical maximum' of signal {labels[i]!r} are both "
                f"{pmin:g}; allowed: two different values (the signal cannot be calibrated)",
            )


_TAL_ONSET = re.compile(rb"^([+-][0-9]+(?:\.[0-9]*)?)(?:\x15[^\x14]*)?\x14")


def record_onsets(path: str | os.PathLike, hdr: EdfHeader | None = None) -> np.ndarray:
    """Start time (s after the file's start) of every data record ``(n_records,)``, read from the first
    time-keeping annotation (TAL) of the ``EDF Annotations`` signal in each record, as the EDF+ specification
    (section 2.2.4) defines; a plain EDF (no annotation signal) has contiguous records."""
    path = Path(path)
    hdr = hdr or read_edf_header(path)
    ann = [i for i, lab in enumerate(hdr.labels) if lab in ANNOTATION_LABELS]
    if not ann:
        return np.arange(hdr.n_records) * hdr.record_duration_s
    width = 3 if hdr.is_bdf else 2
    start = sum(hdr.samples_per_record[: ann[0]]) * width
    size = hdr.samples_per_record[ann[0]] * width
    out = np.empty(hdr.n_records)
    with open(path, "rb") as f:
        for k in range(hdr.n_records):
            f.seek(hdr.header_bytes + k * hdr.record_bytes + start)
            m = _TAL_ONSET.match(f.read(size))
            if m is None:
                raise RecordingError(
                    path, f"data record {k}: no time-keeping annotation (+onset) in {hdr.labels[ann[0]]!r}"
                )
            out[k] = float(m.group(1))
    return out


def check_continuous(path: str | os.PathLike, hdr: EdfHeader) -> None:
    """An EDF+D file whose records leave a gap (or overlap) is refused, naming the first gap: biodyn's
    readers return one continuous ``(C, T)`` array, and reading across a gap would put every later sample
    (and event) at the wrong time. An EDF+D file without a gap is read as continuous."""
    if not hdr.discontinuous:
        return
    onsets = record_onsets(path, hdr)
    expected = onsets[0] + np.arange(len(onsets)) * hdr.record_duration_s
    off = np.flatnonzero(np.abs(onsets - expected) > 1e-6 * max(1.0, hdr.record_duration_s))
    if len(off):
        k = int(off[0])
        end = onsets[k - 1] + hdr.record_duration_s if k else onsets[0]
        gap = onsets[k] - end
        raise RecordingError(
            path,
            f"EDF+D (discontinuous): data record {k} starts at {onsets[k]:g} s, "
            f"{'a gap of' if gap > 0 else 'an overlap of'} {abs(gap):g} s after the "
            f"previous one ends at {end:g} s; biodyn reads continuous recordings only: split "
            "the file at its gaps (e.g. one EDF+C per segment)",
        )


def _open(path: Path, hdr: EdfHeader):
    import edfio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return edfio.read_bdf(path) if hdr.is_bdf else edfio.read_edf(path)
        except Exception as e:  # edfio raises ValueError/IndexError on malformed content
            raise RecordingError(path, f"malformed EDF/BDF content: {e}") from e


def _events(edf, path=None) -> list[Event]:
    out = []
    for k, a in enumerate(edf.annotations):
        text = (a.text or "").strip()
        if text:
            onset, duration = float(a.onset), float(a.duration or 0.0)
            if not (math.isfinite(onset) and math.isfinite(duration)):
                raise RecordingError(
                    path,
                    f"annotation {k} ({text!r}): onset {onset} s, duration {duration} s; allowed: finite seconds",
                )
            out.append(Event(onset_s=onset, duration_s=duration, label=text))
    return out


def renamed_duplicates(base: list[str], names: list[str]) -> list[dict[str, str]]:
    """``[{"channel": "T8-P8", "renamed": "T8-P8#2"}]``: the repeated names :func:`unique_names` renamed."""
    return [{"channel": b, "renamed": n} for b, n in zip(base, names, strict=True) if b != n]


def _group_renamed(renamed: list[dict[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in renamed:
        out.setdefault(r["channel"], []).append(r["renamed"])
    return out


def read_edf_annotations(path: str | os.PathLike) -> list[Event]:
    """Annotations of an EDF+/BDF+ file (e.g. an annotation-only Sleep-EDF hypnogram)."""
    path = Path(path)
    return _events(_open(path, read_edf_header(path)), path)


def _warn_duplicates(path, sigs, orig: list[str], names: list[str]) -> None:
    """Say which channels share a name and hold different samples (a selection by name takes the first, so
    the other is never used): said, not silently accepted. Same-named copies of one signal (CHB-MIT repeats
    ``T8-P8``) are harmless and not reported."""
    first: dict[str, int] = {}
    differing = []
    for i, n in enumerate(names):
        base = n.split("#")[0] if "#" in n and "#" not in orig[i] else n
        if base not in first:
            first[base] = i
            continue
        j = first[base]
        if not np.array_equal(sigs[i].data, sigs[j].data):
            differing.append(f"{orig[j]!r} and {orig[i]!r} (kept as {names[j]}, {n})")
    if differing:
        warnings.warn(
            f"{path}: channels with the same name hold different signals: {'; '.join(differing)}; "
            "a selection by name takes the first",
            stacklevel=3,
        )


def read_edf(
    path: str | os.PathLike,
    *,
    fs: float | None = None,
    channels: list[str] | None = None,
    canonical: bool = True,
) -> Recording:
    """Read an EDF, EDF+ or BDF file.

    Args:
        path: the file.
        fs: bring every kept channel to this rate (Hz); default: the highest rate among them. Channels at
            other rates are resampled (polyphase).
        channels: keep these channels, in this order (matched by canonical name); a missing one raises
            :class:`ChannelError` naming it.
        canonical: rename channels to canonical names (:func:`biodyn.montage.canonical_name`); duplicate
            names get a ``#2`` suffix.

    Returns:
        A :class:`Recording` with ``data`` float32 ``(C, T)`` in physical units (``meta["units"]``),
        annotations as ``events``, and ``meta`` keys ``path``, ``start_time``, ``original_channels``,
        ``units``, ``original_fs``, ``renamed_channels`` (repeated names renamed ``#2``..., also warned once).
    """
    path = Path(path)
    hdr = read_edf_header(path)
    check_continuous(path, hdr)
    edf = _open(path, hdr)
    sigs = list(edf.signals)
    orig = [s.label for s in sigs]
    base = [canonical_name(n) for n in orig] if canonical else list(orig)
    names = unique_names(base)
    renamed = renamed_duplicates(base, names)
    for ch, kept in _group_renamed(renamed).items():
        times = "twice" if len(kept) == 1 else f"{len(kept) + 1} times"
        warnings.warn(
            f"{path}: channel {ch} appears {times}, the {'second' if len(kept) == 1 else 'others'} "
            f"kept as {', '.join(kept)}",
            stacklevel=2,
        )
    _warn_duplicates(path, sigs, orig, names)  # and, beyond the renaming, copies that differ
    if channels is not None:
        want = [canonical_name(c) if canonical else c for c in channels]
        index = {n: i for i, n in enumerate(names)}
        missing = [w for w in want if w not in index]
        if missing:
            raise ChannelError(path, f"missing channel(s) {', '.join(missing)}; file has {', '.join(names)}")
        keep = [index[w] for w in want]
    else:
        keep = list(range(len(sigs)))
    if not keep:
        raise ChannelError(
            path,
            "no signal channels: an annotation-only file (e.g. a hypnogram) holds events, not a recording",
        )
    rates = [float(sigs[i].sampling_frequency) for i in keep]
    target = float(fs) if fs is not None else max(rates)
    n_out = round(hdr.n_records * hdr.record_duration_s * target)
    data = np.empty((len(keep), n_out), dtype=np.float32)
    for row, i in enumerate(keep):
        x = sigs[i].data.astype(np.float32)
        if rates[row] != target:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                x = resample(x, rates[row], target)
        m = min(n_out, x.shape[-1])
        data[row, :m] = x[:m]
        if m < n_out:  # resampling rounding: at most a sample or two
            data[row, m:] = x[m - 1] if m else 0.0
    start = None
    try:
        start = edf.startdatetime.isoformat()
    except Exception:  # anonymised dates are allowed in EDF+
        pass
    meta = {
        "path": str(path),
        "format": "bdf" if hdr.is_bdf else "edf",
        "start_time": start,
        "original_channels": [orig[i] for i in keep],
        "original_fs": rates,
        "units": [sigs[i].physical_dimension for i in keep],
        "renamed_channels": [r for r in renamed if r["renamed"] in {names[i] for i in keep}],
    }
    return Recording(
        data=data, fs=target, channels=[names[i] for i in keep], events=_events(edf, path), meta=meta
    )


def write_edf(
    path: str | os.PathLike, recording: Recording, *, annotations: bool = True, bdf: bool = False
) -> None:
    """Write ``recording`` as EDF+ (or BDF+) with its events as annotations, atomically.

    Each channel's physical range is its data range (EDF stores 16-bit integers: quantisation error is
    ``range / 65535``). Units come from ``meta["units"]`` (default ``uV``).
    """
    import edfio

    from biodyn.atomic import atomic_path

    path = Path(path)
    units = recording.meta.get("units") or ["uV"] * recording.n_channels
    signals = []
    for row, name in enumerate(recording.channels):
        x = recording.data[row].astype(np.float64)
        if not np.all(np.isfinite(x)):
            raise RecordingError(path, f"cannot write non-finite samples of channel {name}")
        lo, hi = float(x.min()), float(x.max())
        if hi - lo < 1e-9:
            lo, hi = lo - 1.0, hi + 1.0
        cls = edfio.BdfSignal if bdf else edfio.EdfSignal
        signals.append(
            cls(
                x,
                sampling_frequency=recording.fs,
                label=name[:16],
                physical_dimension=str(units[row])[:8],
                physical_range=(lo, hi),
            )
        )
    anns = []
    if annotations:
        anns = [edfio.EdfAnnotation(e.onset_s, e.duration_s or None, e.label) for e in recording.events]
    edf = (edfio.Bdf if bdf else edfio.Edf)(signals, annotations=anns)
    with atomic_path(path, suffix=path.suffix) as tmp:
        edf.write(tmp)


def edf_info(path: str | os.PathLike) -> dict:
    """Channels, rates and duration from the header alone (no samples read)."""
    hdr = read_edf_header(path)
    keep = [i for i, lab in enumerate(hdr.labels) if lab not in ANNOTATION_LABELS]
    return {
        "channels": [canonical_name(hdr.labels[i]) for i in keep],
        "fs": [hdr.samples_per_record[i] / hdr.record_duration_s for i in keep]
        if hdr.record_duration_s
        else [],
        "duration_s": hdr.n_records * hdr.record_duration_s,
    }
