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
        if torch.is_grad_enabled():
            gate, up = self.gate_up(x).chunk(2, dim=-1)
        else:  # inference: two products into contiguous halves, on which silu and the product run several
            # times faster on CPU than on strided chunks (in training the one product's backward is cheaper)
            w_gate, w_up = self.gate_up.weight.chunk(2)
            b_gate, b_up = (None, None) if self.gate_up.bias is None else self.gate_up.bias.chunk(2)
            gate, up = F.linear(x, w_gate, b_gate), F.linear(x, w_up, b_up)
        return self.out(F.silu(gate) * up)
