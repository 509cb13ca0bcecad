"""SzCORE event scoring (Dan et al. 2024) through the ``timescoring`` package, micro-averaged over files.

Defaults are SzCORE's: a detection counts if it falls 30 s before to 60 s after a reference seizure,
events closer than 90 s are merged, events longer than 5 min are split.

:func:`szcore_score` pools events over files; the dataset evaluation of the SzCORE benchmark
(esl-epfl/szcore-evaluation) is :func:`score_recording` per file on 1 Hz masks (:func:`events_mask` of the
TSVs :func:`read_events_tsv` reads), counts summed per subject, then :func:`aggregate_subjects`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from biodyn.types import Event


def szcore_score(
    files: Sequence[tuple[list[Event], list[Event], float]],
    tolerance_start_s: float = 30.0,
    tolerance_end_s: float = 60.0,
    min_gap_s: float = 90.0,
    max_event_s: float = 300.0,
) -> dict:
    """Score ``(reference events, hypothesis events, duration_s)`` per file; returns summed counts and
    sensitivity, precision, F1 and false alarms per 24 h over all files."""
    from timescoring.annotations import Annotation
    from timescoring.scoring import EventScoring

    params = EventScoring.Parameters(
        toleranceStart=tolerance_start_s,
        toleranceEnd=tolerance_end_s,
        minDurationBetweenEvents=min_gap_s,
        maxEventDuration=max_event_s,
    )
    fs = 10  # timescoring's own time resolution
    tp = fp = ref_true = 0
    dur = 0.0
    for ref, hyp, duration_s in files:
        n = round(duration_s * fs)
        r = Annotation([(e.onset_s, e.offset_s) for e in ref], fs, n)
        h = Annotation([(e.onset_s, e.offset_s) for e in hyp], fs, n)
        s = EventScoring(r, h, params)
        tp, fp, ref_true = tp + s.tp, fp + s.fp, ref_true + s.refTrue
        dur += duration_s
    sens = tp / ref_true if ref_true else float("nan")
    prec = tp / (tp + fp) if tp + fp else float("nan")
    f1 = 2 * tp / (2 * tp + fp + (ref_true - tp)) if ref_true + fp else float("nan")
    return {
        "tp": tp,
        "fp": fp,
        "ref_events": ref_true,
        "sensitivity": sens,
        "precision": prec,
        "f1": f1,
        "fa_per_24h": fp / dur * 86400.0 if dur else float("nan"),
        "duration_s": dur,
    }


def szcore_score_annotations(refs, hyps, null_label: str = "bckg", **kw) -> dict:
    """:func:`szcore_score` over paired :class:`~biodyn.io.events.AnnotationFile` objects; every event whose
    label is not ``null_label`` counts as a seizure. The duration is the reference's."""
    from biodyn.errors import ConfigError, RecordingError

    if len(refs) != len(hyps):
        raise ConfigError(f"{len(refs)} reference files but {len(hyps)} hypothesis files")
    files = []
    for ra, ha in zip(refs, hyps):
        if ra.duration_s is None:
            raise RecordingError(ra.path, "no '# duration = ... secs' header")
        files.append(
            (
                [e for e in ra.events if e.label != null_label],
                [e for e in ha.events if e.label != null_label],
                ra.duration_s,
            )
        )
    return szcore_score(files, **kw)


# ---------------------------------------------------------------------------------------------------------
# SzCORE's dataset evaluation (esl-epfl/szcore-evaluation): HED-SCORE events TSVs, 1 Hz masks, per-subject
# sums, then the mean and standard deviation over subjects.

TSV_COLUMNS = ("onset", "duration", "eventType", "confidence", "channels", "dateTime", "recordingDuration")
MASK_FS = 1  # SzCORE builds both masks at 1 Hz before scoring
METRICS = ("sensitivity", "precision", "f1", "fpRate")


@dataclass
class EventsTsv:
    """A HED-SCORE events TSV: its seizure events (every ``eventType`` starting with ``sz``; ``bckg`` rows
    carry no event) and the ``recordingDuration`` of its rows (None when the file has no rows)."""

    path: str
    events: list[Event]
    duration_s: float | None
    date_time: str = "n/a"


