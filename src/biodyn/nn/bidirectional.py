"""Run a causal sequence block forward and on the time-reversed sequence, and merge."""

from __future__ import annotations

import copy

import torch
from torch import nn


class Bidirectional(nn.Module):
    """``merge(f(x), flip(f_b(flip(x))))`` for a block ``f`` mapping ``(B, T, D) -> (B, T, D)``.

    ``f_b`` is an independent copy of ``f`` (its own weights). ``merge="concat"`` projects the concatenation
    back to D with a linear layer; ``merge="add"`` averages the two.
    """

    def __init__(self, block: nn.Module, dim: int, merge: str = "concat"):
        super().__init__()
        if merge not in ("concat", "add"):
            raise ValueError(f"invalid merge={merge!r}; allowed: 'concat', 'add'")
        self.fwd = block
        self.bwd = copy.deepcopy(block)
        self.merge = merge
        self.proj = nn.Linear(2 * dim, dim) if merge == "concat" else None
        if self.proj is not None:
            self.proj.bias._no_weight_decay = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y_f = self.fwd(x)
        y_b = self.bwd(x.flip(1)).flip(1)
        if self.proj is None:
            return 0.5 * (y_f + y_b)
        return self.proj(torch.cat([y_f, y_b], dim=-1))
