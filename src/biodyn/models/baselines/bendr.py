"""BENDR (Kostas, Aroca-Ouellette & Rudzicz 2021, "BENDR: using transformers and a contrastive
self-supervised learning task to learn from massive amounts of EEG data").

Written from the paper. Two stages:

1. The feature encoder: six 1-D convolutions (kernel widths 3, 2, 2, 2, 2, 2 and the same strides, so one
   feature vector per 96 input samples), each followed by dropout, group normalisation and GELU, width
   ``encoder_h`` (512 in the paper).
2. The contextualiser: a grouped convolution (kernel 25, 16 groups) as relative position encoding added to
   the features, layer norm, a linear map to ``3 * encoder_h``, a learned summary token prepended, then a
   Transformer encoder (8 layers, 8 heads, feed-forward 3076, GELU, layer drop) and a 1x1 map back to
   ``encoder_h``. The clip embedding is the summary token's output, as in the paper's downstream
   classifier.

The paper's sizes give about 157M parameters (tests state the exact count of our module); the
self-supervised contrastive pretraining of the paper is not part of this module (the few-shot runner trains
it from its initialisation, said so in its results).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from biodyn.models._base import BiodynModel
from biodyn.models._registry import register_model


@dataclass
class BENDRConfig:
    encoder_h: int = 512  # feature-encoder width
    enc_widths: tuple[int, ...] = (3, 2, 2, 2, 2, 2)  # kernel widths (and strides) of the encoder convs
    enc_dropout: float = 0.0
    layers: int = 8  # Transformer layers of the contextualiser
    heads: int = 8
    ff_dim: int = 3076
    dropout: float = 0.15
    layer_drop: float = 0.01  # chance of skipping a Transformer layer while training
    position_kernel: int = 25
    position_groups: int = 16


_SMALL = {"encoder_h": 16, "layers": 1, "heads": 2, "ff_dim": 32, "position_groups": 4, "layer_drop": 0.0}


@register_model("bendr", config=BENDRConfig, test_config=_SMALL)
class BENDR(BiodynModel):
    """BENDR encoder + contextualiser, summary token -> Linear head.

    Shapes: ``x`` ``(B, C, T)`` -> features ``(B, encoder_h)`` (the summary token) -> ``(B, n_outputs)``.
    """

    output = "clip"

    def __init__(
        self, n_chans: int, n_outputs: int, n_times: int | None, sfreq: float, cfg: BENDRConfig | None = None
    ):
        c = cfg or BENDRConfig()
        super().__init__(n_chans, n_outputs, n_times, sfreq, c)
        h = c.encoder_h
        if h % 2 or h % c.position_groups:
            raise ValueError(
                f"encoder_h={h} must be even and divisible by position_groups={c.position_groups}"
            )
        blocks: list[nn.Module] = []
        ch = n_chans
        for w in c.enc_widths:
            blocks += [
                nn.Conv1d(ch, h, w, stride=w, padding=w // 2),
                nn.Dropout1d(c.enc_dropout),
                nn.GroupNorm(h // 2, h),
                nn.GELU(),
            ]
            ch = h
        self.encoder = nn.Sequential(*blocks)
        self.relative_position = nn.utils.parametrizations.weight_norm(
            nn.Conv1d(h, h, c.position_kernel, padding=c.position_kernel // 2, groups=c.position_groups),
            dim=2,
        )
        d = 3 * h
        self.input_norm = nn.LayerNorm(h)
        self.input_proj = nn.Linear(h, d)
        self.input_drop = nn.Dropout(c.dropout)
        self.summary_token = nn.Parameter(torch.full((d,), -5.0))  # the paper's constant start token
        self.layers_ = nn.ModuleList(
            nn.TransformerEncoderLayer(d, c.heads, c.ff_dim, c.dropout, activation="gelu", batch_first=True)
            for _ in range(c.layers)
        )
        self.output_proj = nn.Linear(d, h)
        self.head = nn.Linear(h, n_outputs)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T)`` -> encoder features ``(B, encoder_h, T')``, ``T' ~ T / 96``."""
        return self.encoder(x)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T)`` -> ``(B, encoder_h)`` (the summary token)."""
        z = self.encode(x)  # (B, h, T')
        z = z + nn.functional.gelu(self.relative_position(z))[..., : z.shape[-1]]
        z = self.input_drop(self.input_proj(self.input_norm(z.transpose(1, 2))))  # (B, T', 3h)
        z = torch.cat([self.summary_token.expand(len(z), 1, -1), z], dim=1)
        for layer in self.layers_:
            if self.training and self.cfg.layer_drop > 0 and torch.rand(()) < self.cfg.layer_drop:
                continue
            z = layer(z)
        return self.output_proj(z[:, 0])
