"""Event files: TUSZ v2 ``.csv``/``.csv_bi`` and legacy ``.tse``/``.tse_bi`` annotations, our ``.json`` event
lists, and the files NEDC scoring reads (lists of annotation files, the TOML parameter file)."""

from __future__ import annotations

import csv
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from biodyn.errors import ConfigError, RecordingError
from biodyn.types import Event

# TUSZ v2 seizure labels (the eight seizure types plus the generic "seiz"); "bckg" is background.
TUSZ_SEIZURE_LABELS = frozenset(
    {"seiz", "fnsz", "gnsz", "spsz", "cpsz", "absz", "tnsz", "cnsz", "tcsz", "atsz", "mysz", "nesz"}
)
TUSZ_BACKGROUND = "bckg"


@dataclass
class AnnotationFile:
    """The content of one annotation file: events, the file's declared duration, header fields."""

    path: Path
    events: list[Event]
    duration_s: float | None
    header: dict[str, str] = field(default_factory=dict)
    lines: list[int] = field(default_factory=list)  # the line each event came from (for error messages)

    def check_labels(self, allowed) -> None:
        """Raise :class:`RecordingError` naming the file and line of the first label not in ``allowed``."""
        for e, ln in zip(self.events, self.lines or [0] * len(self.events)):
            if e.label not in allowed:
                raise RecordingError(
                    self.path, f"line {ln}: unknown label {e.label!r}; expected one of {', '.join(allowed)}"
                )


def _text(path: str | os.PathLike) -> str:
    """The UTF-8 text of ``path``; a binary file is a :class:`RecordingError` naming the first bad byte."""
    try:
        return Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise RecordingError(
            path, f"not a UTF-8 text file (byte {e.start} is {e.object[e.start]:#04x})"
        ) from None


def _read_lines(path: Path) -> list[str]:
    try:
        return _text(path).splitlines()
    except OSError as e:
        raise RecordingError(path, f"cannot read: {e.strerror or e}") from None


def _interval(path: Path, lineno: int, start: str, stop: str, line: str) -> tuple[float, float]:
    """Parse and check one event's start and stop seconds; errors name the file and line."""
    try:
        a, b = float(start), float(stop)
    except ValueError:
        raise RecordingError(path, f"line {lineno}: start/stop are not numbers: {line!r}") from None
    if not (math.isfinite(a) and math.isfinite(b)):
        raise RecordingError(
            path, f"line {lineno}: start={start} stop={stop}; allowed: finite seconds (no nan/inf): {line!r}"
        )
    if a < 0 or b < a:
        raise RecordingError(path, f"line {lineno}: invalid interval start={a} stop={b}")
    return a, b


def read_tusz_csv(path: str | os.PathLike) -> AnnotationFile:
    """Read a TUSZ v2 ``.csv`` (per-channel rows) or ``.csv_bi`` (``TERM`` rows) annotation file.

    Header lines start with ``#`` (``# duration = 1289.0000 secs``), then the column line
    ``channel,start_time,stop_time,label,confidence``. Per-channel rows keep their channel in
    ``Event.channels``; ``TERM`` rows have ``channels=None``. Errors name the file and line.
    """
    path = Path(path)
    lines = _read_lines(path)
    header: dict[str, str] = {}
    events: list[Event] = []
    event_lines: list[int] = []
    columns = None
    for lineno, line in enumerate(lines, 1):
        s = line.strip()
        if not s:
            continue
        if s.startswith("#"):
            if "=" in s:
                k, v = s[1:].split("=", 1)
                header[k.strip()] = v.strip()
            continue
        if columns is None:
            columns = [c.strip() for c in s.split(",")]
            need = ["channel", "start_time", "stop_time", "label"]
            if columns[:4] != need:
                raise RecordingError(path, f"line {lineno}: expected columns {','.join(need)}, got {s!r}")
            continue
        parts = [p.strip() for p in s.split(",")]
        if len(parts) < 4:
            raise RecordingError(path, f"line {lineno}: expected at least 4 fields, got {s!r}")
        start, stop = _interval(path, lineno, parts[1], parts[2], s)
        label = parts[3].lower()
        chan = None if parts[0].upper() == "TERM" else (parts[0],)
        events.append(Event(onset_s=start, duration_s=stop - start, label=label, channels=chan))
        event_lines.append(lineno)
    duration = None
    if "duration" in header:
        try:
            duration = float(header["duration"].split()[0])
        except (ValueError, IndexError):
            raise RecordingError(path, f"header: duration is not a number: {header['duration']!r}") from None
        if not math.isfinite(duration) or duration < 0:
            raise RecordingError(
                path, f"header: duration = {header['duration']!r}; allowed: finite seconds >= 0"
            )
    return AnnotationFile(path, events, duration, header, event_lines)


