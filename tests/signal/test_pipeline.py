"""The preprocessing chain passes each setting to its step, and its Nyquist limits sit exactly where the
docstring says (an upper edge at Nyquist is dropped, one below it is applied; same for the notch)."""

import warnings

import numpy as np
import pytest
from scipy import signal as sps

from biodyn.errors import ConfigError, RecordingError
from biodyn.signal import PreprocessConfig, preprocess, zscore


def _noise(c=2, n=3000, seed=0):
    return np.random.default_rng(seed).standard_normal((c, n))


def _filt(sos, x):
    return sps.sosfiltfilt(sos, x, axis=-1)


def test_errors_name_the_file_and_channel():
    x = _noise(3)
    x[2, 5] = np.inf
    with pytest.raises(RecordingError, match=r"^rec\.edf: non-finite.*O1"):
        preprocess(x, 100.0, PreprocessConfig(), channels=["Fp1", "C3", "O1"], source="rec.edf")
    x = _noise(3)
    x[1] = 2.0
    with pytest.raises(RecordingError, match=r"^rec\.edf: flat channel\(s\).*: C3$"):
        preprocess(x, 100.0, PreprocessConfig(), channels=["Fp1", "C3", "O1"], source="rec.edf")
    y, _ = preprocess(x, 100.0, PreprocessConfig(), on_flat="zero")
    assert np.all(y[1] == 0) and np.isfinite(y).all()


def test_settings_reach_their_steps():
    x = _noise()
    cfg = PreprocessConfig(
        l_freq=1.0, h_freq=20.0, filter_order=2, notch_freq=10.0, notch_harmonics=True, robust=True
    )
    y, fs = preprocess(x, 100.0, cfg)
    band = sps.butter(2, [1.0, 20.0], btype="bandpass", fs=100.0, output="sos")
    notches = [sps.tf2sos(*sps.iirnotch(f, 30.0, fs=100.0)) for f in (10.0, 20.0, 30.0, 40.0)]
    want = zscore(_filt(np.vstack([band, *notches]), x), robust=True)
    assert fs == 100.0
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(("h_freq", "applied"), [(50.0, False), (60.0, False), (49.0, True), (40.0, True)])
def test_upper_edge_at_or_above_nyquist_is_dropped(h_freq, applied):
    x = _noise()
    cfg = PreprocessConfig(h_freq=h_freq, zscore=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y, _ = preprocess(x, 100.0, cfg, source="r.edf")
    dropped = [w for w in caught if "low-pass skipped" in str(w.message)]
    assert bool(dropped) != applied
    want = _filt(sps.butter(4, h_freq, btype="lowpass", fs=100.0, output="sos"), x) if applied else x
    np.testing.assert_allclose(y, want.astype(np.float32), rtol=1e-4, atol=1e-5)
    # with a lower edge the chain becomes a high-pass instead
    y2, _ = preprocess(x, 100.0, PreprocessConfig(l_freq=5.0, h_freq=h_freq, zscore=False))
    if not applied:
        np.testing.assert_allclose(
            y2, _filt(sps.butter(4, 5.0, btype="highpass", fs=100.0, output="sos"), x), rtol=1e-4, atol=1e-5
        )


def test_notch_at_nyquist_is_skipped_and_below_is_applied():
    x = _noise()
    with pytest.warns(UserWarning, match="notch at 60 Hz is above Nyquist"):
        y, _ = preprocess(x, 120.0, PreprocessConfig(notch_freq=60.0, zscore=False))
    np.testing.assert_allclose(y, x.astype(np.float32))
    y, _ = preprocess(x, 121.0, PreprocessConfig(notch_freq=60.0, zscore=False))
    np.testing.assert_allclose(
        y, _filt(sps.tf2sos(*sps.iirnotch(60.0, 30.0, fs=121.0)), x), rtol=1e-4, atol=1e-5
    )


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError):
        preprocess(_noise(), 100.0, PreprocessConfig(l_freq=60.0))


def test_config_to_dict_holds_every_field():
    cfg = PreprocessConfig(fs=256.0, l_freq=0.5, notch_freq=60.0)
    assert cfg.to_dict() == {
        "fs": 256.0,
        "l_freq": 0.5,
        "h_freq": None,
        "filter_order": 4,
        "notch_freq": 60.0,
        "notch_harmonics": False,
        "zscore": True,
        "robust": False,
        "clip_sigma": None,
    }


def test_a_rate_change_alone_resamples_the_float32_samples():
    """Without a filter the chain takes the samples as float32 (its output type) and resamples those: the
    same numbers as biodyn.signal.resample of the float32 recording, whatever the input's dtype."""
    from biodyn.signal import resample

    x = _noise(3, 1000) * 1e3 + np.pi  # float64, digits beyond float32
    y, fs = preprocess(x, 250.0, PreprocessConfig(fs=100.0, zscore=False))
    assert fs == 100.0 and y.dtype == np.float32
    np.testing.assert_array_equal(y, resample(x.astype(np.float32), 250.0, 100.0))
