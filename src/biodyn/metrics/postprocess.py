"""Per-sample probabilities -> events: threshold, morphological opening/closing, minimum duration,
merging of close events."""

from __future__ import annotations

from typing import Any

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
    hysteresis_gap: float = 0.0,
    max_duration_s: float | None = None,
) -> list[Event]:
    """Turn per-sample probabilities ``(T,)`` at ``fs`` Hz into events.

    Steps, in order: ``probs >= threshold``; binary opening with a flat kernel of ``opening_samples``
    (removes blips shorter than the kernel); binary closing with ``closing_samples`` (fills short gaps);
    events closer than ``merge_gap_s`` merged; events shorter than ``min_duration_s`` dropped.

    With ``hysteresis_gap > 0`` the first step is hysteresis thresholding instead: a run of samples with
    ``probs >= threshold - hysteresis_gap`` is on if it holds at least one sample ``>= threshold`` (switch on
    at ``threshold``, off below ``threshold - hysteresis_gap``). With ``max_duration_s``, events longer than
    it are dropped after merging.
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 1:
        raise ConfigError(f"probs must be (T,), got shape {p.shape}")
    if not fs > 0:
        raise ConfigError(f"invalid fs={fs!r}; must be > 0")
    if not np.all(np.isfinite(p)):
        raise ConfigError(f"probs hold {int(np.sum(~np.isfinite(p)))} NaN/Inf values")
    for k, v in (
        ("opening_samples", opening_samples),
        ("closing_samples", closing_samples),
        ("min_duration_s", min_duration_s),
        ("merge_gap_s", merge_gap_s),
    ):
        if v < 0:
            raise ConfigError(f"invalid {k}={v!r}; allowed: >= 0")
    if hysteresis_gap < 0:
        raise ConfigError(f"hysteresis_gap={hysteresis_gap} must be >= 0")
    m = p >= threshold
    if hysteresis_gap > 0:
        low = mask_to_intervals(p >= threshold - hysteresis_gap)
        m = np.zeros(len(p), bool)
        on = np.concatenate([[0], np.cumsum(p >= threshold)])
        for a, b in low[on[low[:, 1]] - on[low[:, 0]] > 0]:
            m[a:b] = True
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
    if len(iv) and max_duration_s is not None:
        iv = iv[(iv[:, 1] - iv[:, 0]) / fs <= max_duration_s]
    return [Event(float(a / fs), float((b - a) / fs), label) for a, b in iv]


# Brain-Go-Brr's seizure post-processing (the reference implementation's defaults): hysteresis (on at 0.86,
# off below 0.78), binary opening over 11 and closing over 31 samples, events merged across gaps under 2 s,
# events kept when 3-600 s long.
SEIZURE_THRESHOLD = 0.86  # switch-on level; the switch-off level is SEIZURE_THRESHOLD - hysteresis_gap
SEIZURE_POSTPROCESS: dict[str, Any] = {
    "hysteresis_gap": 0.08,
    "opening_samples": 11,
    "closing_samples": 31,
    "merge_gap_s": 2.0,
    "min_duration_s": 3.0,
    "max_duration_s": 600.0,
}


def parse_post(items) -> dict[str, Any]:
    """``["opening_samples=21", "merge_gap_s=5"]`` -> post-processing overrides, checked against
    :data:`SEIZURE_POSTPROCESS` (an unknown key or a non-number is a :class:`~biodyn.errors.ConfigError`)."""
    out: dict[str, Any] = {}
    for it in items or []:
        key, sep, val = str(it).partition("=")
        if not sep or key not in SEIZURE_POSTPROCESS:
            raise ConfigError(
                f"invalid --post {it!r}; expected KEY=VALUE with KEY one of {', '.join(SEIZURE_POSTPROCESS)}"
            )
        try:
            out[key] = (
                None
                if val.lower() in ("none", "null")
                else (int(val) if key.endswith("_samples") else float(val))
            )
        except ValueError:
            raise ConfigError(f"invalid --post {it!r}: {val!r} is not a number") from None
        v = out[key]
        if v is not None and not (v >= 0 and np.isfinite(v)):  # names the one wrong key, not the whole list
            raise ConfigError(f"invalid --post {key}={val}; allowed: a number >= 0")
    return out
