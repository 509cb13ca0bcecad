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
        # two products into contiguous halves: chunks of one (..., 2 * hidden) product are strided views, on
        # which silu and the product run several times slower on CPU than the extra product costs
        w_gate, w_up = self.gate_up.weight.chunk(2)
        b_gate, b_up = (None, None) if self.gate_up.bias is None else self.gate_up.bias.chunk(2)
        return self.out(F.silu(F.linear(x, w_gate, b_gate)) * F.linear(x, w_up, b_up))
