"""SzCORE's dataset evaluation worked out by hand where the sample rate is not 1 Hz, where a hypothesis is
shorter than the reference, where a score is undefined, and with parameters other than SzCORE's."""

import math

import numpy as np
import pytest

from biodyn.errors import RecordingError
from biodyn.metrics.szcore import (
    Counts,
    aggregate_subjects,
    event_parameters,
    events_mask,
    read_events_tsv,
    score_recording,
    write_events_tsv,
)
from biodyn.types import Event


def test_written_rows_default_to_na_confidence_and_date(tmp_path):
    p = tmp_path / "h.tsv"
    write_events_tsv(p, [Event(10.0, 5.5, "seiz"), Event(30.25, 1.0, "seiz")], 60.0)
    assert p.read_text().splitlines() == [
        "onset\tduration\teventType\tconfidence\tchannels\tdateTime\trecordingDuration",
        "10.0000\t5.5000\tsz\tn/a\tn/a\tn/a\t60.0000",
        "30.2500\t1.0000\tsz\tn/a\tn/a\tn/a\t60.0000",
    ]


def test_mask_at_4_hz_truncates_onset_and_offset_samples():
    # 3 s at 4 Hz: 12 samples; onset 1.3 s -> sample int(5.2) = 5, offset 2.3 s -> int(9.2) = 9 (exclusive)
    m = events_mask([Event(1.3, 1.0, "sz")], 3.0, fs=4)
    assert m.dtype == np.bool_
    assert m.tolist() == [False] * 5 + [True] * 4 + [False] * 3


def test_undefined_scores_are_nan():
    s = Counts(0, 0, 0, 0.0).scores()  # nothing to detect, nothing detected, nothing scored
    assert set(s) == {"sensitivity", "precision", "f1", "fpRate"}
    assert all(isinstance(v, float) and math.isnan(v) for v in s.values())
    s = Counts(0, 0, 2, 100.0).scores()  # two seizures missed, no detection: precision undefined
    assert s["sensitivity"] == 0.0 and math.isnan(s["precision"]) and s["f1"] == 0.0 and s["fpRate"] == 0.0


def test_event_parameters_are_szcores_and_are_passed_on():
    p = event_parameters()  # Dan et al. 2024: 30 s before, 60 s after, merge under 90 s, split over 5 min
    got = (p.toleranceStart, p.toleranceEnd, p.minDurationBetweenEvents, p.maxEventDuration, p.minOverlap)
    assert got == (30.0, 60.0, 90.0, 300.0, 0.0)
    p = event_parameters(
        tolerance_start_s=1.0, tolerance_end_s=2.0, min_gap_s=3.0, max_event_s=4.0, min_overlap=0.5
    )
    got = (p.toleranceStart, p.toleranceEnd, p.minDurationBetweenEvents, p.maxEventDuration, p.minOverlap)
    assert got == (1.0, 2.0, 3.0, 4.0, 0.5)


def _ref_hyp(fs):
    """Seizure 100-160 s of 1000 s; detections 80-90 s (a hit within the 30 s lead) and 500-510 s."""
    ref = events_mask([Event(100, 60, "sz")], 1000, fs=fs)
    hyp = events_mask([Event(80, 10, "sz"), Event(500, 10, "sz")], 1000, fs=fs)
    return ref, hyp


def test_score_recording_passes_its_parameters_on():
    ref, hyp = _ref_hyp(1)
    c, _ = score_recording(ref, hyp)
    assert (c["event"].tp, c["event"].fp) == (1, 1)
    # with a 5 s lead tolerance the detection ending 10 s before the onset is a false positive
    c, _ = score_recording(ref, hyp, params=event_parameters(tolerance_start_s=5.0))
    assert (c["event"].tp, c["event"].fp, c["event"].ref_true) == (0, 2, 1)


