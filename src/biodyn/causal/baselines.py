"""Integer-lag causal-discovery baselines behind one interface, each returning a :class:`LagGraph`.

``fit(data (C, T), fs, tau_max) -> LagGraph`` with ``tau_max`` in seconds. Every baseline estimates lag
coefficients ``coef[lag, source, target]`` on the integer lags ``0..L`` (``L = ceil(tau_max fs)``); an edge
``i -> j`` exists where some lag is kept, and its continuous delay is the mean of the lags around the peak
(peak +- 1) weighted by ``|coef|`` (:func:`graph_from_lag_coefs`). Its weight is the sum of those
coefficients.

- ``varlingam``: VARLiNGAM (Hyvarinen et al. 2010) from the ``lingam`` package, adaptive-lasso pruning.
- ``pcmci``: PCMCI (Runge et al. 2019) with partial-correlation tests from ``tigramite`` (GPL-3; optional
  extra ``baselines``, imported lazily). Weights are the partial correlations of significant links.
- ``dynotears``: DYNOTEARS (Pamfil et al. 2020), implemented here: least squares on
  ``X = X W + Y A`` (``W`` intra-slice, ``A`` lagged) with L1 on both and the NOTEARS acyclicity
  ``h(W) = tr(exp(W * W)) - d`` enforced by an augmented Lagrangian, solved by L-BFGS-B on the positive and
  negative parts.

- ``rhino``: Rhino (Gong et al. 2023), nonlinear lagged and instantaneous effects with history-dependent
  noise, written here (:mod:`biodyn.causal.rhino`; no installable implementation exists for our Python).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.linalg
import scipy.optimize

from biodyn.causal._design import _prepare, graph_from_lag_coefs
from biodyn.errors import ConfigError
from biodyn.types import LagGraph

__all__ = ["BASELINES", "fit_baseline", "fit_dynotears", "fit_pcmci", "fit_varlingam", "graph_from_lag_coefs"]


def fit_varlingam(
    data: np.ndarray, fs: float, tau_max: float, channels: list[str] | None = None, threshold: float = 0.05
) -> LagGraph:
    """VARLiNGAM with lags ``1..L``; coefficients below ``threshold`` (standardised units) are dropped."""
    import lingam

    x, lags = _prepare(data, fs, tau_max)
    model = lingam.VARLiNGAM(lags=lags, criterion=None, prune=True, random_state=0)
    model.fit(x.T)
    mats = np.asarray(model.adjacency_matrices_)  # (L + 1, C, C), [lag, target, source]
    coef = np.swapaxes(mats, 1, 2).copy()
    coef[np.abs(coef) < threshold] = 0.0
    return graph_from_lag_coefs(coef, fs, channels)


def fit_pcmci(
    data: np.ndarray,
    fs: float,
    tau_max: float,
    channels: list[str] | None = None,
    alpha: float = 0.01,
    pc_alpha: float = 0.05,
    max_conds_dim: int | None = 3,
) -> LagGraph:
    """PCMCI with ParCorr on lags ``1..L``; links with p < ``alpha`` are kept (needs ``tigramite``).

    ``max_conds_dim`` caps the conditioning-set size of the PC stage (``None``: no cap; slow for C >= 10).
    """
    try:
        from tigramite import data_processing
        from tigramite.independence_tests.parcorr import ParCorr
        from tigramite.pcmci import PCMCI
    except ImportError as exc:  # pragma: no cover - depends on the optional extra
        raise ConfigError("the PCMCI baseline needs tigramite (pip install 'biodyn[baselines]')") from exc
    x, lags = _prepare(data, fs, tau_max)
    frame = data_processing.DataFrame(x.T)
    pcmci = PCMCI(dataframe=frame, cond_ind_test=ParCorr(significance="analytic"), verbosity=0)
    res = pcmci.run_pcmci(tau_min=1, tau_max=lags, pc_alpha=pc_alpha, max_conds_dim=max_conds_dim)
    val = np.asarray(res["val_matrix"])  # (C_src, C_tgt, L + 1)
    keep = np.asarray(res["p_matrix"]) < alpha
    coef = np.moveaxis(np.where(keep, val, 0.0), 2, 0)
    coef[0] = 0.0
    return graph_from_lag_coefs(coef, fs, channels)


def _dynotears_solve(
    x: np.ndarray,
    lags: int,
    lambda_w: float,
    lambda_a: float,
    max_iter: int = 50,
    h_tol: float = 1e-8,
    rho_max: float = 1e16,
) -> tuple[np.ndarray, np.ndarray]:
    """DYNOTEARS on ``x`` ``(C, T)``: returns ``W`` ``(C, C)`` and ``A`` ``(L, C, C)`` in [source, target]."""
    d, t = x.shape
    target = x[:, lags:].T  # (n, d)
    past = np.concatenate([x[:, lags - lag : t - lag].T for lag in range(1, lags + 1)], axis=1)  # (n, L d)
    z = np.concatenate([target, past], axis=1)
    n = target.shape[0]
    gram_zz = z.T @ z / n  # sufficient statistics: the loss only needs these
    gram_zx = z.T @ target / n
    k = z.shape[1]

    def unpack(v):
        b = (v[: k * d] - v[k * d :]).reshape(k, d)
        return b

    def objective(v, rho, alpha):
        b = unpack(v)
        w = b[:d]
        loss = 0.5 * np.sum(b * (gram_zz @ b)) - np.sum(b * gram_zx)
        grad_b = gram_zz @ b - gram_zx
        e = scipy.linalg.expm(w * w)
        h = np.trace(e) - d
        loss += 0.5 * rho * h * h + alpha * h
        grad_b[:d] += (rho * h + alpha) * e.T * 2 * w
        lam = np.concatenate([np.full(d * d, lambda_w), np.full((k - d) * d, lambda_a)])
        loss += lam @ (v[: k * d] + v[k * d :])
        g = grad_b.ravel()
        return loss, np.concatenate([g + lam, -g + lam])

    bounds = []
    for _ in range(2):
        for r in range(k):
            for c in range(d):
                bounds.append((0.0, 0.0) if (r < d and r == c) else (0.0, None))
    v = np.zeros(2 * k * d)
    rho, alpha, h = 1.0, 0.0, np.inf
    for _ in range(max_iter):
        while rho < rho_max:
            sol = scipy.optimize.minimize(
                objective, v, args=(rho, alpha), jac=True, method="L-BFGS-B", bounds=bounds
            )
            w_new = unpack(sol.x)[:d]
            h_new = np.trace(scipy.linalg.expm(w_new * w_new)) - d
            if h_new > 0.25 * h:
                rho *= 10
            else:
                break
        v, h = sol.x, h_new
        alpha += rho * h
        if h <= h_tol or rho >= rho_max:
            break
    b = unpack(v)
    return b[:d], b[d:].reshape(lags, d, d)


def fit_dynotears(
    data: np.ndarray,
    fs: float,
    tau_max: float,
    channels: list[str] | None = None,
    lambda_w: float = 0.02,
    lambda_a: float = 0.02,
    threshold: float = 0.05,
) -> LagGraph:
    """DYNOTEARS; coefficients with ``|coef| < threshold`` are dropped.

    The data are centred and divided by one common scale (not per channel): like NOTEARS, the least-squares
    score orients instantaneous edges through the channels' relative variances.
    """
    x, lags = _prepare(data, fs, tau_max, scale=False)
    w, a = _dynotears_solve(x, lags, lambda_w, lambda_a)
    coef = np.concatenate([w[None], a], axis=0)
    coef[np.abs(coef) < threshold] = 0.0
    return graph_from_lag_coefs(coef, fs, channels)


def _rhino(*args, **kw) -> LagGraph:
    from biodyn.causal.rhino import fit_rhino  # torch: imported when Rhino runs

    return fit_rhino(*args, **kw)


BASELINES: dict[str, Callable[..., LagGraph]] = {
    "varlingam": fit_varlingam,
    "pcmci": fit_pcmci,
    "dynotears": fit_dynotears,
    "rhino": _rhino,
}


def fit_baseline(name: str, data: np.ndarray, fs: float, tau_max: float, **kw) -> LagGraph:
    """Run baseline ``name`` (one of :data:`BASELINES`)."""
    if name not in BASELINES:
        raise ConfigError(f"unknown baseline {name!r}; choose one of {sorted(BASELINES)}")
    return BASELINES[name](data, fs, tau_max, **kw)