def read_events_tsv(path: str | os.PathLike) -> EventsTsv:
    """Read a BIDS / SzCORE ``*_events.tsv``. A missing column, a value that is not a number, an event type
    that is neither ``bckg`` nor ``sz*``, or rows disagreeing on ``recordingDuration`` is a
    :class:`~biodyn.errors.RecordingError` naming the file and line."""
    from biodyn.errors import RecordingError

    lines = Path(path).read_text().splitlines()
    if not lines:
        raise RecordingError(path, "empty events file (expected a header row)")
    head = lines[0].split("\t")
    missing = [c for c in ("onset", "duration", "eventType", "recordingDuration") if c not in head]
    if missing:
        raise RecordingError(path, f"no column(s) {', '.join(missing)} in the header {head}")
    col = {c: head.index(c) for c in head}
    events, durations, date_time = [], set(), "n/a"
    for lineno, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        f = line.split("\t")
        if len(f) < len(head):
            raise RecordingError(path, f"line {lineno}: {len(f)} fields, the header has {len(head)}")
        kind = f[col["eventType"]].strip()
        if kind != "bckg" and not kind.startswith("sz"):
            raise RecordingError(path, f"line {lineno}: event type {kind!r} is neither 'bckg' nor 'sz*'")
        try:
            durations.add(float(f[col["recordingDuration"]]))
            if kind != "bckg":
                events.append(Event(float(f[col["onset"]]), float(f[col["duration"]]), kind))
        except ValueError:
            raise RecordingError(
                path, f"line {lineno}: onset, duration or recordingDuration is not a number"
            ) from None
        if "dateTime" in col:
            date_time = f[col["dateTime"]].strip() or "n/a"
    if len(durations) > 1:
        raise RecordingError(path, f"rows disagree on recordingDuration: {sorted(durations)}")
    return EventsTsv(str(path), events, durations.pop() if durations else None, date_time)


def write_events_tsv(
    path: str | os.PathLike,
    events: Sequence[Event],
    duration_s: float,
    *,
    confidences: Sequence[float] | None = None,
    date_time: str = "n/a",
) -> None:
    """Write events as SzCORE expects a detector's output (``eventType`` ``sz``; one ``bckg`` row spanning
    the recording when there is no event, as epilepsy2bids writes seizure-free files), atomically."""
    from biodyn.atomic import atomic_write_text

    rows = ["\t".join(TSV_COLUMNS)]
    for i, e in enumerate(events):
        conf = "n/a" if confidences is None else f"{confidences[i]:.4f}"
        rows.append(f"{e.onset_s:.4f}\t{e.duration_s:.4f}\tsz\t{conf}\tn/a\t{date_time}\t{duration_s:.4f}")
    if not events:
        rows.append(f"0.0000\t{duration_s:.4f}\tbckg\tn/a\tn/a\t{date_time}\t{duration_s:.4f}")
    atomic_write_text(path, "\n".join(rows) + "\n")


def events_mask(events: Sequence[Event], duration_s: float, fs: int = MASK_FS) -> np.ndarray:
    """The boolean mask ``(int(duration_s * fs),)`` SzCORE scores: samples ``int(onset * fs)`` to
    ``int((onset + duration) * fs)`` (exclusive) of every event are set (truncation, as epilepsy2bids)."""
    mask = np.zeros(int(duration_s * fs), dtype=bool)
    for e in events:
        mask[int(e.onset_s * fs) : int((e.onset_s + e.duration_s) * fs)] = True
    return mask


@dataclass
class Counts:
    """Summed true positives, false positives, reference positives and scored duration; the scores are
    timescoring's (``fpRate``: false positives per 24 h)."""

    tp: int = 0
    fp: int = 0
    ref_true: int = 0
    duration_s: float = 0.0

    def __add__(self, o: Counts) -> Counts:
        return Counts(
            self.tp + o.tp, self.fp + o.fp, self.ref_true + o.ref_true, self.duration_s + o.duration_s
        )

    def scores(self) -> dict[str, float]:
        nan = float("nan")
        return {
            "sensitivity": self.tp / self.ref_true if self.ref_true else nan,
            "precision": self.tp / (self.tp + self.fp) if self.tp + self.fp else nan,
            "f1": 2 * self.tp / (2 * self.tp + self.fp + self.ref_true - self.tp)
            if self.ref_true + self.fp
            else nan,
            "fpRate": self.fp / (self.duration_s / 86400.0) if self.duration_s else nan,
        }


