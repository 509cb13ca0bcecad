import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal as sps

from biodyn.errors import ConfigError, RecordingError
from biodyn.signal import (
    SEIZURE_EEG,
    PreprocessConfig,
    bandpass,
    clip_sigma,
    make_windows,
    notch,
    preprocess,
    resample,
    resample_ratio,
    window_starts,
    zscore,
)


def _sine(f, fs, n, phase=0.0):
    t = np.arange(n) / fs
    return np.sin(2 * np.pi * f * t + phase)


def _amp(y, trim):
    core = y[..., trim:-trim]
    return np.sqrt(2 * np.mean(core**2, axis=-1))


@settings(max_examples=15, deadline=None)
@given(
    fs=st.sampled_from([100.0, 160.0, 250.0, 256.0, 500.0]),
    f_in=st.floats(0.2, 0.8),
    f_out=st.floats(0.0, 1.0),
)
def test_bandpass_passes_band_and_stops_outside(fs, f_in, f_out):
    lo, hi = 2.0, 0.3 * fs
    n = int(fs * 20)
    fin = lo * 2 + f_in * (hi / 1.5 - lo * 2)  # well inside the band
    fout = hi * 1.6 + f_out * (0.45 * fs - hi * 1.6)  # well above it
    x = np.stack([_sine(fin, fs, n), _sine(fout, fs, n)])
    y = bandpass(x, fs, lo, hi)
    assert y.dtype == np.float32 and y.shape == x.shape
    a_in, a_out = _amp(y, int(fs * 2))
    assert a_in == pytest.approx(1.0, abs=0.03)
    assert a_out < 0.05


def test_bandpass_matches_scipy_and_has_no_lag():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4000))
    ref = sps.sosfiltfilt(sps.butter(4, [1, 30], btype="bandpass", fs=200, output="sos"), x, axis=-1)
    np.testing.assert_allclose(bandpass(x, 200, 1, 30), ref, rtol=1e-4, atol=1e-5)
    # zero phase: an in-band sine comes out aligned with the input
    s = _sine(10, 200, 4000)
    y = bandpass(s, 200, 1, 30)
    lag = np.argmax(np.correlate(y[400:-400], s[400:-400], "full")) - (len(s) - 801)
    assert lag == 0


