import math

import torch

from biodyn.nn.s4 import S4Block
from biodyn.testing import check_streaming_and_grads


def test_s4_block_streaming_equals_forward_and_grads():
    torch.manual_seed(0)
    blk = S4Block(8, d_state=6, chunk_size=4).double()
    x = torch.randn(2, 13, 8, dtype=torch.float64)
    assert blk(x).shape == x.shape
    check_streaming_and_grads(blk, x)


def test_s4_init_and_no_weight_decay():
    blk = S4Block(16, d_state=8)
    a, _, _ = blk.ssm.ssm_params()
    assert torch.allclose(a[3], torch.complex(torch.full((8,), -0.5), math.pi * torch.arange(8.0)))
    dt = torch.nn.functional.softplus(blk.ssm.dt_proj.bias)
    assert dt.min() >= 0.001 - 1e-6 and dt.max() <= 0.1 + 1e-6
    for p in (blk.ssm.A_log_re, blk.ssm.A_im, blk.ssm.D, blk.ssm.dt_proj.bias, blk.norm1.weight):
        assert getattr(p, "_no_weight_decay", False)


def test_s4_block_is_causal_float32():
    torch.manual_seed(0)
    blk = S4Block(8, d_state=4)
    x = torch.randn(1, 20, 8)
    y = blk(x)
    x2 = x.clone()
    x2[:, 12:] += 1
    assert torch.allclose(blk(x2)[:, :12], y[:, :12], atol=1e-6)
    assert not torch.allclose(blk(x2)[:, 12:], y[:, 12:], atol=1e-6)
