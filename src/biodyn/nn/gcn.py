"""Dense graph convolution (Kipf & Welling 2017) on per-sample weighted adjacency matrices.

Shapes:
    x: ``(B, N, F_in)`` node features; adj: ``(B, N, N)`` non-negative symmetric edge weights (no self-loops
    needed); output ``(B, N, F_out)``.

``H' = D^-1/2 (A + I) D^-1/2 H W + b`` with ``D`` the degrees of ``A + I``.
"""

from __future__ import annotations

import torch
from torch import nn


def normalized_adjacency(adj: torch.Tensor) -> torch.Tensor:
    """``D^-1/2 (A + I) D^-1/2`` of ``adj`` ``(B, N, N)``."""
    a = adj + torch.eye(adj.shape[-1], dtype=adj.dtype, device=adj.device)
    d = a.sum(-1).clamp_min(1e-12).rsqrt()  # (B, N)
    return d[..., :, None] * a * d[..., None, :]


class DenseGCNConv(nn.Module):
    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.lin = nn.Linear(in_features, out_features, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.bias._no_weight_decay = True

    def forward(self, x: torch.Tensor, adj_norm: torch.Tensor) -> torch.Tensor:
        """``x`` ``(B, N, F_in)``, ``adj_norm`` ``(B, N, N)`` (from :func:`normalized_adjacency`)."""
        return adj_norm @ self.lin(x) + self.bias