@pytest.mark.parametrize("line", [50.0, 60.0])
def test_notch_removes_line_and_harmonics(line):
    fs, n = 500.0, 10000
    x = np.stack([_sine(line, fs, n), _sine(2 * line, fs, n), _sine(line * 0.5, fs, n)])
    y = notch(x, fs, line, harmonics=True)
    a = _amp(y, 1000)
    assert a[0] < 0.01 and a[1] < 0.01 and a[2] == pytest.approx(1.0, abs=0.02)
    y1 = notch(x, fs, line, harmonics=False)
    assert _amp(y1, 1000)[1] == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize(
    ("fs_in", "fs_out"), [(250, 256), (512, 256), (1000, 500), (100, 160), (173.61, 256), (360, 500)]
)
def test_resample_preserves_band_limited_sine(fs_in, fs_out):
    up, down, achieved = resample_ratio(fs_in, fs_out)
    assert abs(achieved - fs_out) <= 1e-5 * fs_out
    n = int(fs_in * 20)
    f = 7.3
    x = _sine(f, fs_in, n)
    with pytest.warns(UserWarning) if achieved != fs_out else _nullcontext():
        y = resample(x, fs_in, fs_out)
    assert len(y) == int(np.ceil(n * up / down))
    expect = _sine(f, achieved, len(y))
    trim = int(achieved)
    np.testing.assert_allclose(y[trim:-trim], expect[trim:-trim], atol=2e-3)


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def test_resample_anti_alias_keeps_the_band_flat_to_the_new_nyquist():
    """512 -> 256 Hz: a sine at 0.9 of the new Nyquist comes through the long, steep FIR as it is (against the
    same sine at the output times) and one at 1.08 of it (aliased to 0.92) is gone; scipy's default FIR takes
    7 % off the first (-0.7 dB) and lets the second fold back 18 dB down."""
    fs_in, fs_out, n, trim = 512.0, 256.0, 512 * 20, 256
    t, t_out = np.arange(n) / fs_in, np.arange(n // 2) / fs_out
    inside, above = (np.sin(2 * np.pi * r * 128.0 * t) for r in (0.9, 1.08))
    ref = np.sin(2 * np.pi * 0.9 * 128.0 * t_out)[trim:-trim]
    sharp = resample(inside, fs_in, fs_out, anti_alias=(40, 8.0))[trim:-trim]
    np.testing.assert_allclose(sharp, ref, atol=2e-3)
    assert np.abs(resample(inside, fs_in, fs_out)[trim:-trim] - ref).max() > 0.05
    assert np.abs(resample(above, fs_in, fs_out, anti_alias=(40, 8.0))[trim:-trim]).max() < 2e-3
    assert np.abs(resample(above, fs_in, fs_out)[trim:-trim]).max() > 0.05
    # (10, 5.0) is scipy's own filter, also when up > 1 (resample_poly scales a given FIR by up itself)
    x = np.random.default_rng(0).standard_normal((3, 1000))
    np.testing.assert_array_equal(resample(x, 100.0, 250.0, anti_alias=(10, 5.0)), resample(x, 100.0, 250.0))


def test_resample_refuses_impossible_ratio():
    with pytest.raises(ConfigError, match="cannot resample"):
        resample_ratio(1000.0, 1000.0 * np.pi, rtol=1e-12)
    with pytest.raises(ConfigError, match="fs"):
        resample_ratio(-1, 100)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.booleans())
def test_zscore_against_numpy(seed, robust):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 500)) * rng.uniform(0.1, 100, (4, 1)) + rng.uniform(-50, 50, (4, 1))
    z = zscore(x, robust=robust)
    if robust:
        q1, med, q3 = np.percentile(x, [25, 50, 75], axis=1, keepdims=True)
        ref = (x - med) / ((q3 - q1) / 1.349)
    else:
        ref = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    np.testing.assert_allclose(z, ref, rtol=1e-4, atol=1e-4)


def test_flat_and_nonfinite_channels_are_named():
    x = np.random.default_rng(0).standard_normal((3, 1000))
    x[1] = 5.0
    with pytest.raises(RecordingError, match=r"rec\.edf: flat channel\(s\).*C3"):
        zscore(x, channels=["Fp1", "C3", "O1"], source="rec.edf")
    z = zscore(x, on_flat="zero")
    assert np.all(z[1] == 0) and np.isfinite(z).all()
    x[2, 10] = np.nan
    with pytest.raises(RecordingError, match=r"non-finite.*O1"):
        preprocess(x, 256, SEIZURE_EEG, channels=["Fp1", "C3", "O1"], source="rec.edf")
    with pytest.raises(RecordingError, match="empty"):
        preprocess(np.zeros((2, 0)), 256, SEIZURE_EEG)


def test_clip_and_bad_band():
    assert clip_sigma(np.array([-20.0, 0.5, 20.0]), 10).tolist() == [-10, 0.5, 10]
    with pytest.raises(ConfigError, match="h_freq"):
        bandpass(np.zeros(100), 100, 1, 60)
    with pytest.raises(ConfigError, match="l_freq"):
        bandpass(np.zeros(100), 100, 30, 20)