def event_parameters(
    tolerance_start_s: float = 30.0,
    tolerance_end_s: float = 60.0,
    min_gap_s: float = 90.0,
    max_event_s: float = 300.0,
    min_overlap: float = 0.0,
):
    """timescoring's :class:`EventScoring.Parameters` with SzCORE's values (its defaults)."""
    from timescoring.scoring import EventScoring

    return EventScoring.Parameters(
        toleranceStart=tolerance_start_s,
        toleranceEnd=tolerance_end_s,
        minOverlap=min_overlap,
        maxEventDuration=max_event_s,
        minDurationBetweenEvents=min_gap_s,
    )


def score_recording(
    ref_mask: np.ndarray,
    hyp_mask: np.ndarray | None,
    *,
    fs: int = MASK_FS,
    duration_tolerance_s: float = 0.0,
    params=None,
) -> tuple[dict[str, Counts], str | None]:
    """Sample and event scoring of one recording as SzCORE's evaluation does it: a hypothesis whose mask is
    shorter or longer than the reference's by at most ``duration_tolerance_s`` is zero-padded or cut; a
    missing one, or one outside the tolerance, counts as no detection. Returns ``({"sample": Counts,
    "event": Counts}, note)`` with ``note`` saying why a hypothesis was replaced (None when it was not)."""
    from timescoring.annotations import Annotation
    from timescoring.scoring import EventScoring, SampleScoring

    note = None
    ref = np.asarray(ref_mask, dtype=bool)
    if hyp_mask is None:
        hyp, note = np.zeros_like(ref), "no hypothesis: scored as no detection"
    else:
        hyp = np.asarray(hyp_mask, dtype=bool)
        if len(hyp) != len(ref):
            if abs(len(hyp) - len(ref)) / fs <= duration_tolerance_s:
                hyp = (
                    np.concatenate([hyp, np.zeros(len(ref) - len(hyp), bool)])
                    if len(hyp) < len(ref)
                    else hyp[: len(ref)]
                )
            else:
                note = (
                    f"hypothesis lasts {len(hyp) / fs:g} s, the reference {len(ref) / fs:g} s "
                    f"(tolerance {duration_tolerance_s:g} s): scored as no detection"
                )
                hyp = np.zeros_like(ref)
    r, h = Annotation(ref, fs), Annotation(hyp, fs)
    s = SampleScoring(r, h)
    e = EventScoring(r, h, params if params is not None else event_parameters())
    return {
        "sample": Counts(int(s.tp), int(s.fp), int(s.refTrue), s.numSamples / s.fs),
        "event": Counts(int(e.tp), int(e.fp), int(e.refTrue), e.numSamples / e.fs),
    }, note


def aggregate_subjects(per_subject: dict[str, dict[str, Counts]], avg_per_subject: bool = True) -> dict:
    """SzCORE's dataset figures from per-subject summed counts: ``{"sample_results": {...},
    "event_results": {...}}`` holding ``sensitivity``, ``precision``, ``f1``, ``fpRate`` and, when
    ``avg_per_subject``, each one's ``_std``: the mean and (population) standard deviation over subjects,
    ignoring subjects where a score is undefined (NaN). Otherwise the scores of all counts summed."""
    import warnings

    out = {}
    for kind in ("sample", "event"):
        if avg_per_subject:
            res = {}
            for m in METRICS:
                vals = np.array([c[kind].scores()[m] for c in per_subject.values()], dtype=np.float64)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: the mean is NaN
                    res[m] = float(np.nanmean(vals)) if len(vals) else float("nan")
                    res[f"{m}_std"] = float(np.nanstd(vals)) if len(vals) else float("nan")
        else:
            total = sum((c[kind] for c in per_subject.values()), Counts())
            res = total.scores()
        out[f"{kind}_results"] = res
    return out
