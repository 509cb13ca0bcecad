"""Short causal depthwise convolution with a streaming ``step``."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ShortCausalConv1d(nn.Module):
    """Depthwise causal conv over time, then SiLU. ``forward``: ``(B, T, D) -> (B, T, D)``.

    ``step(x_t (B, D), buf (B, D, kernel - 1)) -> (y_t, buf)`` gives the same outputs one token at a time.
    """

    def __init__(self, dim: int, kernel_size: int = 4, activation: bool = True):
        super().__init__()
        self.kernel_size = kernel_size
        self.conv = nn.Conv1d(dim, dim, kernel_size, groups=dim, bias=True)
        self.conv.bias._no_weight_decay = True
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(F.pad(x.transpose(1, 2), (self.kernel_size - 1, 0))).transpose(1, 2)
        return F.silu(y) if self.activation else y

    def allocate_state(self, batch: int, device=None, dtype=None) -> torch.Tensor:
        return torch.zeros(batch, self.conv.in_channels, self.kernel_size - 1, device=device, dtype=dtype)

    def step(self, x_t: torch.Tensor, buf: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        window = torch.cat([buf, x_t[..., None]], dim=-1)  # (B, D, kernel)
        y = (window * self.conv.weight[:, 0]).sum(-1) + self.conv.bias
        return (F.silu(y) if self.activation else y), window[..., 1:]
