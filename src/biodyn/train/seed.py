"""One seed for a training run: Python, NumPy's global generator and torch."""

from __future__ import annotations

import os
import random

import numpy as np


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every CUDA device)."""
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))  # noqa: NPY002 (seeding the legacy global is the point)
    os.environ["PYTHONHASHSEED"] = str(seed)
    torch.manual_seed(seed)
