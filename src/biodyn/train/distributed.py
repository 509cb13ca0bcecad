"""Process-group setup for ``torchrun`` launches (gloo on CPU, nccl on CUDA)."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def init_from_env() -> bool:
    """Initialise the default process group when launched by ``torchrun`` (``WORLD_SIZE`` > 1 in the
    environment); returns whether training is distributed. CUDA ranks bind to ``LOCAL_RANK``."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return dist.is_initialized()
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl")
    else:
        dist.init_process_group("gloo")
    return True


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
