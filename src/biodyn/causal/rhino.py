"""Rhino (Gong et al. 2023, "Rhino: Deep Causal Temporal Relationship Learning with History-dependent
Noise"), a CPU-sized implementation written from the paper (no installable implementation exists for our
Python).

Model (structural equations over a lagged graph ``G^l``, ``l = 1..L``, and an instantaneous DAG ``G^0``)::

    x_j(t) = f_j(Pa_j(<t), Pa_j(t)) + g_j(Pa_j(<t), eps_j(t))

- ``f_j`` is Rhino's embedding form: each parent value ``x_i(t - l)`` passes through a shared MLP ``ell``
  together with a learned embedding of ``(l, i)``; the outputs are summed with the graph as weights
  (``sum_{l, i} G^l[i, j] ell(x_i(t - l), e_{l,i})``) and a second shared MLP ``zeta`` with the target's
  embedding gives the mean.
- ``g_j`` is a conditional flow of the noise whose parameters depend on the *lagged* parents only
  (history-dependent noise). The paper uses a conditional rational-quadratic spline flow; ours is a
  conditional affine flow (a history-dependent location and log-scale on a Gaussian base), a deliberate
  simplification that keeps the history dependence and fits on a CPU.
- The graph is learned variationally: independent Bernoulli edges ``q(G) = sigma(Theta)``, sampled with a
  straight-through Gumbel-sigmoid; the ELBO is ``E_q[log p(X | G)] - lambda E_q|G| + H(q)``; ``G^0`` is
  kept acyclic by the NOTEARS penalty ``h(P) = tr(exp(P * P)) - C`` on its edge probabilities through an
  augmented Lagrangian (as in the paper). Self-lags ``G^l[j, j]`` are in the model (autoregression) but not
  in the returned :class:`~biodyn.types.LagGraph` (which has no self-loops).

The returned graph asserts ``i -> j`` where some lag has edge probability above ``threshold``; its delay
is :func:`~biodyn.causal._design.graph_from_lag_coefs`'s centroid of those probabilities (integer lags:
Rhino cannot express sub-sample delays) and its weight the summed probability (Rhino has no signed linear
coefficient).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from biodyn.errors import ConfigError
from biodyn.types import LagGraph


@dataclass
class RhinoConfig:
    embed_dim: int = 8  # node/lag embedding width
    hidden: int = 16  # width of the ell / zeta / noise MLPs
    instantaneous: bool = True  # learn G^0 (a DAG) beside the lagged graph
    sparsity: float = 10.0  # lambda: nats of likelihood (over the whole series) an edge must buy
    steps: int = 1000
    batch_size: int = 128
    lr: float = 0.01
    gumbel_temperature: float = 0.5
    dag_every: int = 250  # augmented-Lagrangian update interval (steps)
    rho_max: float = 1e6
    threshold: float = 0.5  # edge kept when its probability exceeds this


def _mlp(d_in: int, hidden: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(d_in, hidden),
        nn.LeakyReLU(),
        nn.Linear(hidden, hidden),
        nn.LeakyReLU(),
        nn.Linear(hidden, d_out),
    )


class RhinoModule(nn.Module):
    """Edge logits, embeddings and the shared MLPs for ``C`` channels and lags ``0..L``.

    Shapes: ``window`` ``(B, C, L + 1)`` with ``window[..., l] = x(t - l)`` (``l = 0`` the present).
    """

    def __init__(self, c: int, lags: int, cfg: RhinoConfig):
        super().__init__()
        self.c, self.lags, self.cfg = c, lags, cfg
        self.logits = nn.Parameter(torch.zeros(lags + 1, c, c))  # [lag, source, target]
        mask = torch.ones(lags + 1, c, c)
        mask[0].fill_diagonal_(0.0)  # no instantaneous self-loop
        if not cfg.instantaneous:
            mask[0] = 0.0
        self.register_buffer("mask", mask)
        self.lag_emb = nn.Parameter(torch.randn(lags + 1, c, cfg.embed_dim) * 0.1)
        self.node_emb = nn.Parameter(torch.randn(c, cfg.embed_dim) * 0.1)
        self.ell = _mlp(1 + cfg.embed_dim, cfg.hidden, cfg.hidden)
        self.zeta = _mlp(cfg.hidden + cfg.embed_dim, cfg.hidden, 1)
        self.noise = _mlp(cfg.hidden + cfg.embed_dim, cfg.hidden, 2)  # history -> (location, log-scale)

    def probs(self) -> torch.Tensor:
        """Edge probabilities ``(L + 1, C, C)`` ``[lag, source, target]`` (masked entries 0)."""
        return torch.sigmoid(self.logits) * self.mask

    def sample_graph(self) -> torch.Tensor:
        """A straight-through Gumbel-sigmoid sample of ``G`` ``(L + 1, C, C)``: hard 0/1 forward, relaxed grads."""
        u = torch.rand_like(self.logits).clamp(1e-6, 1 - 1e-6)
        soft = torch.sigmoid((self.logits + torch.log(u) - torch.log1p(-u)) / self.cfg.gumbel_temperature)
        hard = (soft > 0.5).to(soft)
        return (hard + soft - soft.detach()) * self.mask

    def log_likelihood(self, window: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """``log p(x(t) | history, present parents)`` summed over channels: ``(B,)``."""
        b = window.shape[0]
        e = self.lag_emb.transpose(0, 1)[None].expand(b, -1, -1, -1)  # (B, C, L+1, E)
        h = self.ell(torch.cat([window[..., None], e], dim=-1))  # (B, C, L+1, H) = ell(x_i(t-l), e_{l,i})
        agg_all = torch.einsum("bilh,lij->bjh", h, g)  # (B, C_target, H)
        agg_hist = torch.einsum("bilh,lij->bjh", h[:, :, 1:], g[1:])  # lagged parents only
        node = self.node_emb[None].expand(b, -1, -1)
        mean = self.zeta(torch.cat([agg_all, node], -1))[..., 0]  # (B, C)
        loc, log_scale = self.noise(torch.cat([agg_hist, node], -1)).unbind(-1)
        log_scale = log_scale.clamp(-6, 6)
        z = (window[..., 0] - mean - loc) * torch.exp(-log_scale)
        return (-0.5 * z.square() - log_scale - 0.5 * np.log(2 * np.pi)).sum(-1)


def _dag_penalty(p0: torch.Tensor) -> torch.Tensor:
    return torch.trace(torch.matrix_exp(p0 * p0)) - p0.shape[0]


def fit_rhino(
    data: np.ndarray,
    fs: float,
    tau_max: float,
    channels: list[str] | None = None,
    cfg: RhinoConfig | None = None,
    seed: int = 0,
    **overrides,
) -> LagGraph:
    """Fit Rhino to ``data`` ``(C, T)`` on lags ``0..ceil(tau_max fs)``; returns the :class:`LagGraph`."""
    from biodyn.causal._design import _prepare, graph_from_lag_coefs

    cfg = cfg or RhinoConfig()
    if overrides:
        bad = set(overrides) - set(RhinoConfig.__dataclass_fields__)
        if bad:
            raise ConfigError(
                f"rhino: unknown option(s) {sorted(bad)}; allowed: {sorted(RhinoConfig.__dataclass_fields__)}"
            )
        cfg = RhinoConfig(**{**cfg.__dict__, **overrides})
    x, lags = _prepare(data, fs, tau_max)
    c, t = x.shape
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    xt = torch.from_numpy(x).float()
    windows = torch.stack([xt[:, lags - lag : t - lag] for lag in range(lags + 1)], dim=-1)  # (C, N, L+1)
    windows = windows.permute(1, 0, 2).contiguous()  # (N, C, L+1)
    n = windows.shape[0]
    model = RhinoModule(c, lags, cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    alpha, rho, h_prev = 0.0, 1.0, float("inf")
    bs = min(cfg.batch_size, n)
    for step in range(cfg.steps):
        idx = torch.randint(0, n, (bs,), generator=gen)
        g = model.sample_graph()
        nll = -model.log_likelihood(windows[idx], g).mean()
        p = model.probs()
        logit = model.logits
        entropy = (
            nn.functional.binary_cross_entropy_with_logits(logit, torch.sigmoid(logit), reduction="none")
            * model.mask
        ).sum()
        prior = cfg.sparsity * p.sum()
        h = _dag_penalty(p[0]) if cfg.instantaneous else torch.zeros(())
        # ELBO per time point: the graph terms are spread over the n points of the series
        loss = nll + (prior - entropy) / n + alpha * h + 0.5 * rho * h * h
        opt.zero_grad()
        loss.backward()
        opt.step()
        if cfg.instantaneous and (step + 1) % cfg.dag_every == 0:
            hv = float(h.detach())
            alpha += rho * hv
            if hv > 0.25 * h_prev and rho < cfg.rho_max:
                rho *= 10.0
            h_prev = hv
    with torch.no_grad():
        prob = model.probs().double().numpy()
    coef = np.where(prob > cfg.threshold, prob, 0.0)
    if cfg.instantaneous:  # the kept instantaneous edges must form a DAG: drop the weakest edge of each cycle
        coef[0] = _break_cycles(coef[0])
    return graph_from_lag_coefs(coef, fs, channels)


def _break_cycles(w: np.ndarray) -> np.ndarray:
    """Remove the weakest edge while the directed graph ``w != 0`` has a cycle."""
    w = w.copy()
    while True:
        a = (w != 0).astype(float)
        if np.trace(scipy_expm(a)) - len(a) < 1e-9:
            return w
        nz = np.argwhere(w != 0)
        i, j = nz[np.argmin(w[w != 0])]
        w[i, j] = 0.0


def scipy_expm(a: np.ndarray) -> np.ndarray:
    import scipy.linalg

    return scipy.linalg.expm(a)
