"""Siena Scalp EEG (Detti et al. 2020; PhysioNet ``siena-scalp-eeg/1.0.0``, ODC-By).

Layout: ``PNxx/PNxx-N.edf`` (EDF+, 512 Hz, referential ``EEG Fp1``-style labels with the old temporal names
``T3``/``T4``/``T5``/``T6``, plus ``EKG EKG`` and, in some files, ``SPO2``, ``HR``, ``MK`` and numbered
auxiliary channels) and one ``PNxx/Seizures-list-PNxx.txt`` per subject, whose seizures are given as clock
times::

    Seizure n 1
    File name: PN00-1.edf
    Registration start time: 19.39.33
    Registration end time:  20.22.58
    Seizure start time: 19.58.36
    Seizure end time: 19.59.46

A seizure's onset in seconds is its clock time minus the file's registration start, modulo 24 h (recordings
run past midnight). The lists are hand-written and vary: ``Start time:`` / ``End time:`` without the
``Seizure`` prefix (PN01, whose one file holds two seizures), ``:`` as well as ``.`` between the fields, stray
spaces inside a time (``1 6.49.25``), a seizure block without its own registration time (it shares the
previous block's, for the same file), and file names that differ from the EDFs' (``PNO6-1.edf`` with a
letter O, ``PN01.edf`` and ``PN11-.edf`` for ``PN01-1.edf`` and ``PN11-1.edf``); :func:`edf_name` maps them.
One end time is a typo that :data:`ERRATA` corrects (PN00-3: ``19.29.29`` for ``18.29.29``, a 61-minute
"seizure"; the epilepsy2bids conversion SzCORE scores against applies the same correction). A root-level
``subject_info.csv`` (age, sex, seizure type, localisation) is optional.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from biodyn.datasets._base import RecordRef, SeizureCorpus, summarize
from biodyn.errors import RecordingError
from biodyn.montage import TEN_TWENTY_19
from biodyn.types import Event, Recording

FS = 512.0
DAY_S = 24 * 3600
# {EDF name: {time as written in the list: corrected time}}, applied to that file's seizure end times
ERRATA: dict[str, dict[str, str]] = {"PN00-3.edf": {"19.29.29": "18.29.29"}}

_TIME = re.compile(r"(\d{1,2})[.:](\d{2})[.:](\d{2})")
_FILE = re.compile(r"^file\s*name\s*:\s*(\S+)", re.IGNORECASE)
_REG_START = re.compile(r"^registration\s+start\s+time\s*:(.*)$", re.IGNORECASE)
_REG_END = re.compile(r"^registration\s+end\s+time\s*:(.*)$", re.IGNORECASE)
_SZ_START = re.compile(r"^(?:seizure\s+)?start\s+time\s*:(.*)$", re.IGNORECASE)
_SZ_END = re.compile(r"^(?:seizure\s+)?end\s+time\s*:(.*)$", re.IGNORECASE)


def edf_name(listed: str) -> str:
    """The EDF file name a seizure list means by ``listed``: ``PNO6-1.edf`` -> ``PN06-1.edf``,
    ``PN01.edf`` -> ``PN01-1.edf``, ``PN11-.edf`` -> ``PN11-1.edf``; other names unchanged."""
    name = listed.strip()
    name = re.sub(r"^PNO(\d)", r"PN0\1", name, flags=re.IGNORECASE)
    name = re.sub(r"^(PN\d\d)-?\.edf$", r"\1-1.edf", name, flags=re.IGNORECASE)
    return name


def clock_seconds(text: str) -> int:
    """Seconds since midnight of the first ``HH.MM.SS`` (or ``HH:MM:SS``) in ``text``; spaces inside the
    time are ignored (``1 6.49.25`` is 16:49:25). ValueError if there is none or it is not a time of day."""
    m = _TIME.search(re.sub(r"\s+", "", text))
    if m is None:
        raise ValueError(f"no HH.MM.SS time in {text.strip()!r}")
    h, mi, s = (int(g) for g in m.groups())
    if h > 23 or mi > 59 or s > 59:
        raise ValueError(f"{m.group(0)} is not a time of day")
    return h * 3600 + mi * 60 + s


@dataclass
class SeizureList:
    """One ``Seizures-list-PNxx.txt``: per EDF name, its registration start (seconds since midnight) and
    its seizures ``(start_s, end_s)`` from the start of the file."""

    path: Path
    registration_start: dict[str, int] = field(default_factory=dict)
    seizures: dict[str, list[tuple[float, float]]] = field(default_factory=dict)


def parse_seizure_list(path: str | Path, start_times: dict[str, int] | None = None) -> SeizureList:
    """Parse a Siena ``Seizures-list-PNxx.txt`` (module docstring). ``start_times``: ``{EDF name: seconds
    since midnight}`` from the EDF headers, used for a file the list gives no registration time for.

    A seizure without an end, an end without a start, a time that cannot be read, or a seizure of a file
    with no known start is a :class:`RecordingError` naming the file and line."""
    path = Path(path)
    out = SeizureList(path)
    current: str | None = None
    pending: tuple[int, int] | None = None  # (clock seconds, line number) of a start without its end
    for lineno, raw in enumerate(path.read_text(errors="replace").splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        try:
            m = _FILE.match(line)
            if m:
                if pending is not None:
                    raise RecordingError(path, f"line {pending[1]}: seizure start has no end time")
                current = edf_name(m.group(1))
                out.seizures.setdefault(current, [])
                continue
            if current is None:
                continue
            m = _REG_START.match(line)
            if m:
                out.registration_start[current] = clock_seconds(m.group(1))
                continue
            if _REG_END.match(line):
                continue
            m = _SZ_START.match(line)
            if m:
                if pending is not None:
                    raise RecordingError(path, f"line {lineno}: two seizure starts without an end")
                pending = (clock_seconds(m.group(1)), lineno)
                continue
            m = _SZ_END.match(line)
            if m:
                if pending is None:
                    raise RecordingError(path, f"line {lineno}: seizure end without a start")
                text = m.group(1)
                for wrong, right in ERRATA.get(current, {}).items():
                    text = text.replace(wrong, right)
                end = clock_seconds(text)
                reg = out.registration_start.get(current, (start_times or {}).get(current))
                if reg is None:
                    raise RecordingError(path, f"line {lineno}: {current} has no registration start time")
                onset, offset = (pending[0] - reg) % DAY_S, (end - reg) % DAY_S
                if offset <= onset:
                    raise RecordingError(
                        path, f"line {lineno}: seizure end {text.strip()} is not after its start"
                    )
                out.seizures[current].append((float(onset), float(offset)))
                pending = None
        except ValueError as e:
            raise RecordingError(path, f"line {lineno}: {e}") from None
    if pending is not None:
        raise RecordingError(path, f"line {pending[1]}: seizure start has no end time")
    return out


def _header_start_s(path: Path) -> int | None:
    """Seconds since midnight of an EDF's start time (header bytes 176-183, ``hh.mm.ss``), or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(184)
        return clock_seconds(head[176:184].decode("ascii"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


class Siena(SeizureCorpus):
    """Siena Scalp EEG: 14 adults, 512 Hz; per-sample seizure labels (0 background, 1 seizure) on the 19
    referential 10-20 channels (modern names; ``T3`` is read as ``T7``)."""

    name = "siena"

    def __init__(self, root, channels: tuple[str, ...] = TEN_TWENTY_19):
        super().__init__(root, channels)

    def seizure_lists(self) -> dict[str, SeizureList]:
        """``{subject: parsed list}`` for every ``PNxx/Seizures-list-PNxx.txt``."""
        out = {}
        for p in sorted(self.root.glob("PN*/Seizures-list-*.txt")):
            edfs = {e.name: e for e in p.parent.glob("*.edf")}
            starts = {n: s for n, e in edfs.items() if (s := _header_start_s(e)) is not None}
            out[p.parent.name] = parse_seizure_list(p, starts)
        return out

    def records(self) -> list[RecordRef]:
        lists = self.seizure_lists()
        refs, seen = [], set()
        for edf in sorted(self.root.glob("PN*/PN*.edf")):
            subject = edf.parent.name
            lst = lists.get(subject)
            seiz = list(lst.seizures.get(edf.name, [])) if lst else []
            refs.append(
                RecordRef(edf.stem, edf, subject=subject, meta={"seizures": seiz, "listed": lst is not None})
            )
            seen.add((subject, edf.name))
        for subject, lst in lists.items():  # listed in a seizure list, signal file absent
            for name, seiz in lst.seizures.items():
                if (subject, name) not in seen:
                    p = self.root / subject / name
                    refs.append(
                        RecordRef(p.stem, p, subject=subject, meta={"seizures": seiz, "listed": True})
                    )
        return sorted(refs, key=lambda r: r.record_id)

    def load(self, ref: RecordRef) -> Recording:
        from biodyn.io import read_edf

        if not Path(ref.path).exists():
            raise RecordingError(ref.path, "EDF file not found")
        if not ref.meta.get("listed", True):
            raise RecordingError(ref.path, f"no Seizures-list-{ref.subject}.txt beside it: labels unknown")
        rec = read_edf(ref.path, channels=list(self.channels))
        rec.events = [Event(a, b - a, "seiz") for a, b in ref.meta["seizures"]]
        rec.meta.update(record_id=ref.record_id, subject=ref.subject)
        return rec

    def summary(self) -> dict[str, Any]:
        refs = self.records()
        infos, missing = self.header_infos(refs)
        seizures = {r.record_id: r.meta["seizures"] for r in refs if r.meta["seizures"]}
        unlisted = sorted(r.record_id for r in refs if not r.meta.get("listed", True))
        return summarize(
            self.name,
            refs,
            infos,
            missing,
            bad_files=self.bad_files,
            labels={
                "seizures": sum(len(v) for v in seizures.values()),
                "files_with_seizures": len(seizures),
                "seizure_seconds": round(sum(b - a for v in seizures.values() for a, b in v), 3),
            },
            label_counts={"seiz": sum(len(v) for v in seizures.values())},
            records_without_seizure_list=unlisted,
        )
