"""Amortised lag encoder (CLD-Trans): a window -> its own lag graph ``tau_ij``, ``A_ij`` for every pair.

For every ordered pair (source ``i``, target ``j``) the encoder reads the normalised cross-correlation of
the window at integer lags ``-L..L`` (``L = ceil(tau_max) + 1``), ``r_ij(l) = mean_t x_i(t - l) x_j(t)``,
together with per-channel embeddings (e.g. pooled motif latents). A pair MLP, one round of set
interactions (each pair sees the mean over the other sources of its target and the other targets of its
source, which lets it discount indirect paths) and two heads (initialised near zero, so training starts from the
prior: the soft-argmax of ``|r_ij(l)|`` over ``0 <= l <= tau_max``, and from the empty graph) give

    tau_ij = tau_max * sigmoid(logit(prior_ij / tau_max) + .)  in [0, tau_max]   (samples)
    A_ij   = a_max * tanh(.)                          (diagonal fixed at 0; cycles allowed)

Memory is ``O(B C^2 (L + H))``: never a ``(B, C, C, T)`` tensor.

:func:`stability_bound` is the stability penalty's quantity: ``rho(|A|)``, the spectral radius of the
entrywise absolute weights. Since ``|M(f)| <= |A|`` entrywise for the lag polynomial's transfer matrix
``M(f)[j, i] = A[i, j] exp(-2 pi i f tau[i, j])``, ``rho(M(f)) <= rho(|A|)`` at every frequency
(Perron-Frobenius), so ``rho(|A|) < 1`` is a sufficient condition for a stable LD-SEM whatever the delays.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from biodyn.errors import ConfigError


def cross_correlation(x: torch.Tensor, max_lag: int) -> torch.Tensor:
    """``x`` ``(B, C, T)`` -> ``(B, C_src, C_tgt, 2 max_lag + 1)``: ``mean_t x_i(t - l) x_j(t)`` for
    ``l = -max_lag .. max_lag`` (zero outside the window), one batched matrix product."""
    t = x.shape[-1]
    xp = nn.functional.pad(x, (max_lag, max_lag))  # (B, C, T + 2L)
    # shifted[b, i, k, t] = x_i(t - l) with l = k - max_lag
    shifted = torch.stack(
        [xp[..., max_lag - lag : max_lag - lag + t] for lag in range(-max_lag, max_lag + 1)], 2
    )
    r = torch.einsum("bikt,bjt->bijk", shifted, x) / t  # (B, C, C, 2L+1)
    return r


def stability_bound(weight: torch.Tensor, iters: int = 30) -> torch.Tensor:
    """``rho(|A|)`` per batch element by power iteration; ``weight`` ``(B, C, C)`` -> ``(B,)``."""
    a = weight.abs()
    v = torch.ones(a.shape[0], a.shape[1], 1, device=a.device, dtype=a.dtype)
    for _ in range(iters):
        v = a @ v
        v = v / v.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return (a @ v).norm(dim=1).squeeze(-1) / v.norm(dim=1).squeeze(-1).clamp_min(1e-12)


def ldsem_terms(
    x: torch.Tensor,
    tau: torch.Tensor,
    weight: torch.Tensor,
    tau_max_samples: float,
    likelihood: str = "laplace",
    impl: str = "fused",
    band: int = 64,
):
    """The LD-SEM objective's parts for windows ``x`` ``(B, C, T)`` and their graphs ``(B, C, C)``.

    Residual ``r_j = x_j - sum_i A_ij x_i(t - tau_ij)`` (the fused fractional-delay mix, or the dense
    ``(B, C, C, T)`` reference with ``impl="dense"``), cropped by the ``ceil(tau_max) + 1`` samples that see
    zero padding. Returns ``nll`` (the Laplace / Gaussian negative log-likelihood per sample with each
    channel's scale at its maximum-likelihood value, up to a constant: ``log mean|r|`` or ``0.5 log
    mean r^2``, averaged over windows and channels), ``l1`` (``sum_i |A_ij|`` averaged over targets and
    windows) and ``stability`` (``relu(rho(|A|) - 0.95)^2`` averaged over windows; scale it as needed).
    """
    from biodyn.ops.batched_lag import lagged_mix_batched, lagged_mix_batched_dense

    if likelihood not in ("laplace", "gaussian"):
        raise ConfigError(f"likelihood={likelihood!r}; allowed: laplace, gaussian")
    if impl == "dense":
        mix = lagged_mix_batched_dense(x, weight, tau)
    else:
        mix = lagged_mix_batched(x, weight, tau, tau_max_samples, band=band)
    edge = math.ceil(tau_max_samples) + 1
    resid = (x.to(mix.dtype) - mix)[..., edge:]  # (B, C, T')
    if likelihood == "laplace":
        nll = torch.log(resid.abs().mean(-1) + 1e-6).mean()
    else:
        nll = 0.5 * torch.log(resid.square().mean(-1) + 1e-12).mean()
    l1 = weight.abs().sum(1).mean()
    stab = nn.functional.relu(stability_bound(weight.float()) - 0.95).square().mean()
    return nll, l1, stab


class LagEncoder(nn.Module):
    """Window -> ``(tau, weight)`` ``(B, C, C)`` each (``[b, source, target]``, ``tau`` in samples).

    Args:
        tau_max_samples: upper end of the delay range.
        embed_dim: size of the per-channel embeddings given to :meth:`forward` (0: none).
        hidden: pair feature width.
        a_max: bound on ``|A_ij|``.
        lag_mode: ``"continuous"``; ``"integer"`` rounds tau with a straight-through gradient; ``"zero"``
            fixes tau = 0 (ablations).
    """

    def __init__(
        self,
        tau_max_samples: float,
        embed_dim: int = 0,
        hidden: int = 64,
        a_max: float = 1.5,
        lag_mode: str = "continuous",
    ):
        super().__init__()
        if not tau_max_samples > 0:
            raise ConfigError(f"tau_max_samples must be > 0, got {tau_max_samples}")
        if lag_mode not in ("continuous", "integer", "zero"):
            raise ConfigError(f"lag_mode={lag_mode!r}; allowed: continuous, integer, zero")
        self.tau_max = float(tau_max_samples)
        self.max_lag = math.ceil(tau_max_samples) + 1
        self.a_max, self.lag_mode, self.embed_dim = a_max, lag_mode, embed_dim
        n_corr = 2 * self.max_lag + 1
        self.pair = nn.Sequential(
            nn.Linear(n_corr + 2 * embed_dim, hidden), nn.GELU(), nn.Linear(hidden, hidden)
        )
        self.mix = nn.Sequential(nn.Linear(3 * hidden, hidden), nn.GELU(), nn.Linear(hidden, hidden))
        self.tau_head = nn.Linear(hidden, 1)
        nn.init.normal_(self.tau_head.weight, std=1e-3)  # start at the cross-correlation prior
        nn.init.zeros_(self.tau_head.bias)
        self.sharpness = nn.Parameter(torch.tensor(20.0))  # of the soft-argmax prior
        self.sharpness._no_weight_decay = True
        self.weight_head = nn.Linear(hidden, 1)
        nn.init.normal_(self.weight_head.weight, std=1e-3)  # start near the empty graph (stable, no L1 cost)
        nn.init.zeros_(self.weight_head.bias)

    def forward(
        self, x: torch.Tensor, embed: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` ``(B, C, T)`` (z-scored per channel), ``embed`` ``(B, C, E)`` -> ``tau``, ``weight``."""
        b, c, t = x.shape
        if c < 2:
            raise ConfigError(f"a lag graph needs at least 2 channels, got {c}")
        if t <= 2 * self.max_lag:
            raise ConfigError(f"window of {t} samples is too short for tau_max={self.tau_max} samples")
        with torch.autocast(x.device.type, enabled=False):
            xf = x.float()
            xf = (xf - xf.mean(-1, keepdim=True)) / xf.std(-1, keepdim=True).clamp_min(1e-6)
            feats = cross_correlation(xf, self.max_lag)  # (B, C, C, K)
        feats = feats.to(self.pair[0].weight.dtype)
        if self.embed_dim:
            if embed is None or embed.shape != (b, c, self.embed_dim):
                raise ConfigError(
                    f"LagEncoder expects embed (B, C, {self.embed_dim}), got "
                    f"{None if embed is None else tuple(embed.shape)}"
                )
            e = embed.to(feats.dtype)
            feats = torch.cat(
                [feats, e[:, :, None].expand(-1, -1, c, -1), e[:, None].expand(-1, c, -1, -1)], -1
            )
        h = self.pair(feats)  # (B, C_src, C_tgt, H)
        off = 1.0 - torch.eye(c, device=x.device, dtype=h.dtype)  # (C, C)
        denom = max(c - 1, 1)
        to_target = (h * off[..., None]).sum(1, keepdim=True) / denom  # mean over sources of target j
        from_source = (h * off[..., None]).sum(2, keepdim=True) / denom  # mean over targets of source i
        h = h + self.mix(torch.cat([h, to_target.expand_as(h), from_source.expand_as(h)], -1))
        # prior: the soft-argmax of |r_ij(l)| over l in [0, tau_max]; the heads learn a correction to it
        lags = torch.arange(-self.max_lag, self.max_lag + 1, device=x.device, dtype=h.dtype)
        pos = (lags >= 0) & (lags <= self.tau_max)
        r = feats[..., : 2 * self.max_lag + 1][..., pos].abs()
        prior = (
            (torch.softmax(self.sharpness * r, -1) * lags[pos])
            .sum(-1)
            .clamp(0.02 * self.tau_max, 0.98 * self.tau_max)
        )
        prior_logit = torch.logit(prior / self.tau_max)
        tau = self.tau_max * torch.sigmoid(prior_logit + self.tau_head(h).squeeze(-1))
        if self.lag_mode == "integer":
            tau = tau + (tau.round() - tau).detach()  # straight-through rounding
        elif self.lag_mode == "zero":
            tau = torch.zeros_like(tau)
        weight = self.a_max * torch.tanh(self.weight_head(h).squeeze(-1)) * off
        return tau * off, weight
