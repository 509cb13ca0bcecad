"""CHB-MIT Scalp EEG (Shoeb 2009; PhysioNet ``chbmit/1.0.0``).

Layout: ``chbNN/chbNN-summary.txt`` (channel lists, per-file seizure start/end seconds),
``chbNN/chbNN_MM.edf`` (23 bipolar channels at 256 Hz) and ``chbNN/chbNN_MM.edf.seizures`` (WFDB
annotations: ``[`` at seizure onset and ``]`` at its end). Summary files may also sit directly in the
root (as in the bundled sample); EDFs are looked up beside their summary and under ``chbNN/``.

Cases and subjects: PhysioNet groups the recordings into cases (``chb01`` ... ``chb23``, from 22 subjects;
``chb24`` was added later). Case chb17's files are ``chb17a_NN.edf`` / ``chb17b_NN.edf`` /
``chb17c_NN.edf`` (one patient), and case chb21 is chb01's patient, recorded later. :func:`case_of` gives a
file's case and :func:`subject_of` its person: the ``subject`` of every record (the case is in
``meta["case"]``), so that a patient-disjoint split never puts one person on both sides.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from biodyn.datasets._base import RecordRef, SeizureCorpus, summarize
from biodyn.errors import RecordingError
from biodyn.montage import canonical_name
from biodyn.signal.config import CLDTRANS_EEG, SEIZURE_EEG
from biodyn.types import Event, Recording

# The 18 double-banana derivations present in every CHB-MIT subject, plus the midline pair (canonical names).
CHANNELS: tuple[str, ...] = (
    "Fp1-F7",
    "F7-T7",
    "T7-P7",
    "P7-O1",
    "Fp1-F3",
    "F3-C3",
    "C3-P3",
    "P3-O1",
    "Fp2-F4",
    "F4-C4",
    "C4-P4",
    "P4-O2",
    "Fp2-F8",
    "F8-T8",
    "T8-P8",
    "P8-O2",
    "Fz-Cz",
    "Cz-Pz",
)

PREPROCESS = {"seizure": SEIZURE_EEG, "cldtrans": CLDTRANS_EEG}

# PhysioNet CHB-MIT description: "Case chb21 was obtained 1.5 years after case chb01, from the same female subject"
SAME_SUBJECT = {"chb21": "chb01"}
_CASE = re.compile(r"^(chb\d+)[a-z]?(?:_|$)", re.IGNORECASE)


def case_of(name: str) -> str:
    """The CHB-MIT case of a file name, record id or case folder: ``chb17a_03.edf`` -> ``chb17``,
    ``chb01_03`` -> ``chb01``; a name not in the ``chbNN[x]_MM`` form keeps its part before the first ``_``."""
    stem = Path(str(name)).name
    m = _CASE.match(stem)
    return m.group(1).lower() if m else stem.split("_")[0]


def subject_of(name: str) -> str:
    """The person of a CHB-MIT file name, record id or case folder: its case, except that case chb21 is
    chb01's patient (``chb21_05`` -> ``chb01``; ``chb17c_02`` -> ``chb17``)."""
    case = case_of(name)
    return SAME_SUBJECT.get(case, case)


_FILE = re.compile(r"^File Name:\s*(\S+)")
_NSEIZ = re.compile(r"^Number of Seizures in File:\s*(\d+)")
_START = re.compile(r"^Seizure(?:\s+\d+)?\s+Start Time:\s*(\d+(?:\.\d+)?)\s*seconds")
_END = re.compile(r"^Seizure(?:\s+\d+)?\s+End Time:\s*(\d+(?:\.\d+)?)\s*seconds")
_CHAN = re.compile(r"^Channel\s+\d+:\s*(.*)$")


@dataclass
class SummaryFile:
    """One ``chbNN_MM.edf`` entry of a summary file."""

    file_name: str
    seizures: list[tuple[float, float]] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    declared: int = 0


