"""The ResNet-1D baseline against Wang, Yan & Oates (2017) as its authors published it."""

import torch
from torch import nn

from biodyn.models import create_model


def test_every_shortcut_is_batch_normalised_and_the_count_is_hand_worked():
    model = create_model("resnet1d", n_chans=12, n_outputs=5, n_times=1000, sfreq=100.0)
    b1, b2, b3 = model.blocks
    # widths 12 -> 64 -> 128 change: 1x1 conv + BatchNorm; 128 -> 128 does not: BatchNorm alone (not an identity)
    assert isinstance(b1.short, nn.Sequential) and isinstance(b1.short[1], nn.BatchNorm1d)
    assert isinstance(b2.short, nn.Sequential) and isinstance(b2.short[1], nn.BatchNorm1d)
    assert isinstance(b3.short, nn.BatchNorm1d)
    # convs (no bias) + 3 BatchNorms (2 x width) per block + shortcut; kernels 8, 5, 3
    block1 = 12 * 64 * 8 + 64 * 64 * 5 + 64 * 64 * 3 + 3 * 128 + 12 * 64 + 128
    block2 = 64 * 128 * 8 + 128 * 128 * 5 + 128 * 128 * 3 + 3 * 256 + 64 * 128 + 256
    block3 = 128 * 128 * (8 + 5 + 3) + 3 * 256 + 256
    head = 128 * 5 + 5
    assert sum(p.numel() for p in model.parameters()) == block1 + block2 + block3 + head == 509_829


def test_equal_width_shortcut_normalises_its_input():
    torch.manual_seed(0)
    model = create_model("resnet1d", n_chans=3, n_outputs=2, n_times=64, sfreq=100.0, widths=[8, 8, 8])
    block = model.blocks[1]
    x = 5.0 + 3.0 * torch.randn(4, 8, 64)  # far from zero mean / unit variance
    out = block.short(x)  # training mode: batch statistics
    assert torch.allclose(out.mean(dim=(0, 2)), torch.zeros(8), atol=1e-5)
    assert torch.allclose(out.var(dim=(0, 2), unbiased=False), torch.ones(8), atol=1e-3)
