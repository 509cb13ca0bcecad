"""Pure numpy/scipy DSP: filters, resampling, normalisation, windows. No torch here."""

from biodyn.signal.config import CLDTRANS_ECG, CLDTRANS_EEG, SEIZURE_EEG, PreprocessConfig
from biodyn.signal.filters import (
    bandpass,
    bandpass_sos,
    check_finite,
    clip_sigma,
    notch,
    notch_sos,
    resample,
    resample_ratio,
    settling_samples,
    sosfiltfilt,
    zscore,
)
from biodyn.signal.pipeline import preprocess
from biodyn.signal.windows import make_windows, window_starts

__all__ = [
    "CLDTRANS_ECG",
    "CLDTRANS_EEG",
    "SEIZURE_EEG",
    "PreprocessConfig",
    "bandpass",
    "bandpass_sos",
    "check_finite",
    "clip_sigma",
    "make_windows",
    "notch",
    "notch_sos",
    "preprocess",
    "resample",
    "resample_ratio",
    "settling_samples",
    "sosfiltfilt",
    "window_starts",
    "zscore",
]
