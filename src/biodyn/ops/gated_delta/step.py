"""One token of the gated delta rule with a carried state (streaming inference)."""

from __future__ import annotations

import torch

from biodyn.ops import _backend


def gated_delta_rule_step(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor,
    beta: torch.Tensor,
    scale: float | None = None,
    state: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Advance the state by one token (arguments in the order of :func:`gated_delta_rule_reference`).

    Args:
        q, k: ``(B, H, K)``; v: ``(B, H, V)``; g, beta: ``(B, H)``; scale: multiplies q (default
        ``K ** -0.5``); state: ``(B, H, K, V)`` or None (zeros).

    Returns:
        ``o`` ``(B, H, V)`` in v's dtype and the new state ``(B, H, K, V)`` in the compute dtype.
    """
    if q.ndim != 3 or k.shape != q.shape:
        raise ValueError(f"q and k must be (B, H, K) and equal, got {tuple(q.shape)} and {tuple(k.shape)}")
    b, h, dk = q.shape
    if v.ndim != 3 or v.shape[:2] != (b, h) or g.shape != (b, h) or beta.shape != (b, h):
        raise ValueError(
            f"expected v (B, H, V), g and beta (B, H) with B, H = {b, h}; got v {tuple(v.shape)}, "
            f"g {tuple(g.shape)}, beta {tuple(beta.shape)}"
        )
    dv = v.shape[-1]
    if state is not None and tuple(state.shape) != (b, h, dk, dv):
        raise ValueError(f"state must be (B, H, K, V) = {(b, h, dk, dv)}; got {tuple(state.shape)}")
    scale = dk**-0.5 if scale is None else scale
    dtype = _backend.compute_dtype(q, k, v, g, beta)
    out_dtype = v.dtype
    q, k, v, g, beta = (x.to(dtype) for x in (q, k, v, g, beta))
    state = q.new_zeros(b, h, dk, dv) if state is None else state.to(dtype)
    s = state * g.exp()[..., None, None]
    pred = torch.einsum("bhkv,bhk->bhv", s, k)
    s = s + torch.einsum("bhk,bhv->bhkv", k, (v - pred) * beta[..., None])
    return torch.einsum("bhkv,bhk->bhv", s, q * scale).to(out_dtype), s
