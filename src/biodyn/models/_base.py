"""The model contract every registered model fits (see ``docs/models.md``).

A model is an ``nn.Module`` built from the signal's shape and a config dataclass::

    Model(n_chans, n_outputs, n_times, sfreq, cfg)

and splits its forward pass in two, as timm's models do: :meth:`BiodynModel.forward_features` maps
``x`` ``(B, C, T)`` to features (unpooled), :meth:`BiodynModel.forward_head` pools them (when the output
is a clip) and applies ``self.head``. The class attribute ``output`` says what comes out:

- ``"clip"``: ``(B, n_outputs)``, one prediction per window;
- ``"per_sample"``: ``(B, n_outputs, T)`` at the input's length (``(B, T)`` is allowed when
  ``n_outputs == 1``).

Optional parts of the contract:

- ``forward_loss(batch) -> dict[str, Tensor]``: a model trained on several losses (a VQ commitment term,
  a reconstruction, a likelihood) returns its named scalar terms; the Trainer sums them with
  ``train.loss_weights`` and logs each one. Without it the Trainer applies the task's loss to
  ``model(batch["x"])``.
- ``allocate_state(batch_size) -> state`` and ``step(x_t, state) -> (y_t, state)``: causal models stream
  one sample ``x_t`` ``(B, C)`` at a time; for a per-sample model the stacked ``y_t`` ``(B, n_outputs)``
  equal ``forward(x)``, for a clip model the last ``y_t`` does.
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from typing import Any, ClassVar

import torch
from torch import nn

OUTPUT_KINDS = ("clip", "per_sample")


class BiodynModel(nn.Module):
    """Base class of every registered model.

    Subclasses call ``super().__init__(n_chans, n_outputs, n_times, sfreq, cfg)``, build ``self.head``
    (the only part :meth:`reset_head` replaces and :meth:`freeze_features` leaves trainable) and implement
    :meth:`forward_features`; they override :meth:`forward_head` when pooling is not a mean over time.

    Args:
        n_chans: input channels ``C``.
        n_outputs: outputs per clip (``"clip"``) or per sample (``"per_sample"``).
        n_times: window length ``T`` in samples the model is built for (``None``: any length).
        sfreq: sampling frequency in Hz.
        cfg: the model's config dataclass instance (``None``: the subclass fills in its defaults).
    """

    output: ClassVar[str] = "clip"

    def __init__(self, n_chans: int, n_outputs: int, n_times: int | None, sfreq: float, cfg: Any = None):
        super().__init__()
        if self.output not in OUTPUT_KINDS:
            raise TypeError(f"{type(self).__name__}.output={self.output!r}; allowed: {OUTPUT_KINDS}")
        self.n_chans = int(n_chans)
        self.n_outputs = int(n_outputs)
        self.n_times = None if n_times is None else int(n_times)
        self.sfreq = float(sfreq)
        self.cfg = cfg
        self.model_name: str | None = None  # set by create_model / from_pretrained

    # ------------------------------------------------------------------------------------------ forward
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """``x`` ``(B, C, T)`` -> unpooled features, e.g. ``(B, D, T')``."""
        raise NotImplementedError

    def forward_head(self, features: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Pool (clip models: mean over the last axis of ``(B, D, T')``) and apply the head.

        ``pre_logits=True`` returns what the head would see (``(B, D)`` for a clip model, ``(B, D, T)``
        for a per-sample one): the embedding for linear probes and retrieval.
        """
        if self.output == "clip" and features.ndim == 3:
            features = features.mean(dim=-1)
        return features if pre_logits else self.head(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``(B, C, T)`` -> ``(B, n_outputs)`` (clip) or ``(B, n_outputs, T)`` (per_sample)."""
        return self.forward_head(self.forward_features(x))

    # ------------------------------------------------------------------------------------------ head
    def reset_head(self, n_outputs: int) -> None:
        """Replace the head by a freshly initialised one with ``n_outputs`` outputs, of the same kind
        (``Linear`` or ``Conv1d``, also as the last module of an ``nn.Sequential``), on the same device and
        in the same dtype. Models with another kind of head override this method."""
        n_outputs = int(n_outputs)
        if n_outputs < 1:
            raise ValueError(f"reset_head: n_outputs={n_outputs} must be >= 1")
        head = self.head
        if isinstance(head, nn.Sequential) and len(head) and isinstance(head[-1], (nn.Linear, nn.Conv1d)):
            head[-1] = _like(head[-1], n_outputs)
        elif isinstance(head, (nn.Linear, nn.Conv1d)):
            self.head = _like(head, n_outputs)
        else:
            raise NotImplementedError(
                f"{type(self).__name__}.reset_head: head of type {type(head).__name__} is neither Linear nor "
                "Conv1d; override reset_head"
            )
        self.n_outputs = n_outputs

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

    # ------------------------------------------------------------------------------------------ config
    def init_config(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this model with ``create_model``: the signal's shape
        (``n_outputs`` as it is now, after any :meth:`reset_head`) and the config fields."""
        cfg = asdict(self.cfg) if is_dataclass(self.cfg) else {}
        return {"n_chans": self.n_chans, "n_outputs": self.n_outputs, "n_times": self.n_times,
                "sfreq": self.sfreq, **cfg}  # fmt: skip


def _like(layer: nn.Module, n_outputs: int) -> nn.Module:
    """A new ``Linear``/``Conv1d`` shaped like ``layer`` but with ``n_outputs`` outputs."""
    w = layer.weight
    kw = {"bias": layer.bias is not None, "device": w.device, "dtype": w.dtype}
    if isinstance(layer, nn.Linear):
        return nn.Linear(layer.in_features, n_outputs, **kw)
    return nn.Conv1d(layer.in_channels, n_outputs, layer.kernel_size, stride=layer.stride, padding=layer.padding,
                     dilation=layer.dilation, groups=layer.groups, padding_mode=layer.padding_mode, **kw)  # fmt: skip