def test_preprocess_seizure_chain_250_to_256():
    fs = 250.0
    rng = np.random.default_rng(1)
    x = rng.standard_normal((19, int(fs * 60))) * 40 + _sine(60, fs, int(fs * 60)) * 100
    y, fs_out = preprocess(x, fs, SEIZURE_EEG)
    assert fs_out == 256.0 and y.shape == (19, 256 * 60) and y.dtype == np.float32
    np.testing.assert_allclose(y.mean(1), 0, atol=1e-4)
    assert np.abs(y).max() <= 10.0
    # the 60 Hz line is gone relative to broadband noise
    f, p = sps.welch(y, fs=256, nperseg=1024)
    k = np.argmin(np.abs(f - 60))
    assert np.median(p[:, k] / p[:, k - 8]) < 0.1


def test_preprocess_skips_steps_set_to_none():
    x = np.random.default_rng(2).standard_normal((2, 1000))
    y, fs = preprocess(x, 100, PreprocessConfig(zscore=False))
    np.testing.assert_allclose(y, x.astype(np.float32))
    assert fs == 100


def test_windows_and_label_masks():
    x = np.arange(2 * 25).reshape(2, 25)
    labels = (np.arange(25) >= 12).astype(int)
    assert window_starts(25, 10, 5).tolist() == [0, 5, 10, 15]
    assert window_starts(5, 10, 5).tolist() == []
    w, lab = make_windows(x, 10, 5, labels)
    assert w.shape == (4, 2, 10) and lab.shape == (4, 10)
    np.testing.assert_array_equal(w[2], x[:, 10:20])
    np.testing.assert_array_equal(lab[1], labels[5:15])
    with pytest.raises(ConfigError):
        window_starts(10, 0, 1)


# ---- the designed filters' own frequency response (scipy's sosfreqz of what bandpass_sos returns)
def _gain(sos, fs, freqs):
    _, h = sps.sosfreqz(sos, worN=np.asarray(freqs, float), fs=fs)
    return np.abs(h)


@pytest.mark.parametrize(
    ("l_freq", "h_freq", "path", "passes", "stops"),
    [
        (1.0, 30.0, "bandpass", [5.0, 10.0, 20.0], [0.1, 80.0]),
        (1.0, None, "highpass", [5.0, 30.0, 90.0], [0.1, 0.2]),
        (None, 30.0, "lowpass", [0.1, 1.0, 10.0], [80.0, 95.0]),
    ],
)
def test_designed_response_passes_and_stops_the_right_bands(l_freq, h_freq, path, passes, stops):
    """Butterworth: |H| = 1/sqrt(2) at each band edge, ~1 well inside the band, small well outside."""
    from biodyn import branches
    from biodyn.signal.filters import bandpass_sos

    fs = 200.0
    with branches.count() as seen:
        sos = bandpass_sos(fs, l_freq, h_freq, order=4)
    assert seen == {f"filters.{path}": 1}
    edges = [f for f in (l_freq, h_freq) if f is not None]
    np.testing.assert_allclose(_gain(sos, fs, edges), 1 / np.sqrt(2), rtol=1e-3)
    assert np.all(np.abs(_gain(sos, fs, passes) - 1) < 0.02)
    assert np.all(_gain(sos, fs, stops) < 0.01)
    # and the zero-phase filter applies it twice: a pass-band sine keeps its amplitude, a stop-band one goes
    x = np.stack([_sine(passes[1], fs, 8000), _sine(stops[-1], fs, 8000)])
    a = _amp(bandpass(x, fs, l_freq, h_freq), 1000)
    assert a[0] == pytest.approx(1.0, abs=0.02) and a[1] < 1e-3


