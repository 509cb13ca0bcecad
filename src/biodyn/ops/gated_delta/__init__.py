"""Gated delta rule (Yang, Kautz & Hatamizadeh, ICLR 2025): :func:`gated_delta_rule` picks the path
(token reference, chunked torch, flash-linear-attention on CUDA); the paths and the one-token step."""

from __future__ import annotations

import torch

from biodyn.ops import _backend
from biodyn.ops.gated_delta.chunk import gated_delta_rule_chunked
from biodyn.ops.gated_delta.reference import _check, gated_delta_rule_reference
from biodyn.ops.gated_delta.step import gated_delta_rule_step

__all__ = [
    "gated_delta_rule",
    "gated_delta_rule_chunked",
    "gated_delta_rule_reference",
    "gated_delta_rule_step",
]


def gated_delta_rule(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor,
    beta: torch.Tensor,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
    *,
    chunk_size: int = 64,
    path: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The gated delta rule over a sequence, through the path ``biodyn.ops._backend`` picks.

    Args:
        q, k: ``(B, T, H, K)``; v: ``(B, T, H, V)``; g: log decay ``(B, T, H)`` (``<= 0``);
        beta: write strength ``(B, T, H)``; scale: multiplies q (default ``K ** -0.5``);
        initial_state: ``(B, H, K, V)``; chunk_size: chunk of the chunked form;
        path: ``"auto"`` (flash-linear-attention for CUDA inputs when it loads and ``BIODYN_BACKEND=auto``,
            else ``"chunked"``), ``"reference"``, ``"chunked"`` or ``"fla"``.

    Returns:
        ``o`` ``(B, T, H, V)`` in v's dtype and the final state ``(B, H, K, V)`` (``None`` unless
        ``output_final_state``).
    """
    _check(q, k, v, g, beta)
    b, _, h, dk = q.shape
    want = (b, h, dk, v.shape[-1])
    if initial_state is not None and tuple(initial_state.shape) != want:
        raise ValueError(f"initial_state must be (B, H, K, V) = {want}; got {tuple(initial_state.shape)}")
    chosen = _backend.choose("gated_delta_rule", path, q, "fla")
    _backend.note("gated_delta_rule", chosen)
    if chosen == "fla":
        return _backend.fla_chunk_gated_delta_rule()(
            q, k, v, g, beta, scale=scale, initial_state=initial_state, output_final_state=output_final_state
        )
    dtype = _backend.compute_dtype(q, k, v, g, beta)
    args = [x.to(dtype) for x in (q, k, v, g, beta)]
    s0 = _backend.cast(initial_state, dtype)
    with torch.autocast(q.device.type, enabled=False):
        if chosen == "reference":
            o, s = gated_delta_rule_reference(*args, scale, s0, output_final_state)
        else:
            o, s = gated_delta_rule_chunked(*args, scale, s0, output_final_state, chunk_size=chunk_size)
    return o.to(v.dtype), s