def test_score_recording_at_4_hz_pads_a_short_hypothesis_within_the_tolerance():
    ref, hyp = _ref_hyp(4)
    full, note = score_recording(ref, hyp, fs=4)
    assert note is None
    assert (full["event"].tp, full["event"].fp, full["event"].ref_true) == (1, 1, 1)
    # both scorings report the duration in seconds: 4000 samples at 4 Hz
    assert full["event"].duration_s == 1000.0 and full["sample"].duration_s == 1000.0
    assert (full["sample"].tp, full["sample"].fp, full["sample"].ref_true) == (0, 20, 60)
    # two samples (0.5 s) short: zero-padded with a 1 s tolerance, so scored exactly as the full mask
    short = hyp[:-2]
    got, note = score_recording(ref, short, fs=4, duration_tolerance_s=1.0)
    assert note is None and got == full
    # four samples (1 s) short: padded back to the reference's 1000 s
    got, note = score_recording(ref, hyp[:-4], fs=4, duration_tolerance_s=1.0)
    assert note is None and got == full
    # two samples long: cut back to the reference's length
    got, note = score_recording(ref, np.concatenate([hyp, [True, True]]), fs=4, duration_tolerance_s=0.5)
    assert note is None and got == full
    # with a 0.25 s tolerance the 0.5 s difference counts as no detection
    got, note = score_recording(ref, short, fs=4, duration_tolerance_s=0.25)
    assert note == "hypothesis lasts 999.5 s, the reference 1000 s (tolerance 0.25 s): scored as no detection"
    assert (got["event"].tp, got["event"].fp, got["sample"].fp) == (0, 0, 0)
    got, note = score_recording(ref, None, fs=4)
    assert note == "no hypothesis: scored as no detection" and (got["event"].tp, got["event"].fp) == (0, 0)


def test_score_recording_reads_any_nonzero_sample_as_seizure():
    # masks of counts (e.g. how many channels flag a second): every nonzero sample is a seizure sample
    ref, hyp = _ref_hyp(1)
    as_bool, _ = score_recording(ref, hyp)
    as_counts, _ = score_recording(ref.astype(int) * 2, hyp.astype(int) * 3)
    assert as_counts == as_bool


def test_aggregate_of_no_subject_and_of_undefined_scores_is_nan():
    out = aggregate_subjects({})
    for kind in ("sample_results", "event_results"):
        assert set(out[kind]) == {
            f"{m}{s}" for m in ("sensitivity", "precision", "f1", "fpRate") for s in ("", "_std")
        }
        assert all(math.isnan(v) for v in out[kind].values())
    # one subject without a seizure or a detection: every score but the false-alarm rate undefined
    out = aggregate_subjects({"sub-01": {"event": Counts(0, 0, 0, 100.0), "sample": Counts(0, 0, 0, 100.0)}})
    ev = out["event_results"]
    assert math.isnan(ev["sensitivity"]) and math.isnan(ev["sensitivity_std"]) and math.isnan(ev["f1"])
    assert ev["fpRate"] == 0.0 and ev["fpRate_std"] == 0.0


HEAD = "onset\tduration\teventType\tconfidence\tchannels\tdateTime\trecordingDuration"


def test_read_tsv_header_only_blank_lines_and_its_path(tmp_path):
    p = tmp_path / "sub-01_events.tsv"
    p.write_text(HEAD + "\n")  # a header and no row: no event, no duration
    t = read_events_tsv(p)
    assert (t.path, t.events, t.duration_s, t.date_time) == (str(p), [], None, "n/a")
    # a blank line between rows is skipped, and the rows after it are read
    p.write_text(
        HEAD + "\n1.0\t2.0\tsz\tn/a\tn/a\t\t60\n\n5.0\t1.5\tsz_foc\tn/a\tn/a\t2020-01-01 00:00:00\t60\n"
    )
    t = read_events_tsv(p)
    assert [(e.onset_s, e.duration_s, e.label) for e in t.events] == [(1.0, 2.0, "sz"), (5.0, 1.5, "sz_foc")]
    assert t.duration_s == 60.0 and t.date_time == "2020-01-01 00:00:00"


def test_read_tsv_empty_or_missing_date_is_na(tmp_path):
    p = tmp_path / "e.tsv"
    p.write_text(HEAD + "\n1.0\t2.0\tsz\tn/a\tn/a\t\t60\n")  # an empty dateTime field
    assert read_events_tsv(p).date_time == "n/a"
    p.write_text("onset\tduration\teventType\trecordingDuration\n1.0\t2.0\tsz\t60\n")  # no dateTime column
    t = read_events_tsv(p)
    assert t.date_time == "n/a" and t.duration_s == 60.0 and len(t.events) == 1


def test_read_tsv_columns_are_split_on_tabs_only(tmp_path):
    # an extra column whose name holds a space, before the ones read: fields are tab-separated
    p = tmp_path / "e.tsv"
    p.write_text(
        "annotator note\tonset\tduration\teventType\trecordingDuration\nlate onset\t3.0\t4.0\tsz\t60\n"
    )
    t = read_events_tsv(p)
    assert [(e.onset_s, e.duration_s, e.label) for e in t.events] == [(3.0, 4.0, "sz")]


