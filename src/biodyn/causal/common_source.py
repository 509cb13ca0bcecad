"""A common-source time-delay model: every channel a delayed, scaled copy of one shared waveform.

The model, for channels ``c`` of a recording ``x`` ``(C, T)``::

    x_c(t) = g_c s(t - d_c) + e_c(t),      g_c > 0

with one waveform ``s`` shared by all channels, per-channel delays ``d_c`` (continuous, within ``+-tau_max`` of
the median channel) and positive gains ``g_c``. It is the model of the ``ecg`` preset of
:func:`biodyn.causal.recording.fit_recording`: the leads of an ECG are projections of one cardiac dipole, so
they co-vary mostly at zero lag, and a lagged SEM (each lead predicted from the others' past) finds few of the
delays between them; here the activation order is the order of the delays ``d_c`` themselves. Positive gains
only: an inverted copy is the dipole seen from the opposite side (its S wave would be timed, not its R wave).

Estimation alternates, as Woody's (1967) template alignment does: given ``s``, each channel's delay is the peak
of its cross-correlation with ``s`` within ``+-tau_max`` (refined by a parabola through the peak) and its gain
the least-squares scale; given delays and gains, ``s`` is the least-squares waveform
``sum_c g_c x_c(t + d_c) / sum_c g_c^2`` (fractional shifts by an FFT phase). ``s`` starts as the channel most
correlated with all others; the delays are centred on their median each round; it stops when no delay moves
by more than ``tau_tol_samples``.
"""

from __future__ import annotations

import time

import numpy as np

from biodyn.causal.fit import LagFit, zero_lag_coupling
from biodyn.errors import ConfigError
from biodyn.types import LagGraph


def common_source_delays(
    x: np.ndarray, max_lag_samples: float, steps: int = 50, tau_tol_samples: float = 1e-3
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool, int]:
    """Delays ``d`` ``(C,)`` (samples, median 0), gains ``g`` ``(C,)`` and the shared waveform ``s`` ``(T,)`` of
    ``x`` ``(C, T)`` (standardised inside); also whether the delays converged and the rounds used."""
    x = np.asarray(x, dtype=np.float64)
    c, t = x.shape
    x = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    n = 1 << int(np.ceil(np.log2(t + 2 * np.ceil(max_lag_samples) + 2)))  # no wrap-around within the lags
    spec = np.fft.rfft(x, n)  # (C, F)
    f = np.fft.rfftfreq(n)
    lag_max = int(np.floor(max_lag_samples))
    lags = np.r_[np.arange(0, lag_max + 1), np.arange(-lag_max, 0)]
    ref = int(np.argmax(np.corrcoef(x).sum(1)))
    s_spec = spec[ref].copy()
    d, g = np.zeros(c), np.ones(c)
    converged, rounds = False, 0
    for rounds in range(1, int(steps) + 1):
        xc = np.fft.irfft(spec * np.conj(s_spec)[None], n)  # xc[c, k] = sum_t x_c(t + k) s(t)
        vals = np.concatenate([xc[:, : lag_max + 1], xc[:, n - lag_max :]], 1) if lag_max else xc[:, :1]
        k = np.argmax(vals, 1)
        new = lags[k].astype(np.float64)
        for ci in range(c):  # a parabola through the peak and its neighbours (not at the edge of the range)
            if abs(lags[k[ci]]) < lag_max:
                y0, ym, yp = (
                    vals[ci, k[ci]],
                    vals[ci, (k[ci] - 1) % len(lags)],
                    vals[ci, (k[ci] + 1) % len(lags)],
                )
                curv = ym - 2 * y0 + yp
                new[ci] += 0.5 * (ym - yp) / curv if curv < 0 else 0.0
        s_energy = float(np.sum(np.abs(np.fft.irfft(s_spec, n)) ** 2))
        g = np.clip(vals[np.arange(c), k] / max(s_energy, 1e-300), 1e-12, None)  # positive gains only
        new -= np.median(new)
        moved = float(np.abs(new - d).max())
        d = new
        s_spec = (g[:, None] * spec * np.exp(2j * np.pi * f[None] * d[:, None])).sum(0) / np.sum(g**2)
        if moved < tau_tol_samples and rounds > 1:
            converged = True
            break
    s = np.fft.irfft(s_spec, n)[:t]
    return d, g, s, converged, rounds


def fit_common_source(
    data: np.ndarray, fs: float, channels: list[str], tau_max_samples: float, steps: int = 50
) -> LagFit:
    """Fit the common-source model to ``data`` ``(C, T)`` at ``fs``; returns a :class:`LagFit` whose graph is a
    star from the earliest channel to every other one (``tau`` = the difference of their delays, so the onset
    times of :meth:`LagGraph.focal_scores` are the delays ``d_c``; weight: the ratio of the gains in the data's
    units), ``model="common_source"`` and ``onset_s`` (each channel's delay, s, median 0). Delays at the edge
    of ``+-tau_max`` are flagged ``at_ceiling`` (not identified); the zero-lag coupling is that of the
    residuals ``x_c - g_c s(t - d_c)``."""
    t0 = time.perf_counter()
    x = np.asarray(data, dtype=np.float64)
    names = list(channels)
    if x.ndim != 2 or x.shape[0] != len(names) or x.shape[0] < 2:
        raise ConfigError(
            f"data must be (C, T) with C >= 2 matching {len(names)} channel names; got {x.shape}"
        )
    if not tau_max_samples >= 1:
        raise ConfigError(f"invalid tau_max_samples={tau_max_samples!r}; allowed: >= 1")
    d, g, s, converged, rounds = common_source_delays(x, tau_max_samples, steps)
    c = len(names)
    std = x.std(1)
    root = int(np.argmin(d))
    tau, w = np.zeros((c, c)), np.zeros((c, c))
    for j in range(c):
        if j != root:
            tau[root, j] = (d[j] - d[root]) / fs
            w[root, j] = g[j] / g[root] * std[j] / std[root]
    edge_ceiling = np.abs(d) >= np.floor(tau_max_samples) - 1e-9  # a delay at the edge of the search
    at_ceiling = np.zeros((c, c), bool)
    at_ceiling[root] = edge_ceiling | edge_ceiling[root]
    at_ceiling[root, root] = False
    xs = (x - x.mean(1, keepdims=True)) / std[:, None]
    n = len(s)
    f = np.fft.rfftfreq(n)
    shifted = np.fft.irfft(np.fft.rfft(s)[None] * np.exp(-2j * np.pi * f[None] * d[:, None]), n)
    resid = xs - g[:, None] * shifted
    b, pcor = zero_lag_coupling(resid)
    inst = np.where(np.abs(pcor) >= 0.1, b, 0.0) * (std[None, :] / std[:, None])
    objective = float(0.5 * np.log(resid.var(1)).sum())
    return LagFit(
        graph=LagGraph(tau, w, names, fs),
        instantaneous=inst,
        partial_corr=pcor,
        at_ceiling=at_ceiling,
        converged=converged,
        n_iter=rounds,
        objective=objective,
        tau_max_s=tau_max_samples / fs,
        tau_min_s=0.0,
        fit_s=time.perf_counter() - t0,
        at_floor=np.zeros((c, c), bool),
        model="common_source",
        onset_s={n: float(v / fs) for n, v in zip(names, d)},
    )
