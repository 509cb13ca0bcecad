import pytest
import torch

from biodyn.nn import Bidirectional, GatedDeltaBlock, RMSNorm, ShortCausalConv1d, SwiGLU
from biodyn.testing import assert_close, check_streaming_and_grads, requires_cuda


def test_conv_step_equals_forward():
    torch.manual_seed(0)
    conv = ShortCausalConv1d(6, 4).double()
    x = torch.randn(2, 11, 6, dtype=torch.float64)
    full = conv(x)
    buf = conv.allocate_state(2, dtype=torch.float64)
    steps = []
    for t in range(11):
        y, buf = conv.step(x[:, t], buf)
        steps.append(y)
    assert_close(torch.stack(steps, 1), full, rtol=1e-12)
    # causal: changing the future does not change the past
    x2 = x.clone()
    x2[:, 7:] += 1
    assert torch.equal(conv(x2)[:, :7], full[:, :7])


def test_rmsnorm_and_swiglu():
    x = torch.randn(3, 5, 8)
    y = RMSNorm(8)(x)
    assert_close(y.pow(2).mean(-1), torch.ones(3, 5), rtol=1e-4)
    assert SwiGLU(8, 2).gate_up.out_features == 32 and SwiGLU(8)(x).shape == x.shape


def test_gated_delta_block_streaming_equals_forward_and_grads():
    torch.manual_seed(0)
    blk = GatedDeltaBlock(16, num_heads=4, chunk_size=8).double()
    assert torch.allclose(
        torch.sigmoid(blk.gates.bias[:4]), torch.tensor(0.982, dtype=torch.float64), atol=1e-3
    )
    check_streaming_and_grads(blk, torch.randn(2, 19, 16, dtype=torch.float64))


def test_bidirectional_sees_the_future():
    torch.manual_seed(0)
    blk = Bidirectional(GatedDeltaBlock(8, num_heads=2, chunk_size=4), dim=8)
    x = torch.randn(1, 10, 8)
    y = blk(x)
    x2 = x.clone()
    x2[:, -1] += 1
    assert not torch.allclose(blk(x2)[:, 0], y[:, 0])  # the first output depends on the last input
    assert Bidirectional(GatedDeltaBlock(8, 2), 8, merge="add")(x).shape == x.shape
    with pytest.raises(ValueError, match="merge"):
        Bidirectional(GatedDeltaBlock(8, 2), 8, merge="max")


@requires_cuda
def test_fla_path_matches_torch_on_cuda(monkeypatch):
    from biodyn.ops import _backend

    if _backend.fla_chunk_gated_delta_rule() is None:
        pytest.skip("flash-linear-attention is not installed")
    monkeypatch.delenv("BIODYN_FORCE_TORCH", raising=False)
    monkeypatch.setenv("BIODYN_BACKEND", "auto")
    torch.manual_seed(0)
    blk = GatedDeltaBlock(64, num_heads=4).cuda()
    x = torch.randn(2, 200, 64, device="cuda")
    with _backend.record_backends() as calls:
        fast = blk(x)
    assert calls == [("gated_delta_rule", "fla")]  # the library really ran
    monkeypatch.setenv("BIODYN_BACKEND", "torch")
    with _backend.record_backends() as calls:
        slow = blk(x)
    assert calls == [("gated_delta_rule", "chunked")]
    assert_close(fast, slow, rtol=5e-3, atol=1e-4)


def test_mamba2_block_streaming_equals_forward_and_grads():
    from biodyn.nn import Mamba2Block

    torch.manual_seed(0)
    blk = Mamba2Block(8, d_state=4, headdim=4, chunk_size=4).double()
    check_streaming_and_grads(blk, torch.randn(2, 13, 8, dtype=torch.float64))
    assert blk.A_log._no_weight_decay and blk.dt_bias._no_weight_decay
