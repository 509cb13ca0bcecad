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


def normalize(
    events: Sequence,
    duration_s: float,
    labels: Sequence[str] = ("seiz", "bckg"),
    null: str = NULL,
    source=None,
    ndigits: int = 4,
) -> list[Segment]:
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


def epoch_confusion(
    ref: list[Segment], hyp: list[Segment], duration_s: float, labels: Sequence[str], epoch_s: float = 0.25
) -> np.ndarray:
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


def _touch_seconds(a: Segment, b: Segment) -> bool:
    """NEDC's TAES overlap test: the whole seconds ``int(start)..int(stop)`` of the two events intersect
    (so events closer than a second boundary count as overlapping)."""
    return int(a.start) <= int(b.stop) and int(b.start) <= int(a.stop)


def _hit_fa(ref: Segment, hyp: Segment) -> tuple[float, float]:
    """Fractional hit and false alarm of one hypothesis against one reference event, both relative to the
    reference's duration; the false-alarm part is capped at 1."""
    dur = ref.stop - ref.start
    if hyp.start <= ref.start and hyp.stop <= ref.stop:  # starts early, ends inside
        return (hyp.stop - ref.start) / dur, min((ref.start - hyp.start) / dur, 1.0)
    if hyp.start >= ref.start and hyp.stop >= ref.stop:  # starts inside, ends late
        return (ref.stop - hyp.start) / dur, min((hyp.stop - ref.stop) / dur, 1.0)
    if hyp.start < ref.start and hyp.stop > ref.stop:  # covers the reference
        return 1.0, min(((hyp.stop - ref.stop) + (ref.start - hyp.start)) / dur, 1.0)
    return (hyp.stop - hyp.start) / dur, 0.0  # inside the reference


def score_taes(ref: list[Segment], hyp: list[Segment], labels: Sequence[str]) -> dict[str, Counts]:
    """Time-aligned event scoring (NEDC's TAES) for one file: fractional hits, misses and false alarms.

    Reference events are visited in order. For a reference event whose label some still-unused hypothesis
    event shares and overlaps in time, each unused hypothesis event of that label is compared with it:
    a hypothesis that ends at or after the reference scores its fractional hit/false alarm and also
    *uses up* every later reference event of the label it touches, each a full miss; a hypothesis that ends
    before the reference scores and also absorbs the later hypothesis events of the label that touch the
    reference, adding their hits and false alarms. Events never used are full misses / false alarms.
    """
    out = {lab: Counts() for lab in labels}
    r_free = [True] * len(ref)
    h_free = [True] * len(hyp)
    for i, r in enumerate(ref):
        out[r.label].targets += 1
        overlapping = {h.label for h in hyp if h.stop > r.start and h.start < r.stop}
        if r.label not in overlapping or not r_free[i]:
            continue
        c = out[r.label]
        for j, h in enumerate(hyp):
            if h.label != r.label or not h_free[j] or not _touch_seconds(r, h):
                continue
            hit, fa = _hit_fa(r, h)
            miss = 1.0 - hit
            r_free[i] = h_free[j] = False
            if h.stop >= r.stop:
                for k in range(i + 1, len(ref)):
                    if ref[k].label == h.label and _touch_seconds(ref[k], h):
                        r_free[k] = False
                        miss += 1.0
            else:
                for k in range(j + 1, len(hyp)):
                    if hyp[k].label == r.label and _touch_seconds(r, hyp[k]):
                        h_free[k] = False
                        h2, f2 = _hit_fa(r, hyp[k])
                        hit, miss, fa = hit + h2, miss - h2, fa + f2
            c.hits += hit
            c.misses += miss
            c.false_alarms += fa
    for i, r in enumerate(ref):
        if r_free[i]:
            out[r.label].misses += 1
    for j, h in enumerate(hyp):
        if h_free[j]:
            out[h.label].false_alarms += 1
    return out


def _eq(x: float, y: float) -> bool:
    return abs(x - y) <= 1e-9 * max(1.0, abs(y))


