"""The model contract every registered model fits (see ``docs/models.md``).

A model is an ``nn.Module`` built from the signal's shape and a config dataclass::

    Model(n_chans, n_outputs, n_times, sfreq, cfg)

and splits its forward pass in two, as timm's models do: :meth:`BiodynModel.forward_features` maps
``x`` ``(B, C, T)`` to features, :meth:`BiodynModel.forward_head` pools them (when the output is a clip) and
applies ``self.head``. The class attribute ``output`` says what comes out, and fixes what
``forward_features`` returns (one meaning per output kind; the contract test asserts it):

- ``"clip"``: ``model(x)`` is ``(B, n_outputs)``, one prediction per window. ``forward_features(x)`` is
  ``(B, D, T')``, the features along time before pooling (``T'`` the model's own frame count), or ``(B, D)``
  for a model whose features have no time axis (CLD-Trans pools over channels and frames; EEG-GCNN over the
  graph's nodes). ``forward_head(features, pre_logits=True)`` is the pooled embedding ``(B, D)``.
- ``"per_sample"``: ``model(x)`` is ``(B, n_outputs, T)`` at the input's length (``(B, T)`` is allowed when
  ``n_outputs == 1``). ``forward_features(x)`` holds a feature vector per time step at a rate the model
  owns: ``(B, D, T')``, or ``(B, C, T', D)`` when it keeps one per channel (the seizure detectors);
  ``forward_head(features, pre_logits=True)`` is ``(B, D, T)`` at the input's length.

In every case ``forward_head(forward_features(x)) == model(x)``.

Optional parts of the contract:

- ``forward_loss(batch) -> dict[str, Tensor]``: a model trained on several losses (a VQ commitment term,
  a reconstruction, a likelihood) returns its named scalar terms; the Trainer sums them with
  ``train.loss_weights`` and logs each one. Without it the Trainer applies the task's loss to
  ``model(batch["x"])``.
- ``stages`` (a tuple of names) and ``set_stage(name)``: a model trained in stages (CLD-Trans) switches its
  ``forward_loss`` and what is frozen; a new model is in the first stage, and the stage is the training
  run's state, not part of the config.
- ``allocate_state(batch_size) -> state`` and ``step(x_t, state) -> (y_t, state)``: causal models stream
  one sample ``x_t`` ``(B, C)`` at a time; for a per-sample model the stacked ``y_t`` ``(B, n_outputs)``
  equal ``forward(x)``, for a clip model the last ``y_t`` does.

A trained model also carries :attr:`BiodynModel.input_spec` (an :class:`InputSpec`, or ``None``): what its
training fed it (channels, rate, window, preprocessing, normalisation statistics, an operating threshold),
written by ``save_pretrained`` and by the Trainer's checkpoints and read back by ``from_pretrained``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any, ClassVar

import torch
from torch import nn

OUTPUT_KINDS = ("clip", "per_sample")


@dataclass
class InputSpec:
    """What a trained model needs to be applied to new data (saved with it; every field optional).

    Attributes:
        channels: channel names in the order of ``x``'s ``C`` axis (the montage, e.g. bipolar pairs).
        montage: the montage's name (e.g. ``"tcp"`` for the double banana), where one applies.
        sfreq: sampling rate in Hz of the model's input (after preprocessing).
        window_s, stride_s: window length and hop in seconds a recording is cut into.
        preprocessing: the preprocessing chain, by name (a constant of :mod:`biodyn.signal.config`) or as
            its settings (a :class:`~biodyn.signal.config.PreprocessConfig` as a dict).
        threshold: the operating threshold of a detector's probability.
        modalities: the modalities the model was trained on (a model that reads several may refuse others).
        input_form: how a raw input becomes ``x`` (PRISM: ``"waveform"``, ``"patches"``, ``"log-mel"``).
        feature_norm: normalisation statistics applied to ``x`` before the model: ``{"mean": [...],
            "std": [...]}`` per channel (``C`` values each).
        classes: class names in the order of the outputs.
        extra: anything else a system records (JSON-able).
    """

    channels: list[str] | None = None
    montage: str | None = None
    sfreq: float | None = None
    window_s: float | None = None
    stride_s: float | None = None
    preprocessing: str | dict | None = None
    threshold: float | None = None
    modalities: list[str] | None = None
    input_form: str | None = None
    feature_norm: dict[str, list[float]] | None = None
    classes: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able dict (``None`` fields and an empty ``extra`` left out)."""
        return {k: v for k, v in asdict(self).items() if v is not None and not (k == "extra" and not v)}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> InputSpec | None:
        """The spec of a saved dict (``None`` stays ``None``); an unknown key is a ``ValueError`` naming it."""
        if d is None:
            return None
        if isinstance(d, InputSpec):
            return d
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"input_spec: unknown keys {unknown}; allowed: {', '.join(sorted(known))}")
        return cls(**d)


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
        self.input_spec: InputSpec | None = None  # set by a training run / from_pretrained

    # ------------------------------------------------------------------------------------------ forward
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """``x`` ``(B, C, T)`` -> features: ``(B, D, T')`` or ``(B, D)`` (clip), ``(B, D, T')`` or
        ``(B, C, T', D)`` (per_sample); see the module doc."""
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
        return {
            "n_chans": self.n_chans,
            "n_outputs": self.n_outputs,
            "n_times": self.n_times,
            "sfreq": self.sfreq,
            **cfg,
        }


def _like(layer: nn.Module, n_outputs: int) -> nn.Module:
    """A new ``Linear``/``Conv1d`` shaped like ``layer`` but with ``n_outputs`` outputs."""
    w = layer.weight
    kw = {"bias": layer.bias is not None, "device": w.device, "dtype": w.dtype}
    if isinstance(layer, nn.Linear):
        return nn.Linear(layer.in_features, n_outputs, **kw)
    return nn.Conv1d(
        layer.in_channels,
        n_outputs,
        layer.kernel_size,
        stride=layer.stride,
        padding=layer.padding,
        dilation=layer.dilation,
        groups=layer.groups,
        padding_mode=layer.padding_mode,
        **kw,
    )