def test_pipeline_filters_at_the_input_rate_before_resampling():
    """500 -> 50 Hz with a 1-20 Hz band: the band is designed at 500 Hz and applied before the rate
    change, so a 5 Hz sine keeps amplitude 1 and a 0.1 Hz drift is removed; the output is at 50 Hz."""
    from biodyn import branches

    fs = 500.0
    x = np.stack([_sine(5.0, fs, 20000), _sine(0.1, fs, 20000)])
    cfg = PreprocessConfig(fs=50.0, l_freq=1.0, h_freq=20.0, zscore=False)
    with branches.count() as seen:
        y, fs_out = preprocess(x, fs, cfg)
    assert seen["pipeline.resample"] == 1 and seen["filters.bandpass"] == 1
    assert fs_out == 50.0 and y.shape == (2, 2000)
    a = _amp(y, 200)
    assert a[0] == pytest.approx(1.0, abs=0.02)
    assert a[1] < 0.01
    # the same chain by hand with scipy: filter at 500 Hz, then resample_poly by 1/10
    want = sps.resample_poly(
        sps.sosfiltfilt(sps.butter(4, [1.0, 20.0], btype="bandpass", fs=fs, output="sos"), x, axis=-1),
        1,
        10,
        axis=-1,
    )
    np.testing.assert_allclose(y, want, atol=1e-4)


def test_pipeline_without_rate_change_does_not_resample():
    from biodyn import branches

    x = np.stack([_sine(5.0, 100.0, 2000)])
    with branches.count() as seen:
        y, fs_out = preprocess(x, 100.0, PreprocessConfig(fs=100.0, h_freq=30.0, zscore=False))
    assert seen["pipeline.resample"] == 0 and seen["filters.lowpass"] == 1 and fs_out == 100.0
    assert _amp(y, 200)[0] == pytest.approx(1.0, abs=0.02)


# ---- notch design: defaults, band limits and harmonics against scipy's iirnotch
def _notch_ref(fs, freqs, quality=30.0):
    return np.vstack([sps.tf2sos(*sps.iirnotch(f, quality, fs=fs)) for f in freqs])


def test_notch_defaults_are_60_hz_single_q30():
    from biodyn.signal.filters import notch_sos

    np.testing.assert_allclose(notch_sos(500.0), _notch_ref(500.0, [60.0]), rtol=1e-12)
    x = np.random.default_rng(0).standard_normal((2, 3000))
    want = sps.sosfiltfilt(_notch_ref(500.0, [60.0]), x, axis=-1)
    np.testing.assert_allclose(notch(x, 500.0), want, rtol=1e-4, atol=1e-5)
    wide = sps.sosfiltfilt(_notch_ref(500.0, [50.0], quality=2.0), x, axis=-1)
    np.testing.assert_allclose(notch(x, 500.0, 50.0, quality=2.0), wide, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("fs", "freq", "want"),
    [
        (500.0, 60.0, [60.0, 120.0, 180.0, 240.0]),  # every harmonic below 0.999 Nyquist
        (2000.0, 333.0, [333.0, 666.0]),  # 999 Hz is exactly 0.999 Nyquist: excluded
        (240.0, 60.0, [60.0]),  # 120 Hz is Nyquist itself
    ],
)
def test_notch_harmonics_by_hand(fs, freq, want):
    from biodyn.signal.filters import notch_sos

    sos = notch_sos(fs, freq, harmonics=True)
    assert sos.shape == (len(want), 6)
    np.testing.assert_allclose(sos, _notch_ref(fs, want), rtol=1e-12)


@pytest.mark.parametrize(
    ("freq", "ok"), [(0.0, False), (0.5, True), (200.0, True), (250.0, False), (600.0, False)]
)
def test_notch_frequency_must_lie_strictly_inside_the_band(freq, ok):
    from biodyn.signal.filters import notch_sos

    if ok:
        assert notch_sos(500.0, freq).shape == (1, 6)
    else:
        with pytest.raises(ConfigError, match="invalid notch freq"):
            notch_sos(500.0, freq)