def parse_summary(path: str | Path) -> list[SummaryFile]:
    """Parse ``chbNN-summary.txt``: per EDF file its seizures ``(start_s, end_s)`` and channel list.

    A malformed line (a start without an end, a count that disagrees with the listed seizures)
    raises :class:`RecordingError` naming the file and line.
    """
    path = Path(path)
    files: list[SummaryFile] = []
    channels: list[str] = []
    reading_channels = False
    pending_start = None
    for lineno, raw in enumerate(path.read_text(errors="replace").splitlines(), 1):
        line = raw.strip()
        if line.startswith("Channels in EDF Files") or line.startswith("Channels changed"):
            channels, reading_channels = [], True
            continue
        m = _CHAN.match(line)
        if m and reading_channels:
            channels.append(m.group(1).strip())
            continue
        m = _FILE.match(line)
        if m:
            reading_channels = False
            if pending_start is not None:
                raise RecordingError(path, f"line {lineno}: seizure start {pending_start} s has no end time")
            files.append(SummaryFile(m.group(1), channels=list(channels)))
            continue
        if not files:
            continue
        m = _NSEIZ.match(line)
        if m:
            files[-1].declared = int(m.group(1))
            continue
        m = _START.match(line)
        if m:
            if pending_start is not None:
                raise RecordingError(path, f"line {lineno}: two seizure starts without an end")
            pending_start = float(m.group(1))
            continue
        m = _END.match(line)
        if m:
            if pending_start is None:
                raise RecordingError(path, f"line {lineno}: seizure end without a start")
            end = float(m.group(1))
            if end <= pending_start:
                raise RecordingError(
                    path, f"line {lineno}: seizure end {end} s is not after its start {pending_start} s"
                )
            files[-1].seizures.append((pending_start, end))
            pending_start = None
            continue
        if line.startswith("Seizure") and ("Start" in line or "End" in line):
            raise RecordingError(path, f"line {lineno}: cannot parse {line!r}")
    for f in files:
        if f.declared != len(f.seizures):
            raise RecordingError(
                path, f"{f.file_name}: declares {f.declared} seizures but lists {len(f.seizures)}"
            )
    return files


def read_seizure_file(path: str | Path, fs: float = 256.0) -> list[tuple[float, float]]:
    """Seizure intervals (seconds) from an official ``.edf.seizures`` WFDB annotation file."""
    from biodyn.io import read_wfdb_annotation_table

    path = Path(path)
    samples, symbols, _, file_fs = read_wfdb_annotation_table(path.with_suffix(""), "seizures")
    rate = file_fs or fs
    out, start = [], None
    for s, sym in zip(samples, symbols):
        if sym == "[":
            start = s
        elif sym == "]" and start is not None:
            out.append((float(start / rate), float(s / rate)))
            start = None
    if start is not None:
        raise RecordingError(path, "a seizure onset '[' has no end ']'")
    return out


