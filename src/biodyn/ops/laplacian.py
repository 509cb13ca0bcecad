"""Laplacian positional encodings: the k smallest eigenvectors of the symmetric normalised Laplacian.

``L = I - D^{-1/2} A D^{-1/2}`` for a symmetric non-negative adjacency ``A`` (a node of degree 0 gets
``D^{-1/2} = 0``, i.e. ``L_ii = 1``). Eigenvectors are defined up to sign; both functions fix it so that
the entry of largest magnitude is positive (ties broken by the lowest node index), which makes the encoding
deterministic wherever the eigenvalue is simple.

``laplacian_eigenvectors`` is batched over any leading dimensions (all ``B * T'`` graphs of the seizure
detector in one ``torch.linalg.eigh`` call), computes in float32 whatever the input dtype (the spec's
choice; pass ``dtype=torch.float64`` for tests), never carries gradients, and is guarded: non-finite
adjacency entries are treated as 0, and a decomposition that fails or returns non-finite values yields a
zero encoding for that graph instead of poisoning the batch.
"""

from __future__ import annotations

import numpy as np
import torch


def _sign_fix(vecs: torch.Tensor) -> torch.Tensor:
    """``vecs`` ``(..., N, k)``: flip each column so that its largest-magnitude entry is positive."""
    idx = vecs.abs().argmax(dim=-2, keepdim=True)  # first maximum: lowest node index on ties
    sign = torch.sign(torch.gather(vecs, -2, idx))
    return vecs * torch.where(sign == 0, torch.ones_like(sign), sign)


def normalized_laplacian(adj: torch.Tensor) -> torch.Tensor:
    """``adj`` ``(..., N, N)`` symmetric, non-negative -> ``L = I - D^{-1/2} A D^{-1/2}`` ``(..., N, N)``."""
    deg = adj.sum(-1)
    dinv = torch.where(deg > 0, deg.clamp_min(torch.finfo(adj.dtype).tiny).rsqrt(), torch.zeros_like(deg))
    eye = torch.eye(adj.shape[-1], dtype=adj.dtype, device=adj.device)
    return eye - dinv[..., :, None] * adj * dinv[..., None, :]


@torch.no_grad()
def laplacian_eigenvectors(adj: torch.Tensor, k: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The ``k`` eigenvectors of smallest eigenvalue of the normalised Laplacian of each graph.

    Args:
        adj: ``(..., N, N)`` symmetric non-negative adjacency (any float dtype; symmetrised defensively).
        k: number of eigenvectors; when ``k > N`` the last ``k - N`` columns are zero.
        dtype: computation dtype (float32 by default; float64 for reference comparisons).

    Returns:
        ``(..., N, k)`` in ``adj``'s dtype, detached, sign-fixed, columns in ascending eigenvalue order.
    """
    if adj.ndim < 2 or adj.shape[-1] != adj.shape[-2]:
        raise ValueError(f"adj must be (..., N, N), got shape {tuple(adj.shape)}")
    if k < 1:
        raise ValueError(f"k={k} must be >= 1")
    out_dtype = adj.dtype
    a = adj.detach().to(dtype)
    a = torch.where(torch.isfinite(a), a, torch.zeros_like(a)).clamp_min(0)
    a = 0.5 * (a + a.transpose(-1, -2))
    n = a.shape[-1]
    lap = normalized_laplacian(a)
    lead = lap.shape[:-2]
    flat = lap.reshape(-1, n, n)
    try:
        _, vecs = torch.linalg.eigh(flat)
        ok = torch.isfinite(vecs).flatten(1).all(dim=1)
    except RuntimeError:  # no convergence for some graph: decompose one by one, zero the failures
        vecs = torch.zeros_like(flat)
        ok = torch.zeros(flat.shape[0], dtype=torch.bool, device=flat.device)
        for g in range(flat.shape[0]):
            try:
                vecs[g] = torch.linalg.eigh(flat[g])[1]
                ok[g] = bool(torch.isfinite(vecs[g]).all())
            except RuntimeError:
                pass
    vecs = torch.where(ok[:, None, None], vecs, torch.zeros_like(vecs))
    vecs = _sign_fix(vecs[..., : min(k, n)])
    if k > n:
        vecs = torch.cat([vecs, vecs.new_zeros(vecs.shape[0], n, k - n)], dim=-1)
    return vecs.reshape(*lead, n, k).to(out_dtype)


def laplacian_eigenvectors_reference(adj: np.ndarray, k: int) -> np.ndarray:
    """One graph, float64 numpy: ``adj`` ``(N, N)`` -> ``(N, k)``, the same definition written plainly."""
    a = np.asarray(adj, dtype=np.float64)
    n = a.shape[0]
    deg = a.sum(axis=1)
    dinv = np.array([1.0 / np.sqrt(d) if d > 0 else 0.0 for d in deg])
    lap = np.eye(n) - dinv[:, None] * a * dinv[None, :]
    w, v = np.linalg.eigh(lap)
    v = v[:, np.argsort(w, kind="stable")][:, : min(k, n)]
    for j in range(v.shape[1]):
        i = int(np.argmax(np.abs(v[:, j])))
        if v[i, j] < 0:
            v[:, j] = -v[:, j]
    if k > n:
        v = np.concatenate([v, np.zeros((n, k - n))], axis=1)
    return v


def laplacian_eigenvalues_reference(adj: np.ndarray) -> np.ndarray:
    """Eigenvalues (ascending) of the normalised Laplacian of one graph (for choosing well-separated tests)."""
    a = np.asarray(adj, dtype=np.float64)
    deg = a.sum(axis=1)
    dinv = np.where(deg > 0, 1.0 / np.sqrt(np.where(deg > 0, deg, 1.0)), 0.0)
    return np.linalg.eigvalsh(np.eye(len(a)) - dinv[:, None] * a * dinv[None, :])
