"""The preprocessing chain: band-pass -> notch -> resample -> z-score -> clip (one call)."""

from __future__ import annotations

import warnings

import numpy as np

from biodyn import branches
from biodyn.signal.config import PreprocessConfig
from biodyn.signal.filters import (
    bandpass_sos,
    check_finite,
    clip_sigma,
    notch_sos,
    resample,
    resample_ratio,
    sosfiltfilt,
    zscore,
)


def preprocess(
    x: np.ndarray,
    fs: float,
    cfg: PreprocessConfig,
    *,
    channels: list[str] | None = None,
    source: str | None = None,
    on_flat: str = "raise",
) -> tuple[np.ndarray, float]:
    """Run ``cfg`` on ``x`` ``(C, T)`` sampled at ``fs``; returns float32 ``(C, T')`` and the new rate.

    Band-pass and notch run as one zero-phase SOS cascade at the original rate. An upper band edge at or
    above the original Nyquist is dropped (the recording is already band-limited there) and a
    notch above Nyquist is skipped, each with a warning. ``source`` (a file name) and ``channels`` make
    errors name the file and channel: NaN/Inf samples and flat channels raise ``RecordingError``.
    """
    x = np.atleast_2d(np.asarray(x))
    if x.shape[-1] == 0:
        from biodyn.errors import RecordingError

        raise RecordingError(source, "empty recording (0 samples)")
    check_finite(x, channels, source)
    nyq = fs / 2
    sos = []
    l_freq, h_freq = cfg.l_freq, cfg.h_freq
    if h_freq is not None and h_freq >= nyq:
        warnings.warn(
            f"{source or 'recording'}: h_freq={h_freq:g} Hz is at/above the Nyquist of {fs:g} Hz; low-pass skipped",
            stacklevel=2,
        )
        h_freq = None
    if l_freq is not None or h_freq is not None:
        sos.append(bandpass_sos(fs, l_freq, h_freq, cfg.filter_order))
    if cfg.notch_freq is not None:
        if cfg.notch_freq < nyq:
            sos.append(notch_sos(fs, cfg.notch_freq, cfg.notch_harmonics))
        else:
            warnings.warn(
                f"{source or 'recording'}: notch at {cfg.notch_freq:g} Hz is above Nyquist ({nyq:g} Hz); skipped",
                stacklevel=2,
            )
    y = sosfiltfilt(np.vstack(sos), x) if sos else x.astype(np.float32)
    fs_out = float(fs)
    if cfg.fs is not None and cfg.fs != fs:
        branches.hit("pipeline.resample")
        fs_out = resample_ratio(fs, cfg.fs)[2]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = resample(y, fs, cfg.fs)
    if cfg.zscore:
        y = zscore(y, robust=cfg.robust, on_flat=on_flat, channels=channels, source=source)
    if cfg.clip_sigma is not None:
        y = clip_sigma(y, cfg.clip_sigma)
    return y.astype(np.float32, copy=False), fs_out
