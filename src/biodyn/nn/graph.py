"""Dense, batched graph layers of the seizure detector: edge weights -> top-k adjacency, SSGConv, gated
fusion. Every graph of a batch (``G = B * T'`` of them) is processed at once; there is no loop over graphs.

Shapes: ``G`` graphs, ``N`` nodes, ``F`` features, ``P = N (N - 1) / 2`` node pairs (upper triangle,
row-major: ``(0, 1), (0, 2), ..., (N - 2, N - 1)``, as ``torch.triu_indices(N, N, 1)``).
"""

from __future__ import annotations

import torch
from torch import nn


def pairs_to_dense(weights: torch.Tensor, n_nodes: int) -> torch.Tensor:
    """``weights`` ``(..., P)`` on the upper-triangle pairs -> symmetric ``(..., N, N)`` with a zero diagonal."""
    iu = torch.triu_indices(n_nodes, n_nodes, 1, device=weights.device)
    if weights.shape[-1] != iu.shape[1]:
        raise ValueError(f"{weights.shape[-1]} pair weights for {n_nodes} nodes (expected {iu.shape[1]})")
    a = weights.new_zeros(*weights.shape[:-1], n_nodes, n_nodes)
    a[..., iu[0], iu[1]] = weights
    return a + a.transpose(-1, -2)


def topk_adjacency(adj: torch.Tensor, k: int = 3, threshold: float = 1e-4) -> torch.Tensor:
    """Sparsify a symmetric weighted adjacency ``(..., N, N)``.

    Each node keeps its ``k`` strongest neighbours (diagonal excluded); an edge survives if either end keeps
    it (symmetrised by the maximum); weights ``<= threshold`` are dropped; a node left without neighbours gets
    a self-loop of weight 1. Returns ``(..., N, N)``, symmetric.
    """
    n = adj.shape[-1]
    eye = torch.eye(n, dtype=torch.bool, device=adj.device)
    off = adj.masked_fill(eye, float("-inf"))
    k = min(k, n - 1)
    keep = torch.zeros_like(adj, dtype=torch.bool)
    if k > 0:
        idx = off.topk(k, dim=-1).indices
        keep.scatter_(-1, idx, True)
    keep = (keep | keep.transpose(-1, -2)) & ~eye & (adj > threshold)
    a = torch.where(keep, adj, torch.zeros_like(adj))
    isolated = ~keep.any(dim=-1)  # (..., N)
    return a + torch.diag_embed(isolated.to(adj.dtype))


def gcn_normalize(adj: torch.Tensor) -> torch.Tensor:
    """``D^{-1/2} (A + I') D^{-1/2}`` where ``I'`` adds a unit self-loop to nodes that have none (PyG's
    ``gcn_norm`` with ``add_remaining_self_loops``). ``adj`` ``(..., N, N)``."""
    diag = torch.diagonal(adj, dim1=-2, dim2=-1)
    a = adj + torch.diag_embed(torch.where(diag == 0, torch.ones_like(diag), torch.zeros_like(diag)))
    deg = a.sum(-1)
    dinv = torch.where(deg > 0, deg.clamp_min(1e-12).rsqrt(), torch.zeros_like(deg))
    return dinv[..., :, None] * a * dinv[..., None, :]


class DenseSSGConv(nn.Module):
    """Simple Spectral Graph Convolution (Zhu & Koniusz 2021) on dense batched graphs:
    ``lin(alpha X + (1 - alpha) / K * sum_{k=1..K} A_hat^k X)`` with ``A_hat`` from :func:`gcn_normalize`,
    the same computation as ``torch_geometric.nn.SSGConv``.

    Shapes: ``x`` ``(G, N, F_in)``, ``adj`` ``(G, N, N)`` -> ``(G, N, F_out)``.
    """

    def __init__(
        self, in_channels: int, out_channels: int, alpha: float = 0.05, K: int = 1, bias: bool = True
    ):
        super().__init__()
        self.alpha, self.K = float(alpha), int(K)
        self.lin = nn.Linear(in_channels, out_channels, bias=bias)
        if bias:
            self.lin.bias._no_weight_decay = True

    def forward(self, x: torch.Tensor, adj: torch.Tensor, normalized: bool = False) -> torch.Tensor:
        a = adj if normalized else gcn_normalize(adj)
        a = a.to(x.dtype)
        h = self.alpha * x
        for _ in range(self.K):  # hops, not graphs
            x = a @ x
            h = h + (1 - self.alpha) / self.K * x
        return self.lin(h)


class GatedFusion(nn.Module):
    """Per-head gated sum of two streams, linear in time: for each of ``heads`` groups of ``D / heads``
    features, ``g = sigmoid(W_g [node; gnn] + b_g)`` and ``fused = g * node + (1 - g) * gnn``.

    Shapes: ``node``, ``gnn`` ``(..., D)`` -> ``(..., D)``.
    """

    def __init__(self, dim: int, heads: int = 4):
        super().__init__()
        if dim % heads:
            raise ValueError(f"fusion dim={dim} must be divisible by heads={heads}")
        self.heads, self.head_dim = heads, dim // heads
        self.weight = nn.Parameter(torch.empty(heads, 2 * self.head_dim, self.head_dim))
        self.bias = nn.Parameter(torch.zeros(heads, self.head_dim))
        self.bias._no_weight_decay = True
        nn.init.xavier_uniform_(self.weight.view(heads * 2 * self.head_dim, self.head_dim))

    def gate(self, node: torch.Tensor, gnn: torch.Tensor) -> torch.Tensor:
        shp = (*node.shape[:-1], self.heads, self.head_dim)
        cat = torch.cat([node.reshape(shp), gnn.reshape(shp)], dim=-1)  # (..., H, 2 Dh)
        return torch.sigmoid(torch.einsum("...hi,hio->...ho", cat, self.weight) + self.bias).reshape(
            node.shape
        )

    def forward(self, node: torch.Tensor, gnn: torch.Tensor) -> torch.Tensor:
        g = self.gate(node, gnn)
        return g * node + (1 - g) * gnn
