"""ResNet-1D of Wang, Yan & Oates (2017), "Time series classification from scratch with deep neural
networks: a strong baseline" -- the residual 1-D CNN of the PTB-XL benchmark (Strodthoff et al. 2021).

Three residual blocks of three Conv1d-BatchNorm-ReLU layers (kernels 8, 5, 3; "same" padding), 64, 128, 128
filters, a shortcut added before the last ReLU (1x1 conv + BatchNorm where the width changes, BatchNorm alone
where it does not, as in the authors' published Keras model and in Fawaz et al.'s 2019 re-implementation),
global average pooling over time and a linear head. ``(B, C, T) -> (B, n_outputs)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from biodyn.models._base import BiodynModel
from biodyn.models._registry import register_model


@dataclass
class ResNet1dConfig:
    widths: list[int] = field(default_factory=lambda: [64, 128, 128])  # filters of the three blocks
    kernel_sizes: list[int] = field(default_factory=lambda: [8, 5, 3])  # the three convs of each block
    dropout: float = 0.0  # before the head


class _SamePad(nn.Module):
    """Pad ``(k - 1)`` samples split left/right (PyTorch's ``padding="same"`` for even kernels too)."""

    def __init__(self, k: int):
        super().__init__()
        self.pad = ((k - 1) // 2, k // 2)

    def forward(self, x):
        return F.pad(x, self.pad)


class _Block(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernels: list[int]):
        super().__init__()
        layers: list[nn.Module] = []
        ch = c_in
        for i, k in enumerate(kernels):
            layers += [_SamePad(k), nn.Conv1d(ch, c_out, k, bias=False), nn.BatchNorm1d(c_out)]
            if i < len(kernels) - 1:
                layers.append(nn.ReLU())
            ch = c_out
        self.body = nn.Sequential(*layers)
        self.short = (
            nn.BatchNorm1d(c_out)  # the shortcut is normalised even where no projection is needed
            if c_in == c_out
            else nn.Sequential(nn.Conv1d(c_in, c_out, 1, bias=False), nn.BatchNorm1d(c_out))
        )

    def forward(self, x):
        return F.relu(self.body(x) + self.short(x))


class ResNet1d(BiodynModel):
    """Wang et al. (2017) ResNet for time series; ``forward(x)``: ``(B, C, T) -> (B, n_outputs)``."""

    output = "clip"

    def __init__(
        self,
        n_chans: int,
        n_outputs: int,
        n_times: int | None,
        sfreq: float,
        cfg: ResNet1dConfig | None = None,
    ):
        super().__init__(n_chans, n_outputs, n_times, sfreq, cfg if cfg is not None else ResNet1dConfig())
        cfg = self.cfg
        blocks, ch = [], self.n_chans
        for w in cfg.widths:
            blocks.append(_Block(ch, w, list(cfg.kernel_sizes)))
            ch = w
        self.blocks = nn.Sequential(*blocks)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(ch, self.n_outputs)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T) -> (B, widths[-1], T)``; the head pools over T (global average pooling)."""
        return self.drop(self.blocks(x))


register_model("resnet1d", config=ResNet1dConfig, test_config={"widths": [8, 16, 16]})(ResNet1d)
