"""Fitting an LD-SEM: recover continuous delays, weights and zero-lag coupling from data, without labels.

The fitted model, in LagGraph orientation (source ``i``, target ``j``), on z-scored channels::

    x_j(t) = sum_i A[i, j] x_i(t - tau[i, j]) + sum_p phi[j, p] x_j(t - p) + u_j(t),   cov(u(t)) = Sigma

``A`` and the continuous delays ``tau`` in ``[tau_min, tau_max]`` are the lag graph; ``phi`` is each
channel's own autoregression (integer lags ``1..P``, a nuisance term that keeps the innovations white on
real recordings). Zero-lag coupling — volume conduction, a shared reference, one cardiac dipole seen by
several leads — lives in the innovations' covariance ``Sigma``, as in a structural VAR (SVAR/VARLiNGAM's
first stage), so it is not forced into small fractional delays; it is reported as the zero-lag mixing
(node-wise regression coefficients and partial correlations of the innovations, :func:`zero_lag_coupling`).
A delay shorter than ``tau_min`` (default 0 here; :func:`biodyn.causal.recording.fit_recording` uses one
sample of its fitting rate) cannot be told from zero-lag coupling in band-limited data.

Coarse to fine:

1. Integer-lag screening (:func:`screen`), vectorised over targets: every channel is regressed on the past
   ``1..L`` of all channels (its own included) by one least-squares solve shared by all targets. A source
   is kept when dropping its block of lags raises the residual sum of squares significantly (an F-test at
   ``alpha``, Bonferroni over the C (C - 1) pairs). Its initial delay is the centroid of the absolute lag
   coefficients around the peak lag.
2. Continuous refinement by variable projection (:func:`fit_lags`): for given delays every target's
   weights are its least-squares solution (all targets at once, one batched solve), so the objective
   ``sum_j 1/2 log mean_t u_j(t)^2`` (the Gaussian likelihood with each scale concentrated out) is a smooth
   function of the delays alone, minimised by L-BFGS-B within ``[tau_min, tau_max]`` through the FFT
   fractional delay; its gradient needs no backward pass through the solve (at the least-squares weights the
   residual is orthogonal to the regressors: :meth:`_Objective.value_and_grad`). The fit stops on
   convergence — relative change of the objective below ``ftol`` and the largest change of a delay below
   ``tau_tol_samples`` for three iterations in a row — not after a fixed number of steps; ``steps`` is only
   the iteration limit, and :attr:`LagFit.converged` says which came first. The first refinement runs from
   ``n_starts`` starts (the screening's delays and jittered copies) and keeps the lowest optimum; edges
   whose ``|A|`` falls below ``min_weight`` (with ``weight_sign="positive"``: whose ``A`` does) are then
   dropped and the rest refitted, until none is left (at most three refits). ``init_delays="xcorr"``
   starts each delay at its pair's cross-correlation peak instead of the screening's lag coefficients
   (with ``self_lags=0`` this is a time-delay model, the :mod:`biodyn.causal.recording` ``ecg`` preset).
3. Delays within ``ceiling_margin_samples`` of ``tau_max`` are flagged as not identified (the true delay
   may lie beyond the range searched).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy import optimize, stats

from biodyn.errors import ConfigError, check_option
from biodyn.ops.fractional_delay import odd_fast_length
from biodyn.types import LagGraph

# progress(stage, done, total): called by the fits for a progress bar
Progress = Callable[[str, int, int], None]


@dataclass
class FitConfig:
    tau_max_samples: float = 8.0
    tau_min_samples: float = 0.0  # smallest delay (fit_recording: 1 sample, strictly predictive lags)
    alpha: float = 1e-3  # family-wise level of the screening F-tests
    steps: int = 500  # iteration limit of the refinement (it stops earlier on convergence)
    lr: float = 0.02  # unused since the refinement is L-BFGS-B; kept for old configs
    l1: float = 1e-3  # unused since the weights are least-squares solutions; kept for old configs
    stability_weight: float = 1.0  # unused; kept for old configs
    min_weight: float = 0.05  # |A| below this (standardised units) is no edge
    likelihood: str = (
        "gaussian"  # the refinement's objective; only "gaussian" (variable projection is least squares)
    )
    self_lags: int | None = None  # own-past order P; None: ceil(tau_max) + 1; 0: none
    ftol: float = 1e-7  # relative change of the objective at convergence
    tau_tol_samples: float = 1e-3  # largest change of a delay at convergence
    init_jitter_samples: float = 0.1  # the seed moves the initial delays by up to this much
    n_starts: int = 3  # starts of the first refinement (the screening's delays, then jittered); the best wins
    ceiling_margin_samples: float = 0.1  # a delay this close to tau_max is flagged as not identified
    min_partial_corr: float = 0.1  # zero-lag coupling weaker than this partial correlation is not reported
    # "any": lagged weights of either sign; "positive": same-polarity edges only (a target that repeats the
    # source inverted is left to the zero-lag coupling / other edges; the ECG preset of fit_recording)
    weight_sign: str = "any"
    # initial delays: "screen" (the centroid of the screening's lag coefficients) or "xcorr" (the peak of each
    # pair's cross-correlation over the lags 1..L, signed as weight_sign asks: the classic time-delay estimate,
    # the least-squares optimum of a one-source delay model without own past; the ECG preset)
    init_delays: str = "screen"

    def __post_init__(self) -> None:
        if self.likelihood != "gaussian":  # accepting "laplace" here would silently fit least squares anyway
            raise ConfigError(
                f"FitConfig.likelihood={self.likelihood!r}: the per-recording fit's variable projection solves "
                "least squares (the Gaussian likelihood) only; the Laplace likelihood is the amortised "
                "encoder's (biodyn.causal.amortised, CLD-Trans)"
            )
        check_option("weight_sign", self.weight_sign, ("any", "positive"))
        check_option("init_delays", self.init_delays, ("screen", "xcorr"))
        if not self.tau_max_samples > 0:
            raise ConfigError(f"invalid tau_max_samples={self.tau_max_samples!r}; allowed: > 0")
        if not 0 <= self.tau_min_samples < self.tau_max_samples:
            raise ConfigError(
                f"invalid tau_min_samples={self.tau_min_samples!r}; allowed: 0 <= tau_min < tau_max "
                f"({self.tau_max_samples:g})"
            )
        if int(self.steps) < 1:
            raise ConfigError(f"invalid steps={self.steps!r}; allowed: an integer >= 1")
        _check_alpha(self.alpha)


def _check_alpha(alpha: float) -> None:
    if not 0 <= alpha <= 1:  # above 1 even the diagonal's p = 1 would pass: self-edges
        raise ConfigError(f"invalid alpha={alpha!r}; allowed: a significance level in [0, 1]")


def _n_lags(tau_max_samples: float) -> int:
    return max(1, int(np.ceil(tau_max_samples)) + 1)


def _lagged_design(x: np.ndarray, lags: int) -> np.ndarray:
    """``(C, L, T - L)``: channel c at lag l (1..L) aligned with targets ``x[:, L:]``."""
    t = x.shape[1]
    return np.stack([x[:, lags - lag : t - lag] for lag in range(1, lags + 1)], axis=1)


@dataclass
class _Screen:
    support: np.ndarray  # (C, C) bool [source, target]
    w0: np.ndarray  # (C, C)
    tau0: np.ndarray  # (C, C) samples
    coef: np.ndarray  # (C_src, L, C_tgt) lag coefficients
    p_value: np.ndarray  # (C, C)


def _screen(x: np.ndarray, tau_max_samples: float, alpha: float, sign: str = "any") -> _Screen:
    c = x.shape[0]
    lags = _n_lags(tau_max_samples)
    design = _lagged_design(x, lags)  # (C, L, N)
    n = design.shape[-1]
    dmat = design.reshape(c * lags, n).T  # (N, C L), column k * L + l: channel k at lag l + 1
    y = x[:, lags:].T  # (N, C) every target at once
    gram = dmat.T @ dmat
    gram += 1e-8 * np.trace(gram) / len(gram) * np.eye(len(gram))  # tiny ridge: near-collinear channels
    cho = np.linalg.cholesky(gram)
    coef = np.linalg.solve(cho.T, np.linalg.solve(cho, dmat.T @ y))  # (C L, C_tgt)
    rss = np.sum((y - dmat @ coef) ** 2, axis=0)  # (C_tgt,)
    dof = max(n - dmat.shape[1], 1)
    cov = np.linalg.inv(gram)
    blocks = np.stack([cov[k * lags : (k + 1) * lags, k * lags : (k + 1) * lags] for k in range(c)])
    b = coef.reshape(c, lags, c)  # (C_src, L, C_tgt)
    # dropping source block i from target j's regression raises its RSS by b^T (cov_ii)^-1 b
    sol = np.linalg.solve(blocks, b)  # (C_src, L, C_tgt)
    rss_increase = np.einsum("ilj,ilj->ij", b, sol)
    f = (rss_increase / lags) / (np.maximum(rss, 1e-300) / dof)[None, :]
    p = stats.f.sf(f, lags, dof)
    np.fill_diagonal(p, 1.0)
    support = p < alpha / max(c * (c - 1), 1)
    w0 = np.zeros((c, c))
    tau0 = np.zeros((c, c))
    for i, j in zip(*np.nonzero(support)):
        prof = b[i, :, j]  # coefficients at lags 1..L
        peak = int(np.argmax(prof if sign == "positive" else np.abs(prof)))
        if sign == "positive" and prof[peak] <= 0:  # no same-polarity lag at all
            support[i, j] = False
            continue
        lo, hi = max(0, peak - 1), min(lags, peak + 2)
        wts = np.abs(prof[lo:hi]) if sign == "any" else np.clip(prof[lo:hi], 0, None)
        tau0[i, j] = float(np.sum(wts * (np.arange(lo, hi) + 1)) / wts.sum())
        w0[i, j] = float(prof[lo:hi].sum())
    return _Screen(support, w0, np.minimum(tau0, tau_max_samples), b, p)


def _xcorr_delays(x: np.ndarray, tau_max_samples: float, sign: str) -> tuple[np.ndarray, np.ndarray]:
    """Peak lag (samples, ``(C, C)`` [source, target]) of ``corr(x_i(t - l), x_j(t))`` over ``l = 1..L`` on
    standardised ``x`` ``(C, T)``, refined by a parabola through the peak and its neighbours, and that peak's
    correlation (the largest positive one with ``sign="positive"``, else the largest in absolute value)."""
    lags = _n_lags(tau_max_samples)
    design = _lagged_design(x, lags)  # (C, L, N)
    y = x[:, lags:]
    xc = np.einsum("iln,jn->ijl", design, y) / y.shape[1]  # (C_src, C_tgt, L)
    score = xc if sign == "positive" else np.abs(xc)
    peak = np.argmax(score, axis=-1)  # (C, C)
    ii, jj = np.indices(peak.shape)
    lo, hi = np.clip(peak - 1, 0, lags - 1), np.clip(peak + 1, 0, lags - 1)
    s0, sm, sp = score[ii, jj, peak], score[ii, jj, lo], score[ii, jj, hi]
    curv = sm - 2 * s0 + sp
    inner = (peak > 0) & (peak < lags - 1) & (curv < 0)
    shift = np.where(inner, 0.5 * (sm - sp) / np.where(inner, curv, 1.0), 0.0)
    return np.clip(peak + 1 + shift, 1, tau_max_samples), xc[ii, jj, peak]


def screen(
    x: np.ndarray, tau_max_samples: float, alpha: float = 1e-3
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer-lag screening. Returns support ``(C, C)`` bool, initial weights and delays (samples).

    ``x`` ``(C, T)``; every target is regressed on the lags ``1..ceil(tau_max) + 1`` of all channels, its own
    included (a Granger regression), in one shared least-squares solve.
    """
    _check_alpha(alpha)
    s = _screen(np.asarray(x, dtype=np.float64), tau_max_samples, alpha)
    return s.support, s.w0, s.tau0


