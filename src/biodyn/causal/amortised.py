"""Amortised lag inference (CLD-Trans): one lag encoder trained on many LD-SEM windows, then applied to a
new recording in one forward pass, against the per-recording fit of :mod:`biodyn.causal.fit`.

The encoder (:class:`~biodyn.nn.lag_encoder.LagEncoder`) is trained only by the LD-SEM objective
(:func:`~biodyn.nn.lag_encoder.ldsem_terms`: the non-Gaussian residual likelihood through the fused
fractional-delay mix, L1 on ``A``, the stability penalty); the true graphs are never seen in training.
Training recordings are simulated with seeds disjoint from the evaluation seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from biodyn.errors import ConfigError
from biodyn.nn.lag_encoder import LagEncoder, ldsem_terms
from biodyn.types import LagGraph


@dataclass
class AmortisedConfig:
    tau_max_samples: float = 8.0
    window: int = 512  # samples per training / inference window
    n_train_graphs: int = 48  # simulated training recordings (each with its own random graph)
    n_times_train: int = 4096
    steps: int = 600
    batch_size: int = 16
    lr: float = 3e-3
    hidden: int = 64
    l1: float = 1e-3
    stability_weight: float = 1.0
    likelihood: str = "laplace"
    edge_threshold: float = 0.1  # |A| (standardised units) below this is no edge
    train_seed_offset: int = 100_000  # training graphs use seeds offset + k (evaluation seeds are small)


def _standardise(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True).clip(1e-12)


def train_amortised(cfg: AmortisedConfig | None = None, seed: int = 0, **sim) -> LagEncoder:
    """Train a lag encoder on ``cfg.n_train_graphs`` LD-SEM recordings drawn with ``simulate(**sim)``
    (``n_channels``, ``noise``, ``cyclic``, ...). Returns the encoder in eval mode."""
    from biodyn.causal.ldsem import simulate

    cfg = cfg or AmortisedConfig()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    recs = [
        _standardise(
            simulate(
                n_times=cfg.n_times_train,
                seed=cfg.train_seed_offset + 1000 * seed + k,
                tau_range_samples=(1.0, cfg.tau_max_samples),
                **sim,
            ).data
        )
        for k in range(cfg.n_train_graphs)
    ]
    data = torch.from_numpy(np.stack(recs)).float()  # (N, C, T)
    n, _, t = data.shape
    if t < cfg.window:
        raise ConfigError(f"n_times_train={t} < window={cfg.window}")
    enc = LagEncoder(cfg.tau_max_samples, embed_dim=0, hidden=cfg.hidden)
    opt = torch.optim.Adam(enc.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps)
    for _ in range(cfg.steps):
        rec = torch.from_numpy(rng.integers(0, n, cfg.batch_size))
        start = torch.from_numpy(rng.integers(0, t - cfg.window + 1, cfg.batch_size))
        idx = start[:, None] + torch.arange(cfg.window)  # (B, W)
        x = data[rec][torch.arange(cfg.batch_size)[:, None], :, idx].transpose(1, 2)  # (B, C, W)
        tau, w = enc(x)
        nll, l1, stab = ldsem_terms(x, tau, w, cfg.tau_max_samples, cfg.likelihood)
        loss = nll + cfg.l1 * l1 + cfg.stability_weight * stab
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return enc.eval()


@torch.no_grad()
def infer_graph(
    enc: LagEncoder,
    data: np.ndarray,
    fs: float,
    channels: list[str] | None = None,
    window: int = 512,
    edge_threshold: float = 0.1,
) -> LagGraph:
    """A recording's lag graph: the encoder's ``tau`` and ``A`` averaged over consecutive windows."""
    x = _standardise(np.asarray(data, dtype=np.float64))
    c, t = x.shape
    n_win = max(1, t // window)
    w_len = min(window, t)
    xw = torch.from_numpy(x[:, : n_win * w_len].reshape(c, n_win, w_len).transpose(1, 0, 2).copy()).float()
    tau, w = enc(xw)
    tau = tau.mean(0).double().numpy()
    w = w.mean(0).double().numpy()
    keep = np.abs(w) >= edge_threshold
    np.fill_diagonal(keep, False)
    names = channels or [f"X{i}" for i in range(c)]
    return LagGraph(np.where(keep, tau, 0.0) / fs, np.where(keep, w, 0.0), names, fs)
