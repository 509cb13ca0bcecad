"""Fitting an LD-SEM: recover continuous delays and weights from data, without labels.

Coarse to fine:

1. Integer-lag screening. For each target channel, regress it on every other channel at integer lags
   ``1..ceil(tau_max)`` (least squares). A source is kept when dropping its block of lags raises the residual
   sum of squares significantly (an F-test at ``alpha``, Bonferroni over the C (C - 1) pairs). Its initial
   delay is the centroid of the absolute lag coefficients around the peak lag (a band-limited delay
   spreads over the neighbouring integer lags), its initial weight the sum of those coefficients.
2. Continuous refinement. ``A`` and ``tau`` on the kept support are refined by gradient descent through the
   FFT fractional-delay operator, maximising a Laplace (non-Gaussian) likelihood of the residuals with a
   learned per-channel scale, an L1 penalty on ``A`` and a stability penalty keeping the spectral radius of
   the lag polynomial below 1. ``tau`` stays in ``[0, tau_max]`` through a sigmoid parametrisation.
3. Edges whose refined ``|A|`` falls below ``min_weight`` are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

from biodyn.errors import ConfigError
from biodyn.ops.fractional_delay import lagged_mix
from biodyn.types import LagGraph


@dataclass
class FitConfig:
    tau_max_samples: float = 8.0
    alpha: float = 1e-3  # family-wise level of the screening F-tests
    steps: int = 300  # gradient steps of the refinement
    lr: float = 0.02
    l1: float = 1e-3
    stability_weight: float = 1.0
    min_weight: float = 0.05
    likelihood: str = "laplace"  # or "gaussian"


def _lagged_design(x: np.ndarray, lags: int) -> np.ndarray:
    """``(C, L, T - L)``: channel c at lag l (1..L) aligned with targets ``x[:, L:]``."""
    t = x.shape[1]
    return np.stack([x[:, lags - lag : t - lag] for lag in range(1, lags + 1)], axis=1)


def screen(
    x: np.ndarray, tau_max_samples: float, alpha: float = 1e-3
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer-lag screening. Returns support ``(C, C)`` bool, initial weights and delays (samples)."""
    c = x.shape[0]
    lags = max(1, int(np.ceil(tau_max_samples)) + 1)
    design = _lagged_design(x, lags)  # (C, L, N)
    n = design.shape[-1]
    y_all = x[:, lags:]
    support = np.zeros((c, c), bool)
    w0 = np.zeros((c, c))
    tau0 = np.zeros((c, c))
    threshold = alpha / max(c * (c - 1), 1)
    for j in range(c):
        sources = [i for i in range(c) if i != j]
        xmat = design[sources].reshape(len(sources) * lags, n).T  # (N, (C-1) L)
        y = y_all[j]
        gram = xmat.T @ xmat
        gram += 1e-8 * np.trace(gram) / len(gram) * np.eye(len(gram))  # tiny ridge: near-collinear channels
        coef = np.linalg.solve(gram, xmat.T @ y)
        rss_full = float(np.sum((y - xmat @ coef) ** 2))
        dof = n - xmat.shape[1]
        cov = np.linalg.inv(gram)  # dropping block k raises the RSS by b_k^T (cov_kk)^-1 b_k
        for k, i in enumerate(sources):
            blk = slice(k * lags, (k + 1) * lags)
            b_k = coef[blk]
            rss_increase = float(b_k @ np.linalg.solve(cov[blk, blk], b_k))
            f = (rss_increase / lags) / (rss_full / dof)
            if stats.f.sf(f, lags, dof) < threshold:
                b = b_k  # coefficients at lags 1..L
                peak = int(np.argmax(np.abs(b)))
                lo, hi = max(0, peak - 1), min(lags, peak + 2)
                wts = np.abs(b[lo:hi])
                support[i, j] = True
                tau0[i, j] = float(np.sum(wts * (np.arange(lo, hi) + 1)) / wts.sum())
                w0[i, j] = float(b[lo:hi].sum())
    return support, w0, tau0


def fit_ldsem(data: np.ndarray, fs: float, channels: list[str] | None = None, cfg: FitConfig | None = None,
              seed: int = 0) -> LagGraph:  # fmt: skip
    """Fit an LD-SEM to ``data`` ``(C, T)`` sampled at ``fs``; returns the :class:`LagGraph` (tau in seconds)."""
    cfg = cfg or FitConfig()
    x = np.asarray(data, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 10 * (cfg.tau_max_samples + 2):
        raise ConfigError(f"data must be (C, T) with T well above tau_max; got {x.shape}")
    if not np.isfinite(x).all():
        raise ConfigError("data contain NaN or Inf")
    c = x.shape[0]
    names = channels or [f"X{i}" for i in range(c)]
    x = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    support, w0, tau0 = screen(x, cfg.tau_max_samples, cfg.alpha)
    if not support.any():
        return LagGraph(np.zeros((c, c)), np.zeros((c, c)), names, fs)
    torch.manual_seed(seed)
    xt = torch.from_numpy(x)[None]
    mask = torch.from_numpy(support)
    tmax = cfg.tau_max_samples
    frac = np.clip(tau0 / tmax, 1e-3, 1 - 1e-3)
    tau_logit = torch.tensor(np.log(frac / (1 - frac)), requires_grad=True)
    weight = torch.tensor(w0, requires_grad=True)
    log_scale = torch.zeros(c, 1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([tau_logit, weight, log_scale], lr=cfg.lr)
    freqs = torch.linspace(0, 0.5, 64, dtype=torch.float64)
    edge = slice(int(np.ceil(tmax)) + 1, None)  # the first samples see zero padding
    for _ in range(cfg.steps):
        opt.zero_grad()
        w = weight * mask
        tau = torch.sigmoid(tau_logit) * tmax
        resid = (xt - lagged_mix(xt, w, tau))[0][:, edge]  # (C, T')
        if cfg.likelihood == "laplace":
            nll = (resid.abs() / log_scale.exp() + log_scale).mean()
        else:
            nll = (0.5 * resid.square() / (2 * log_scale).exp() + log_scale).mean()
        # stability: spectral radius of M(f) on a frequency grid, penalised above 0.95
        ang = -2 * np.pi * freqs[:, None, None] * tau[None]
        m = (w[None] * torch.polar(torch.ones_like(ang), ang)).transpose(1, 2)
        loss = nll + cfg.l1 * w.abs().sum()
        with torch.no_grad():
            rho = torch.linalg.eigvals(m).abs().amax()
        if (
            rho > 0.95
        ):  # the penalty's gradient is zero below; eigvals' backward fails on repeated eigenvalues
            rho = torch.linalg.eigvals(m).abs().amax()
            loss = loss + cfg.stability_weight * (rho - 0.95) ** 2
        loss.backward()
        opt.step()
    w_final = (weight * mask).detach().numpy()
    tau_final = (torch.sigmoid(tau_logit) * tmax).detach().numpy()
    keep = np.abs(w_final) >= cfg.min_weight
    # weights were fitted on standardised data; report them in the data's units
    std = np.asarray(data, dtype=np.float64).std(1)
    w_units = np.where(keep, w_final * std[None, :] / std[:, None], 0.0)
    return LagGraph(np.where(keep, tau_final, 0.0) / fs, w_units, names, fs)
