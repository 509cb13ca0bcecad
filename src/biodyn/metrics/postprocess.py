"""Per-sample probabilities -> events: threshold, morphological opening/closing, minimum duration,
merging of close events."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from biodyn.errors import ConfigError
from biodyn.types import Event


def mask_to_intervals(mask: np.ndarray) -> np.ndarray:
    """Runs of ``True`` as ``(N, 2)`` sample intervals ``[start, stop)``."""
    m = np.asarray(mask, dtype=bool)
    d = np.diff(np.concatenate([[False], m, [False]]).astype(np.int8))
    return np.stack([np.flatnonzero(d == 1), np.flatnonzero(d == -1)], axis=1)


def probs_to_events(
    probs: np.ndarray,
    fs: float,
    threshold: float = 0.5,
    opening_samples: int = 0,
    closing_samples: int = 0,
    min_duration_s: float = 0.0,
    merge_gap_s: float = 0.0,
    label: str = "seiz",
) -> list[Event]:
    """Turn per-sample probabilities ``(T,)`` at ``fs`` Hz into events.

    Steps, in order: ``probs >= threshold``; binary opening with a flat kernel of ``opening_samples``
    (removes blips shorter than the kernel); binary closing with ``closing_samples`` (fills short gaps);
    events closer than ``merge_gap_s`` merged; events shorter than ``min_duration_s`` dropped.
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 1:
        raise ConfigError(f"probs must be (T,), got shape {p.shape}")
    if not fs > 0:
        raise ConfigError(f"invalid fs={fs!r}; must be > 0")
    if not np.all(np.isfinite(p)):
        raise ConfigError(f"probs hold {int(np.sum(~np.isfinite(p)))} NaN/Inf values")
    if min(opening_samples, closing_samples) < 0 or min(min_duration_s, merge_gap_s) < 0:
        raise ConfigError("opening_samples, closing_samples, min_duration_s and merge_gap_s must be >= 0")
    m = p >= threshold
    if opening_samples > 1:
        m = ndimage.binary_opening(m, structure=np.ones(int(opening_samples), bool))
    if closing_samples > 1:
        # pad so that closing does not erode events touching the edges
        pad = int(closing_samples)
        m = ndimage.binary_closing(np.pad(m, pad, mode="edge"), structure=np.ones(pad, bool))[pad:-pad]
    iv = mask_to_intervals(m)
    if len(iv) and merge_gap_s > 0:
        gap = np.round(merge_gap_s * fs)
        keep = [iv[0].copy()]
        for a, b in iv[1:]:
            if a - keep[-1][1] < gap:
                keep[-1][1] = b
            else:
                keep.append(np.array([a, b]))
        iv = np.array(keep)
    if len(iv) and min_duration_s > 0:
        iv = iv[(iv[:, 1] - iv[:, 0]) / fs >= min_duration_s]
    return [Event(float(a / fs), float((b - a) / fs), label) for a, b in iv]