# ---- resampling ratios by hand
@pytest.mark.parametrize(
    ("fs_in", "fs_out", "rtol", "want"),
    [
        (768.0001, 256.0, 1e-5, (1, 3)),  # found at the first, coarsest denominator limit
        (1000.0001, 1.0, 1e-5, (1, 1000)),  # the coarse limits round the ratio to 0/1 and are skipped
        (3.0000001, 1000.0, 1e-5, (1000, 3)),  # numerator exactly max_factor is allowed
        (
            400.0001,
            256.0,
            1e-2,
            (16, 25),
        ),  # 5/8 (the best with denominator <= 10) is 2.3 % off; 7/11 never tried
        (100.0, 33.34, 1e-2, (1, 3)),  # a loose tolerance takes the first close enough ratio
        (1000.0001, 1.0, 1.0, (1, 1000)),  # 0/1 is skipped even when the tolerance would accept it
        # the tolerance is inclusive: 5/8 gives 250.0000625 Hz, off by exactly rtol * 256 (a power of two)
        (400.0001, 256.0, (256.0 - 400.0001 * 5 / 8) / 256.0, (5, 8)),
        # the limits are 10, 30, 100, 300, max_factor: a ratio just past one limit waits for the next
        (256.0, 437.72, 1e-4, (171, 100)),  # 53/31 is within 1e-4 too, but 31 > 30: the best <= 100 is taken
        (256.0, 547.48, 1e-5, (571, 267)),  # 216/101 is within 1e-5, but 101 > 100: the best <= 300
        (256.0, 67.19, 1e-5, (258, 983)),  # 79/301 is within 1e-5, but 301 > 300: the best <= 1000
    ],
)
def test_resample_ratio_by_hand(fs_in, fs_out, rtol, want):
    up, down, achieved = resample_ratio(fs_in, fs_out, rtol)
    assert (up, down) == want and achieved == pytest.approx(fs_in * up / down, rel=1e-15)


def test_resample_ratio_factor_limit():
    assert resample_ratio(1.0, 1000.0)[:2] == (1000, 1)
    with pytest.raises(ConfigError, match="factors <= 1000"):
        resample_ratio(1.0, 1001.0)
    assert resample_ratio(1.0, 1001.0, max_factor=1001)[:2] == (1001, 1)


def test_resample_passes_its_tolerance_and_same_rate_is_a_float32_copy():
    x = np.random.default_rng(1).standard_normal((2, 1100))
    y = resample(x, 100.0, 33.34, rtol=1e-2)  # 1/3 at this tolerance; no ratio meets the default
    assert y.shape == (2, 367)
    same = resample(x, 256.0, 256.0)
    assert same.dtype == np.float32 and np.array_equal(same, x.astype(np.float32))


# ---- check_finite and zscore by hand
def test_check_finite_names_at_most_ten_channels():
    from biodyn.signal.filters import check_finite

    x = np.zeros((12, 5))
    x[1, 2] = np.nan
    with pytest.raises(RecordingError, match=r"channel\(s\) 1$"):
        check_finite(x)
    x[:, 0] = np.inf
    with pytest.raises(RecordingError, match=r"channel\(s\) 0, 1, 2, 3, 4, 5, 6, 7, 8, 9$"):
        check_finite(x)
    with pytest.raises(RecordingError, match=r"channel\(s\) c0, c1"):
        check_finite(x[:2], channels=["c0", "c1"])


def test_zscore_default_is_mean_std_in_float32_by_hand():
    x = np.random.default_rng(2).standard_normal((3, 500)) * 7 + 3  # float64 in
    x32 = x.astype(np.float32)
    mean = x32.mean(axis=-1, keepdims=True, dtype=np.float64)
    std = x32.std(axis=-1, keepdims=True, dtype=np.float64)
    want = ((x32 - mean) / std).astype(np.float32)
    np.testing.assert_array_equal(zscore(x), want)


def test_zscore_tiny_but_not_flat_channel():
    """The flat test is relative to max(1, |mean|): a channel with std 1.5e-12 around 0 is real signal."""
    x = np.stack([np.tile([1.5e-12, -1.5e-12], 50), np.tile([1.0, -1.0], 50)]).astype(np.float32)
    np.testing.assert_allclose(zscore(x), np.stack([np.tile([1.0, -1.0], 50)] * 2), rtol=1e-6)
    with pytest.raises(RecordingError, match="flat"):
        zscore(np.stack([np.full(100, 1e-13), np.tile([1.0, -1.0], 50)]) + np.tile([1e-13, 0], 50))