def read_tse(path: str | os.PathLike) -> AnnotationFile:
    """Read a legacy TUSZ ``.tse``/``.tse_bi`` file: ``version = tse_v1.0.0`` then ``start stop label prob``."""
    path = Path(path)
    lines = _read_lines(path)
    events, event_lines = [], []
    for lineno, line in enumerate(lines, 1):
        s = line.strip()
        if not s or s.startswith("version") or s.startswith("#"):
            continue
        parts = s.split()
        if len(parts) < 3:
            raise RecordingError(path, f"line {lineno}: expected 'start stop label [prob]', got {s!r}")
        start, stop = _interval(path, lineno, parts[0], parts[1], s)
        events.append(Event(onset_s=start, duration_s=stop - start, label=parts[2].lower()))
        event_lines.append(lineno)
    duration = max((e.offset_s for e in events), default=None)
    return AnnotationFile(path, events, duration, {}, event_lines)


def read_event_json(path: str | os.PathLike) -> AnnotationFile:
    """Our own event list: ``{"duration_s": 600.0, "events": [{"onset_s", "duration_s", "label"}, ...]}``."""
    import json

    path = Path(path)
    try:
        d = json.loads(_text(path))
        events = [
            Event(float(e["onset_s"]), float(e["duration_s"]), str(e["label"]).lower()) for e in d["events"]
        ]
        duration = None if d.get("duration_s") is None else float(d["duration_s"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise RecordingError(path, f"not a biodyn event list: {e}") from None
    for k, e in enumerate(events):
        if not (math.isfinite(e.onset_s) and math.isfinite(e.duration_s)):
            raise RecordingError(
                path,
                f"event {k}: onset_s={e.onset_s} duration_s={e.duration_s}; allowed: finite seconds (no nan/inf)",
            )
        if e.onset_s < 0 or e.duration_s < 0:
            raise RecordingError(
                path, f"event {k}: negative onset_s={e.onset_s} or duration_s={e.duration_s}"
            )
    if duration is not None and (not math.isfinite(duration) or duration < 0):
        raise RecordingError(path, f"duration_s={duration}; allowed: finite seconds >= 0")
    return AnnotationFile(path, events, duration, {}, list(range(len(events))))


def write_event_json(path: str | os.PathLike, events, duration_s: float | None) -> None:
    """Write an event list readable by :func:`read_event_json` (atomically)."""
    from biodyn.atomic import atomic_write_json

    atomic_write_json(
        path,
        {
            "duration_s": duration_s,
            "events": [{"onset_s": e.onset_s, "duration_s": e.duration_s, "label": e.label} for e in events],
        },
    )


def read_annotation_file(path: str | os.PathLike) -> AnnotationFile:
    """Dispatch on the suffix: ``.csv``/``.csv_bi``, ``.tse``/``.tse_bi`` or our ``.json`` event list."""
    p = Path(path)
    if p.suffix in (".csv", ".csv_bi"):
        return read_tusz_csv(p)
    if p.suffix in (".tse", ".tse_bi"):
        return read_tse(p)
    if p.suffix == ".json":
        return read_event_json(p)
    raise RecordingError(
        p, f"unknown annotation format {p.suffix!r}; expected .csv, .csv_bi, .tse, .tse_bi or .json"
    )


def read_annotation_files(paths) -> list[AnnotationFile]:
    """:func:`read_annotation_file` of each path, in order."""
    return [read_annotation_file(p) for p in paths]


def read_nedc_list(path: str | os.PathLike, nfc: str | None = None) -> list[Path]:
    """Annotation file paths of an NEDC list (one per line). ``$NEDC_NFC`` expands to ``nfc``, else the
    environment variable, else the folder two levels above the list's folder (the NEDC tree's root)."""
    path = Path(path)
    root = nfc or os.environ.get("NEDC_NFC") or str(path.resolve().parent.parent.parent)
    out = []
    try:
        text = _text(path)
    except OSError as e:
        raise RecordingError(path, f"cannot read the list: {e.strerror or e}") from None
    for lineno, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        p = Path(re.sub(r"\$(\{NEDC_NFC\}|NEDC_NFC)", root.replace("\\", "/"), s))
        if not p.is_absolute():
            p = path.parent / p
        if not p.exists():
            raise RecordingError(path, f"line {lineno}: annotation file {p} does not exist")
        out.append(p)
    if not out:
        raise RecordingError(path, "the list names no annotation files (empty, or only comments)")
    return out


def read_nedc_params(path: str | os.PathLike) -> dict:
    """The content of an NEDC parameter file (``nedc_eeg_eval_params_v00.toml``) as a dict; pass it to
    :meth:`biodyn.metrics.nedc.NedcParams.from_mapping`."""
    import tomllib

    try:
        return tomllib.loads(_text(path))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise RecordingError(path, f"cannot read NEDC parameters: {e}") from None


# ------------------------------------------------------------------------------- onset-channel tables
def read_onset_csv(path: str | os.PathLike) -> dict[tuple[str, int], list[str]]:
    """``{(record, seizure_index): [onset channels]}`` from the documented CSV; errors name file and line."""
    from biodyn.montage import canonical_name

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"onset file {path} does not exist")
    lines = _text(path).splitlines()
    body = [(k + 1, ln) for k, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")]
    if not body:
        raise RecordingError(path, "no header line (record,seizure_index,channels)")
    header = [h.strip() for h in next(csv.reader([body[0][1]]))]
    if header != ["record", "seizure_index", "channels"]:
        raise RecordingError(
            path, f"line {body[0][0]}: header must be record,seizure_index,channels; got {header}"
        )
    out: dict[tuple[str, int], list[str]] = {}
    for lineno, ln in body[1:]:
        row = next(csv.reader([ln]))
        if len(row) != 3:
            raise RecordingError(path, f"line {lineno}: expected 3 fields, got {len(row)}: {ln!r}")
        rec, idx, chans = (r.strip() for r in row)
        try:
            k = int(idx)
        except ValueError:
            raise RecordingError(path, f"line {lineno}: seizure_index {idx!r} is not an integer") from None
        names = [canonical_name(c.strip()) for c in chans.split(";") if c.strip()]
        if not names or k < 0:
            raise RecordingError(path, f"line {lineno}: needs a seizure_index >= 0 and at least one channel")
        if (rec, k) in out:
            raise RecordingError(path, f"line {lineno}: ({rec}, {k}) listed twice")
        out[(rec, k)] = names
    return out


def write_onset_csv(
    path: str | os.PathLike, onsets: dict[tuple[str, int], list[str]], comment: str = ""
) -> None:
    """Write ``{(record, seizure_index): [channels]}`` as the onset CSV :func:`read_onset_csv` reads, with
    ``comment`` lines first."""
    from biodyn.atomic import atomic_write_text

    lines = [f"# {c}" for c in comment.splitlines()] + ["record,seizure_index,channels"]
    lines += [f"{r},{k},{';'.join(ch)}" for (r, k), ch in sorted(onsets.items())]
    atomic_write_text(path, "\n".join(lines) + "\n")
