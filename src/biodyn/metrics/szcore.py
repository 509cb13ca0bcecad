"""SzCORE event scoring (Dan et al. 2024) through the ``timescoring`` package, micro-averaged over files.

Defaults are SzCORE's: a detection counts if it falls 30 s before to 60 s after a reference seizure,
events closer than 90 s are merged, events longer than 5 min are split.
"""

from __future__ import annotations

from collections.abc import Sequence

from biodyn.types import Event


def szcore_score(files: Sequence[tuple[list[Event], list[Event], float]], tolerance_start_s: float = 30.0,
                 tolerance_end_s: float = 60.0, min_gap_s: float = 90.0, max_event_s: float = 300.0) -> dict:  # fmt: skip
    """Score ``(reference events, hypothesis events, duration_s)`` per file; returns summed counts and
    sensitivity, precision, F1 and false alarms per 24 h over all files."""
    from timescoring.annotations import Annotation
    from timescoring.scoring import EventScoring

    params = EventScoring.Parameters(toleranceStart=tolerance_start_s, toleranceEnd=tolerance_end_s,
                                     minDurationBetweenEvents=min_gap_s, maxEventDuration=max_event_s)  # fmt: skip
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
    return {"tp": tp, "fp": fp, "ref_events": ref_true, "sensitivity": sens, "precision": prec, "f1": f1,
            "fa_per_24h": fp / dur * 86400.0 if dur else float("nan"), "duration_s": dur}  # fmt: skip


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
        files.append(([e for e in ra.events if e.label != null_label],
                      [e for e in ha.events if e.label != null_label], ra.duration_s))  # fmt: skip
    return szcore_score(files, **kw)
