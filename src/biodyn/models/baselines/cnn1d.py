"""Small 1-D CNNs: ``cnn1d`` (clip classifier, the smoke-test model) and ``cnn1d_causal`` (a causal,
dilated per-sample detector that also streams sample by sample)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from biodyn.models._base import BiodynModel
from biodyn.models._registry import register_model


@dataclass
class CNN1dConfig:
    width: int = 32  # channels of every conv block
    depth: int = 3  # conv blocks, each halving the time axis
    kernel_size: int = 7
    dropout: float = 0.0  # before the head


@register_model("cnn1d", config=CNN1dConfig, test_config={"width": 8, "depth": 2})
class CNN1d(BiodynModel):
    """Conv1d-BatchNorm-GELU blocks with stride 2; the head averages over time, then a linear layer.

    Shapes: ``x`` ``(B, C, T)`` -> features ``(B, width, T / 2**depth)`` -> logits ``(B, n_outputs)``.
    """

    output = "clip"

    def __init__(
        self, n_chans: int, n_outputs: int, n_times: int | None, sfreq: float, cfg: CNN1dConfig | None = None
    ):
        cfg = cfg or CNN1dConfig()
        super().__init__(n_chans, n_outputs, n_times, sfreq, cfg)
        layers: list[nn.Module] = []
        ch = n_chans
        for _ in range(cfg.depth):
            layers += [
                nn.Conv1d(ch, cfg.width, cfg.kernel_size, stride=2, padding=cfg.kernel_size // 2),
                nn.BatchNorm1d(cfg.width),
                nn.GELU(),
            ]
            ch = cfg.width
        self.body = nn.Sequential(*layers)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(ch, n_outputs)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T)`` -> ``(B, width, T')``."""
        return self.body(x)

    def forward_head(self, features: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """``(B, width, T')`` -> mean over time, dropout -> ``(B, width)`` (``pre_logits``) or ``(B, n_outputs)``."""
        z = self.drop(features.mean(dim=-1))
        return z if pre_logits else self.head(z)


@dataclass
class CNN1dCausalConfig:
    width: int = 32  # channels of every block
    depth: int = 4  # residual blocks; block i dilates by dilation_base**i
    kernel_size: int = 3
    dilation_base: int = 2

    def __post_init__(self):
        for name in ("width", "depth", "kernel_size", "dilation_base"):
            if getattr(self, name) < 1:
                raise ValueError(f"cnn1d_causal: {name}={getattr(self, name)} must be >= 1")


@register_model("cnn1d_causal", config=CNN1dCausalConfig, test_config={"width": 8, "depth": 3})
class CNN1dCausal(BiodynModel):
    """Per-sample detector: a 1x1 input projection, residual blocks ``h + GELU(causal dilated conv(h))``
    and a 1x1 head. Output ``y[..., t]`` depends on ``x[..., :t + 1]`` only, so :meth:`step` streams it.

    Shapes: ``x`` ``(B, C, T)`` -> features ``(B, width, T)`` -> logits ``(B, n_outputs, T)``.
    The receptive field is ``1 + (kernel_size - 1) * sum(dilation_base**i)`` samples.
    """

    output = "per_sample"

    def __init__(
        self,
        n_chans: int,
        n_outputs: int,
        n_times: int | None,
        sfreq: float,
        cfg: CNN1dCausalConfig | None = None,
    ):
        cfg = cfg or CNN1dCausalConfig()
        super().__init__(n_chans, n_outputs, n_times, sfreq, cfg)
        self.proj = nn.Conv1d(n_chans, cfg.width, 1)
        self.dilations = [cfg.dilation_base**i for i in range(cfg.depth)]
        self.blocks = nn.ModuleList(
            nn.Conv1d(cfg.width, cfg.width, cfg.kernel_size, dilation=d) for d in self.dilations
        )
        self.head = nn.Conv1d(cfg.width, n_outputs, 1)

    def _context(self, i: int) -> int:
        return (self.cfg.kernel_size - 1) * self.dilations[i]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T)`` -> ``(B, width, T)``."""
        h = self.proj(x)
        for i, conv in enumerate(self.blocks):
            h = h + F.gelu(conv(F.pad(h, (self._context(i), 0))))
        return h

    def allocate_state(self, batch_size: int, *, device=None, dtype=None) -> list[torch.Tensor]:
        """Zeros standing for the samples before the first: per block ``(B, width, (kernel_size - 1) * dilation)``."""
        w = self.proj.weight
        return [
            torch.zeros(
                batch_size,
                self.cfg.width,
                self._context(i),
                device=device or w.device,
                dtype=dtype or w.dtype,
            )
            for i in range(len(self.blocks))
        ]

    def step(self, x_t: torch.Tensor, state: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """One sample ``x_t`` ``(B, C)`` -> ``(y_t (B, n_outputs), new state)``; equals ``forward`` column ``t``."""
        if x_t.ndim != 2 or x_t.shape[1] != self.n_chans:
            raise ValueError(f"step: x_t must be (B, {self.n_chans}), got {tuple(x_t.shape)}")
        if len(state) != len(self.blocks) or state[0].shape[0] != x_t.shape[0]:
            raise ValueError("step: state does not fit (use allocate_state(batch_size))")
        h = self.proj(x_t[..., None])  # (B, width, 1)
        new = []
        for conv, buf in zip(self.blocks, state, strict=True):
            window = torch.cat([buf, h], dim=-1)  # (B, width, context + 1)
            h = h + F.gelu(conv(window))
            new.append(window[..., 1:])
        return self.head(h)[..., 0], new