def dp_cost_matrix_reference(a: np.ndarray, b: np.ndarray, penalties=(1.0, 1.0, 1.0)) -> np.ndarray:
    """Edit-distance table ``(n + 1, m + 1)`` of label-index sequences ``a (n,)``, ``b (m,)``, cell by cell.

    ``penalties = (deletion, insertion, substitution)``; ``cost[i, j]`` aligns ``a[:i]`` with ``b[:j]``."""
    p_del, p_ins, p_sub = penalties
    n, m = len(a), len(b)
    cost = np.zeros((n + 1, m + 1))
    cost[:, 0] = np.arange(n + 1) * p_del
    cost[0, :] = np.arange(m + 1) * p_ins
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            diag = cost[i - 1, j - 1] + (0.0 if a[i - 1] == b[j - 1] else p_sub)
            cost[i, j] = min(diag, cost[i - 1, j] + p_del, cost[i, j - 1] + p_ins)
    return cost


def dp_cost_matrix(a: np.ndarray, b: np.ndarray, penalties=(1.0, 1.0, 1.0)) -> np.ndarray:
    """:func:`dp_cost_matrix_reference`, one row at a time: the within-row insertion chain
    ``cost[i, j] = min_k base[k] + (j - k) * p_ins`` is a running minimum of ``base - j * p_ins``."""
    p_del, p_ins, p_sub = penalties
    a, b = np.asarray(a), np.asarray(b)
    n, m = len(a), len(b)
    cost = np.empty((n + 1, m + 1))
    cost[:, 0] = np.arange(n + 1) * p_del
    ramp = np.arange(m + 1) * p_ins
    cost[0] = ramp
    for i in range(1, n + 1):
        base = np.empty(m + 1)
        base[0] = cost[i, 0]
        sub = np.where(b == a[i - 1], 0.0, p_sub)
        base[1:] = np.minimum(cost[i - 1, :-1] + sub, cost[i - 1, 1:] + p_del)
        cost[i] = np.minimum.accumulate(base - ramp) + ramp
    return cost


def dp_alignment(
    a: Sequence[str],
    b: Sequence[str],
    labels: Sequence[str],
    penalties: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> list[tuple[str | None, str | None]]:
    """Minimum-cost alignment of label sequences ``a`` (reference) and ``b`` (hypothesis) as pairs in order:
    ``(x, y)`` a match or substitution, ``(x, None)`` a deletion, ``(None, y)`` an insertion. The backtrace
    from the end prefers a match/substitution, then a deletion, then an insertion."""
    p_del, _, p_sub = penalties
    lut = {lab: k for k, lab in enumerate(labels)}
    cost = dp_cost_matrix(np.array([lut[x] for x in a], int), np.array([lut[x] for x in b], int), penalties)
    pairs: list[tuple[str | None, str | None]] = []
    i, j = len(a), len(b)
    while i > 0 or j > 0:
        if i > 0 and j > 0 and _eq(cost[i, j], cost[i - 1, j - 1] + (0.0 if a[i - 1] == b[j - 1] else p_sub)):
            pairs.append((a[i - 1], b[j - 1]))
            i, j = i - 1, j - 1
        elif i > 0 and _eq(cost[i, j], cost[i - 1, j] + p_del):
            pairs.append((a[i - 1], None))
            i -= 1
        else:
            pairs.append((None, b[j - 1]))
            j -= 1
    return pairs[::-1]


def score_dpalign(
    ref: list[Segment],
    hyp: list[Segment],
    labels: Sequence[str],
    penalties: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> tuple[dict[str, Counts], np.ndarray, dict]:
    """NEDC's DP alignment for one file: the label sequences (times ignored) aligned by minimum edit cost
    (deletion, insertion, substitution penalties; :func:`dp_alignment`). Returns per-label counts (hits,
    misses = deletions + substitutions of the label, false alarms = insertions + substitutions into the
    label), the confusion of aligned pairs ``(L, L)`` and per-label ``{"ins": ..., "del": ...}``."""
    idx = {lab: k for k, lab in enumerate(labels)}
    conf = np.zeros((len(labels), len(labels)))
    insdel = {lab: {"ins": 0.0, "del": 0.0} for lab in labels}
    out = {lab: Counts() for lab in labels}
    for s in ref:
        out[s.label].targets += 1
    for x, y in dp_alignment([s.label for s in ref], [s.label for s in hyp], labels, penalties):
        if x is not None and y is not None:
            conf[idx[x], idx[y]] += 1
            if x == y:
                out[x].hits += 1
            else:
                out[x].misses += 1
                out[y].false_alarms += 1
        elif x is not None:
            out[x].misses += 1
            insdel[x]["del"] += 1
        else:
            out[y].false_alarms += 1
            insdel[y]["ins"] += 1
    return out, conf, insdel
