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

    # (B*H, N, C, ·) contiguous (the reshape merges B and H and copies once): every matmul below is one bmm
    def chunks(x):
        x = x.reshape(b, n, c, h, *x.shape[3:]).movedim(3, 1)
        return x.reshape(b * h, n, c, *x.shape[4:])

    qc, kc, vc = chunks(q * scale), chunks(k), chunks(v)  # (BH, N, C, K|V)
    gc = chunks(g).cumsum(-1)  # (BH, N, C) cumulative log decay G
    bc = chunks(beta)
    diff = gc[..., :, None] - gc[..., None, :]  # (BH, N, C, C) G_i - G_j
    causal = torch.ones(c, c, dtype=torch.bool, device=q.device).tril()
    gamma_ij = torch.where(causal, diff, diff.new_tensor(float("-inf"))).exp()  # masked before exp
    a = ((kc @ kc.transpose(-1, -2)) * gamma_ij * bc[..., :, None]).tril(-1)
    eye = torch.eye(c, dtype=q.dtype, device=q.device)
    g_exp = gc.exp()[..., None]  # (BH, N, C, 1) gamma_i <= 1
    # T = (I + A)^-1 diag(b): solve the unit lower-triangular system for both right-hand sides at once
    rhs = torch.cat([vc, kc * g_exp], dim=-1) * bc[..., None]  # (BH, N, C, V + K)
    sol = torch.linalg.solve_triangular(eye + a, rhs, upper=False, unitriangular=True)
    u_v, w = sol[..., :dv], sol[..., dv:]  # (BH, N, C, V), (BH, N, C, K)
    attn = (qc @ kc.transpose(-1, -2)) * gamma_ij  # (BH, N, C, C), lower triangular incl. diagonal
    g_last = gc[..., -1:]  # (BH, N, 1)
    k_decay = (kc * (g_last[..., None] - gc[..., None]).exp()).transpose(-1, -2)  # (BH, N, K, C)
    # everything that does not depend on the incoming state S_n, batched over all chunks:
    #   O_n = O_intra_n + Q_eff_n S_n,   S_{n+1} = M_n S_n + R_n
    o_intra = attn @ u_v  # (BH, N, C, V)
    q_eff = qc * g_exp - attn @ w  # (BH, N, C, K)
    eye_k = torch.eye(dk, dtype=q.dtype, device=q.device)
    m = (g_last.exp()[..., None] * eye_k - k_decay @ w).movedim(1, 0).contiguous()  # (N, BH, K, K)
    r = (k_decay @ u_v).movedim(1, 0).contiguous()  # (N, BH, K, V)

    s = q.new_zeros(b * h, dk, dv) if initial_state is None else initial_state.reshape(b * h, dk, dv)
    states = []  # the only sequential part: one (K x K) @ (K x V) product per chunk
    for m_n, r_n in zip(m.unbind(0), r.unbind(0)):
        states.append(s)
        s = torch.baddbmm(r_n, m_n, s)
    o = o_intra + q_eff @ torch.stack(states, dim=1)  # (BH, N, C, V)
    o = o.reshape(b, h, n * c, dv).movedim(1, 2)[:, :t]
    return o, (s.reshape(b, h, dk, dv) if output_final_state else None)
