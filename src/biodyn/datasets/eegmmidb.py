"""EEG Motor Movement/Imagery (Schalk et al. 2004; PhysioNet ``eegmmidb/1.0.0``).

Layout: ``SNNN/SNNNRMM.edf`` (64 channels, 160 Hz, EDF+ annotations T0/T1/T2). Runs 1-2 are baselines
(eyes open/closed); 3/7/11 real and 4/8/12 imagined left/right fist; 5/9/13 real and 6/10/14 imagined
both fists/both feet. T0 is rest; T1 is the left fist (runs of the first kind) or both fists; T2 the
right fist or both feet.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from biodyn.datasets._base import Corpus, RecordRef, Target, events_to_labels, summarize
from biodyn.errors import RecordingError
from biodyn.signal.config import CLDTRANS_EEG, PreprocessConfig
from biodyn.types import Recording

CLASSES = ("rest", "left_fist", "right_fist", "both_fists", "both_feet")
_RUN = re.compile(r"^S(\d{3})R(\d{2})\.edf$")


def run_type(run: int) -> dict[str, Any]:
    """What a run is: ``task`` (baseline / fist / fists_feet), ``imagined`` and its T0/T1/T2 classes."""
    if run in (1, 2):
        return {
            "task": "baseline_eyes_open" if run == 1 else "baseline_eyes_closed",
            "imagined": False,
            "map": {"T0": "rest"},
        }
    if not 3 <= run <= 14:
        raise ValueError(f"invalid EEGMMIDB run {run}; runs are 1-14")
    fist = (run - 3) % 4 in (0, 1)
    imagined = (run - 3) % 2 == 1
    mapping = (
        {"T0": "rest", "T1": "left_fist", "T2": "right_fist"}
        if fist
        else {"T0": "rest", "T1": "both_fists", "T2": "both_feet"}
    )
    return {"task": "left_right_fist" if fist else "fists_feet", "imagined": imagined, "map": mapping}


class EEGMMIDB(Corpus):
    """EEGMMIDB: per-sample motor classes (:data:`CLASSES` indices, -1 unannotated)."""

    name = "eegmmidb"
    modality = "eeg"
    classes = CLASSES
    default_preprocess: PreprocessConfig = CLDTRANS_EEG
    window_s = 4.0
    stride_s = 4.0

    def records(self) -> list[RecordRef]:
        refs = []
        for p in sorted(self.root.rglob("S*R*.edf")):
            m = _RUN.match(p.name)
            if m is None:
                continue
            run = int(m.group(2))
            refs.append(RecordRef(p.stem, p, subject=f"S{m.group(1)}", meta={"run": run, **run_type(run)}))
        return refs

    def load(self, ref: RecordRef) -> Recording:
        from biodyn.io import read_edf

        rec = read_edf(ref.path)
        mapping = ref.meta["map"]
        bad = {e.label for e in rec.events} - set(mapping)
        if bad:
            raise RecordingError(
                ref.path, f"unexpected annotation(s) {', '.join(sorted(bad))} for run {ref.meta['run']}"
            )
        for e in rec.events:
            e.label = mapping[e.label]
        rec.meta.update(
            record_id=ref.record_id, subject=ref.subject, run=ref.meta["run"], imagined=ref.meta["imagined"]
        )
        return rec

    def target(self, ref: RecordRef, rec: Recording) -> Target:
        y = events_to_labels(rec.events, rec.n_times, rec.fs, {c: i for i, c in enumerate(CLASSES)}, -1)
        return Target(per_sample=y, classes=self.classes)

    def summary(self) -> dict[str, Any]:
        from biodyn.errors import RecordingError
        from biodyn.io import read_edf_annotations

        refs = self.records()
        infos, missing = self.header_infos(refs)
        counts: Counter = Counter()
        for r in refs:
            if str(r.path) in self.bad_files or str(r.path) in missing:
                continue
            try:
                counts.update(r.meta["map"].get(e.label, e.label) for e in read_edf_annotations(r.path))
            except RecordingError as e:
                self.note_bad(e, r)
        return summarize(
            self.name,
            refs,
            infos,
            missing,
            label_counts={c: counts.get(c, 0) for c in CLASSES},
            runs=len({r.meta["run"] for r in refs}),
            bad_files=self.bad_files,
        )
