"""Hand-worked cases at the exact boundaries of the scoring rules: an event that ends where another starts,
a curve point exactly at a false-alarm target, gaps exactly the merge gap, durations exactly at the
limits. Each boundary is checked from both sides (at the bound and one step past it)."""

import numpy as np
import pytest

from biodyn.metrics.detection import (
    OperatingPoint,
    Scored,
    choose_thresholds,
    choose_thresholds_bisect,
    sweep,
)
from biodyn.metrics.events import Segment, normalize, score_overlap
from biodyn.metrics.postprocess import probs_to_events
from biodyn.types import Event

L = ("seiz", "bckg")


def counts(ref, hyp, dur=100.0):
    c = score_overlap(normalize(ref, dur), normalize(hyp, dur), L)["seiz"]
    return c.targets, c.hits, c.misses, c.false_alarms


@pytest.mark.parametrize(
    ("hyp", "want"),
    [
        (
            (5.0, 10.0),
            (1, 0, 1, 1),
        ),  # ends exactly at the reference onset: no overlap, a miss and a false alarm
        ((5.0, 10.01), (1, 1, 0, 0)),  # 10 ms into the reference: a hit
        ((20.0, 30.0), (1, 0, 1, 1)),  # starts exactly at the reference end
        ((19.99, 30.0), (1, 1, 0, 0)),
    ],
)
def test_overlap_is_strict_at_both_ends(hyp, want):
    ref = [Event(10.0, 10.0, "seiz")]
    assert counts(ref, [Event(hyp[0], hyp[1] - hyp[0], "seiz")]) == want


def test_overlap_on_raw_segments_by_hand():
    ref = [Segment(10.0, 20.0, "seiz"), Segment(40.0, 50.0, "seiz")]
    hyp = [Segment(0.0, 10.0, "seiz"), Segment(20.0, 40.0, "seiz"), Segment(49.0, 60.0, "seiz")]
    c = score_overlap(ref, hyp, ("seiz",))["seiz"]
    # only [49, 60) overlaps a reference event ([40, 50)); [0, 10) and [20, 40) only touch
    assert (c.targets, c.hits, c.misses, c.false_alarms) == (2, 1, 1, 2)


def _pt(th, sens, fa):
    return OperatingPoint(threshold=th, sensitivity=sens, fa_per_24h=fa)


def test_point_exactly_at_the_fa_target_is_admissible():
    curve = [_pt(0.2, 0.9, 2.0), _pt(0.5, 0.6, 1.0), _pt(0.8, 0.3, 0.5), _pt(0.9, float("nan"), 0.0)]
    got = choose_thresholds(curve, targets=(2.0, 1.0, 0.5, 0.1))
    assert got[2.0].threshold == 0.2  # FA exactly 2.0 meets the target 2.0
    assert got[1.0].threshold == 0.5  # FA exactly 1.0 meets 1.0
    assert got[0.5].threshold == 0.8
    assert got[0.1] is None  # only the NaN-sensitivity point has FA <= 0.1
    # ties on sensitivity: the lower FA, then the higher threshold
    tie = choose_thresholds([_pt(0.3, 0.5, 1.0), _pt(0.4, 0.5, 0.5), _pt(0.6, 0.5, 0.5)], targets=(1.0,))
    assert tie[1.0].threshold == 0.6


def test_bisection_accepts_fa_exactly_at_target():
    """Four half-day records at 1 Hz (2 days). Record a holds seizure 1 at p = 0.7, seizure 2 at p = 0.9 and a
    false alarm at p = 0.7; record b a false alarm at p = 0.7; c and d are quiet. By hand: threshold 0 (all
    on) gives 3 false alarms (b, c, d) = 1.5/24h; 0.7 gives 2 = exactly 1.0/24h with both seizures; 0.9
    gives none with one seizure. For the target 1.0/24h the answer is 0.7 (FA exactly at the target)."""
    n = 43200
    pa, pb = np.zeros(n), np.zeros(n)
    pa[1000:1030], pa[5000:5030], pa[9000:9010] = 0.7, 0.9, 0.7
    pb[2000:2010] = 0.7
    recs = [
        Scored(pa, 1.0, [Event(1000.0, 30.0, "seiz"), Event(5000.0, 30.0, "seiz")]),
        Scored(pb, 1.0, []),
        Scored(np.zeros(n), 1.0, []),
        Scored(np.zeros(n), 1.0, []),
    ]
    curve = sweep(recs)
    assert [(pt.threshold, pt.sensitivity, pt.false_alarms) for pt in curve] == [
        (0.0, 1.0, 3),
        (0.7, 1.0, 2),
        (0.9, 0.5, 0),
    ]
    assert curve[1].fa_per_24h == 1.0
    for pick in (
        choose_thresholds(curve, targets=(1.0, 0.5)),
        choose_thresholds_bisect(recs, targets=(1.0, 0.5)),
    ):
        assert pick[1.0].threshold == 0.7 and pick[1.0].sensitivity == 1.0
        assert pick[0.5].threshold == 0.9 and pick[0.5].sensitivity == 0.5


def _mask_events(mask, fs=10.0, **kw):
    return [
        (round(e.onset_s * fs), round((e.onset_s + e.duration_s) * fs))
        for e in probs_to_events(np.asarray(mask, float), fs, threshold=0.5, **kw)
    ]


def _runs(*spans, n=60):
    m = np.zeros(n)
    for a, b in spans:
        m[a:b] = 1
    return m


def test_merge_gap_exact_and_one_sample_closer():
    # fs = 10 Hz, merge_gap_s = 1.0: a gap of 10 samples (exactly 1 s) stays, 9 samples merge
    assert _mask_events(_runs((0, 5), (15, 20)), merge_gap_s=1.0) == [(0, 5), (15, 20)]
    assert _mask_events(_runs((0, 5), (14, 20)), merge_gap_s=1.0) == [(0, 20)]
    # a chain: merges carry on from the merged event's end
    assert _mask_events(_runs((0, 5), (9, 12), (16, 20), (40, 41)), merge_gap_s=0.5) == [(0, 20), (40, 41)]


def test_min_and_max_duration_at_their_bounds():
    m = _runs((0, 10), (20, 29), (40, 51))  # 1.0 s, 0.9 s, 1.1 s at 10 Hz
    assert _mask_events(m, min_duration_s=1.0) == [(0, 10), (40, 51)]  # exactly 1.0 s is kept
    assert _mask_events(m, max_duration_s=1.0) == [(0, 10), (20, 29)]  # exactly 1.0 s is kept
    assert _mask_events(m, min_duration_s=1.0, max_duration_s=1.0) == [(0, 10)]
    assert _mask_events(m, min_duration_s=0.91) == [(0, 10), (40, 51)]
    assert _mask_events(m, min_duration_s=1.01) == [(40, 51)]


def test_threshold_is_inclusive_and_hysteresis_by_hand():
    p = np.array([0.2, 0.5, 0.49, 0.4, 0.6, 0.3, 0.45, 0.45, 0.1])
    assert _mask_events(p, fs=1.0) == [(1, 2), (4, 5)]  # p >= 0.5, exactly 0.5 included
    # hysteresis 0.1: on from >= 0.5, stays on while >= 0.4; the run [6, 8) never reaches 0.5
    assert _mask_events(p, fs=1.0, hysteresis_gap=0.1) == [(1, 5)]
