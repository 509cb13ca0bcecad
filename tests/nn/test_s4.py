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


def test_s4_keeps_every_channels_own_input_and_step():
    """Each of the D channels is its own SISO system: its own input u_c and step dt_c (PRISM's published
    layer averaged both over each head's channels; that collapses a head to one scalar input)."""
    import torch.nn.functional as F

    from biodyn.nn.s4 import S4SSM
    from biodyn.ops.s4d import s4d_reference

    torch.manual_seed(0)
    d, heads = 8, 2
    ssm = S4SSM(d, d_state=4).double()
    with torch.no_grad():  # a spread of steps so that averaging them would change the result
        ssm.dt_proj.weight.normal_(0, 1.0)
    x = torch.randn(2, 9, d, dtype=torch.float64)
    u, z = ssm.in_proj(x).chunk(2, dim=-1)
    dt = F.softplus(ssm.dt_proj(x))
    assert dt.shape == (2, 9, d)
    a, b, c = ssm.ssm_params()
    y_ref, _ = s4d_reference(u, dt, a, b, c, ssm.D)  # per channel
    expect = ssm.out_proj(y_ref * F.silu(z))
    assert_close = torch.testing.assert_close
    assert_close(ssm(x), expect, rtol=1e-10, atol=1e-10)
    # the head-averaged variant is a different function: the test above would catch it
    hd = d // heads
    u_avg = u.reshape(2, 9, heads, hd).mean(-1, keepdim=True).expand(2, 9, heads, hd).reshape(2, 9, d)
    dt_avg = dt.reshape(2, 9, heads, hd).mean(-1, keepdim=True).expand(2, 9, heads, hd).reshape(2, 9, d)
    y_avg, _ = s4d_reference(u_avg, dt_avg, a, b, c, ssm.D)
    assert (ssm.out_proj(y_avg * F.silu(z)) - expect).abs().max() > 1e-3
    # a change to one channel's input reaches that channel's SSM output only
    u2 = u.clone()
    u2[..., 3] += 1.0
    y2, _ = s4d_reference(u2, dt, a, b, c, ssm.D)
    diff = (y2 - y_ref).abs().amax((0, 1))
    assert diff[3] > 1e-3 and torch.all(diff[torch.arange(d) != 3] == 0)