class CHBMIT(SeizureCorpus):
    """CHB-MIT: 24 cases of paediatric scalp EEG; per-sample seizure labels (0 background, 1 seizure)."""

    name = "chbmit"

    def __init__(self, root, channels: tuple[str, ...] = CHANNELS, preprocess: str = "seizure"):
        super().__init__(root, channels)
        if preprocess not in PREPROCESS:
            raise ValueError(f"invalid preprocess={preprocess!r}; allowed: {', '.join(PREPROCESS)}")
        self.default_preprocess = PREPROCESS[preprocess]

    def summaries(self) -> dict[Path, list[SummaryFile]]:
        return {p: parse_summary(p) for p in sorted(self.root.rglob("chb*-summary.txt"))}

    def _edf_path(self, summary: Path, file_name: str) -> Path:
        case = case_of(file_name)  # chb17a_03.edf lives under chb17/
        for cand in (
            summary.parent / file_name,
            summary.parent / case / file_name,
            self.root / case / file_name,
        ):
            if cand.exists():
                return cand
        return summary.parent / file_name

    def records(self) -> list[RecordRef]:
        refs = []
        for summ, files in self.summaries().items():
            for f in files:
                path = self._edf_path(summ, f.file_name)
                rid = f.file_name.removesuffix(".edf")
                refs.append(
                    RecordRef(
                        rid,
                        path,
                        subject=subject_of(rid),
                        meta={"seizures": f.seizures, "channels": f.channels, "case": case_of(rid)},
                    )
                )
        return sorted(refs, key=lambda r: r.record_id)

    def seizures(self, ref: RecordRef) -> list[tuple[float, float]]:
        """Seizure intervals: the ``.edf.seizures`` file when present (authoritative), else the summary."""
        ann = Path(f"{ref.path}.seizures")
        return read_seizure_file(ann) if ann.exists() else list(ref.meta["seizures"])

    def load(self, ref: RecordRef) -> Recording:
        from biodyn.io import read_edf

        if not Path(ref.path).exists():
            raise RecordingError(ref.path, "EDF file not found")
        rec = read_edf(ref.path, channels=list(self.channels))
        rec.events = [Event(a, b - a, "seiz") for a, b in self.seizures(ref)]
        rec.meta.update(record_id=ref.record_id, subject=ref.subject)
        return rec

    def summary(self) -> dict[str, Any]:
        refs = self.records()
        infos, missing = self.header_infos(refs)
        seizures = {}
        for r in refs:
            if r.meta["seizures"] or Path(f"{r.path}.seizures").exists():
                try:
                    seizures[r.record_id] = self.seizures(r)
                except RecordingError as e:  # a bad annotation file is reported, the rest summarised
                    self.note_bad(e, r)
        n_seiz = sum(len(v) for v in seizures.values())
        listed = sorted({canonical_name(c) for r in refs for c in r.meta["channels"]})
        out = summarize(
            self.name,
            refs,
            infos,
            missing,
            bad_files=self.bad_files,
            labels={
                "seizures": n_seiz,
                "files_with_seizures": len(seizures),
                "seizure_seconds": round(sum(b - a for v in seizures.values() for a, b in v), 3),
            },
            channels_in_summary=listed,
        )
        out["label_counts"] = dict(Counter({"seiz": n_seiz}))
        return out


# ---------------------------------------------------------------------------------------- ictal windows
@dataclass
class IctalWindow:
    """One seizure's ictal window ``data`` ``(C, T)`` at ``fs`` (a focal-lead localisation item), with an
    optional same-length ``background`` window before the onset and the ``source`` it was cut from."""

    record: str
    seizure_index: int
    subject: str
    data: np.ndarray  # (C, T)
    fs: float
    channels: list[str]
    background: np.ndarray | None = None  # (C, T) a window before the onset (occlusion detectors only)
    source: str = ""


def ictal_windows(root: str | os.PathLike, offset_s: float = 0.0, span_s: float = 10.0) -> list[IctalWindow]:
    """Ictal windows ``[onset + offset_s, onset + offset_s + span_s]`` of every annotated seizure whose EDF
    is present under a CHB-MIT root (summary files + EDFs, PhysioNet layout); the background window is the
    ``span_s`` before the onset when the record has it."""
    corpus = CHBMIT(root)
    out = []
    for ref in corpus.records():
        if not Path(ref.path).exists():
            continue
        seizures = sorted(corpus.seizures(ref))
        if not seizures:
            continue
        rec = corpus.load(ref)
        for k, (onset, _end) in enumerate(seizures):
            a = round((onset + offset_s) * rec.fs)
            b = a + round(span_s * rec.fs)
            if a < 0 or b > rec.n_times:
                raise RecordingError(
                    ref.path, f"seizure {k}: window {a / rec.fs:.1f}-{b / rec.fs:.1f} s is outside the record"
                )
            n = b - a
            bg_a = round(onset * rec.fs) - n
            bg = rec.data[:, bg_a : bg_a + n].astype(np.float64) if bg_a >= 0 else None
            out.append(
                IctalWindow(
                    ref.record_id,
                    k,
                    ref.subject or subject_of(ref.record_id),
                    rec.data[:, a:b].astype(np.float64),
                    rec.fs,
                    list(rec.channels),
                    bg,
                    source=f"{ref.path} [{a / rec.fs:.2f}, {b / rec.fs:.2f}) s",
                )
            )
    return out
