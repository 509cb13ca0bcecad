import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from biodyn.ops.s4d import (
    s4d_block_size,
    s4d_chunked,
    s4d_fft_conv,
    s4d_kernel,
    s4d_lin_init,
    s4d_reference,
    s4d_step,
)

NAMES = ["u", "dt", "A", "B", "C", "D", "h0"]


def make(b, t, h, n, dtype, seed=0, dt_scale=0.5, grad=True):
    gen = torch.Generator().manual_seed(seed)
    cdt = torch.complex128 if dtype == torch.float64 else torch.complex64

    def r(*s):
        return torch.randn(*s, generator=gen, dtype=dtype)

    a = s4d_lin_init(h, n, cdt) * (0.5 + torch.rand(h, n, generator=gen, dtype=dtype))
    xs = [
        r(b, t, h),
        dt_scale * torch.rand(b, t, h, generator=gen, dtype=dtype),
        a,
        torch.complex(r(h, n), r(h, n)),
        torch.complex(r(h, n), r(h, n)),
        r(h),
        torch.complex(r(b, h, n), r(b, h, n)),
    ]
    if grad:
        for z in xs:
            z.requires_grad_(True)
    return xs


def both(xs, chunk):
    *args, s0 = xs
    return (
        s4d_reference(*args, initial_state=s0, output_final_state=True),
        s4d_chunked(*args, initial_state=s0, output_final_state=True, chunk_size=chunk),
    )


