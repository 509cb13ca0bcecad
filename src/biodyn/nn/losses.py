"""The classification loss every system uses: one place decides between cross-entropy and binary
cross-entropy from the labels' form."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from biodyn.errors import ConfigError


def classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean loss of ``logits`` ``(B, K)``: cross-entropy for integer class indices ``labels`` ``(B,)``,
    binary cross-entropy for float multi-hot ``labels`` ``(B, K)`` (multi-label, e.g. PTB-XL's
    superclasses). Computed in float32. Any other label shape is a :class:`~biodyn.errors.ConfigError`."""
    if labels.is_floating_point() and labels.shape == logits.shape:
        return F.binary_cross_entropy_with_logits(logits.float(), labels.float())
    if labels.ndim != 1 or labels.shape[0] != logits.shape[0]:
        raise ConfigError(
            f"labels: expected class indices (B,) or multi-hot (B, K) floats for logits "
            f"{tuple(logits.shape)}, got {tuple(labels.shape)} {labels.dtype}"
        )
    return F.cross_entropy(logits.float(), labels.long())
