"""Linear (softmax-kernel) attention and a pre-norm Transformer built on it.

The attention is the "efficient attention" factorisation (Shen et al. 2021) that BIOT's encoder uses:
queries are normalised by a softmax over their feature dimension, keys by a softmax over the sequence, and

    out_n = sum_m (q_n . k_m) v_m = q_n (K^T V)

so the ``(N, N)`` attention matrix is never formed: cost ``O(N d^2)`` instead of ``O(N^2 d)``.
:func:`linear_attention_reference` forms it explicitly (for tests).

Letters: ``B`` batch, ``H`` heads, ``N`` tokens, ``D`` head dimension, ``E`` model width.
"""

from __future__ import annotations

import torch
from torch import nn


def _normalise(q: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    scale = q.shape[-1] ** -0.5
    return (q * scale).softmax(dim=-1), k.softmax(dim=-2)


def linear_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``q, k, v`` ``(B, H, N, D)`` -> ``(B, H, N, D)`` in ``O(N D^2)``."""
    q, k = _normalise(q, k)
    context = torch.einsum("bhnd,bhne->bhde", k, v)  # (B, H, D, D)
    return torch.einsum("bhnd,bhde->bhne", q, context)


def linear_attention_reference(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The same through the explicit ``(N, N)`` matrix ``A[n, m] = q_n . k_m`` (each row sums to 1)."""
    q, k = _normalise(q, k)
    a = q @ k.transpose(-1, -2)  # (B, H, N, N)
    return a @ v


class LinearAttention(nn.Module):
    """Multi-head linear attention: ``(B, N, E)`` -> ``(B, N, E)``."""

    def __init__(self, dim: int, heads: int = 8, dropout: float = 0.0):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim={dim} must be divisible by heads={heads}")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.out = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, e = x.shape
        # (B, H, N, D)
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, e // self.heads).permute(2, 0, 3, 1, 4)
        o = linear_attention(q, k, v).transpose(1, 2).reshape(b, n, e)
        return self.drop(self.out(o))


class LinearTransformer(nn.Module):
    """``depth`` pre-norm blocks ``x + attn(LN x)``, ``x + FF(LN x)`` (GELU, width ``ff_mult * dim``)."""

    def __init__(self, dim: int, depth: int, heads: int, ff_mult: int = 4, dropout: float = 0.0):
        super().__init__()
        self.layers = nn.ModuleList()
        for _ in range(depth):
            self.layers.append(
                nn.ModuleList(
                    [
                        nn.LayerNorm(dim),
                        LinearAttention(dim, heads, dropout),
                        nn.LayerNorm(dim),
                        nn.Sequential(
                            nn.Linear(dim, ff_mult * dim),
                            nn.GELU(),
                            nn.Dropout(dropout),
                            nn.Linear(ff_mult * dim, dim),
                        ),
                    ]
                )
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, N, E)`` -> ``(B, N, E)``."""
        for ln1, attn, ln2, ff in self.layers:
            x = x + attn(ln1(x))
            x = x + ff(ln2(x))
        return x
