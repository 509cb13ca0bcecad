"""A folder of your own recordings as a corpus: EDF/BDF files or WFDB records, labelled by files beside
them, so that training, evaluation and detection need no corpus class.

Labels (first found): a BIDS events file (``sub-01_ses-1_task-x_eeg.edf`` -> ``sub-01_ses-1_task-x_events.tsv``,
or ``<stem>_events.tsv``) with ``onset`` and ``duration`` columns, the seizure events being those whose
``eventType`` (SzCORE) or ``trial_type`` is ``sz``/``seiz``/``seizure`` or starts with ``sz_``; or a TUSZ
``<stem>.csv_bi`` / ``<stem>.csv`` (every label other than ``bckg`` is a seizure). A recording without
either is unlabelled (labels ``-1``: usable for detection, not scored).

Subjects: the BIDS ``sub-XX`` entity, else the parent folder's name. Splits: a ``train``/``dev``/``eval``
(or ``val``/``test``) folder in the path, else a stable hash of the subject (70 % train, 15 % dev, 15 % eval),
so a subject never spans two splits.
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import numpy as np

from biodyn.datasets._base import RecordRef, SeizureCorpus, Target, events_to_labels
from biodyn.errors import ChannelError, RecordingError
from biodyn.montage import TEN_TWENTY_19, canonicalize
from biodyn.types import Event, Recording

SEIZURE_LABELS = ("sz", "seiz", "seizure")
_SPLIT_DIRS = {"train": "train", "dev": "dev", "val": "dev", "eval": "eval", "test": "eval"}


def is_seizure_label(label: str) -> bool:
    lab = str(label).strip().lower()
    return lab in SEIZURE_LABELS or lab.startswith("sz_") or lab.startswith("seiz")


def read_bids_events(path: str | Path) -> list[Event]:
    """Seizure events of a BIDS ``*_events.tsv`` (``onset``, ``duration``, ``eventType`` or ``trial_type``)."""
    path = Path(path)
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if rows and not {"onset", "duration"} <= set(rows[0]):
        raise RecordingError(path, f"BIDS events need onset and duration columns, got {sorted(rows[0])}")
    out = []
    for k, r in enumerate(rows, 2):
        kind = r.get("eventType") or r.get("trial_type") or r.get("value") or ""
        if not is_seizure_label(kind):
            continue
        try:
            onset, dur = float(r["onset"]), float(r["duration"]) if r["duration"] not in ("n/a", "") else 0.0
        except ValueError:
            raise RecordingError(
                path, f"line {k}: onset/duration not numbers: {r['onset']!r}, {r['duration']!r}"
            ) from None
        out.append(Event(onset, dur, "seiz"))
    return out


class Folder(SeizureCorpus):
    """Every EDF/BDF file and WFDB record under ``root`` (recursively), with per-sample seizure labels."""

    name = "folder"

    def __init__(self, root, channels: tuple[str, ...] = TEN_TWENTY_19):
        super().__init__(root, channels)

    @staticmethod
    def label_file(path: Path) -> Path | None:
        stem = path.name.split(".")[0]
        bids = re.sub(r"_(eeg|ieeg|meg)$", "", stem)
        for cand in (
            path.with_name(f"{bids}_events.tsv"),
            path.with_name(f"{stem}_events.tsv"),
            path.with_name(f"{stem}.csv_bi"),
            path.with_name(f"{stem}.csv"),
        ):
            if cand.is_file():
                return cand
        return None

    def records(self) -> list[RecordRef]:
        files = [
            p for p in self.root.rglob("*") if p.suffix.lower() in (".edf", ".bdf", ".hea") and p.is_file()
        ]
        refs = []
        for p in sorted(files):
            rel = p.relative_to(self.root)
            rid = str(rel.with_suffix("")).replace("\\", "/")
            m = re.search(r"sub-([A-Za-z0-9]+)", p.name)
            subject = f"sub-{m.group(1)}" if m else (p.parent.name if p.parent != self.root else rid)
            split = next(
                (_SPLIT_DIRS[part.lower()] for part in rel.parts[:-1] if part.lower() in _SPLIT_DIRS), None
            )
            if split is None:
                h = int(hashlib.sha1(subject.encode()).hexdigest(), 16) % 100
                split = "train" if h < 70 else ("dev" if h < 85 else "eval")
            path = p.with_suffix("") if p.suffix.lower() == ".hea" else p
            lab = self.label_file(p)
            refs.append(
                RecordRef(rid, path, subject=subject, split=split, meta={"labels": str(lab) if lab else None})
            )
        return refs

    def read_labels(self, ref: RecordRef) -> list[Event] | None:
        lab = ref.meta.get("labels")
        if not lab:
            return None
        lab = Path(lab)
        if lab.name.endswith("_events.tsv"):
            return read_bids_events(lab)
        from biodyn.io import read_tusz_csv

        return [
            Event(e.onset_s, e.duration_s, "seiz") for e in read_tusz_csv(lab).events if e.label != "bckg"
        ]

    def load(self, ref: RecordRef) -> Recording:
        from biodyn.io import read_recording

        rec = read_recording(ref.path)
        names = canonicalize(rec.channels)
        index = {}
        for i, n in enumerate(names):
            index.setdefault(n, i)
        rows, missing = [], []
        for ch in self.channels:
            a, _, b = ch.partition("-")
            if ch in index:
                rows.append(rec.data[index[ch]])
            elif b and a in index and b in index:  # a bipolar derivation from referential channels
                rows.append(rec.data[index[a]] - rec.data[index[b]])
            else:
                missing.append(ch)
        if missing:
            raise ChannelError(
                ref.path, f"missing channel(s) {', '.join(missing)}; file has {', '.join(names)}"
            )
        events = self.read_labels(ref)
        meta = {
            **rec.meta,
            "record_id": ref.record_id,
            "subject": ref.subject,
            "labelled": events is not None,
        }
        return Recording(np.stack(rows).astype(np.float32), rec.fs, list(self.channels), events or [], meta)

    def target(self, ref: RecordRef, rec: Recording) -> Target:
        default = 0 if rec.meta.get("labelled") else -1
        return Target(
            per_sample=events_to_labels(rec.events, rec.n_times, rec.fs, {"seiz": 1}, default=default),
            classes=self.classes,
        )