def test_zscore_std_exactly_at_the_flat_threshold_is_flat():
    """The threshold is inclusive: float32 samples +-a, +-c, +-d, 0, 0 chosen so that their std (float64, mean
    exactly 0) is exactly 1e-12 = 1e-12 * max(1, |mean|): flat, not a signal to divide by its std."""
    a, c, d = (
        float.fromhex(h) for h in ("0x1.1979980000000p-39", "0x1.9c43e80000000p-53", "0x1.7ed9e60000000p-65")
    )
    x = np.array([[a, -a, c, -c, d, -d, 0, 0], [1, -1, 1, -1, 1, -1, 1, -1]], dtype=np.float32)
    assert x[0].mean(dtype=np.float64) == 0.0 and x[0].std(dtype=np.float64) == 1e-12
    with pytest.raises(RecordingError, match=r"flat channel\(s\) \(zero variance\): 0$"):
        zscore(x)
    np.testing.assert_array_equal(zscore(x, on_flat="zero")[0], 0.0)


# ---- band edges, orders and argument checks at their limits
@pytest.mark.parametrize(
    ("l_freq", "h_freq", "ok"),
    [
        (0.0, None, False),
        (50.0, None, False),
        (49.9, None, True),
        (None, 0.0, False),
        (None, 0.5, True),
        (None, 50.0, False),
        (10.0, 10.0, False),
        (10.0, 10.5, True),
    ],
)
def test_band_edges_must_lie_strictly_inside_zero_to_nyquist(l_freq, h_freq, ok):
    from biodyn.signal.filters import bandpass_sos

    if ok:
        assert bandpass_sos(100.0, l_freq, h_freq).shape[1] == 6
    else:
        with pytest.raises(ConfigError, match="invalid"):
            bandpass_sos(100.0, l_freq, h_freq)


