"""BIOT (Yang et al. 2023, "BIOT: Biosignal Transformer for Cross-data Learning in the Wild").

Written from the paper (braindecode's implementation could not be used beside our torch, see
docs/cldtrans_eval.md). Each channel is cut into STFT frames (magnitude spectrum, ``n_fft = n_fft_s * sfreq``
samples, hop ``hop_s * sfreq``); each frame becomes a token through a linear patch embedding, gets a learned
channel embedding and a sinusoidal position (frame index) encoding; the tokens of all channels form one
sequence for a linear-attention Transformer (:mod:`biodyn.nn.linear_attention`); the clip embedding is the
mean over tokens, and the head is ELU + Linear as in the paper. With the paper's sizes (emb 256, 8 heads,
depth 4, 1 s frames at 200 Hz) the encoder has about 3.2M parameters (tests state the exact count).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from biodyn.models._base import BiodynModel
from biodyn.models._registry import register_model
from biodyn.nn.linear_attention import LinearTransformer


@dataclass
class BIOTConfig:
    emb_size: int = 256  # token width
    heads: int = 8
    depth: int = 4
    n_fft_s: float = 1.0  # STFT frame length (seconds): 200 samples at the paper's 200 Hz
    hop_s: float = 0.5  # STFT hop (seconds)
    max_channels: int = 64  # rows of the channel-embedding table (channel k uses row k)
    dropout: float = 0.2


def sinusoidal_positions(n: int, dim: int) -> torch.Tensor:
    """``(n, dim)`` sine/cosine position encodings (Vaswani et al. 2017)."""
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(n, dim)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div[: dim // 2])
    return pe


@register_model("biot", config=BIOTConfig, test_config={"emb_size": 16, "heads": 2, "depth": 1})
class BIOT(BiodynModel):
    """BIOT encoder + ELU/Linear head.

    Shapes: ``x`` ``(B, C, T)`` -> features ``(B, emb_size, C * frames)`` -> logits ``(B, n_outputs)``
    (the head averages over tokens).
    """

    output = "clip"

    def __init__(
        self, n_chans: int, n_outputs: int, n_times: int | None, sfreq: float, cfg: BIOTConfig | None = None
    ):
        c = cfg or BIOTConfig()
        super().__init__(n_chans, n_outputs, n_times, sfreq, c)
        if n_chans > c.max_channels:
            raise ValueError(f"n_chans={n_chans} exceeds BIOTConfig.max_channels={c.max_channels}")
        self.n_fft = max(4, round(c.n_fft_s * sfreq))
        self.hop = max(1, round(c.hop_s * sfreq))
        if n_times is not None and n_times < self.n_fft:
            raise ValueError(f"n_times={n_times} is shorter than one STFT frame ({self.n_fft} samples)")
        n_freq = self.n_fft // 2 + 1
        self.n_frames = 1 + ((n_times or self.n_fft) - self.n_fft) // self.hop
        self.patch = nn.Linear(n_freq, c.emb_size)
        self.channel_emb = nn.Embedding(c.max_channels, c.emb_size)
        self.register_buffer("pos", sinusoidal_positions(self.n_frames, c.emb_size), persistent=False)
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)
        self.drop = nn.Dropout(c.dropout)
        self.transformer = LinearTransformer(c.emb_size, c.depth, c.heads, dropout=c.dropout)
        self.head = nn.Sequential(nn.ELU(), nn.Linear(c.emb_size, n_outputs))

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T)`` -> STFT magnitude tokens ``(B, C, F_frames, n_freq)`` (frames of the first ``n_times``)."""
        x = x if x.dtype in (torch.float32, torch.float64) else x.float()  # rfft wants full precision
        frames = x.unfold(-1, self.n_fft, self.hop)  # (B, C, frames, n_fft)
        return torch.fft.rfft(frames * self.window.to(x.dtype), dim=-1).abs().to(self.patch.weight.dtype)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T)`` -> token features ``(B, emb_size, C * frames)``."""
        b, ch, _ = x.shape
        tok = self.patch(self.tokens(x))  # (B, C, N_f, E)
        n_f = tok.shape[2]
        pos = self.pos[:n_f] if n_f <= self.pos.shape[0] else sinusoidal_positions(n_f, tok.shape[-1]).to(tok)
        tok = tok + self.channel_emb.weight[:ch][None, :, None] + pos[None, None]
        h = self.transformer(self.drop(tok.reshape(b, ch * n_f, -1)))  # (B, C N_f, E)
        return h.transpose(1, 2)
