"""Temporal convolutional encoder (Bai et al. 2018 style) of the Brain-Go-Brr seizure detector."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_weights


class TCNBlock(nn.Module):
    """Two dilated convolutions (kernel ``k``, dilation ``d``) with BatchNorm, GELU and dropout, plus a
    residual (1x1 convolution when the width changes). ``causal=True`` pads on the left only.

    Shapes: ``(B, C_in, T) -> (B, C_out, T)``.
    """

    def __init__(self, c_in: int, c_out: int, kernel_size: int, dilation: int, dropout: float, causal: bool):
        super().__init__()
        self.pad = (kernel_size - 1) * dilation
        self.causal = causal
        self.conv1 = nn.Conv1d(c_in, c_out, kernel_size, dilation=dilation)
        self.norm1 = nn.BatchNorm1d(c_out)
        self.conv2 = nn.Conv1d(c_out, c_out, kernel_size, dilation=dilation)
        self.norm2 = nn.BatchNorm1d(c_out)
        self.drop = nn.Dropout(dropout)
        self.res = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def _padded(self, x: torch.Tensor) -> torch.Tensor:
        if self.causal:
            return F.pad(x, (self.pad, 0))
        return F.pad(x, (self.pad // 2, self.pad - self.pad // 2))

    @staticmethod
    def _conv_norm(conv: nn.Conv1d, norm: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
        """``norm(conv(x))``; in eval mode without autograd (inference) the normalisation's affine map is
        folded into the convolution's weights (one pass over the activations fewer; torch's fusion returns
        detached weights, so with gradients enabled the two run apart)."""
        if norm.training or norm.running_mean is None or torch.is_grad_enabled():
            return norm(conv(x))
        w, b = fuse_conv_bn_weights(
            conv.weight, conv.bias, norm.running_mean, norm.running_var, norm.eps, norm.weight, norm.bias
        )
        return F.conv1d(x, w, b, conv.stride, conv.padding, conv.dilation, conv.groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.drop(F.gelu(self._conv_norm(self.conv1, self.norm1, self._padded(x))))
        h = self.drop(F.gelu(self._conv_norm(self.conv2, self.norm2, self._padded(h))))
        return F.gelu(h + self.res(x))


class TCN(nn.Module):
    """Residual dilated blocks, then a strided reduction.

    Defaults (Brain-Go-Brr): 8 blocks, dilations 1, 2, ..., 128, kernel 7, widths 64, 64, 128, 128, 256, 256,
    512, 512 (``[64, 128, 256, 512]`` each twice), dropout 0.15, centred ("same") padding, and a stride-16
    convolution (kernel 16) down to ``T / 16`` steps.

    Shapes: ``(B, C, T) -> (B, channels[-1], T // stride)``; ``T`` must be a multiple of ``stride``.
    """

    def __init__(
        self,
        in_channels: int,
        channels: Sequence[int] = (64, 64, 128, 128, 256, 256, 512, 512),
        kernel_size: int = 7,
        dilations: Sequence[int] | None = None,
        dropout: float = 0.15,
        stride: int = 16,
        causal: bool = False,
    ):
        super().__init__()
        channels = list(channels)
        dilations = list(dilations) if dilations is not None else [2**i for i in range(len(channels))]
        if len(dilations) != len(channels):
            raise ValueError(f"{len(channels)} channel widths but {len(dilations)} dilations")
        blocks, c = [], in_channels
        for w, d in zip(channels, dilations):
            blocks.append(TCNBlock(c, w, kernel_size, d, dropout, causal))
            c = w
        self.blocks = nn.Sequential(*blocks)
        self.stride = stride
        self.reduce = nn.Conv1d(c, c, stride, stride=stride)
        self.out_channels = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % self.stride:
            raise ValueError(f"TCN input length {x.shape[-1]} is not a multiple of stride {self.stride}")
        return self.reduce(self.blocks(x))
