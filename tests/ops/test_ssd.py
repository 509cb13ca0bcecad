import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from biodyn import branches
from biodyn.ops.ssd import ssd_chunked, ssd_reference, ssd_step
from biodyn.testing import assert_close

NAMES = ["x", "dt", "A", "B", "C", "D", "h0"]


def make(b, t, h, p, g, n, dtype, seed=0, dt_scale=0.5, grad=True):
    gen = torch.Generator().manual_seed(seed)

    def r(*s):
        return torch.randn(*s, generator=gen, dtype=dtype)

    xs = [
        r(b, t, h, p),
        dt_scale * torch.rand(b, t, h, generator=gen, dtype=dtype),
        -2 * torch.rand(h, generator=gen, dtype=dtype),
        r(b, t, g, n),
        r(b, t, g, n),
        r(h),
        r(b, h, p, n),
    ]
    if grad:
        for z in xs:
            z.requires_grad_(True)
    return xs


def both(xs, chunk):
    *args, s0 = xs
    return (
        ssd_reference(*args, initial_state=s0, output_final_state=True),
        ssd_chunked(*args, initial_state=s0, output_final_state=True, chunk_size=chunk),
    )


@settings(max_examples=12, deadline=None)
@given(t=st.integers(1, 70), chunk=st.sampled_from([4, 16, 64]), seed=st.integers(0, 1000))
def test_chunked_equals_reference_float64(t, chunk, seed, kc):
    xs = make(2, t, 4, 3, 2, 5, torch.float64, seed)
    ref, fast = both(xs, chunk)
    kc.close(fast[0], ref[0], "y")
    kc.close(fast[1], ref[1], "final_state")
    kc.same_grads(ref, fast, xs, NAMES)


@pytest.mark.parametrize("t", [1, 33, 129], ids=lambda t: f"T{t}")
def test_chunked_equals_reference_float32(t, kc):
    xs = make(2, t, 4, 8, 1, 8, torch.float32, seed=t)
    ref, fast = both(xs, 32)
    kc.close(fast[0], ref[0], "y")
    kc.close(fast[1], ref[1], "final_state")
    kc.same_grads(ref, fast, xs, NAMES)


def test_step_and_halves_equal_full_pass():
    x, dt, a, b, c, d, s0 = make(1, 20, 2, 3, 1, 4, torch.float64, grad=False)
    y_full, s_full = ssd_chunked(x, dt, a, b, c, d, s0, True, chunk_size=8)
    s, ys = s0, []
    for i in range(20):
        y, s = ssd_step(x[:, i], dt[:, i], a, b[:, i], c[:, i], d, s)
        ys.append(y)
    assert_close(torch.stack(ys, 1), y_full, rtol=1e-12)
    assert_close(s, s_full, rtol=1e-12)
    y1, s1 = ssd_chunked(x[:, :9], dt[:, :9], a, b[:, :9], c[:, :9], d, s0, True, chunk_size=8)
    y2, s2 = ssd_chunked(x[:, 9:], dt[:, 9:], a, b[:, 9:], c[:, 9:], d, s1, True, chunk_size=8)
    assert_close(torch.cat([y1, y2], 1), y_full, rtol=1e-12)
    assert_close(s2, s_full, rtol=1e-12)


def test_gradcheck_tiny():
    xs = make(1, 5, 2, 2, 1, 2, torch.float64)
    assert torch.autograd.gradcheck(
        lambda *a: ssd_chunked(*a[:6], initial_state=a[6], output_final_state=True, chunk_size=2),
        tuple(xs),
        eps=1e-6,
        atol=1e-6,
    )


@pytest.mark.parametrize("dt_scale", [1e-8, 50.0], ids=["no-decay", "full-decay"])
def test_extreme_decay_and_long_sequence(dt_scale, kc):
    xs = make(1, 40, 2, 3, 1, 4, torch.float64, dt_scale=dt_scale)
    ref, fast = both(xs, 16)
    assert (ref[0] - fast[0]).abs().max() < 1e-8 * max(1.0, ref[0].abs().max().item())
    assert all(torch.isfinite(gr).all() for gr in kc.grads(fast, xs))
    x, dt, a, b, c, d, s0 = make(1, 16384, 1, 2, 1, 2, torch.float32, dt_scale=0.1)
    y, _ = ssd_chunked(x, dt, a, b, c, d, s0, True)
    y.square().mean().backward()
    assert torch.isfinite(y).all() and torch.isfinite(x.grad).all() and torch.isfinite(dt.grad).all()


