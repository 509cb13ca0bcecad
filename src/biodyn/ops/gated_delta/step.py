"""One token of the gated delta rule with a carried state (streaming inference)."""

from __future__ import annotations

import torch


def gated_delta_rule_step(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor,
    beta: torch.Tensor,
    state: torch.Tensor | None = None,
    scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Advance the state by one token.

    Args:
        q, k: ``(B, H, K)``; v: ``(B, H, V)``; g, beta: ``(B, H)``; state: ``(B, H, K, V)`` or None (zeros).

    Returns:
        ``o`` ``(B, H, V)`` and the new state ``(B, H, K, V)``.
    """
    dk = q.shape[-1]
    scale = dk**-0.5 if scale is None else scale
    if state is None:
        state = q.new_zeros(*q.shape[:2], dk, v.shape[-1])
    s = state * g.exp()[..., None, None]
    pred = torch.einsum("bhkv,bhk->bhv", s, k)
    s = s + torch.einsum("bhk,bhv->bhkv", k, (v - pred) * beta[..., None])
    return torch.einsum("bhkv,bhk->bhv", s, q * scale), s
