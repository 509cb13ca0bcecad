"""Which chunk a chunked SSM block (Gated DeltaNet, Mamba2) runs with: the training chunk, or a separate one
for CPU inference where the fastest forward-only chunk differs."""

from __future__ import annotations

import torch
from torch import nn


def inference_chunk(block: nn.Module, x: torch.Tensor) -> int:
    """The chunk a chunked SSM block runs ``x`` with: its ``inference_chunk_size`` for a CPU forward pass in
    eval mode without autograd (when set), else its training ``chunk_size`` (CUDA library kernels keep theirs)."""
    c = block.inference_chunk_size
    if c and not block.training and not torch.is_grad_enabled() and x.device.type == "cpu":
        return c
    return block.chunk_size
