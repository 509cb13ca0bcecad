"""Zero-phase IIR filtering, polyphase resampling, normalisation (numpy/scipy only).

All functions take ``x`` of shape ``(C, T)`` (or ``(T,)``) and return float32 of the same shape.
Work is split over channel blocks in a thread pool: scipy's filtering releases the GIL.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

import numpy as np
from scipy import signal as sps

from biodyn import branches
from biodyn.errors import ConfigError, RecordingError

__all__ = [
    "bandpass",
    "bandpass_sos",
    "check_finite",
    "clip_sigma",
    "notch",
    "notch_sos",
    "resample",
    "resample_ratio",
    "settling_samples",
    "sosfiltfilt",
    "zscore",
]


def _n_threads(n_channels: int) -> int:
    env = os.environ.get("BIODYN_DSP_THREADS")
    n = int(env) if env else min(4, os.cpu_count() or 1)
    return max(1, min(n, n_channels))


def _map_channels(fn, x: np.ndarray) -> np.ndarray:
    """Apply ``fn((c, T)) -> (c, T')`` over channel blocks in threads; returns ``(C, T')`` float32."""
    x2 = np.atleast_2d(x)
    n = _n_threads(x2.shape[0])
    if n == 1:
        out = fn(x2)
    else:
        blocks = np.array_split(np.arange(x2.shape[0]), n)
        with ThreadPoolExecutor(n) as pool:
            parts = list(pool.map(lambda idx: fn(x2[idx]), blocks))
        out = np.concatenate(parts, axis=0)
    out = out.astype(np.float32, copy=False)
    return out if x.ndim == 2 else out[0]


def _check_fs(fs: float) -> float:
    if not (np.isfinite(fs) and fs > 0):
        raise ConfigError(f"invalid fs={fs!r}; must be a positive finite rate in Hz")
    return float(fs)


def bandpass_sos(fs: float, l_freq: float | None, h_freq: float | None, order: int = 4) -> np.ndarray:
    """Butterworth SOS: band-pass, or high-/low-pass when one edge is ``None``."""
    fs = _check_fs(fs)
    nyq = fs / 2
    if l_freq is not None and not 0 < l_freq < nyq:
        raise ConfigError(f"invalid l_freq={l_freq!r}; must be in (0, {nyq:g}) Hz at fs={fs:g}")
    if h_freq is not None and not 0 < h_freq < nyq:
        raise ConfigError(f"invalid h_freq={h_freq!r}; must be in (0, {nyq:g}) Hz (Nyquist) at fs={fs:g}")
    if l_freq is not None and h_freq is not None:
        if l_freq >= h_freq:
            raise ConfigError(f"invalid band: l_freq={l_freq} must be below h_freq={h_freq}")
        branches.hit("filters.bandpass")
        return sps.butter(order, [l_freq, h_freq], btype="bandpass", fs=fs, output="sos")
    if l_freq is not None:
        branches.hit("filters.highpass")
        return sps.butter(order, l_freq, btype="highpass", fs=fs, output="sos")
    if h_freq is not None:
        branches.hit("filters.lowpass")
        return sps.butter(order, h_freq, btype="lowpass", fs=fs, output="sos")
    raise ConfigError("bandpass needs l_freq or h_freq")


def notch_sos(fs: float, freq: float = 60.0, harmonics: bool = False, quality: float = 30.0) -> np.ndarray:
    """Second-order IIR notches at ``freq`` (and ``2 freq, 3 freq, ...`` below Nyquist) as SOS."""
    fs = _check_fs(fs)
    if not 0 < freq < fs / 2:
        raise ConfigError(f"invalid notch freq={freq!r}; must be in (0, {fs / 2:g}) Hz at fs={fs:g}")
    freqs = [freq]
    if harmonics:
        k = 2
        while k * freq < fs / 2 * 0.999:
            freqs.append(k * freq)
            k += 1
    sos = [sps.tf2sos(*sps.iirnotch(f, quality, fs=fs)) for f in freqs]
    return np.vstack(sos)


def sosfiltfilt(
    sos: np.ndarray, x: np.ndarray, padtype: str = "odd", padlen: int | None = None
) -> np.ndarray:
    """Zero-phase SOS filtering along time, threaded over channels, float32 out.

    ``padtype`` / ``padlen``: the extension at both ends (``scipy.signal.sosfiltfilt``'s; ``padlen`` None:
    scipy's few samples, whatever the band; capped at ``T - 1``).
    """
    x = np.asarray(x)
    if padlen is not None:
        padlen = int(min(padlen, x.shape[-1] - 1))
    return _map_channels(lambda b: sps.sosfiltfilt(sos, b, axis=-1, padtype=padtype, padlen=padlen), x)


def settling_samples(fs: float, l_freq: float | None, h_freq: float | None, periods: float = 3.0) -> int:
    """Samples a band-pass with edges ``l_freq`` / ``h_freq`` (Hz) needs to settle at a recording's ends:
    ``periods`` periods of its lowest edge, at ``fs``. A zero-phase filter's start-up transient lasts about
    that long in seconds whatever the rate, so a padding of a fixed number of samples (scipy's default) leaves
    a transient that grows with the rate (see :func:`biodyn.causal.recording.fit_recording`)."""
    edge = l_freq if l_freq is not None else h_freq
    if edge is None:
        return 0
    return int(np.ceil(periods * _check_fs(fs) / edge))


def bandpass(
    x: np.ndarray, fs: float, l_freq: float | None, h_freq: float | None, order: int = 4
) -> np.ndarray:
    """Zero-phase Butterworth band-pass (order per pass; forward-backward doubles it).

    Args:
        x: ``(C, T)`` or ``(T,)``.
        fs: sampling rate (Hz).
        l_freq, h_freq: band edges (Hz); ``None`` for a high- or low-pass.
    """
    return sosfiltfilt(bandpass_sos(fs, l_freq, h_freq, order), x)


def notch(
    x: np.ndarray, fs: float, freq: float = 60.0, harmonics: bool = False, quality: float = 30.0
) -> np.ndarray:
    """Zero-phase notch at ``freq`` Hz (50 or 60 Hz line noise), optionally at its harmonics."""
    return sosfiltfilt(notch_sos(fs, freq, harmonics, quality), x)


def resample_ratio(
    fs_in: float, fs_out: float, rtol: float = 1e-5, max_factor: int = 1000
) -> tuple[int, int, float]:
    """Integers ``(up, down)`` with ``fs_in * up / down ~= fs_out`` and the rate achieved.

    Exact when the rates are decimal numbers with a small ratio (250 -> 256 is 128/125); otherwise the
    smallest rational approximation within ``rtol`` (173.61 -> 256 is 87/59, 256.0012 Hz achieved).
    Raises :class:`ConfigError` when no ratio with factors <= ``max_factor`` is within ``rtol``.
    """
    fs_in, fs_out = _check_fs(fs_in), _check_fs(fs_out)
    exact = Fraction(repr(fs_out)) / Fraction(repr(fs_in))
    if max(exact.numerator, exact.denominator) <= max_factor:
        return exact.numerator, exact.denominator, fs_out
    for max_den in (10, 30, 100, 300, max_factor):
        f = exact.limit_denominator(max_den)
        if f.numerator == 0 or f.numerator > max_factor:
            continue
        achieved = fs_in * f.numerator / f.denominator
        if abs(achieved - fs_out) <= rtol * fs_out:
            return f.numerator, f.denominator, achieved
    raise ConfigError(
        f"cannot resample {fs_in:g} Hz -> {fs_out:g} Hz: no ratio up/down with factors <= {max_factor} "
        f"within relative tolerance {rtol:g}"
    )


def resample(
    x: np.ndarray,
    fs_in: float,
    fs_out: float,
    rtol: float = 1e-5,
    anti_alias: tuple[int, float] | None = None,
) -> np.ndarray:
    """Polyphase resampling (``scipy.signal.resample_poly``, Kaiser-windowed FIR) along time.

    The achieved rate is ``resample_ratio(fs_in, fs_out)[2]``; it differs from ``fs_out`` by at most
    ``rtol`` relative (a warning says so when it is not exact).

    ``anti_alias``: ``(half_len_factor, kaiser_beta)`` of the anti-alias FIR, ``2 * half_len_factor *
    max(up, down) + 1`` taps, Kaiser window of ``kaiser_beta``, cut-off at the lower of the two Nyquists. None:
    scipy's default, ``(10, 5.0)``: for 2:1, -0.7 dB at 0.9 and -2.4 dB at 0.95 of the new Nyquist, and what
    lies at 1.05-1.1 of it folds back only 12-23 dB down; ``(40, 8.0)`` is flat within 0.07 dB to 0.95 and
    42-85 dB down at 1.05-1.1.
    """
    up, down, achieved = resample_ratio(fs_in, fs_out, rtol)
    if achieved != fs_out:
        warnings.warn(
            f"resampling {fs_in:g} -> {fs_out:g} Hz achieves {achieved:.6f} Hz ({up}/{down})", stacklevel=2
        )
    if up == down:
        return np.asarray(x, dtype=np.float32)
    if anti_alias is None:
        return _map_channels(lambda b: sps.resample_poly(b, up, down, axis=-1), np.asarray(x))
    half, beta = anti_alias
    m = max(up, down)
    # the filter scipy designs, longer and with another window; resample_poly scales it by up itself
    h = sps.firwin(2 * int(half) * m + 1, 1.0 / m, window=("kaiser", float(beta)))
    return _map_channels(lambda b: sps.resample_poly(b, up, down, axis=-1, window=h), np.asarray(x))


def check_finite(x: np.ndarray, channels=None, source=None) -> None:
    """Raise :class:`RecordingError` naming the channels that hold NaN or Inf."""
    bad = ~np.isfinite(np.atleast_2d(x)).all(axis=-1)
    if bad.any():
        idx = np.flatnonzero(bad)
        names = [channels[i] if channels is not None else str(i) for i in idx[:10]]
        raise RecordingError(source, f"non-finite samples (NaN/Inf) in channel(s) {', '.join(names)}")


def zscore(
    x: np.ndarray, robust: bool = False, on_flat: str = "raise", channels=None, source=None
) -> np.ndarray:
    """Per-channel standardisation over time.

    ``robust=True`` uses the median and the IQR / 1.349 (the normal-consistent IQR scale).
    A flat channel (zero scale) raises :class:`RecordingError` naming it, or with ``on_flat="zero"``
    becomes all zeros.
    """
    x2 = np.atleast_2d(np.asarray(x, dtype=np.float32))
    if robust:
        q25, med, q75 = np.percentile(x2, [25, 50, 75], axis=-1, keepdims=True)
        center, scale = med, (q75 - q25) / 1.349
    else:
        center = x2.mean(axis=-1, keepdims=True, dtype=np.float64)
        scale = x2.std(axis=-1, keepdims=True, dtype=np.float64)
    flat = (scale[..., 0] <= 1e-12 * np.maximum(1.0, np.abs(center[..., 0]))) | ~np.isfinite(scale[..., 0])
    if flat.any():
        if on_flat == "raise":
            idx = np.flatnonzero(flat)
            names = [channels[i] if channels is not None else str(i) for i in idx[:10]]
            raise RecordingError(
                source, f"flat channel(s) (zero {'IQR' if robust else 'variance'}): {', '.join(names)}"
            )
        if on_flat != "zero":
            raise ConfigError(f"invalid on_flat={on_flat!r}; allowed: 'raise', 'zero'")
        scale = np.where(flat[:, None], np.inf, scale)
    out = ((x2 - center) / scale).astype(np.float32)
    return out if np.ndim(x) == 2 else out[0]


def clip_sigma(x: np.ndarray, k: float) -> np.ndarray:
    """Clip a z-scored signal at ``+-k`` (standard deviations)."""
    if not k > 0:
        raise ConfigError(f"invalid clip_sigma={k!r}; must be > 0")
    return np.clip(np.asarray(x, dtype=np.float32), -k, k)
