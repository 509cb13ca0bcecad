"""Losses shared by tasks: the binary focal loss (Lin et al. 2017) with an optional gamma warm-up."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def focal_loss(
    logits: torch.Tensor, target: torch.Tensor, alpha: float = 0.25, gamma: float = 2.0
) -> torch.Tensor:
    """Mean of ``alpha_t (1 - p_t)^gamma * BCE(logits, target)`` over every element.

    ``p_t`` is the predicted probability of the true class, ``alpha_t = alpha`` for positives and
    ``1 - alpha`` for negatives (``alpha < 0`` disables the weighting). ``gamma = 0`` with ``alpha < 0`` is
    plain BCE. Computed in float32; ``logits``/``target`` of any equal shape, ``target`` in [0, 1].
    """
    z, y = logits.float(), target.float().reshape(logits.shape)
    ce = F.binary_cross_entropy_with_logits(z, y, reduction="none")
    p = torch.sigmoid(z)
    p_t = p * y + (1 - p) * (1 - y)
    loss = ce * (1 - p_t).clamp_min(0) ** gamma if gamma != 0 else ce
    if alpha >= 0:
        loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
    return loss.mean()


def gamma_at(step: int, gamma: float, warmup_steps: int = 0) -> float:
    """``gamma`` ramped linearly from 0 at step 0 to its full value at ``warmup_steps``."""
    if warmup_steps <= 0:
        return float(gamma)
    return float(gamma) * min(1.0, step / warmup_steps)
