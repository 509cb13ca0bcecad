"""TUH EEG Seizure Corpus v2 (Shah et al. 2018).

Layout (v2.0.x): ``edf/{train,dev,eval}/<patient>/<session>_<date>/<montage>/<patient>_<session>_<token>.edf``
with ``.csv`` (per-channel seizure-type rows) and ``.csv_bi`` (``TERM`` rows, ``seiz``/``bckg``) beside each
EDF. Montage folders: ``01_tcp_ar``, ``02_tcp_le``, ``03_tcp_ar_a``, ``04_tcp_le_a``. Access needs a
registration with the Neural Engineering Data Consortium (see ``biodyn download tusz``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from biodyn.datasets._base import RecordRef, SeizureCorpus, summarize
from biodyn.errors import RecordingError
from biodyn.io.events import TUSZ_SEIZURE_LABELS, read_tusz_csv
from biodyn.montage import TEN_TWENTY_19
from biodyn.types import Recording

SPLITS = ("train", "dev", "eval")


class TUSZ(SeizureCorpus):
    """TUSZ v2: per-sample seizure labels (0 background, 1 any seizure type) on the 19 10-20 channels."""

    name = "tusz"
    seizure_labels = tuple(sorted(TUSZ_SEIZURE_LABELS))  # every seizure type is class 1

    def __init__(self, root, channels: tuple[str, ...] = TEN_TWENTY_19, label_file: str = ".csv_bi"):
        super().__init__(root, channels)
        if label_file not in (".csv_bi", ".csv"):
            raise ValueError(f"invalid label_file={label_file!r}; allowed: '.csv_bi', '.csv'")
        self.label_file = label_file

    def records(self) -> list[RecordRef]:
        refs = []
        for edf in sorted(self.root.rglob("*.edf")):
            parts = edf.relative_to(self.root).parts
            split = next((p for p in parts if p in SPLITS), None)
            subject = edf.stem.split("_")[0]
            montage = edf.parent.name if "tcp" in edf.parent.name else None
            refs.append(RecordRef(edf.stem, edf, subject=subject, split=split, meta={"montage": montage}))
        return refs

    def _labels_path(self, ref: RecordRef) -> Path:
        p = Path(ref.path).with_suffix(self.label_file)
        if not p.exists():
            raise RecordingError(p, "TUSZ annotation file not found beside the EDF")
        return p

    def load(self, ref: RecordRef) -> Recording:
        from biodyn.io import read_edf

        rec = read_edf(ref.path, channels=list(self.channels))
        ann = read_tusz_csv(self._labels_path(ref))
        if ann.duration_s is not None and abs(ann.duration_s - rec.duration_s) > 1.0:
            raise RecordingError(
                ann.path,
                f"annotation duration {ann.duration_s} s disagrees with the EDF's {rec.duration_s} s",
            )
        unknown = {e.label for e in ann.events} - TUSZ_SEIZURE_LABELS - {"bckg"}
        if unknown:
            raise RecordingError(ann.path, f"unknown label(s) {', '.join(sorted(unknown))}")
        rec.events = [e for e in ann.events if e.label in TUSZ_SEIZURE_LABELS]
        rec.meta.update(
            record_id=ref.record_id, subject=ref.subject, split=ref.split, montage=ref.meta["montage"]
        )
        return rec

    def summary(self) -> dict[str, Any]:
        refs = self.records()
        from biodyn.errors import RecordingError

        infos, missing = self.header_infos(refs)
        counts, seconds = Counter(), 0.0
        for r in refs:
            try:
                ann = read_tusz_csv(self._labels_path(r))
            except RecordingError as e:
                self.note_bad(e, r)
                continue
            for e in ann.events:
                counts[e.label] += 1
                if e.label in TUSZ_SEIZURE_LABELS:
                    seconds += e.duration_s
        splits = Counter(r.split for r in refs)
        return summarize(
            self.name,
            refs,
            infos,
            missing,
            label_counts=dict(counts),
            seizure_seconds=round(seconds, 3),
            splits=dict(splits),
            bad_files=self.bad_files,
        )
