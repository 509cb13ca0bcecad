"""The bundled CHB-MIT excerpts (``chbmit/npy_excerpts/chbNN/{ictal,preictal_10s}/*.npy``) as a corpus.

Each file is 10 s of real unfiltered EEG (float64 uV, 23 bipolar channels at 256 Hz in the order of the
case's summary file, ``(23, 2561)``): one window inside a seizure (``ictal``: all seizure) and one before its
onset (``preictal_10s``: all background). Records keep the 18 double-banana derivations of
:data:`biodyn.datasets.chbmit.CHANNELS`.

Splits (for a cross-patient check on CPU): every chb01 excerpt is ``train``; chb03's seizures 01-03 are
``dev`` and 04, 34-36 ``eval`` (dev and eval share that patient: build with ``data.disjoint_val_test=false``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from biodyn.datasets._base import Corpus, RecordRef, Target, events_to_labels
from biodyn.datasets.chbmit import CHANNELS, case_of, parse_summary, subject_of
from biodyn.errors import RecordingError
from biodyn.montage import canonical_name
from biodyn.signal.config import SEIZURE_EEG, PreprocessConfig
from biodyn.types import Event, Recording

FS = 256.0
DEV_SEIZURES = ("chb03_01", "chb03_02", "chb03_03")
TRAIN_SUBJECT = "chb01"


class CHBMITExcerpts(Corpus):
    name = "chbmit_excerpts"
    modality = "eeg"
    classes = ("bckg", "seiz")
    default_preprocess: PreprocessConfig = SEIZURE_EEG
    window_s = 10.0
    stride_s = 10.0
    data_subdir = "chbmit/npy_excerpts"  # under the data root

    def __init__(self, root, channels: tuple[str, ...] = CHANNELS):
        root = Path(root)
        if (root / "npy_excerpts").is_dir():  # the chbmit folder itself
            root = root / "npy_excerpts"
        super().__init__(root)
        self.channels = tuple(channels)
        summ = self.root.parent / "chb01-summary.txt"
        if not summ.is_file():
            raise RecordingError(summ, "the channel order of the excerpts comes from this summary file")
        self.file_channels = [canonical_name(c) for c in parse_summary(summ)[0].channels]

    def records(self) -> list[RecordRef]:
        refs = []
        for p in sorted(self.root.glob("chb*/*/*.npy")):
            kind = p.parent.name
            seizure = "_".join(p.stem.split("_")[:2])  # chb01_03
            subject = subject_of(seizure)  # chbmit's rule: chb21 is chb01's patient
            split = "train" if subject == TRAIN_SUBJECT else ("dev" if seizure in DEV_SEIZURES else "eval")
            refs.append(RecordRef(p.stem, p, subject=subject, split=split,
                                  meta={"ictal": kind == "ictal", "seizure": seizure, "case": case_of(seizure)}))  # fmt: skip
        return refs

    def load(self, ref: RecordRef) -> Recording:
        try:
            x = np.load(ref.path)
        except (OSError, ValueError) as e:
            raise RecordingError(ref.path, f"cannot read: {e}") from e
        if x.ndim != 2 or x.shape[0] != len(self.file_channels):
            raise RecordingError(ref.path, f"shape {x.shape}; expected ({len(self.file_channels)}, T)")
        idx = [self.file_channels.index(c) for c in self.channels]  # first occurrence (T8-P8 is listed twice)
        dur = x.shape[1] / FS
        events = [Event(0.0, dur, "seiz")] if ref.meta["ictal"] else []
        return Recording(x[idx].astype(np.float32), FS, list(self.channels), events,
                         {"record_id": ref.record_id, "subject": ref.subject})  # fmt: skip

    def target(self, ref: RecordRef, rec: Recording) -> Target:
        return Target(per_sample=events_to_labels(rec.events, rec.n_times, rec.fs, {"seiz": 1}, default=0),
                      classes=self.classes)  # fmt: skip
