"""The model contract: ``(n_chans, n_outputs, n_times, sfreq)`` first; features, head, reset_head."""

from __future__ import annotations

import torch
from torch import nn


class BiodynModel(nn.Module):
    """Base class of every registered model.

    Subclasses take ``n_chans, n_outputs, n_times, sfreq`` first, build ``self.head`` and implement
    :meth:`forward_features` (``(B, C, T) -> (B, D)`` or ``(B, D, T')``). ``forward`` is
    ``forward_head(forward_features(x))``.
    """

    def __init__(self, n_chans: int, n_outputs: int, n_times: int, sfreq: float):
        super().__init__()
        self.n_chans = int(n_chans)
        self.n_outputs = int(n_outputs)
        self.n_times = int(n_times)
        self.sfreq = float(sfreq)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)

    def reset_head(self, n_outputs: int) -> None:
        """Replace the classifier head with a freshly initialised one of ``n_outputs`` outputs."""
        old = self.head
        self.head = nn.Linear(old.in_features, int(n_outputs))
        self.n_outputs = int(n_outputs)

    def freeze_features(self, frozen: bool = True) -> None:
        """Linear probing: only ``head`` trains; everything else stops receiving gradients and stays in
        eval mode (normalisation statistics and dropout frozen too) whatever ``train()`` is called with."""
        self._features_frozen = frozen
        for name, p in self.named_parameters():
            if not name.startswith("head."):
                p.requires_grad_(not frozen)
        self.train(self.training)

    def train(self, mode: bool = True):
        super().train(mode)
        if getattr(self, "_features_frozen", False):
            for name, child in self.named_children():
                if name != "head":
                    child.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``(B, C, T)`` -> logits ``(B, n_outputs)``."""
        return self.forward_head(self.forward_features(x))
