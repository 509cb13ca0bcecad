"""The detection figure: one layout for a 41 s crop and a 24 h recording, the threshold it is given, legible
text inside the figure."""

import time

import numpy as np
import pytest

from biodyn.report.detection_figure import (
    MAX_ZOOMS,
    ZOOM_S,
    choose_zooms,
    detection_figure,
    envelope,
    nice_step,
    robust_amplitude,
    save_figure,
)
from biodyn.report.figcheck import overlapping_texts, text_strings, texts_outside
from biodyn.types import Event

CHANNELS = ["FP1-F7", "F7-T7", "T7-P7", "P7-O1", "FP2-F8", "F8-T8"]


def _eeg(seconds, fs, seed=0, channels=CHANNELS):
    rng = np.random.default_rng(seed)
    amp = np.linspace(10, 80, len(channels))[:, None]  # µV: channels of different amplitude
    return (rng.standard_normal((len(channels), int(seconds * fs))) * amp).astype(np.float32)


def _texts(fig):
    return text_strings(fig)


def test_nice_step_and_robust_amplitude_by_hand():
    assert [nice_step(v) for v in (0.7, 1.0, 1.2, 3.0, 7.0, 42.0, 150.0)] == [1, 1, 2, 5, 10, 50, 200]
    x = np.array([[0.0, 1.0, -1.0, 2.0, -2.0, 100.0]])  # the outlier does not move a MAD
    med = np.median(x[0])
    assert robust_amplitude(x)[0] == pytest.approx(1.4826 * np.median(np.abs(x[0] - med)))


def test_envelope_keeps_every_extreme():
    y = np.zeros(100_000)
    y[12_345] = 1.0
    y[99_999] = -1.0
    t, lo, hi = envelope(y, 10.0, n_bins=1000)
    assert len(t) == 1000 and hi.max() == 1.0 and lo.min() == -1.0
    k = int(np.flatnonzero(hi == 1.0)[0])
    assert t[k] <= 1234.5 < t[k] + 10.0  # the bin that holds the spike is where it was


def test_zooms_cover_detections_then_missed_references_and_stay_short():
    probs = np.zeros(41 * 256)
    ev = [Event(1.0, 40.0, "seiz")]
    z = choose_zooms(ev, [Event(1.0, 40.0, "seiz")], probs, 256.0, 41.0)
    assert len(z) == 1 and z[0].stop_s - z[0].start_s <= ZOOM_S and "shown to" in z[0].title
    # three detections in a 41 s crop: the most confident opens a zoom (it ends at the end: 11-41 s), the
    # third starts inside it and shares it, the first gets its own
    three = [Event(9.0, 10.5, "seiz"), Event(23.2, 9.1, "seiz"), Event(35.9, 4.6, "seiz")]
    z = choose_zooms(three, [], probs, 256.0, 41.0, confidences=[0.5, 0.6, 0.4])
    assert [(b.start_s, b.stop_s) for b in z] == [(7.0, 37.0), (11.0, 41.0)]
    assert [b.title for b in z] == ["detection 9.0-19.5 s", "detections 23.2-32.3 s, 35.9-40.5 s"]
    many = [Event(100.0 * k, 20.0, "seiz") for k in range(10)]
    z = choose_zooms(
        many, [Event(5000.0, 30.0, "seiz")], np.zeros(10), 1.0, 86_400.0, confidences=list(range(10))
    )
    assert len(z) == MAX_ZOOMS and all(b.stop_s - b.start_s <= ZOOM_S for b in z)
    assert [round(b.start_s) for b in z] == [698, 798, 898]  # the three most confident, in time order
    probs = np.zeros(600)
    probs[400] = 0.4
    z = choose_zooms([], [], probs, 1.0, 600.0)  # nothing detected: the highest probability is shown
    assert len(z) == 1 and z[0].start_s <= 400 <= z[0].stop_s and "no event" in z[0].title


def _figure(seconds, fs, events, reference=(), threshold=0.557):
    x = _eeg(seconds, fs)
    pfs = fs
    probs = np.full(x.shape[1], 0.1, np.float32)
    for e in events:
        probs[int(e.onset_s * pfs) : int(e.offset_s * pfs)] = 0.9
    return detection_figure(
        x, fs, CHANNELS, probs, pfs, threshold, list(events), reference=list(reference), title="test"
    )


def test_short_crop_and_24h_recording_have_one_layout(tmp_path):
    from PIL import Image

    short = _figure(41.0, 256.0, [Event(1.0, 40.0, "seiz")], [Event(1.0, 40.0, "seiz")])
    t0 = time.perf_counter()
    long = _figure(24 * 3600.0, 16.0, [Event(3600.0, 60.0, "seiz"), Event(50_000.0, 45.0, "seiz")])
    build_s = time.perf_counter() - t0
    for fig in (short, long):
        assert texts_outside(fig) == [] and overlapping_texts(fig) == []
        texts = _texts(fig)
        assert "threshold 0.557" in texts and "p(seizure)" in texts and "time (s)" in texts
        assert set(CHANNELS) <= texts and any(t.endswith(" µV") for t in texts)  # scale bar
    save_figure(short, tmp_path / "short.png")
    t0 = time.perf_counter()
    save_figure(long, tmp_path / "long.png")
    print(f"24 h figure: built in {build_s:.1f} s, written in {time.perf_counter() - t0:.1f} s")
    w_s, h_s = Image.open(tmp_path / "short.png").size
    w_l, h_l = Image.open(tmp_path / "long.png").size
    # one zoom for the crop (detection and reference coincide), two for the day: the width is fixed and the
    # height grows with the number of zooms (at most MAX_ZOOMS), never with the duration
    assert w_s == w_l == 1200
    assert h_l > h_s and h_l - h_s == pytest.approx((0.75 + 0.24 * len(CHANNELS)) * 100, abs=2)
    assert (tmp_path / "long.png").stat().st_size < 2_000_000


def test_the_dashed_line_is_the_threshold_given():
    fig = _figure(41.0, 256.0, [], threshold=0.49)
    ax = fig.axes[0]
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == 1 and list(dashed[0].get_ydata()) == [0.49, 0.49]
