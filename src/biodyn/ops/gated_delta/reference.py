"""Gated delta rule, token by token (Yang, Kautz & Hatamizadeh, ICLR 2025).

Per head, with state ``S`` of shape ``(K, V)`` (flash-linear-attention's orientation)::

    S_t = a_t (I - b_t k_t k_t^T) S_{t-1} + b_t k_t v_t^T,    a_t = exp(g_t)
    o_t = S_t^T (scale * q_t)

Legend: B batch, T time, H heads, K key/query dim, V value dim.
"""

from __future__ import annotations

import torch


def _check(q, k, v, g, beta):
    if q.shape != k.shape or q.ndim != 4:
        raise ValueError(f"q and k must be (B, T, H, K) and equal, got {tuple(q.shape)} and {tuple(k.shape)}")
    b, t, h, _ = q.shape
    if t == 0:
        raise ValueError(f"empty sequence: q has T = 0 tokens {tuple(q.shape)}")
    if v.shape[:3] != (b, t, h) or g.shape != (b, t, h) or beta.shape != (b, t, h):
        raise ValueError(
            f"expected v (B, T, H, V), g and beta (B, T, H) with B, T, H = {b, t, h}; got v {tuple(v.shape)}, "
            f"g {tuple(g.shape)}, beta {tuple(beta.shape)}"
        )


def gated_delta_rule_reference(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor,
    beta: torch.Tensor,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The recurrence, one token at a time (float64-friendly; the definition the fast paths must match).

    Args:
        q, k: ``(B, T, H, K)``; v: ``(B, T, H, V)``; g: log decay ``(B, T, H)`` (``<= 0``);
        beta: write strength ``(B, T, H)`` in ``[0, 1]``; scale: multiplies q (default ``K ** -0.5``);
        initial_state: ``(B, H, K, V)``.

    Returns:
        ``o`` ``(B, T, H, V)`` and the final state ``(B, H, K, V)`` (``None`` unless ``output_final_state``).
    """
    _check(q, k, v, g, beta)
    b, t, h, dk = q.shape
    dv = v.shape[-1]
    scale = dk**-0.5 if scale is None else scale
    # heads folded into the batch: per token a handful of (B*H)-batched products on (K, V) states
    s = q.new_zeros(b * h, dk, dv) if initial_state is None else initial_state.reshape(b * h, dk, dv)
    a = g.exp().unbind(1)  # (B, H) per token
    outs = []
    # unbind once: indexing x[:, i] inside the loop makes the backward pass quadratic in T
    for q_t, k_t, v_t, a_t, b_t in zip(q.unbind(1), k.unbind(1), v.unbind(1), a, beta.unbind(1)):
        a_t = a_t.reshape(b * h, 1, 1)
        k_t = k_t.reshape(b * h, dk, 1)
        pred = a_t * (k_t.transpose(1, 2) @ s)  # (BH, 1, V) what the decayed state recalls for k_t
        delta = (v_t.reshape(b * h, 1, dv) - pred) * b_t.reshape(b * h, 1, 1)
        s = torch.baddbmm(s * a_t, k_t, delta)  # a_t S + k_t delta^T
        outs.append(q_t.reshape(b * h, 1, dk) @ s)
    o = torch.stack(outs, dim=1).reshape(b, h, t, dv).transpose(1, 2) * scale  # (B, T, H, V)
    return o, (s.reshape(b, h, dk, dv) if output_final_state else None)