def test_read_tsv_two_rows_with_different_durations_disagree(tmp_path):
    p = tmp_path / "e.tsv"
    p.write_text(HEAD + "\n1\t1\tsz\tn/a\tn/a\tn/a\t60\n2\t1\tsz\tn/a\tn/a\tn/a\t61\n")
    with pytest.raises(RecordingError, match="disagree"):
        read_events_tsv(p)


# ---- szcore_score: events pooled over files, on timescoring's 10 Hz grid
def _score(ref, hyp, duration_s=1000.0, **kw):
    from biodyn.metrics.szcore import szcore_score

    ev = [Event(a, b - a, "sz") for a, b in ref], [Event(a, b - a, "sz") for a, b in hyp]
    r = szcore_score([(*ev, duration_s)], **kw)
    return r["tp"], r["fp"], r["ref_events"]


def test_szcore_default_tolerances_gap_and_split_by_hand():
    # seizure 100-160 s: the detection window is 70-220 s (30 s before, 60 s after)
    assert _score([(100, 160)], [(60, 69.5)]) == (0, 1, 1)  # ends 30.5 s before the onset: outside
    assert _score([(100, 160)], [(220.5, 230)]) == (0, 1, 1)  # starts 60.5 s after the end: outside
    assert _score([(100, 160)], [(60, 70.5)]) == (1, 0, 1)  # reaches 0.5 s into the window
    # detections 90.5 s apart stay two events (merged under 90 s): two false positives
    assert _score([], [(300, 310), (400.5, 410)]) == (0, 2, 0)
    assert _score([], [(300, 310), (399.5, 410)]) == (0, 1, 0)
    # a 300.5 s seizure is split into 300 s and 0.5 s; one of 300 s is not
    assert _score([(500, 800.5)], []) == (0, 0, 2)
    assert _score([(500, 800)], []) == (0, 0, 1)


def test_szcore_options_are_passed_on():
    assert _score([(100, 160)], [(170.5, 175)], tolerance_end_s=10.0) == (0, 1, 1)
    assert _score([(100, 160)], [(165, 169.5)], tolerance_end_s=10.0) == (1, 0, 1)
    assert _score([], [(300, 310), (315.5, 320)], min_gap_s=5.0) == (0, 2, 0)  # 5.5 s apart: two events
    assert _score([], [(300, 310), (315.5, 320)]) == (0, 1, 0)  # merged under the default 90 s
    assert _score([(500, 650)], [], max_event_s=100.0) == (0, 0, 2)


def test_szcore_seizure_in_the_last_tenth_of_a_second_counts():
    # a file 99.951 s long: timescoring's 10 Hz grid keeps its last 0.051 s as the 1000th sample, so a
    # seizure there, detected exactly, is a true positive
    assert _score([(99.9, 99.951)], [(99.9, 99.951)], duration_s=99.951) == (1, 0, 1)


def test_szcore_pooled_scores_by_hand():
    from biodyn.metrics.szcore import szcore_score

    sz = [Event(100, 60, "sz")]
    files = [
        # one seizure detected, one false positive at 500 s
        (sz, [Event(80, 10, "sz"), Event(500, 10, "sz")], 1000.0),
        # one seizure missed, no detection
        (sz, [], 800.0),
    ]
    r = szcore_score(files)
    assert (r["tp"], r["fp"], r["ref_events"], r["duration_s"]) == (1, 1, 2, 1800.0)
    assert r["sensitivity"] == 0.5 and r["precision"] == 0.5
    assert r["f1"] == pytest.approx(2 * 1 / (2 * 1 + 1 + 1))
    assert r["fa_per_24h"] == pytest.approx(1 / 1800 * 86400)
    r = szcore_score(files[:1])  # tp 1, fp 1, one seizure: F1 = 2 / (2 + 1 + 0)
    assert r["f1"] == pytest.approx(2 / 3) and r["precision"] == 0.5 and r["sensitivity"] == 1.0


def test_szcore_with_nothing_to_score_is_nan():
    from biodyn.metrics.szcore import szcore_score

    r = szcore_score([])
    assert (r["tp"], r["fp"], r["ref_events"], r["duration_s"]) == (0, 0, 0, 0.0)
    for k in ("sensitivity", "precision", "f1", "fa_per_24h"):
        assert math.isnan(r[k]), k
    r = szcore_score([([], [], 600.0)])  # a file with no seizure and no detection: only the rate is defined
    assert math.isnan(r["sensitivity"]) and math.isnan(r["precision"]) and math.isnan(r["f1"])
    assert r["fa_per_24h"] == 0.0