@dataclass
class LagFit:
    """Everything a fit found: the lag graph, the zero-lag coupling, convergence and flags.

    Attributes:
        graph: the lagged edges (tau in seconds, weights in the data's units).
        instantaneous: ``(C, C)`` zero-lag mixing ``B[i, j]``: the innovation of ``i`` in the best linear
            prediction of the innovation of ``j`` (data units; 0 where ``|partial_corr| < min_partial_corr``).
        partial_corr: ``(C, C)`` symmetric partial correlations of the innovations (zero-lag coupling).
        at_ceiling: ``(C, C)`` bool, lagged edges whose delay sits at ``tau_max``: not identified.
        at_floor: ``(C, C)`` bool, lagged edges whose delay sits at ``tau_min`` (when that is above 0): the
            delay may be shorter, down to zero-lag coupling.
        converged: the stopping rule was met before the iteration limit.
        n_iter: L-BFGS-B iterations; objective: the final negative log-likelihood per sample.
        dropped: channels left out before fitting, ``{"channel", "reason"}`` each (see
            :func:`biodyn.causal.recording.fit_recording`).
        stability: per-edge confidence and focal-ranking stability over sub-windows, or None
            (:func:`biodyn.causal.stability.lag_stability`).
        start_votes: ``(C, C)`` int, how many of the first refinement's ``n_starts`` optima hold each edge
            (``|A| >= min_weight``); an edge of the graph held by fewer than all is not identified (optima of
            nearly equal depth disagree on it). None when not recorded.
    """

    graph: LagGraph
    instantaneous: np.ndarray
    partial_corr: np.ndarray
    at_ceiling: np.ndarray
    converged: bool
    n_iter: int
    objective: float
    tau_max_s: float
    fit_s: float = 0.0
    at_floor: np.ndarray | None = None
    dropped: list[dict[str, str]] = field(default_factory=list)
    stability: dict[str, Any] | None = None
    preset: str | None = None  # the recording preset used (fit_recording), None for a plain fit_lags
    tau_min_s: float = 0.0  # the smallest delay searched: the delay range is [tau_min_s, tau_max_s]
    # "sem": the lagged SEM of fit_lags; "common_source": biodyn.causal.common_source (every channel a delayed,
    # scaled copy of one waveform; its graph is a star from the earliest channel, onset_s its delays)
    model: str = "sem"
    onset_s: dict[str, float] | None = None
    # standardised parameters of the fit (for warm starts): src, tgt, a, tau (samples), phi (C, P)
    state: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    # (C, C) how many of the first refinement's n_starts optima hold the edge (|A| >= min_weight); None: not
    # recorded (a fit from before, or another model)
    start_votes: np.ndarray | None = None
    n_starts: int = 1

    @property
    def channels(self) -> list[str]:
        return self.graph.channels

    def not_identified(self, spreads: list[dict] | None = None) -> dict[tuple[int, int], str]:
        """``{(i, j): reason}`` for the lagged edges whose delay is not identified: at the delay ceiling (the
        true delay may lie beyond the range searched), or whose sub-window interval ``tau_s_q05..tau_s_q95``
        covers more than half the delay range ``[tau_min_s, tau_max_s]`` (the delay is not a property of the
        recording). ``spreads``: the sub-window edges (default: ``stability["edges"]``, when computed)."""
        index = {n: k for k, n in enumerate(self.graph.channels)}
        out = {}
        for i, j in zip(*np.nonzero(self.at_ceiling)):
            out[(int(i), int(j))] = "at the delay ceiling"
        if self.start_votes is not None and self.n_starts > 1:
            for i, j in zip(*np.nonzero((self.graph.weight != 0) & (self.start_votes < self.n_starts))):
                if (int(i), int(j)) not in out:
                    out[(int(i), int(j))] = (
                        f"in {int(self.start_votes[i, j])} of the {self.n_starts} starts' optima only (optima "
                        "of nearly equal depth disagree on it)"
                    )
        half = 0.5 * (self.tau_max_s - self.tau_min_s)
        for e in spreads if spreads is not None else (self.stability or {}).get("edges", []):
            lo, hi = e.get("tau_s_q05"), e.get("tau_s_q95")
            key = (index[e["source"]], index[e["target"]])
            if lo is not None and hi is not None and hi - lo > half and key not in out:
                out[key] = (
                    f"delay interval {lo * 1e3:.1f}-{hi * 1e3:.1f} ms over the sub-windows covers more than "
                    f"half the delay range ({self.tau_min_s * 1e3:.1f}-{self.tau_max_s * 1e3:.1f} ms)"
                )
        return out

    def identified_graph(self, spreads: list[dict] | None = None) -> LagGraph:
        """The lag graph without the edges that are not identified (:meth:`not_identified`): what the onset
        times, the focal ranking and the focal lead are computed from."""
        w = self.graph.weight.copy()
        for i, j in self.not_identified(spreads):
            w[i, j] = 0.0
        return LagGraph(np.where(w != 0, self.graph.tau, 0.0), w, list(self.graph.channels), self.graph.fs)

    def unranked(self) -> dict[str, str]:
        """``{channel: reason}`` for the channels the focal ranking does not order, in channel order: those
        without any identified edge (``"no identified edge"``; the delays say nothing about their onset
        times)."""
        g = self.identified_graph()
        return {n: "no identified edge" for n, ok in zip(g.channels, g.connected()) if not ok}

    def focal_ranking(self) -> list[str]:
        """Channels by onset time over the identified edges, earliest first, then the channels without an
        identified edge (:meth:`unranked`, in channel order). Ties are in channel order: read them from
        :meth:`focal_groups`."""
        return self.identified_graph().focal_ranking(edgeless_last=True)

    def focal_groups(self) -> list[list[str]]:
        """The focal ranking over the identified edges with its ties kept (:meth:`LagGraph.focal_groups`); the
        channels without an identified edge form one final group (:meth:`unranked`), never ranked among the
        channels the delays order."""
        return self.identified_graph().focal_groups(edgeless_last=True)

    def focal_lead(self) -> str | None:
        """The channel the identified edges put first; None when no edge is identified or the first place is
        a tie."""
        return self.identified_graph().focal_lead()

    def focal_lead_note(self) -> str | None:
        """Why there is no focal lead (``"no focal lead: no identified edge"``, ``"no focal lead: tie between
        A, B"``), None when there is one."""
        g = self.identified_graph()
        if g.focal_lead() is not None:
            return None
        if not g.edges():
            return "no focal lead: no identified edge"
        return f"no focal lead: tie between {', '.join(g.focal_groups()[0])}"

    def edges(self) -> list[dict[str, Any]]:
        """Lagged edges, strongest first, each with ``at_ceiling``, ``identified`` (and the reason when not,
        :meth:`not_identified`), and ``confidence`` and the delay's sub-window spread ``tau_s_q05`` /
        ``tau_s_q95`` when stability was computed."""
        index = {n: k for k, n in enumerate(self.graph.channels)}
        per_edge = {(e["source"], e["target"]): e for e in (self.stability or {}).get("edges", [])}
        unident = self.not_identified()
        out = []
        for e in self.graph.edges():
            i, j = index[e["source"]], index[e["target"]]
            row = {
                **e,
                "at_ceiling": bool(self.at_ceiling[i, j]),
                "at_floor": bool(self.at_floor[i, j]) if self.at_floor is not None else False,
            }
            if (e["source"], e["target"]) in per_edge:
                s = per_edge[(e["source"], e["target"])]
                row.update({k: s[k] for k in ("confidence", "tau_s_q05", "tau_s_q95") if k in s})
            row["identified"] = (i, j) not in unident
            if not row["identified"]:
                row["not_identified"] = unident[(i, j)]
            out.append(row)
        return out

    def instantaneous_edges(self) -> list[dict[str, Any]]:
        """Zero-lag couplings (undirected pairs ``a -- b``, ``a`` listed first), strongest partial
        correlation first, each with ``partial_corr`` and the two node-wise coefficients."""
        names = self.graph.channels
        iu, ju = np.triu_indices(len(names), 1)
        strong = (self.instantaneous[iu, ju] != 0) | (self.instantaneous[ju, iu] != 0)
        iu, ju = iu[strong], ju[strong]
        order = np.argsort(-np.abs(self.partial_corr[iu, ju]), kind="stable")
        conf = {(e["a"], e["b"]): e["confidence"] for e in (self.stability or {}).get("instantaneous", [])}
        out = []
        for i, j in zip(iu[order], ju[order]):
            row = {
                "a": names[i],
                "b": names[j],
                "partial_corr": float(self.partial_corr[i, j]),
                "weight_a_to_b": float(self.instantaneous[i, j]),
                "weight_b_to_a": float(self.instantaneous[j, i]),
            }
            if (names[i], names[j]) in conf:
                row["confidence"] = conf[(names[i], names[j])]
            out.append(row)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The LagGraph's JSON (``channels``, ``fs``, ``tau_s``, ``tau_samples``, ``weight``, ``edges``) plus
        ``instantaneous``, ``instantaneous_edges``, the focal ranking over the identified edges (``focal_ranking``,
        ``focal_groups`` with ties, ``focal_lead`` or None and ``focal_lead_note`` saying why, ``unranked``: the
        channels without an identified edge, the final group, with the reason), convergence, flags and
        stability."""
        d = self.graph.to_dict()
        d["edges"] = self.edges()
        d.update(
            {
                "focal_ranking": self.focal_ranking(),
                "focal_groups": self.focal_groups(),
                "focal_lead": self.focal_lead(),
                "focal_lead_note": self.focal_lead_note(),
                "unranked": self.unranked(),
                "n_not_identified": len(self.not_identified()),
                "tau_min_s": self.tau_min_s,
                "model": self.model,
                "onset_s": self.onset_s,
                "instantaneous": self.instantaneous.tolist(),
                "partial_corr": self.partial_corr.tolist(),
                "instantaneous_edges": self.instantaneous_edges(),
                "n_at_ceiling": int(self.at_ceiling.sum()),
                "n_at_floor": int(self.at_floor.sum()) if self.at_floor is not None else 0,
                "tau_max_s": self.tau_max_s,
                "converged": self.converged,
                "n_iter": self.n_iter,
                "objective": self.objective,
                "fit_s": self.fit_s,
                "dropped_channels": list(self.dropped),
                "preset": self.preset,
                "stability": self.stability,
            }
        )
        return d


def _check_data(data: np.ndarray, cfg: FitConfig) -> np.ndarray:
    x = np.asarray(data, dtype=np.float64)
    need = int(10 * (cfg.tau_max_samples + 2))
    if x.ndim != 2 or x.shape[1] < need:
        raise ConfigError(
            f"data must be (C, T) with T well above tau_max (T >= {need} for tau_max_samples="
            f"{cfg.tau_max_samples:g}); got {x.shape}"
        )
    if x.shape[0] < 2:
        raise ConfigError(f"a lag graph needs at least 2 channels; got {x.shape[0]}")
    if not np.isfinite(x).all():
        raise ConfigError("data contain NaN or Inf")
    std = x.std(1)
    if (std == 0).any():
        raise ConfigError(
            f"constant channel(s) at row(s) {np.flatnonzero(std == 0).tolist()}: drop them first"
        )
    return x


class _Objective:
    """Variable projection: for given delays, each target's weights (and own-past coefficients) are its
    least-squares solution; the objective is ``sum_j 1/2 log mean_t e_j(t)^2`` as a function of the
    delays alone, which is smooth, low-dimensional and well conditioned."""

    def __init__(self, x: np.ndarray, src: np.ndarray, tgt: np.ndarray, cfg: FitConfig):
        c, t = x.shape
        self.c, self.t, self.cfg = c, t, cfg
        self.tmax = float(cfg.tau_max_samples)
        self.tmin = float(cfg.tau_min_samples)
        self.p = _n_lags(self.tmax) if cfg.self_lags is None else int(cfg.self_lags)
        self.crop = max(math.ceil(self.tmax) + 1, self.p)  # the first samples see zero padding
        self.n = odd_fast_length(t + math.ceil(self.tmax) + 1)
        xt = torch.from_numpy(x)
        self.spec = torch.fft.rfft(xt, n=self.n)  # (C, F)
        self.f = torch.fft.rfftfreq(self.n, dtype=torch.float64)  # (F,)
        self.src = torch.from_numpy(src.astype(np.int64))
        self.e = len(src)
        self.y = xt[:, self.crop :]  # (C, N) targets
        own = [xt[:, self.crop - lag : t - lag] for lag in range(1, self.p + 1)]
        self.own = torch.stack(own, 1) if own else xt.new_zeros(c, 0, t - self.crop)  # (C, P, N)
        self.own_gram = self.own @ self.own.transpose(1, 2)  # (C, P, P)
        self.own_y = (self.own @ self.y[..., None])[..., 0]  # (C, P)
        # slot k of target j holds edge index[j, k] (E: an all-zero padding row)
        k = max([int((tgt == j).sum()) for j in range(c)] + [0])
        index = np.full((c, k), self.e, dtype=np.int64)
        slot = np.zeros(self.e, dtype=np.int64)
        for j in range(c):
            e_j = np.flatnonzero(tgt == j)
            index[j, : len(e_j)] = e_j
            slot[e_j] = np.arange(len(e_j))
        self.index, self.slot, self.tgt = torch.from_numpy(index), slot, tgt
        self.k = k

    def bounds(self) -> list[tuple[float, float]]:
        return [(self.tmin, self.tmax)] * self.e

    def _spectra(self, tau: torch.Tensor) -> torch.Tensor:
        """``(E, F)``: each edge's source spectrum delayed by its ``tau`` (samples)."""
        angle = -2 * math.pi * tau[:, None] * self.f  # (E, F)
        return self.spec[self.src] * torch.polar(torch.ones_like(angle), angle)

    def _crop(self, z: torch.Tensor) -> torch.Tensor:
        return torch.fft.irfft(z, n=self.n)[:, self.crop : self.t]  # (E, N)

    def solve(self, tau: torch.Tensor):
        """Least-squares weights for delays ``tau`` ``(E,)``: returns ``(beta (C, K + P), resid (C, N))``."""
        shifted = self._crop(self._spectra(tau)) if self.e else self.y.new_zeros(0, self.y.shape[1])
        return self._solve_shifted(shifted)

    def _solve_shifted(self, shifted: torch.Tensor):
        shifted = torch.cat([shifted, shifted.new_zeros(1, shifted.shape[1])])  # padding row
        # (C, K, N)
        picked = shifted.index_select(0, self.index.reshape(-1)).view(self.c, self.k, shifted.shape[1])
        # the Gram matrix of each target's regressors [picked; own]; the own-past blocks are constant
        kk = picked @ picked.transpose(1, 2)  # (C, K, K)
        kp = picked @ self.own.transpose(1, 2)  # (C, K, P)
        gram = torch.cat([torch.cat([kk, kp], 2), torch.cat([kp.transpose(1, 2), self.own_gram], 2)], 1)
        rhs = torch.cat([(picked @ self.y[..., None])[..., 0], self.own_y], 1)  # (C, K + P)
        diag = gram.diagonal(dim1=1, dim2=2)
        eye = torch.eye(gram.shape[-1], dtype=gram.dtype)
        # a tiny ridge for near-collinear regressors; padding slots (all zero) get a unit diagonal
        reg = 1e-9 * diag.sum(-1).clamp_min(1e-12)[:, None, None] * eye + (diag == 0)[..., None] * eye
        beta = torch.linalg.solve(gram + reg, rhs[..., None])[..., 0]  # (C, K + P)
        fitted = (beta[:, None, : self.k] @ picked)[:, 0] + (beta[:, None, self.k :] @ self.own)[:, 0]
        resid = self.y - fitted  # (C, N)
        return beta, resid

    def loss(self, tau: torch.Tensor) -> torch.Tensor:
        _, resid = self.solve(tau)
        return 0.5 * torch.log(resid.square().mean(1)).sum()

    def value_and_grad(self, tau_np: np.ndarray) -> tuple[float, np.ndarray]:
        """The objective and its gradient in the delays, by variable projection's envelope rule: at the
        least-squares weights the residual is orthogonal to every regressor, so the derivative through the
        weights vanishes and ``d/d tau_e = -a_e <u_j, d/d tau_e x_i(t - tau_e)> / (N s_j^2)`` (edge ``e``:
        ``i -> j``, innovation ``u_j``, ``s_j^2 = mean u_j^2``). One extra inverse FFT, no backward pass;
        :meth:`value_and_grad_autograd` is the reference (they differ by the 1e-9 ridge's share, ~1e-9)."""
        if not self.e:
            return float(self.loss(torch.from_numpy(tau_np))), np.zeros(0)
        with torch.no_grad():
            z = self._spectra(torch.from_numpy(tau_np))
            beta, resid = self._solve_shifted(self._crop(z))
            # d/dtau of x(t - tau) is minus its time derivative: the spectrum times -2 pi i f
            dshift = self._crop(z * (-2j * math.pi * self.f))  # (E, N)
            ms = resid.square().mean(1)  # (C,)
            tgt = torch.from_numpy(self.tgt)
            a = beta[tgt, torch.from_numpy(self.slot)]  # (E,)
            g = -a * (resid[tgt] * dshift).sum(1) / (resid.shape[1] * ms[tgt])
            return float(0.5 * torch.log(ms).sum()), g.numpy().copy()

    def value_and_grad_autograd(self, tau_np: np.ndarray) -> tuple[float, np.ndarray]:
        """The reference for :meth:`value_and_grad`: the objective's gradient by autograd, through the solve."""
        tau = torch.from_numpy(tau_np).requires_grad_()
        loss = self.loss(tau)
        (g,) = torch.autograd.grad(loss, tau)
        return float(loss.detach()), g.numpy().copy()

    def weights(self, tau_np: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Edge weights ``(E,)``, own-past coefficients ``(C, P)`` and the innovations ``(C, N)``."""
        with torch.no_grad():
            beta, resid = self.solve(torch.from_numpy(tau_np))
        beta = beta.numpy()
        a = beta[self.tgt, self.slot] if self.e else np.zeros(0)
        return a, beta[:, self.k :], resid.numpy()


class _Stop:
    """L-BFGS-B callback: stop once the objective and every delay have settled (3 iterations in a row)."""

    def __init__(self, obj: _Objective, cfg: FitConfig, progress: Progress | None, stage: str):
        self.obj, self.cfg, self.progress, self.stage = obj, cfg, progress, stage
        self.prev_f: float | None = None
        self.prev_tau: np.ndarray | None = None
        self.calm = 0
        self.n_iter = 0
        self.converged = False

    def __call__(self, intermediate_result) -> None:
        self.n_iter += 1
        f = float(intermediate_result.fun)
        tau = np.array(intermediate_result.x, copy=True)  # scipy may reuse the array in place
        if self.prev_f is not None:
            df = abs(self.prev_f - f) / max(abs(f), abs(self.prev_f), 1.0)
            dtau = float(np.abs(tau - self.prev_tau).max()) if len(tau) else 0.0
            self.calm = self.calm + 1 if (df < self.cfg.ftol and dtau < self.cfg.tau_tol_samples) else 0
        self.prev_f, self.prev_tau = f, tau
        if self.progress is not None:
            self.progress(self.stage, self.n_iter, int(self.cfg.steps))
        if self.calm >= 3:
            self.converged = True
            raise StopIteration


def _optimise(obj: _Objective, tau0: np.ndarray, cfg: FitConfig, progress: Progress | None, stage: str):
    if obj.e == 0:
        return tau0, float(obj.loss(torch.from_numpy(tau0))), True, 0
    stop = _Stop(obj, cfg, progress, stage)
    res = optimize.minimize(
        obj.value_and_grad,
        tau0,
        jac=True,
        method="L-BFGS-B",
        bounds=obj.bounds(),
        callback=stop,
        options={"maxiter": int(cfg.steps), "maxcor": 20, "ftol": 1e-15, "gtol": 1e-10, "maxls": 40},
    )
    # L-BFGS-B's own tests also mean convergence: a vanishing projected gradient (status 0), or a line search
    # that can no longer decrease the objective at float64 precision (status 2) before the iteration limit
    converged = stop.converged or (res.status in (0, 2) and stop.n_iter < int(cfg.steps))
    return res.x, float(res.fun), converged, stop.n_iter


@contextmanager
def _torch_threads(n: int):
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _standardise(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    std = data.std(1)
    return (data - data.mean(1, keepdims=True)) / std[:, None], std


def zero_lag_coupling(resid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zero-lag coupling of innovations ``resid`` ``(C, N)``: the node-wise regression coefficients
    ``B[i, j]`` (innovation of ``i`` in the best linear prediction of the innovation of ``j`` from all the
    others, ``-Theta[i, j] / Theta[j, j]`` with ``Theta`` the precision matrix) and the partial
    correlations ``(C, C)`` (symmetric, zero diagonal)."""
    cov = np.cov(resid)
    theta = np.linalg.pinv(cov, hermitian=True)
    d = np.sqrt(np.clip(np.diag(theta), 1e-300, None))
    pcor = -theta / d[:, None] / d[None, :]
    b = -theta / np.diag(theta)[None, :]
    np.fill_diagonal(pcor, 0.0)
    np.fill_diagonal(b, 0.0)
    return b, pcor


def _weak(a: np.ndarray, cfg: FitConfig) -> np.ndarray:
    """Edges that are no edge: ``|a| < min_weight``, or ``a < min_weight`` with ``weight_sign="positive"``."""
    return (a if cfg.weight_sign == "positive" else np.abs(a)) < cfg.min_weight


def fit_lags(
    data: np.ndarray,
    fs: float,
    channels: list[str] | None = None,
    cfg: FitConfig | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    init: LagFit | None = None,
) -> LagFit:
    """Fit lagged edges with continuous delays and the zero-lag coupling to ``data`` ``(C, T)`` at ``fs``.

    Args:
        seed: draws the jitter (up to ``cfg.init_jitter_samples``) of the ``cfg.n_starts - 1`` extra starts
            (the first start is always the screening's delays unmoved: a seed that moved it too ended some
            real-EEG fits in another, shallower optimum and another focal ranking); the lowest optimum is kept, so a converged fit does not depend on the seed (nor on ``cfg.steps`` once
            that is above the iterations needed) unless the objective has several optima of nearly equal depth; the edges those
            disagree on are then flagged not identified (:attr:`LagFit.start_votes`) and leave the focal ranking.
        progress: ``progress(stage, done, total)`` after each iteration (for a progress bar).
        init: a previous fit on the same channels to start from (its edges join the screened support).
    """
    t0 = time.perf_counter()
    cfg = cfg or FitConfig()
    if not fs > 0:
        raise ConfigError(f"invalid fs={fs!r}; allowed: a positive number of Hz")
    x = _check_data(data, cfg)
    c = x.shape[0]
    names = list(channels) if channels is not None else [f"X{i}" for i in range(c)]
    if len(names) != c:
        raise ConfigError(f"{len(names)} channel names for {c} rows")
    x, std = _standardise(x)
    scr = _screen(x, cfg.tau_max_samples, cfg.alpha, cfg.weight_sign)
    if progress is not None:
        progress("screening", 1, 1)
    support = scr.support.copy()
    tau0 = scr.tau0.copy()
    if cfg.init_delays == "xcorr":
        tau0, peak_corr = _xcorr_delays(x, cfg.tau_max_samples, cfg.weight_sign)
        if cfg.weight_sign == "positive":  # no same-polarity lag at all: no edge
            support &= peak_corr > 0
        np.fill_diagonal(tau0, 0.0)
    if init is not None and init.state and init.graph.channels == names:
        for i, j, tau in zip(init.state["src"], init.state["tgt"], init.state["tau"]):
            support[i, j] = True
            tau0[i, j] = tau
    rng = np.random.default_rng(seed)
    n_iter, converged, fun = 0, True, float("nan")
    votes, n_starts = np.zeros((c, c), dtype=np.int64), 1
    with _torch_threads(1):  # many small ops: extra threads only contend (10x slower on a busy machine)
        # fit, drop weak (or, with weight_sign="positive", inverted) edges, fit again on what is left
        for stage in ("refining", "pruned", "pruned", "pruned"):
            src, tgt = np.nonzero(support)
            obj = _Objective(x, src, tgt, cfg)
            starts = [tau0[src, tgt]]
            if stage == "refining":  # the screening's delays, then jittered copies; the best optimum wins
                starts = [
                    s0 + rng.uniform(-1, 1, len(src)) * cfg.init_jitter_samples * (k > 0)
                    for k, s0 in enumerate(starts * max(int(cfg.n_starts), 1))
                ]
            best = None
            for start in starts:
                res = _optimise(
                    obj, np.clip(start, cfg.tau_min_samples, cfg.tau_max_samples), cfg, progress, stage
                )
                n_iter, converged = n_iter + res[3], converged and res[2]
                if stage == "refining":  # which edges this start's optimum holds
                    held = ~_weak(obj.weights(res[0])[0], cfg)
                    np.add.at(votes, (src[held], tgt[held]), 1)
                    n_starts = len(starts)
                if best is None or res[1] < best[1]:
                    best = res
            tau, fun = best[0], best[1]
            a, phi, resid = obj.weights(tau)
            weak = _weak(a, cfg)
            tau0[src, tgt] = tau
            if not weak.any():
                break
            support[src[weak], tgt[weak]] = False  # the refit may leave new weak edges: dropped below
    if not converged:
        warnings.warn(
            f"lag fit did not converge within steps={cfg.steps} iterations (objective {fun:.6g}); "
            "raise the iteration limit (--steps) before reading the graph",
            stacklevel=2,
        )
    keep = ~_weak(a, cfg)
    w_std = np.zeros((c, c))
    tau_s = np.zeros((c, c))
    w_std[src[keep], tgt[keep]] = a[keep]
    tau_s[src[keep], tgt[keep]] = tau[keep]
    ceiling = (w_std != 0) & (tau_s >= cfg.tau_max_samples - cfg.ceiling_margin_samples)
    floor = (
        (w_std != 0) & (tau_s <= cfg.tau_min_samples + cfg.ceiling_margin_samples) & (cfg.tau_min_samples > 0)
    )
    b, pcor = zero_lag_coupling(resid)
    inst = np.where(np.abs(pcor) >= cfg.min_partial_corr, b, 0.0)
    # weights were fitted on standardised data; report them in the data's units
    units = std[None, :] / std[:, None]
    graph = LagGraph(tau_s / fs, w_std * units, names, fs)
    state = {"src": src[keep], "tgt": tgt[keep], "a": a[keep], "tau": tau[keep], "phi": phi}
    return LagFit(
        graph=graph,
        instantaneous=inst * units,
        partial_corr=pcor,
        at_ceiling=ceiling,
        at_floor=floor,
        converged=bool(converged),
        n_iter=int(n_iter),
        objective=fun,
        tau_max_s=cfg.tau_max_samples / fs,
        tau_min_s=cfg.tau_min_samples / fs,
        fit_s=time.perf_counter() - t0,
        state=state,
        start_votes=votes,
        n_starts=n_starts,
    )


def fit_ldsem(
    data: np.ndarray,
    fs: float,
    channels: list[str] | None = None,
    cfg: FitConfig | None = None,
    seed: int = 0,
) -> LagGraph:
    """Fit an LD-SEM to ``data`` ``(C, T)`` sampled at ``fs``; returns the :class:`LagGraph` (tau in seconds).

    The lagged edges of :func:`fit_lags` (which also returns the zero-lag coupling and convergence).
    """
    return fit_lags(data, fs, channels, cfg, seed).graph
