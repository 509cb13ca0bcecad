"""Chunked gated delta rule: the WY / UT-transform form, batched inside chunks, a loop only over chunks.

Within a chunk of C tokens with cumulative log decay ``G_i = g_1 + ... + g_i`` (``gamma_i = exp(G_i)``) and
incoming state ``S0``, the per-token corrections ``u_t = b_t (v_t - a_t S_{t-1}^T k_t)`` solve a unit
lower-triangular system (derivation: unroll ``S_t = gamma_t S0 + sum_{j<=t} gamma_t/gamma_j k_j u_j^T``)::

    (I + tril(diag(b) (Gamma * K K^T), -1)) U = diag(b) (V - diag(gamma) K S0),   Gamma_ij = exp(G_i - G_j)

so ``U = U_v - W S0`` with ``U_v = T V``, ``W = T (gamma * K)``, ``T = (I + A)^-1 diag(b)``, and::

    O   = (gamma * Q) S0 + (tril(Q K^T * Gamma)) U
    S_C = gamma_C S0 + (K * gamma_C / gamma)^T U

Legend: B batch, N chunks, C chunk length, H heads, K key dim, V value dim.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from biodyn.ops.gated_delta.reference import _check


def gated_delta_rule_chunked(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor,
    beta: torch.Tensor,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
    chunk_size: int = 64,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Same signature and result as :func:`gated_delta_rule_reference`; any ``T`` (padded internally)."""
    _check(q, k, v, g, beta)
    if chunk_size < 1:
        raise ValueError(f"invalid chunk_size={chunk_size}; must be >= 1")
    b, t, h, dk = q.shape
    dv = v.shape[-1]
    scale = dk**-0.5 if scale is None else scale
    c = chunk_size
    pad = (-t) % c
    if pad:  # padded tokens have beta = 0 and g = 0: they leave the state unchanged
        q, k, v = (F.pad(x, (0, 0, 0, 0, 0, pad)) for x in (q, k, v))
        g, beta = (F.pad(x, (0, 0, 0, pad)) for x in (g, beta))
    n = (t + pad) // c

    # (B, H, N, C, ·): heads before chunks so every matmul below is batched over (B, H, N)
    def chunks(x):
        return x.reshape(b, n, c, h, *x.shape[3:]).movedim(3, 1)

    qc, kc, vc = chunks(q) * scale, chunks(k), chunks(v)  # (B, H, N, C, K|V)
    gc = chunks(g).cumsum(-1)  # (B, H, N, C) cumulative log decay G
    bc = chunks(beta)
    diff = gc[..., :, None] - gc[..., None, :]  # (B, H, N, C, C) G_i - G_j
    causal = torch.ones(c, c, dtype=torch.bool, device=q.device).tril()
    gamma_ij = torch.where(causal, diff, diff.new_tensor(float("-inf"))).exp()  # masked before exp
    kk = kc @ kc.transpose(-1, -2)  # (B, H, N, C, C)
    a = (bc[..., :, None] * kk * gamma_ij).tril(-1)
    eye = torch.eye(c, dtype=q.dtype, device=q.device)
    # T = (I + A)^-1 diag(b): solve the unit lower-triangular system for both right-hand sides at once
    rhs = torch.cat([vc, kc * gc.exp()[..., None]], dim=-1) * bc[..., None]  # (B, H, N, C, V + K)
    sol = torch.linalg.solve_triangular(eye + a, rhs, upper=False, unitriangular=True)
    u_v, w = sol[..., :dv], sol[..., dv:]  # (B, H, N, C, V), (B, H, N, C, K)
    attn = (qc @ kc.transpose(-1, -2)) * gamma_ij  # (B, H, N, C, C), lower triangular incl. diagonal
    q_decay = qc * gc.exp()[..., None]  # (B, H, N, C, K)
    g_last = gc[..., -1:]  # (B, H, N, 1)
    k_decay = kc * (g_last - gc).exp()[..., None]  # (B, H, N, C, K)

    s = q.new_zeros(b, h, dk, dv) if initial_state is None else initial_state
    outs = []
    for u_n, w_n, attn_n, qd_n, kd_n, gl_n in zip(
        u_v.unbind(2), w.unbind(2), attn.unbind(2), q_decay.unbind(2), k_decay.unbind(2), g_last.unbind(2)
    ):
        u = u_n - w_n @ s  # (B, H, C, V)
        outs.append(qd_n @ s + attn_n @ u)
        s = s * gl_n.exp()[..., None] + kd_n.transpose(-1, -2) @ u
    o = torch.stack(outs, dim=2)  # (B, H, N, C, V)
    o = o.movedim(1, 3).reshape(b, n * c, h, dv)[:, :t]
    return o, (s if output_final_state else None)
