"""Motif VQ-VAE tokenizer (CLD-Trans): per-channel conv encoder, a shared codebook, a conv decoder.

Every channel is encoded on its own (channels fold into the batch), so one tokenizer serves any number
of channels; a learned modality embedding (EEG at 160 Hz, ECG at 500 Hz, ...) is added after the first
convolution of the encoder and of the decoder, so one set of weights and one codebook serve every
modality. The quantiser is ``vector_quantize_pytorch.VectorQuantize`` (EMA codebook updates, k-means
initialisation on the first batch, replacement of codes unused for a while, a commitment loss).

Shapes:
    x: ``(B, C, T)`` waveform -> latents ``(B, C, T', D)`` with ``T' = ceil(T / downsample)``,
    codes ``(B, C, T')`` int64, reconstruction ``(B, C, T)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from biodyn.errors import ConfigError


@dataclass
class VQStats:
    """Codebook use over one batch: ``usage`` = share of codes used, ``perplexity`` = exp(entropy)."""

    usage: float
    perplexity: float


def codebook_stats(codes: torch.Tensor, codebook_size: int) -> VQStats:
    """Usage and perplexity of the code histogram of ``codes`` (any shape, int64)."""
    counts = torch.bincount(codes.reshape(-1), minlength=codebook_size).double()
    p = counts / counts.sum().clamp_min(1)
    entropy = -(p[p > 0] * p[p > 0].log()).sum()
    return VQStats(usage=float((counts > 0).double().mean()), perplexity=float(entropy.exp()))


class MotifTokenizer(nn.Module):
    """Per-channel motif VQ-VAE.

    Args:
        n_modalities: size of the modality embedding table.
        dim: latent / code dimension ``D``.
        hidden: conv width.
        downsample: time reduction of the encoder (a power of 2).
        codebook_size: number of codes (512 in CLD-Trans).
        use_vq: ``False`` keeps continuous latents (the ``no_vq`` ablation).
        commitment_weight, decay, kmeans_init, threshold_ema_dead_code: passed to ``VectorQuantize``.
    """

    def __init__(
        self,
        n_modalities: int = 2,
        dim: int = 64,
        hidden: int = 64,
        downsample: int = 4,
        codebook_size: int = 512,
        use_vq: bool = True,
        commitment_weight: float = 0.25,
        decay: float = 0.99,
        kmeans_init: bool = True,
        threshold_ema_dead_code: int = 2,
    ):
        super().__init__()
        if downsample < 1 or downsample & (downsample - 1):
            raise ConfigError(f"tokenizer downsample must be a power of 2, got {downsample}")
        self.dim, self.downsample, self.codebook_size, self.use_vq = dim, downsample, codebook_size, use_vq
        n_down = int(math.log2(downsample))
        self.modality = nn.Embedding(n_modalities, hidden)
        self.enc_in = nn.Conv1d(1, hidden, 7, padding=3)
        self.enc = nn.ModuleList(nn.Conv1d(hidden, hidden, 4, stride=2, padding=1) for _ in range(n_down))
        self.enc_out = nn.Conv1d(hidden, dim, 3, padding=1)
        self.dec_in = nn.Conv1d(dim, hidden, 3, padding=1)
        self.dec = nn.ModuleList(
            nn.ConvTranspose1d(hidden, hidden, 4, stride=2, padding=1) for _ in range(n_down)
        )
        self.dec_out = nn.Conv1d(hidden, 1, 7, padding=3)
        self.vq = None
        if use_vq:
            from vector_quantize_pytorch import VectorQuantize

            # the library's own conversion of the deprecated `threshold_ema_dead_code` (a code count, or a
            # ratio below 1), passed under the new name so no deprecation warning is logged on every run
            ratio = (
                threshold_ema_dead_code / codebook_size
                if threshold_ema_dead_code >= 1
                else threshold_ema_dead_code
            )
            self.vq = VectorQuantize(
                dim=dim,
                codebook_size=codebook_size,
                decay=decay,
                commitment_weight=commitment_weight,
                kmeans_init=kmeans_init,
                kmeans_iters=10,
                dead_code_threshold_ratio=float(ratio),
            )

    def encode(self, x: torch.Tensor, modality: torch.Tensor) -> torch.Tensor:
        """``x`` ``(B, C, T)``, ``modality`` ``(B,)`` int64 -> continuous latents ``(B, C, T', D)``."""
        b, c, t = x.shape
        pad = (-t) % self.downsample
        h = F.pad(x, (0, pad)).reshape(b * c, 1, t + pad)
        emb = self.modality(modality).repeat_interleave(c, dim=0)[..., None]  # (B C, H, 1)
        h = F.gelu(self.enc_in(h) + emb)
        for conv in self.enc:
            h = F.gelu(conv(h))
        z = self.enc_out(h)  # (B C, D, T')
        return z.transpose(1, 2).reshape(b, c, -1, self.dim)

    def quantize(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """``z`` ``(B, C, T', D)`` -> quantised latents, codes ``(B, C, T')`` (``None`` without VQ) and
        the commitment loss (a scalar)."""
        if self.vq is None or not (self.training or self.codebook_ready):
            # no VQ, or an untrained codebook outside training: k-means initialisation happens only while
            # training (it draws from the global RNG), so inference stays deterministic
            return z, None, z.new_zeros(())
        b, c, tp, d = z.shape
        dt = torch.float64 if z.dtype == torch.float64 else torch.float32
        with torch.autocast(z.device.type, enabled=False):  # EMA statistics and distances in float32
            q, codes, commit = self.vq(z.to(dt).reshape(b * c, tp, d))
        return q.reshape(b, c, tp, d), codes.reshape(b, c, tp), commit.sum()

    @property
    def codebook_ready(self) -> bool:
        """Whether the codebook has been initialised (k-means on a first training batch)."""
        return self.vq is not None and bool(self.vq._codebook.initted)

    def decode(self, q: torch.Tensor, modality: torch.Tensor, n_times: int) -> torch.Tensor:
        """``q`` ``(B, C, T', D)`` -> reconstruction ``(B, C, n_times)``."""
        b, c, tp, d = q.shape
        emb = self.modality(modality).repeat_interleave(c, dim=0)[..., None]
        h = F.gelu(self.dec_in(q.reshape(b * c, tp, d).transpose(1, 2)) + emb)
        for conv in self.dec:
            h = F.gelu(conv(h))
        return self.dec_out(h)[..., :n_times].reshape(b, c, n_times)

    def forward(
        self, x: torch.Tensor, modality: torch.Tensor, checkpoint: bool = False
    ) -> dict[str, torch.Tensor | None]:
        """Returns ``latents`` (quantised), ``codes``, ``recon`` and ``commit``. ``checkpoint``: recompute the
        encoder's and decoder's full-rate convolutions in backward (activation checkpointing; same values)."""
        if checkpoint and torch.is_grad_enabled():
            from torch.utils.checkpoint import checkpoint as ckpt

            def run(f, *a):
                return ckpt(f, *a, use_reentrant=False)
        else:

            def run(f, *a):
                return f(*a)

        z = run(self.encode, x, modality)
        q, codes, commit = self.quantize(z)
        return {
            "latents": q,
            "codes": codes,
            "recon": run(self.decode, q, modality, x.shape[-1]),
            "commit": commit,
        }
