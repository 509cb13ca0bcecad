"""The bundled CHB-MIT excerpts (``chbmit/npy_excerpts/chbNN/{ictal,preictal_10s}/*.npy``) as a corpus.

Each file is 10 s of real unfiltered EEG (float64 uV, 23 bipolar channels at 256 Hz in the order of the
case's summary file, ``(23, 2561)``): one window inside a seizure (``ictal``: all seizure) and one before its
onset (``preictal_10s``: all background). Records keep the 18 double-banana derivations of
:data:`biodyn.datasets.chbmit.CHANNELS`.

Splits (for a cross-patient check on CPU): every chb01 excerpt is ``train``; chb03's seizures 01-03 are
``dev`` and 04, 34-36 ``eval`` (dev and eval share that patient: build with ``data.disjoint_val_test=false``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from biodyn.datasets._base import Corpus, RecordRef, Target, events_to_labels
from biodyn.datasets.chbmit import CHANNELS, IctalWindow, case_of, parse_summary, subject_of
from biodyn.errors import ConfigError, NothingMatchedError, RecordingError
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
            refs.append(
                RecordRef(
                    p.stem,
                    p,
                    subject=subject,
                    split=split,
                    meta={"ictal": kind == "ictal", "seizure": seizure, "case": case_of(seizure)},
                )
            )
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
        return Recording(
            x[idx].astype(np.float32),
            FS,
            list(self.channels),
            events,
            {"record_id": ref.record_id, "subject": ref.subject},
        )

    def target(self, ref: RecordRef, rec: Recording) -> Target:
        return Target(
            per_sample=events_to_labels(rec.events, rec.n_times, rec.fs, {"seiz": 1}, default=0),
            classes=self.classes,
        )


def excerpt_ictal_windows(
    folder: str | os.PathLike, span_s: float = 10.0, fs: float = 256.0
) -> list[IctalWindow]:
    """The bundled ``npy_excerpts/chbNN/ictal/chbNN_MM_ictal.npy`` windows ((23, T) µV at 256 Hz in the summary
    file's channel order; exact crop offsets unknown: "10 s within seizure 0 of the record"), with the
    matching ``preictal_10s`` window as background. The 18 double-banana derivations are kept (the 23-channel
    list repeats T8-P8 and adds P7-T7 = -(T7-P7) and the ear chain); the first ``span_s`` seconds are used."""
    folder = Path(folder)
    files = sorted(folder.glob("chb*/ictal/*_ictal.npy"))
    if not files:
        raise NothingMatchedError(f"no chbNN/ictal/*_ictal.npy under {folder}")
    out = []
    n = round(span_s * fs)
    for f in files:
        rec = f.name.removesuffix("_ictal.npy")
        x = np.load(f)
        if x.ndim != 2 or x.shape[0] < len(CHANNELS) or x.shape[1] < n:
            raise RecordingError(f, f"expected (23, >= {n}) samples, got {x.shape}")
        pre = f.parent.parent / "preictal_10s" / f"{rec}_preictal10s.npy"
        bg = np.load(pre)[: len(CHANNELS), :n].astype(np.float64) if pre.exists() else None
        out.append(
            IctalWindow(
                rec,
                0,
                subject_of(rec),
                x[: len(CHANNELS), :n].astype(np.float64),
                fs,
                list(CHANNELS),
                bg,
                source=str(f),
            )
        )
    return out


def excerpt_windows(
    folder: str | os.PathLike,
    fs_out: float | None = None,
    zscore: bool = False,
    window_s: float | None = None,
    stride_s: float | None = None,
) -> dict:
    """Seizure-detection windows of the bundled npy excerpts (ictal = 1, pre-ictal = 0; the 18 double-banana
    channels), band-passed 0.5-40 Hz, resampled to ``fs_out``, z-scored per window when ``zscore``.

    Each excerpt is one window (cut to the shortest excerpt), or with ``window_s`` windows of that length
    every ``stride_s`` seconds (default: ``window_s``, no overlap). Returns ``x`` ``(N, C, T)``, ``labels``
    ``(N,)``, ``subjects`` ``(N,)`` (the case folder's person: chb21 is chb01's), ``fs``, ``channels``, the
    excerpt ``files`` and the ``window``/``stride`` in samples."""
    from biodyn.signal import PreprocessConfig, preprocess
    from biodyn.signal import zscore as standardise

    folder = Path(folder)
    xs, ys, subs, names = [], [], [], []
    for f in sorted(folder.glob("chb*/*/*.npy")):
        x, fs = preprocess(
            np.load(f)[: len(CHANNELS)],
            256.0,
            PreprocessConfig(fs=fs_out, l_freq=0.5, h_freq=40.0, zscore=False),
        )
        xs.append(x)
        ys.append(1 if f.parent.name == "ictal" else 0)
        subs.append(subject_of(f.parent.parent.name))  # the case folder's person (chb21 is chb01's)
        names.append(f.name)
    if not xs:
        raise ConfigError(f"no chbNN/{{ictal,preictal_10s}}/*.npy under {folder}")
    n = min(x.shape[1] for x in xs)
    win = n if window_s is None else round(window_s * fs)
    hop = win if stride_s is None else round(stride_s * fs)
    if not 0 < win <= n or hop < 1:
        raise ConfigError(
            f"chbmit excerpts: window_s={window_s}, stride_s={stride_s} must give 0 < window <= the "
            f"shortest excerpt ({n / fs:g} s) and a stride > 0"
        )
    starts = range(0, n - win + 1, hop)
    x = np.stack([x[:, a : a + win] for x in xs for a in starts])
    if zscore:
        x = np.stack([standardise(w, channels=CHANNELS, source=str(folder)) for w in x])
    ys, subs = np.repeat(ys, len(starts)), np.repeat(subs, len(starts))
    return {
        "x": x,
        "labels": ys,
        "subjects": subs,
        "fs": float(fs),
        "channels": list(CHANNELS),
        "files": names,
        "window": win,
        "stride": hop,
    }