def test_empty_sequence_is_a_clear_error():
    x, dt, b = torch.zeros(1, 0, 2, 4), torch.zeros(1, 0, 2), torch.zeros(1, 0, 1, 3)
    for fn in (ssd_chunked, ssd_reference):
        with pytest.raises(ValueError, match="empty sequence"):
            fn(x, dt, -torch.ones(2), b, b)


@pytest.mark.parametrize(("t", "chunk", "block_tokens"), [(37, 4, 8), (64, 8, 16), (5, 2, 1)])
def test_several_blocks_equal_reference_float64(t, chunk, block_tokens, monkeypatch, kc):
    """Blocks of chunks hand the state over and are recomputed in backward; every gradient must survive that."""
    import biodyn.ops.ssd as ssd_mod

    monkeypatch.setattr(ssd_mod, "BLOCK_TOKENS", block_tokens)
    xs = make(2, t, 4, 3, 2, 5, torch.float64, seed=t)
    ref, fast = both(xs, chunk)
    kc.close(fast[0], ref[0], "y")
    kc.close(fast[1], ref[1], "final_state")
    kc.same_grads(ref, fast, xs, NAMES)
    # inputs without gradients (a frozen encoder feeding the layer) still train A and D
    x, dt, a, b, c, d, _ = xs
    y, _ = ssd_chunked(x.detach(), dt.detach(), a, b.detach(), c.detach(), d, chunk_size=chunk)
    y_ref, _ = ssd_reference(x.detach(), dt.detach(), a, b.detach(), c.detach(), d)
    for g_fast, g_ref in zip(
        torch.autograd.grad(y.square().sum(), (a, d)), torch.autograd.grad(y_ref.square().sum(), (a, d))
    ):
        assert (g_fast - g_ref).abs().max() < 1e-10


@pytest.mark.parametrize(("h", "g"), [(4, 2), (6, 3), (4, 4)], ids=["H4G2", "H6G3", "H4G4"])
def test_grouped_step_equals_reference_recurrence(h, g):
    """Head i reads group i // (H / G) of B and C: token by token, ssd_step with G > 1 equals the
    reference recurrence (which expands the groups itself), state included."""
    x, dt, a, b, c, d, s0 = make(2, 9, h, 3, g, 4, torch.float64, seed=h + g, grad=False)
    y_ref, s_ref = ssd_reference(x, dt, a, b, c, d, initial_state=s0, output_final_state=True)
    s, ys = s0, []
    with branches.count() as seen:
        for i in range(x.shape[1]):
            y, s = ssd_step(x[:, i], dt[:, i], a, b[:, i], c[:, i], d, s)
            ys.append(y)
    assert seen["ssd.step.grouped"] == x.shape[1]
    assert_close(torch.stack(ys, 1), y_ref, rtol=1e-12, name="y")
    assert_close(s, s_ref, rtol=1e-12, name="state")
    # by hand for the last head of the first step from a zero state: y = (dt x B^T) C + D x, B/C of group G-1
    y0, _ = ssd_step(x[:, 0], dt[:, 0], a, b[:, 0], c[:, 0], d)
    want = (
        dt[:, 0, -1, None] * x[:, 0, -1] * (b[:, 0, -1] * c[:, 0, -1]).sum(-1, keepdim=True)
        + d[-1] * x[:, 0, -1]
    )
    assert_close(y0[:, -1], want, rtol=1e-12, name="last head by hand")


def test_mamba2_block_streams_with_several_groups():
    """Mamba2Block.step with ngroups > 1 (4 heads sharing 2 groups) equals its forward pass."""
    from biodyn.nn.mamba2 import Mamba2Block
    from biodyn.testing import check_streaming_and_grads

    torch.manual_seed(0)
    block = Mamba2Block(8, d_state=4, headdim=4, expand=2, ngroups=2, chunk_size=4).double()
    assert block.nheads == 4 and block.ngroups == 2
    with branches.count() as seen:
        check_streaming_and_grads(block, torch.randn(2, 11, 8, dtype=torch.float64))
    assert seen["ssd.step.grouped"] == 11 and seen["ssd.pad"] > 0  # T = 11 is not a multiple of the chunk
