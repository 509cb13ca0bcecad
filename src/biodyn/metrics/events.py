"""Event-level scoring of seizure detections as Temple's NEDC ``nedc_eeg_eval`` v6.0.0 does it.

Written from the published description of the NEDC scoring methods (Shah et al., "Objective evaluation
metrics for automatic classification of EEG events", 2021) and checked number by number against the
output of ``nedc_eeg_eval`` v6.0.0 on the bundled sample (``tusz_nedc/test/results``).

An annotation file is first *normalised*: events are sorted, gaps are filled with the null class
(``bckg``) up to the file's duration, and touching events of one label are merged.

* OVERLAP: a reference event is a hit when any hypothesis event of its label overlaps it
  (``hyp.stop > ref.start and hyp.start < ref.stop``); a hypothesis event that overlaps no reference
  event of its label is a false alarm.
* EPOCH: both files are sampled every 0.25 s at epoch centres and compared epoch by epoch.
* IRA: Cohen's kappa of the epoch confusion matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from biodyn.errors import RecordingError

NULL = "bckg"


@dataclass(frozen=True)
class Segment:
    start: float
    stop: float
    label: str


def normalize(events: Sequence, duration_s: float, labels: Sequence[str] = ("seiz", "bckg"),
              null: str = NULL, source=None, ndigits: int = 4) -> list[Segment]:  # fmt: skip
    """Sort, fill gaps with ``null`` up to ``duration_s``, merge touching events of one label.

    ``events`` are :class:`~biodyn.types.Event` (or objects with ``onset_s``, ``duration_s``, ``label``).
    An unknown label, a negative duration, or an event past the file's end raises
    :class:`RecordingError` naming ``source``.
    """
    segs = []
    for e in events:
        label = e.label.lower()
        if label not in labels:
            raise RecordingError(source, f"unknown label {e.label!r}; expected one of {', '.join(labels)}")
        if e.duration_s < 0:
            raise RecordingError(source, f"event at {e.onset_s} s has negative duration {e.duration_s}")
        start, stop = round(e.onset_s, ndigits), round(e.onset_s + e.duration_s, ndigits)
        if stop > duration_s + 10**-ndigits:
            raise RecordingError(
                source, f"event {start}-{stop} s ends after the file's duration {duration_s} s"
            )
        segs.append(Segment(start, min(stop, duration_s), label))
    segs.sort(key=lambda s: (s.start, s.stop))
    out: list[Segment] = []
    t = 0.0
    for s in segs:
        if s.start > t:
            out.append(Segment(t, s.start, null))
        start = max(s.start, t)
        if s.stop > start:
            out.append(Segment(start, s.stop, s.label))
            t = s.stop
    if t < duration_s:
        out.append(Segment(t, duration_s, null))
    merged: list[Segment] = []
    for s in out:
        if merged and merged[-1].label == s.label and merged[-1].stop >= s.start:
            merged[-1] = Segment(merged[-1].start, max(merged[-1].stop, s.stop), s.label)
        else:
            merged.append(s)
    return merged


@dataclass
class Counts:
    """Per-label event counts of one scoring method (floats: TAES gives partial credit)."""

    targets: float = 0.0
    hits: float = 0.0
    misses: float = 0.0
    false_alarms: float = 0.0

    def __iadd__(self, other: Counts) -> Counts:
        self.targets += other.targets
        self.hits += other.hits
        self.misses += other.misses
        self.false_alarms += other.false_alarms
        return self


def score_overlap(ref: list[Segment], hyp: list[Segment], labels: Sequence[str]) -> dict[str, Counts]:
    """OVERLAP counts per label for one file (normalised segments)."""
    out = {}
    for lab in labels:
        r = np.array([(s.start, s.stop) for s in ref if s.label == lab]).reshape(-1, 2)
        h = np.array([(s.start, s.stop) for s in hyp if s.label == lab]).reshape(-1, 2)
        # overlap[i, j]: ref i and hyp j overlap strictly
        ov = (h[None, :, 1] > r[:, None, 0]) & (h[None, :, 0] < r[:, None, 1])
        hits = int(ov.any(axis=1).sum())
        fa = int((~ov.any(axis=0)).sum())
        out[lab] = Counts(len(r), hits, len(r) - hits, fa)
    return out


def sample_epochs(
    segs: list[Segment], duration_s: float, epoch_s: float, labels: Sequence[str]
) -> np.ndarray:
    """Label index of every epoch, read at the epoch's centre ``(k + 0.5) * epoch_s``."""
    n = int(round(duration_s / epoch_s, 6))
    centres = (np.arange(n) + 0.5) * epoch_s
    starts = np.array([s.start for s in segs])
    idx = np.clip(np.searchsorted(starts, centres, side="right") - 1, 0, len(segs) - 1)
    lut = np.array([labels.index(s.label) for s in segs])
    return lut[idx]


def epoch_confusion(ref: list[Segment], hyp: list[Segment], duration_s: float, labels: Sequence[str],
                    epoch_s: float = 0.25) -> np.ndarray:  # fmt: skip
    """Confusion matrix ``(L, L)`` of epochs, rows reference, columns hypothesis."""
    r = sample_epochs(ref, duration_s, epoch_s, labels)
    h = sample_epochs(hyp, duration_s, epoch_s, labels)
    k = len(labels)
    return np.bincount(r * k + h, minlength=k * k).reshape(k, k).astype(float)


def cohen_kappa_from_confusion(conf: np.ndarray) -> float:
    """Cohen's kappa ``(p_o - p_e) / (1 - p_e)`` of a confusion matrix."""
    n = conf.sum()
    po = np.trace(conf) / n
    pe = float((conf.sum(0) * conf.sum(1)).sum()) / n**2
    return float((po - pe) / (1 - pe)) if pe != 1 else 1.0


def per_label_kappa(conf: np.ndarray) -> list[float]:
    """Kappa of each label against all others (2x2 collapse of the confusion matrix)."""
    out = []
    for i in range(len(conf)):
        tp = conf[i, i]
        fn = conf[i].sum() - tp
        fp = conf[:, i].sum() - tp
        tn = conf.sum() - tp - fn - fp
        out.append(cohen_kappa_from_confusion(np.array([[tp, fn], [fp, tn]])))
    return out
