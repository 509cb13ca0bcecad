"""AdamW param groups and the warmup + cosine learning-rate schedule."""

from __future__ import annotations

import math

from torch import nn

_NORMS = (nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm, nn.modules.batchnorm._NormBase)


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two AdamW groups: decayed weights, and no decay for biases, norm parameters, 1-D parameters of
    norm layers and parameters marked ``p._no_weight_decay = True`` (or listed in a module's
    ``_no_weight_decay`` attribute set of names)."""
    decay, no_decay, seen = [], [], set()
    for mod in model.modules():
        marked = getattr(mod, "_no_weight_decay", None)
        marked = set(marked) if isinstance(marked, (set, list, tuple)) else set()
        for pname, p in mod.named_parameters(recurse=False):
            if not p.requires_grad or id(p) in seen:
                continue
            seen.add(id(p))
            skip = (
                pname.endswith("bias")
                or isinstance(mod, _NORMS)
                or "norm" in type(mod).__name__.lower()
                or getattr(p, "_no_weight_decay", False)
                or pname in marked
            )
            (no_decay if skip else decay).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def lr_at(step: int, *, lr: float, warmup_steps: int, max_steps: int, min_lr_ratio: float = 0.0) -> float:
    """Linear warmup over ``warmup_steps`` then cosine decay to ``lr * min_lr_ratio`` at ``max_steps``
    (``step`` counts optimiser steps from 0)."""
    if warmup_steps > 0 and step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    span = max(1, max_steps - warmup_steps)
    frac = min(1.0, (step - warmup_steps) / span)
    return lr * (min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * frac)))
