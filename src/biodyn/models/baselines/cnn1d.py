"""A small 1-D CNN classifier (the smoke-test model)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from biodyn.models._base import BiodynModel
from biodyn.models._registry import register_model


@dataclass
class CNN1dConfig:
    width: int = 32
    depth: int = 3
    kernel_size: int = 7
    dropout: float = 0.0


class CNN1d(BiodynModel):
    """Conv1d-BatchNorm-GELU blocks with stride 2, global average pooling, linear head."""

    def __init__(
        self, n_chans: int, n_outputs: int, n_times: int, sfreq: float, cfg: CNN1dConfig | None = None
    ):
        super().__init__(n_chans, n_outputs, n_times, sfreq)
        self.cfg = cfg or CNN1dConfig()
        c = self.cfg
        layers: list[nn.Module] = []
        ch = n_chans
        for _ in range(c.depth):
            layers += [
                nn.Conv1d(ch, c.width, c.kernel_size, stride=2, padding=c.kernel_size // 2),
                nn.BatchNorm1d(c.width),
                nn.GELU(),
            ]
            ch = c.width
        self.body = nn.Sequential(*layers)
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.width, n_outputs)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T)`` -> ``(B, width)``."""
        return self.drop(self.body(x).mean(dim=-1))

    def config_dict(self) -> dict:
        return asdict(self.cfg)


@register_model("cnn1d")
def cnn1d(n_chans: int, n_outputs: int, n_times: int, sfreq: float, **cfg) -> CNN1d:
    return CNN1d(n_chans, n_outputs, n_times, sfreq, CNN1dConfig(**cfg))