def rel(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item()


@settings(max_examples=10, deadline=None)
@given(t=st.integers(1, 45), chunk=st.sampled_from([2, 3, 8, 16]), seed=st.integers(0, 1000))
def test_chunked_equals_reference_float64(t, chunk, seed, kc):
    xs = make(2, t, 3, 4, torch.float64, seed)
    ref, fast = both(xs, chunk)
    kc.close(fast[0], ref[0], "y")
    kc.close(fast[1], ref[1], "final_state")
    kc.same_grads(ref, fast, xs, NAMES)


@pytest.mark.parametrize("t", [1, 17, 64])
def test_chunked_equals_reference_float32(t, kc):
    xs = make(2, t, 4, 8, torch.float32, seed=t)
    ref, fast = both(xs, 16)
    kc.close(fast[0], ref[0], "y")
    kc.close(fast[1], ref[1], "final_state")
    kc.same_grads(ref, fast, xs, NAMES)


def test_step_and_halves_equal_full():
    u, dt, a, b, c, d, h0 = make(2, 23, 3, 4, torch.float64, grad=False)
    y, s = s4d_chunked(u, dt, a, b, c, d, h0, True, chunk_size=8)
    state, outs = h0, []
    for t in range(23):
        y_t, state = s4d_step(u[:, t], dt[:, t], a, b, c, d, state)
        outs.append(y_t)
    assert (torch.stack(outs, 1) - y).abs().max() < 1e-10 and (state - s).abs().max() < 1e-10
    y1, s1 = s4d_chunked(u[:, :10], dt[:, :10], a, b, c, d, h0, True, chunk_size=8)
    y2, s2 = s4d_chunked(u[:, 10:], dt[:, 10:], a, b, c, d, s1, True, chunk_size=8)
    assert (torch.cat([y1, y2], 1) - y).abs().max() < 1e-10 and (s2 - s).abs().max() < 1e-10


def test_gradcheck_tiny():
    xs = make(1, 5, 2, 2, torch.float64)
    for fn in (s4d_chunked, s4d_reference):

        def f(u, dt, a, b, c, d, h0, fn=fn):
            kw = {"chunk_size": 2} if fn is s4d_chunked else {}
            y, s = fn(u, dt, a, b, c, d, h0, True, **kw)
            return y, s.real, s.imag

        assert torch.autograd.gradcheck(f, xs)


@pytest.mark.parametrize("dt_value", [1e-8, 1e4])
def test_extreme_decays_finite(dt_value, kc):
    xs = make(1, 40, 2, 3, torch.float32)
    with torch.no_grad():
        xs[1].fill_(dt_value)
    ref, fast = both(xs, 16)
    assert torch.isfinite(fast[0]).all() and torch.isfinite(torch.view_as_real(fast[1])).all()
    assert rel(fast[0], ref[0]) < 1e-4
    for g in kc.grads(fast, xs):
        assert torch.isfinite(torch.view_as_real(g) if g.is_complex() else g).all()


def test_long_sequence_finite():
    xs = make(1, 16384, 1, 2, torch.float32, dt_scale=0.1)
    y, _ = s4d_chunked(*xs[:6], initial_state=xs[6], output_final_state=True)
    y.sum().backward()
    assert torch.isfinite(y).all() and all(
        torch.isfinite(torch.view_as_real(z.grad) if z.is_complex() else z.grad).all() for z in xs
    )


@pytest.mark.parametrize("t", [1, 63, 200])
def test_fft_conv_equals_reference_scan(t):
    u, dt, a, b, c, d, _ = make(2, t, 3, 6, torch.float64, grad=False)
    dtc = dt[0, 0]  # (H,)
    ref, _ = s4d_reference(u, dtc.expand(u.shape), a, b, c, d)
    y, none = s4d_fft_conv(u, dtc, a, b, c, d)
    assert none is None and (y - ref).abs().max() < 1e-10
    # the kernel is the impulse response
    imp = torch.zeros(1, t, 3, dtype=torch.float64)
    imp[:, 0] = 1
    k, _ = s4d_reference(imp, dtc.expand(imp.shape), a, b, c)
    assert (s4d_kernel(dtc, a, b, c, t) - k[0].T).abs().max() < 1e-10


def test_bad_shapes():
    u, dt, a, b, c, _, _ = make(1, 4, 2, 3, torch.float64, grad=False)
    with pytest.raises(ValueError, match="dt"):
        s4d_chunked(u, dt[:, :2], a, b, c)
    with pytest.raises(ValueError, match="complex"):
        s4d_reference(u, dt, a.real, b, c)


@pytest.mark.parametrize(("t", "chunk", "block"), [(29, 3, 8), (64, 4, 16), (5, 8, 4)])
def test_several_blocks_equal_reference_float64(t, chunk, block, kc):
    """Blocks hand the state over and are recomputed in backward; every gradient must survive that."""
    xs = make(2, t, 3, 4, torch.float64, seed=t)
    *args, s0 = xs
    ref = s4d_reference(*args, initial_state=s0, output_final_state=True)
    fast = s4d_chunked(*args, initial_state=s0, output_final_state=True, chunk_size=chunk, block_size=block)
    kc.close(fast[0], ref[0], "y")
    kc.close(fast[1], ref[1], "final_state")
    kc.same_grads(ref, fast, xs, NAMES)


def test_automatic_block_size():
    """At least 512 tokens, grown for narrow inputs until a block holds 2^21 state entries; a chunk multiple."""
    assert s4d_block_size(1, 64, 32) == 1024  # PRISM's speed-benchmark layer: 2,048 entries per token
    assert s4d_block_size(16, 64, 32) == s4d_block_size(4, 256, 64) == 512
    assert s4d_block_size(1, 32, 16, chunk_size=32) == 4096
    assert s4d_block_size(1, 3, 3, chunk_size=7) % 7 == 0
    assert s4d_block_size(1, 1, 1, chunk_size=1024) >= 1024


def test_automatic_blocks_equal_reference(monkeypatch, kc):
    """block_size=None cuts the sequence where s4d_block_size says (here: several blocks), with exact results."""
    import biodyn.ops.s4d as mod

    monkeypatch.setattr(mod, "MIN_BLOCK", 4)
    monkeypatch.setattr(mod, "BLOCK_ELEMENTS", 2 * 3 * 4 * 8)  # B H N x 8 tokens
    calls = []
    forward = mod._block_forward
    monkeypatch.setattr(
        mod, "_block_forward", lambda u, *a, **k: calls.append(u.shape[1]) or forward(u, *a, **k)
    )
    xs = make(2, 29, 3, 4, torch.float64, seed=11)
    *args, s0 = xs
    ref = s4d_reference(*args, initial_state=s0, output_final_state=True)
    fast = s4d_chunked(*args, initial_state=s0, output_final_state=True, chunk_size=4, recompute=False)
    assert calls == [8, 8, 8, 5]
    kc.close(fast[0], ref[0], "y")
    kc.same_grads(ref, fast, xs, NAMES)


def test_only_parameters_need_gradients():
    """Inputs without gradients (a frozen encoder feeding the layer) still train A, B, C, D."""
    xs = make(1, 20, 2, 3, torch.float64)
    u, dt = xs[0].detach(), xs[1].detach()
    y, _ = s4d_chunked(u, dt, *xs[2:6], chunk_size=4, block_size=8)
    ref, _ = s4d_reference(u, dt, *xs[2:6])
    g_fast = torch.autograd.grad(y.square().sum(), xs[2:6])
    g_ref = torch.autograd.grad(ref.square().sum(), xs[2:6])
    for a, b in zip(g_fast, g_ref):
        assert (a - b).abs().max() < 1e-10


def test_empty_sequence_is_a_clear_error():
    a = s4d_lin_init(2, 3)
    u = torch.zeros(1, 0, 2)
    for fn in (s4d_chunked, s4d_reference):
        with pytest.raises(ValueError, match="empty sequence"):
            fn(u, u, a, a, a)


@pytest.mark.parametrize("recompute", [True, False])
def test_kept_and_recomputed_intermediates_give_reference_gradients(recompute, kc):
    """Backward either recomputes each block or uses the forward's kept intermediates; both are exact."""
    xs = make(2, 29, 3, 4, torch.float64, seed=3)
    *args, s0 = xs
    ref = s4d_reference(*args, initial_state=s0, output_final_state=True)
    fast = s4d_chunked(
        *args, initial_state=s0, output_final_state=True, chunk_size=3, block_size=8, recompute=recompute
    )
    kc.close(fast[0], ref[0], "y")
    kc.same_grads(ref, fast, xs, NAMES)


def test_kept_intermediates_survive_a_second_backward():
    """The backward pass overwrites kept intermediates in place: a retained graph's second backward recomputes."""
    xs = make(1, 20, 2, 3, torch.float64, seed=5)
    y, _ = s4d_chunked(*xs[:6], chunk_size=4, block_size=8, recompute=False)
    loss = y.square().sum()
    g1 = torch.autograd.grad(loss, xs[:6], retain_graph=True)
    g2 = torch.autograd.grad(loss, xs[:6])
    for a, b in zip(g1, g2):
        assert (a - b).abs().max() < 1e-12


@pytest.mark.parametrize("recompute", [True, False])
def test_no_workspace_is_held_between_passes(recompute, monkeypatch):
    """The scratch buffers shared by a call's blocks are dropped when its forward pass ends and when its
    backward pass is done: a model's S4 layers held one each from their forward through the next step's
    forward (over a GiB per layer at batch 32 x 1,000 tokens). A retained graph's second backward allocates
    them again and gives the same gradients."""
    import biodyn.ops.s4d as s4d

    made = []

    class Tracked(s4d._Workspace):
        def __init__(self):
            super().__init__()
            made.append(self)

    monkeypatch.setattr(s4d, "_Workspace", Tracked)
    xs = make(2, 29, 3, 4, torch.float64, seed=7)
    y, _ = s4d_chunked(*xs[:6], chunk_size=3, block_size=8, recompute=recompute)
    shared = made[0]  # the call's workspace (kept-intermediate workspaces are each block's own)
    assert not shared._buffers
    loss = y.square().sum()
    g1 = torch.autograd.grad(loss, xs[:6], retain_graph=True)
    assert not shared._buffers
    g2 = torch.autograd.grad(loss, xs[:6])
    assert not shared._buffers
    for a, b in zip(g1, g2):
        assert (a - b).abs().max() < 1e-12
