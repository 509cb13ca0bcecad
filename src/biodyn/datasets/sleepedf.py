"""Sleep-EDF Expanded (Kemp et al. 2000; PhysioNet ``sleep-edfx/1.0.0``).

Layout: ``sleep-cassette/SC4ssNE0-PSG.edf`` + ``SC4ssNx-Hypnogram.edf`` and ``sleep-telemetry/ST7ssNJ0-PSG.edf``
+ ``ST7ssNx-Hypnogram.edf``; a PSG pairs with the hypnogram sharing its first six characters. Hypnograms are
annotation-only EDF+ (``Sleep stage W/1/2/3/4/R/?``, ``Movement time``) in 30 s multiples. Stages map to
W, N1, N2, N3 (R&K 3 and 4 merged, AASM) and REM; ``?`` and movement are unlabelled (-1).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from biodyn.datasets._base import Corpus, RecordRef, Target, events_to_labels, summarize
from biodyn.errors import RecordingError
from biodyn.signal.config import CLDTRANS_EEG, PreprocessConfig
from biodyn.types import Recording

STAGES = ("W", "N1", "N2", "N3", "REM")
STAGE_MAP = {
    "Sleep stage W": 0,
    "Sleep stage 1": 1,
    "Sleep stage 2": 2,
    "Sleep stage 3": 3,
    "Sleep stage 4": 3,
    "Sleep stage R": 4,
}
UNLABELLED = ("Sleep stage ?", "Movement time")
EPOCH_S = 30.0


def read_hypnogram(path: str | Path):
    """Hypnogram events; an unknown stage text raises :class:`RecordingError` naming it."""
    from biodyn.io import read_edf_annotations

    events = read_edf_annotations(path)
    bad = {e.label for e in events} - set(STAGE_MAP) - set(UNLABELLED)
    if bad:
        raise RecordingError(path, f"unknown hypnogram label(s) {', '.join(sorted(bad))}")
    return events


def stage_epochs(events) -> Counter:
    """Number of 30 s epochs per stage name (``W``, ``N1`` ... and ``unlabelled``)."""
    out: Counter = Counter()
    for e in events:
        n = round(e.duration_s / EPOCH_S)
        out[STAGES[STAGE_MAP[e.label]] if e.label in STAGE_MAP else "unlabelled"] += n
    return out


class SleepEDF(Corpus):
    """Sleep-EDF Expanded: per-sample stage labels (0..4 = W, N1, N2, N3, REM; -1 unlabelled)."""

    name = "sleepedf"
    modality = "psg"
    classes = STAGES
    default_preprocess: PreprocessConfig = CLDTRANS_EEG
    window_s = EPOCH_S
    stride_s = EPOCH_S

    def __init__(self, root, channels: tuple[str, ...] = ("Fpz-Cz", "Pz-Oz")):
        super().__init__(root)
        self.channels = tuple(channels)

    def hypnograms(self) -> dict[str, Path]:
        return {p.name[:6]: p for p in sorted(self.root.rglob("*-Hypnogram.edf"))}

    def records(self) -> list[RecordRef]:
        hyp = self.hypnograms()
        psgs = {p.name[:6]: p for p in sorted(self.root.rglob("*-PSG.edf"))}
        refs = []
        for key in sorted(set(hyp) | set(psgs)):
            psg = psgs.get(key, hyp.get(key, Path(key)).with_name(f"{key}E0-PSG.edf"))
            subject = key[3:5] if key.startswith("SC") else key[2:5]
            refs.append(RecordRef(key, psg, subject=f"{key[:2]}{subject}", meta={"hypnogram": hyp.get(key)}))
        return refs

    def load(self, ref: RecordRef) -> Recording:
        from biodyn.io import read_edf

        if ref.meta["hypnogram"] is None:
            raise RecordingError(ref.path, "no hypnogram pairs with this PSG")
        rec = read_edf(ref.path, channels=list(self.channels))
        rec.events = read_hypnogram(ref.meta["hypnogram"])
        rec.meta.update(record_id=ref.record_id, subject=ref.subject)
        return rec

    def target(self, ref: RecordRef, rec: Recording) -> Target:
        return Target(
            per_sample=events_to_labels(rec.events, rec.n_times, rec.fs, STAGE_MAP, -1), classes=self.classes
        )

    def summary(self) -> dict[str, Any]:
        refs = self.records()
        infos, missing = self.header_infos(refs)
        counts: Counter = Counter()
        for r in refs:
            if r.meta["hypnogram"] is not None:
                try:
                    counts += stage_epochs(read_hypnogram(r.meta["hypnogram"]))
                except RecordingError as e:  # a bad hypnogram is reported, the rest summarised
                    self.note_bad(e, r)
        return summarize(
            self.name,
            refs,
            infos,
            missing,
            bad_files=self.bad_files,
            label_counts={k: counts.get(k, 0) for k in (*STAGES, "unlabelled")},
            label_unit="30 s epochs",
        )