def test_filter_order_default_and_passed_through():
    from biodyn.signal.filters import bandpass_sos

    np.testing.assert_allclose(
        bandpass_sos(200.0, 1.0, 30.0), sps.butter(4, [1.0, 30.0], "bandpass", fs=200.0, output="sos")
    )
    x = np.random.default_rng(3).standard_normal((2, 2000))
    want = sps.sosfiltfilt(sps.butter(2, [1.0, 30.0], "bandpass", fs=200.0, output="sos"), x, axis=-1)
    np.testing.assert_allclose(bandpass(x, 200.0, 1.0, 30.0, order=2), want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fs", [0.0, -1.0, float("inf"), float("nan")])
def test_rates_must_be_positive_and_finite(fs):
    with pytest.raises(ConfigError, match="invalid fs"):
        resample_ratio(fs, 100.0)


def test_exact_ratio_with_a_factor_of_exactly_max_factor_is_used_as_is():
    # 1000/123 is exact; 813/100 (found first by the coarse passes) would be within the tolerance but is not exact
    assert resample_ratio(123.0, 1000.0) == (1000, 123, 1000.0)


def test_zscore_of_one_channel_and_flat_names():
    x = np.random.default_rng(4).standard_normal(200)
    z = zscore(x)
    assert z.shape == (200,) and z.dtype == np.float32
    np.testing.assert_allclose(z, (x - x.mean()) / x.std(), rtol=1e-5, atol=1e-6)
    flat = np.zeros((12, 20))
    with pytest.raises(RecordingError, match=r"\(zero variance\): 0, 1, 2, 3, 4, 5, 6, 7, 8, 9$"):
        zscore(flat)


def test_clip_sigma_bounds_and_dtype():
    y = clip_sigma(np.array([-3.0, 0.2, 3.0]), 0.5)
    assert y.dtype == np.float32 and y.tolist() == [-0.5, pytest.approx(0.2), 0.5]
    with pytest.raises(ConfigError, match="clip_sigma"):
        clip_sigma(np.zeros(3), 0.0)


@pytest.mark.parametrize(
    ("fs", "l_freq", "h_freq", "want"),
    [(512.0, 0.5, None, 3072), (256.0, 0.5, None, 1536), (250.0, 5.0, 40.0, 150), (100.0, None, 40.0, 8)],
)
def test_settling_samples_is_three_periods_of_the_lowest_edge_in_seconds(fs, l_freq, h_freq, want):
    from biodyn.signal import settling_samples

    assert settling_samples(fs, l_freq, h_freq) == want  # 3 fs / edge, rounded up
    assert settling_samples(fs, None, None) == 0


def test_sosfiltfilt_passes_its_padding_to_scipy_and_caps_it_below_the_length():
    """The padded zero-phase filter is scipy's with the same extension (the reference), in float32; a padding
    longer than the recording is cut to T - 1 samples; and a 0.5 Hz high-pass of an excerpt of a drifting
    recording is nearer, at the excerpt's ends, to the same filter run over the whole recording (no ends
    nearby) with the ends mirrored over three periods than with scipy's few samples reflected through the end
    sample (a level set by one noisy sample)."""
    from biodyn.signal import bandpass_sos, settling_samples, sosfiltfilt

    rng = np.random.default_rng(0)
    whole = np.cumsum(rng.standard_normal((8, 20000)), axis=1) * 0.05 + rng.standard_normal((8, 20000))
    sos = bandpass_sos(256.0, 0.5, None)
    x = whole[:, 9000:11000]
    pad = settling_samples(256.0, 0.5, None)
    got = sosfiltfilt(sos, x, padtype="even", padlen=pad)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, sps.sosfiltfilt(sos, x, axis=-1, padtype="even", padlen=pad), atol=1e-5)
    np.testing.assert_allclose(
        sosfiltfilt(sos, x, padtype="even", padlen=10**6),
        sps.sosfiltfilt(sos, x, axis=-1, padtype="even", padlen=1999),
        atol=1e-5,
    )
    settled = sps.sosfiltfilt(sos, whole, axis=-1)[:, 9000:11000]
    ends = np.r_[0:256, 1744:2000]  # one second at each end
    mirrored = np.abs(got - settled)[:, ends].mean()
    default = np.abs(sosfiltfilt(sos, x) - settled)[:, ends].mean()
    assert mirrored < 0.5 * default, (mirrored, default)


def test_sosfiltfilt_caps_the_padding_of_one_channel_too():
    from biodyn.signal import bandpass_sos, sosfiltfilt

    x = np.random.default_rng(2).standard_normal(300)  # (T,)
    sos = bandpass_sos(100.0, 1.0, 20.0)
    got = sosfiltfilt(sos, x, padlen=10**6)
    assert got.shape == (300,) and got.dtype == np.float32
    np.testing.assert_allclose(got, sps.sosfiltfilt(sos, x, padlen=299), atol=1e-5)


def test_channel_blocks_in_threads_give_each_channel_its_own_filter(monkeypatch):
    """BIODYN_DSP_THREADS=3 splits 7 channels into blocks filtered in 3 threads: each channel is still
    scipy's zero-phase filter of that channel alone."""
    from biodyn.signal import bandpass_sos, sosfiltfilt

    monkeypatch.setenv("BIODYN_DSP_THREADS", "3")
    x = np.random.default_rng(3).standard_normal((7, 400))
    sos = bandpass_sos(100.0, 1.0, 20.0)
    got = sosfiltfilt(sos, x)
    want = np.stack([sps.sosfiltfilt(sos, row) for row in x])
    np.testing.assert_allclose(got, want, atol=1e-5)
