"""Optional accelerated kernels, chosen in one place.

CUDA-only libraries (flash-linear-attention, mamba-ssm) are imported lazily; a missing or broken import
gives ``None`` and the pure-PyTorch path runs. ``BIODYN_FORCE_TORCH=1`` forces the PyTorch path everywhere.
"""

from __future__ import annotations

import functools
import importlib
import os


def force_torch() -> bool:
    return os.environ.get("BIODYN_FORCE_TORCH", "0") not in ("", "0", "false", "False")


def _optional(module: str, name: str):
    """``module.name``, or ``None`` when the import fails (not installed, or no CUDA/Triton)."""
    try:
        return getattr(importlib.import_module(module), name)
    except Exception:
        return None


@functools.cache
def fla_chunk_gated_delta_rule():
    """flash-linear-attention's ``chunk_gated_delta_rule`` or ``None``."""
    return _optional("fla.ops.gated_delta_rule", "chunk_gated_delta_rule")


@functools.cache
def mamba_chunk_scan_combined():
    """mamba-ssm's fused ``mamba_chunk_scan_combined`` (CUDA/Triton) or ``None``."""
    return _optional("mamba_ssm.ops.triton.ssd_combined", "mamba_chunk_scan_combined")


def use_mamba_ssm(x) -> bool:
    """Whether a CUDA tensor ``x`` may go through mamba-ssm."""
    return (
        bool(getattr(x, "is_cuda", False)) and not force_torch() and mamba_chunk_scan_combined() is not None
    )


def use_fla(x) -> bool:
    """Whether a CUDA tensor ``x`` may go through flash-linear-attention."""
    return (
        bool(getattr(x, "is_cuda", False)) and not force_torch() and fla_chunk_gated_delta_rule() is not None
    )
