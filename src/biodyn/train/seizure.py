"""Seizure-detection scoring shared by training (early stopping), ``biodyn eval`` and ``biodyn detect``.

Post-processing defaults are the Brain-Go-Brr reference implementation's: hysteresis (on at 0.86, off below
0.78), binary opening over 11 and closing over 31 samples, events merged across gaps under 2 s, events
kept when 3-600 s long.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from biodyn.types import Event

THRESHOLD = 0.86  # switch-on level; the switch-off level is THRESHOLD - hysteresis_gap
POSTPROCESS: dict[str, Any] = {"hysteresis_gap": 0.08, "opening_samples": 11, "closing_samples": 31,
                               "merge_gap_s": 2.0, "min_duration_s": 3.0, "max_duration_s": 600.0}  # fmt: skip


def mask_events(mask: np.ndarray, fs: float, label: str = "seiz") -> list[Event]:
    """Reference events from a per-sample 0/1 mask ``(T,)`` (negative = unlabelled counts as background)."""
    from biodyn.metrics.postprocess import mask_to_intervals

    return [
        Event(float(a / fs), float((b - a) / fs), label) for a, b in mask_to_intervals(np.asarray(mask) > 0)
    ]


def window_metrics(probs: np.ndarray, target: np.ndarray, fs: float, fa_target: float = 10.0,
                   post: dict[str, Any] | None = None) -> dict[str, float]:  # fmt: skip
    """Metrics of per-sample probabilities ``(N, T)`` against masks ``(N, T)``, each window a recording:
    ``auroc`` (per sample), ``window_auroc`` (window max vs any seizure sample), and the OVERLAP
    ``sens_at_10fa`` (highest sensitivity among thresholds with FA/24h <= ``fa_target``; 0 when none),
    with its ``threshold_at_10fa`` and ``fa_at_10fa``."""
    from biodyn.metrics.classification import auroc
    from biodyn.metrics.detection import Scored, choose_thresholds_bisect

    probs = np.asarray(probs, np.float64).reshape(len(probs), -1)
    target = np.asarray(target).reshape(probs.shape)
    out: dict[str, float] = {}
    y = (target > 0).ravel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["auroc"] = auroc(y, probs.ravel()) if 0 < y.sum() < y.size else float("nan")
        wy = (target > 0).any(axis=1)
        out["window_auroc"] = auroc(wy, probs.max(axis=1)) if 0 < wy.sum() < len(wy) else float("nan")
    recs = [
        Scored(p, fs, mask_events(t, fs), record_id=str(i)) for i, (p, t) in enumerate(zip(probs, target))
    ]
    pp = {**POSTPROCESS, **(post or {})}
    op = choose_thresholds_bisect(recs, (fa_target,), **pp)[fa_target]
    out["sens_at_10fa"] = 0.0 if op is None or np.isnan(op.sensitivity) else float(op.sensitivity)
    out["threshold_at_10fa"] = float("nan") if op is None else float(op.threshold)
    out["fa_at_10fa"] = float("nan") if op is None else float(op.fa_per_24h)
    return out
