"""SwiGLU feed-forward."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def split_linear(x: torch.Tensor, layer: nn.Linear, sections: tuple[int, ...]) -> tuple[torch.Tensor, ...]:
    """``layer(x).split(sections, -1)``. Under inference each section is its own product into a contiguous
    tensor: elementwise work on the strided sections of one product runs several times slower on CPU. In
    training the one fused product is kept (its backward is cheaper)."""
    if torch.is_grad_enabled():
        return layer(x).split(sections, dim=-1)
    biases = (None,) * len(sections) if layer.bias is None else layer.bias.split(sections)
    return tuple(F.linear(x, w, b) for w, b in zip(layer.weight.split(sections), biases))


class SwiGLU(nn.Module):
    """``W_out (silu(W_gate x) * W_up x)`` with hidden size ``int(expand * dim)`` (or ``hidden`` when given).
    Input ``(..., D)``."""

    def __init__(self, dim: int, expand: float = 2.0, bias: bool = False, hidden: int | None = None):
        super().__init__()
        hidden = int(dim * expand) if hidden is None else int(hidden)
        self.gate_up = nn.Linear(dim, 2 * hidden, bias=bias)
        self.out = nn.Linear(hidden, dim, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.out.in_features
        gate, up = split_linear(x, self.gate_up, (h, h))
        return self.out(F.silu(gate) * up)
