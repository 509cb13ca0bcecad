"""SzCORE's dataset evaluation pieces: events TSVs, 1 Hz masks, per-recording scoring, subject aggregation."""

import math

import numpy as np
import pytest

from biodyn.errors import RecordingError
from biodyn.metrics.szcore import (
    Counts,
    aggregate_subjects,
    events_mask,
    read_events_tsv,
    score_recording,
    write_events_tsv,
)
from biodyn.types import Event

HEAD = "onset\tduration\teventType\tconfidence\tchannels\tdateTime\trecordingDuration\n"


def test_tsv_as_epilepsy2bids_writes_it(tmp_path):
    p = tmp_path / "sub-00_ses-01_task-szMonitoring_run-01_events.tsv"
    p.write_text(
        HEAD + "1143.00\t70.00\tsz_foc_ia\tn/a\tT4,T6\t2016-01-01 19:39:33\t2605.00\n"
        "1500.50\t10.00\tsz\t0.90\tn/a\t2016-01-01 19:39:33\t2605.00\n"
    )
    t = read_events_tsv(p)
    assert [(e.onset_s, e.duration_s, e.label) for e in t.events] == [
        (1143.0, 70.0, "sz_foc_ia"),
        (1500.5, 10.0, "sz"),
    ]
    assert t.duration_s == 2605.0 and t.date_time == "2016-01-01 19:39:33"
    p.write_text(HEAD + "0.00\t2605.00\tbckg\tn/a\tn/a\tn/a\t2605.00\n")
    t = read_events_tsv(p)
    assert t.events == [] and t.duration_s == 2605.0
    p.write_text(HEAD + "1.0\t2.0\tartifact\tn/a\tn/a\tn/a\t10\n")
    with pytest.raises(RecordingError, match="line 2: event type 'artifact'"):
        read_events_tsv(p)
    p.write_text("onset\tduration\teventType\n1\t2\tsz\n")
    with pytest.raises(RecordingError, match="no column"):
        read_events_tsv(p)


def test_write_then_read(tmp_path):
    p = tmp_path / "h.tsv"
    write_events_tsv(
        p, [Event(10.0, 5.5, "seiz")], 60.0, confidences=[0.91234], date_time="2020-01-01 00:00:00"
    )
    t = read_events_tsv(p)
    assert [(e.onset_s, e.duration_s) for e in t.events] == [(10.0, 5.5)] and t.duration_s == 60.0
    assert p.read_text().splitlines()[1].split("\t")[2:4] == ["sz", "0.9123"]
    write_events_tsv(p, [], 60.0)  # no detection: one bckg row carries the duration
    assert p.read_text().splitlines()[1].split("\t")[:3] == ["0.0000", "60.0000", "bckg"]
    assert read_events_tsv(p).events == [] and read_events_tsv(p).duration_s == 60.0


def test_mask_truncates_as_szcore():
    m = events_mask([Event(2.7, 1.6, "sz")], 10.9)  # samples int(2.7)=2 .. int(4.3)=4 (exclusive); 10 samples
    assert m.tolist() == [False, False, True, True] + [False] * 6


def test_one_recording_hand_worked():
    """Reference seizure 100-160 s of 1000 s; detections 80-90 s (inside the 30 s lead tolerance: a true
    positive) and 500-510 s (a false positive)."""
    ref = events_mask([Event(100, 60, "sz")], 1000)
    hyp = events_mask([Event(80, 10, "sz"), Event(500, 10, "sz")], 1000)
    c, note = score_recording(ref, hyp)
    assert note is None
    ev, sa = c["event"], c["sample"]
    assert (ev.tp, ev.fp, ev.ref_true, ev.duration_s) == (1, 1, 1, 1000.0)
    s = ev.scores()
    assert s["sensitivity"] == 1.0 and s["precision"] == 0.5 and s["f1"] == pytest.approx(2 / 3)
    assert s["fpRate"] == pytest.approx(86.4)  # one false positive in 1000 s
    assert (sa.tp, sa.fp, sa.ref_true) == (0, 20, 60)  # 1 Hz samples: no overlap at all
    # a hypothesis one second longer than the reference: no detection unless the tolerance allows it
    long = np.concatenate([hyp, [False]])
    c0, note0 = score_recording(ref, long)
    assert c0["event"].tp == 0 and "scored as no detection" in note0
    c1, note1 = score_recording(ref, long, duration_tolerance_s=1.0)
    assert note1 is None and (c1["event"].tp, c1["event"].fp) == (1, 1)
    c2, note2 = score_recording(ref, None)
    assert (c2["event"].tp, c2["event"].fp, c2["event"].ref_true) == (0, 0, 1) and "no hypothesis" in note2


def test_subject_aggregation_mean_std_and_pooled():
    subj = {
        "sub-01": {"event": Counts(1, 1, 1, 1000.0), "sample": Counts(0, 20, 60, 1000.0)},
        "sub-02": {"event": Counts(0, 2, 0, 2000.0), "sample": Counts(0, 5, 0, 2000.0)},  # no seizure
        "sub-03": {"event": Counts(1, 0, 2, 500.0), "sample": Counts(10, 0, 30, 500.0)},
    }
    out = aggregate_subjects(subj)["event_results"]
    # per subject: sens 1, nan, 0.5; prec 0.5, 0, 1; f1 2/3, 0, 2/3; fp/day 86.4, 86.4, 0
    assert out["sensitivity"] == pytest.approx(0.75) and out["sensitivity_std"] == pytest.approx(0.25)
    assert out["precision"] == pytest.approx(0.5) and out["precision_std"] == pytest.approx(math.sqrt(1 / 6))
    assert out["f1"] == pytest.approx(4 / 9)
    assert out["fpRate"] == pytest.approx(57.6) and out["fpRate_std"] == pytest.approx(
        np.std([86.4, 86.4, 0])
    )
    pooled = aggregate_subjects(subj, avg_per_subject=False)["event_results"]
    # summed: tp 2, fp 3, ref 3, 3500 s; F1 = 2 tp / (2 tp + fp + fn) = 4 / (4 + 3 + 1)
    assert pooled["sensitivity"] == pytest.approx(2 / 3) and pooled["precision"] == pytest.approx(0.4)
    assert pooled["f1"] == pytest.approx(4 / 8) and pooled["fpRate"] == pytest.approx(3 / 3500 * 86400)
    assert "fpRate_std" not in pooled
