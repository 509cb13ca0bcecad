"""SwiGLU feed-forward."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SwiGLU(nn.Module):
    """``W_out (silu(W_gate x) * W_up x)`` with hidden size ``expand * dim``. Input ``(..., D)``."""

    def __init__(self, dim: int, expand: float = 2.0, bias: bool = False):
        super().__init__()
        hidden = int(dim * expand)
        self.gate_up = nn.Linear(dim, 2 * hidden, bias=bias)
        self.out = nn.Linear(hidden, dim, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.out(F.silu(gate) * up)
