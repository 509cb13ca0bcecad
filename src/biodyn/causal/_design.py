"""What the lag baselines share (integer-lag ones in :mod:`biodyn.causal.baselines`, Rhino in
:mod:`biodyn.causal.rhino`): checking and standardising a ``(C, T)`` recording for a lag design, and turning
integer-lag coefficients into a continuous-delay :class:`~biodyn.types.LagGraph`."""

from __future__ import annotations

import numpy as np

from biodyn.errors import ConfigError
from biodyn.types import LagGraph


def _prepare(data: np.ndarray, fs: float, tau_max: float, scale: bool = True) -> tuple[np.ndarray, int]:
    x = np.asarray(data, dtype=np.float64)
    if x.ndim != 2:
        raise ConfigError(f"data must be (C, T); got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ConfigError("data contain NaN or Inf")
    if fs <= 0 or tau_max <= 0:
        raise ConfigError(f"fs and tau_max must be positive; got fs={fs}, tau_max={tau_max}")
    lags = max(1, int(np.ceil(tau_max * fs - 1e-9)))
    if x.shape[1] < 10 * (lags + 1):
        raise ConfigError(f"T={x.shape[1]} is too short for {lags} lags")
    x = x - x.mean(1, keepdims=True)
    if scale:
        x = x / np.maximum(x.std(1, keepdims=True), 1e-12)
    else:  # one common scale keeps the channels' relative variances (least-squares DAG scores need them)
        x = x / max(float(x.std()), 1e-12)
    return x, lags


def graph_from_lag_coefs(coef: np.ndarray, fs: float, channels: list[str] | None = None) -> LagGraph:
    """``coef`` ``(L + 1, C, C)`` indexed ``[lag, source, target]`` (zeros where no link) -> LagGraph.

    The delay of ``i -> j`` (samples) is ``sum_l l |coef_l| / sum_l |coef_l|`` over the lags within one of
    the peak lag; the weight is ``sum_l coef_l`` over the same lags (or the peak value if that sums to 0).
    """
    coef = np.asarray(coef, dtype=np.float64)
    n_lags, c, _ = coef.shape
    tau = np.zeros((c, c))
    weight = np.zeros((c, c))
    for i in range(c):
        for j in range(c):
            if i == j:
                continue
            b = coef[:, i, j]
            if not np.any(b != 0):
                continue
            peak = int(np.argmax(np.abs(b)))
            lo, hi = max(0, peak - 1), min(n_lags, peak + 2)
            w = np.abs(b[lo:hi])
            tau[i, j] = float(np.sum(w * np.arange(lo, hi)) / w.sum())
            s = float(b[lo:hi].sum())
            weight[i, j] = s if s != 0 else float(b[peak])
    names = channels or [f"X{i}" for i in range(c)]
    return LagGraph(tau / fs, weight, names, fs)
