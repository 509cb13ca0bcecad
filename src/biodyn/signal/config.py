"""Preprocessing configuration shared by datasets (defaults) and the cache (its hash)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class PreprocessConfig:
    """One preprocessing chain: band-pass -> notch -> resample -> z-score -> clip.

    Every step is skipped when its parameter is ``None``.
    """

    fs: float | None = None  # target rate (Hz); None keeps the recording's rate
    l_freq: float | None = None  # band-pass low edge (Hz)
    h_freq: float | None = None  # band-pass high edge (Hz); clipped below the Nyquist of the lower rate
    filter_order: int = 4  # Butterworth order per pass (zero-phase: effective 2x)
    notch_freq: float | None = None  # 50 or 60 Hz line noise
    notch_harmonics: bool = False  # also notch 2f, 3f, ... below Nyquist
    zscore: bool = True  # per-channel
    robust: bool = False  # median / IQR instead of mean / std
    clip_sigma: float | None = None  # clip at +-k after z-scoring

    def to_dict(self) -> dict:
        return asdict(self)


# Brain-Go-Brr: 0.5-120 Hz, 60 Hz notch, 256 Hz, z-score, clip +-10 sigma.
SEIZURE_EEG = PreprocessConfig(
    fs=256.0, l_freq=0.5, h_freq=120.0, notch_freq=60.0, zscore=True, clip_sigma=10.0
)
# CLD-Trans: EEG 160 Hz 0.5-40 Hz; ECG 500 Hz 0.05-150 Hz; z-score per channel.
CLDTRANS_EEG = PreprocessConfig(fs=160.0, l_freq=0.5, h_freq=40.0, zscore=True)
CLDTRANS_ECG = PreprocessConfig(fs=500.0, l_freq=0.05, h_freq=150.0, zscore=True)
