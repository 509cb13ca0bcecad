"""Optional accelerated kernels, chosen in one place.

CUDA-only libraries (flash-linear-attention, mamba-ssm) are imported lazily; a missing or broken import
gives ``None`` and the pure-PyTorch path runs. ``BIODYN_FORCE_TORCH=1`` forces the PyTorch path everywhere.
"""

from __future__ import annotations

import functools
import os


def force_torch() -> bool:
    return os.environ.get("BIODYN_FORCE_TORCH", "0") not in ("", "0", "false", "False")


@functools.cache
def fla_chunk_gated_delta_rule():
    """flash-linear-attention's ``chunk_gated_delta_rule`` or ``None``."""
    try:
        from fla.ops.gated_delta_rule import chunk_gated_delta_rule
    except Exception:  # not installed, or no CUDA/Triton: fall back to torch
        return None
    return chunk_gated_delta_rule


@functools.cache
def mamba_chunk_scan_combined():
    """mamba-ssm's fused ``mamba_chunk_scan_combined`` (CUDA/Triton) or ``None`` when it does not import."""
    try:
        from mamba_ssm.ops.triton.ssd_combined import mamba_chunk_scan_combined as fn
    except Exception:  # not installed, or no CUDA/Triton: fall back to torch
        return None
    return fn


def use_fla(x) -> bool:
    """Whether a CUDA tensor ``x`` may go through flash-linear-attention."""
    return (
        bool(getattr(x, "is_cuda", False)) and not force_torch() and fla_chunk_gated_delta_rule() is not None
    )
