"""S4D against a one-mode case worked out by hand, the path ``s4d`` takes for a constant step, and the dtype
the reference brings an initial state to.

With one channel and one mode the recurrence is ``h_t = exp(dt A) h_{t-1} + (exp(dt A) - 1) / A * B * u_t``
and ``y_t = 2 Re(C h_t) + D u_t``.
"""

import cmath

import pytest
import torch

import biodyn.ops.s4d as s4d_mod
from biodyn.ops.s4d import s4d, s4d_chunked, s4d_fft_conv, s4d_reference

C128 = torch.complex128


def one_mode():
    """u (1, 3, 1), dt (1, 3, 1), A, B, C (1, 1) complex, D (1,)."""
    u = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64).reshape(1, 3, 1)
    dt = torch.tensor([0.5, 0.25, 1.0], dtype=torch.float64).reshape(1, 3, 1)
    a = torch.tensor([[-0.5 + 2.0j]], dtype=C128)
    b = torch.tensor([[1.0 - 1.0j]], dtype=C128)
    c = torch.tensor([[0.5 + 0.25j]], dtype=C128)
    return u, dt, a, b, c, torch.tensor([0.3], dtype=torch.float64)


def by_hand(u, dt, a, b, c, d, h0=0j):
    h, ys = complex(h0), []
    for ut, dtt in zip(u.flatten().tolist(), dt.flatten().tolist()):
        z = cmath.exp(dtt * a)
        h = z * h + (z - 1) / a * b * ut
        ys.append(2 * (c * h).real + d * ut)
    return ys, h


@pytest.mark.parametrize("fn", [s4d_reference, s4d_chunked], ids=["reference", "chunked"])
def test_one_mode_recurrence_by_hand(fn):
    u, dt, a, b, c, d = one_mode()
    h0 = torch.tensor([[[1.0 + 0.5j]]], dtype=C128)
    want, h_want = by_hand(u, dt, complex(a), complex(b), complex(c), float(d), 1.0 + 0.5j)
    y, h = fn(u, dt, a, b, c, d, h0, True)
    torch.testing.assert_close(y.flatten(), torch.tensor(want, dtype=torch.float64), rtol=1e-13, atol=1e-13)
    assert abs(complex(h.flatten()[0]) - h_want) < 1e-13


def test_constant_step_from_zero_runs_the_fft_convolution(monkeypatch):
    """path='auto' with a constant dt (H,), no initial state and no final state asked for is the FFT
    convolution (bit for bit), and nothing else runs; with a final state asked for it is the chunked scan."""
    u, dt, a, b, c, d = one_mode()
    dt1 = dt[0, 0]  # (H,) = (1,)
    want, _ = s4d_fft_conv(u, dt1, a, b, c, d)
    calls = []
    real_fft = s4d_mod.s4d_fft_conv

    def spy(*args):
        calls.append("fft")
        return real_fft(*args)

    monkeypatch.setattr(s4d_mod, "s4d_fft_conv", spy)
    monkeypatch.setattr(s4d_mod, "s4d_chunked", lambda *a, **k: pytest.fail("the chunked scan ran"))
    y, s = s4d(u, dt1, a, b, c, d)
    assert calls == ["fft"] and s is None
    assert torch.equal(y, want)
    hand, _ = by_hand(u, dt1.expand(3), complex(a), complex(b), complex(c), float(d))
    torch.testing.assert_close(y.flatten(), torch.tensor(hand, dtype=torch.float64), rtol=1e-12, atol=1e-12)


def test_reference_brings_the_initial_state_to_the_compute_dtype():
    """float32 inputs compute in complex64: a complex128 initial state is rounded to it, and the outputs are
    float32 and complex64 as from the rounded state."""
    u, dt, a, b, c, d = (x.to(torch.complex64) if x.is_complex() else x.float() for x in one_mode())
    h0 = torch.tensor([[[1.0 + 1e-9j]]], dtype=C128)  # 1e-9 is below complex64's resolution at 1
    y, h = s4d_reference(u, dt, a, b, c, d, h0, True)
    y32, h32 = s4d_reference(u, dt, a, b, c, d, h0.to(torch.complex64), True)
    assert y.dtype == torch.float32 and h.dtype == torch.complex64
    assert torch.equal(y, y32) and torch.equal(h, h32)


@pytest.mark.parametrize(
    "kw,want",
    [({}, (32, None)), ({"chunk_size": 4, "block_size": 8}, (4, 8))],
    ids=["defaults", "given"],
)
def test_the_chunk_and_block_sizes_reach_the_chunked_scan(monkeypatch, kw, want):
    """s4d hands its chunk size (32 by default) and block size (automatic by default) to the chunked scan."""
    u, dt, a, b, c, d = one_mode()
    seen = []
    real = s4d_mod.s4d_chunked

    def spy(*args, chunk_size, block_size):
        seen.append((chunk_size, block_size))
        return real(*args, chunk_size=chunk_size, block_size=block_size)

    monkeypatch.setattr(s4d_mod, "s4d_chunked", spy)
    y, _ = s4d(u, dt, a, b, c, d, **kw)
    assert seen == [want]
    hand, _ = by_hand(u, dt, complex(a), complex(b), complex(c), float(d))
    torch.testing.assert_close(y.flatten(), torch.tensor(hand, dtype=torch.float64), rtol=1e-12, atol=1e-12)


def test_automatic_block_size_of_one_state_entry_per_token():
    """batch = H = N = 1: one state entry per token, so a block takes all 2^21 entries' worth of tokens
    (2,097,152, already a multiple of 32); two entries per token halve it."""
    assert s4d_mod.s4d_block_size(1, 1, 1) == 2**21
    assert s4d_mod.s4d_block_size(2, 1, 1) == 2**20
    assert s4d_mod.s4d_block_size(1, 1, 1, chunk_size=3) == 2**21 // 3 * 3


def test_lin_init_by_hand():
    """S4D-Lin: A_n = -1/2 + i pi n for n = 0 .. N-1, the same row for every channel."""
    a = s4d_mod.s4d_lin_init(2, 3, C128)
    row = torch.tensor([-0.5 + 0j, complex(-0.5, torch.pi), complex(-0.5, 2 * torch.pi)], dtype=C128)
    assert a.shape == (2, 3) and a.dtype == C128
    torch.testing.assert_close(a, row.expand(2, 3), rtol=1e-7, atol=1e-7)  # pi n is taken in float32


def _several(t=9, b=2, h=2, n=3, seed=0):
    """u, dt (B, T, H) float64, A, B, C (H, N) complex128, D (H,), h0 (B, H, N)."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    a = s4d_mod.s4d_lin_init(h, n, C128) * (0.5 + torch.rand(h, n, generator=g, dtype=torch.float64))
    return (
        r(b, t, h),
        0.5 * torch.rand(b, t, h, generator=g, dtype=torch.float64),
        a,
        torch.complex(r(h, n), r(h, n)),
        torch.complex(r(h, n), r(h, n)),
        r(h),
        torch.complex(r(b, h, n), r(b, h, n)),
    )


def test_chunked_without_grad_defaults_and_smallest_sizes(monkeypatch):
    """Under no_grad the chunked scan runs its blocks directly, in chunks of 32 by default; it returns no final
    state unless asked; chunks and blocks of one token are valid, zero is not."""
    u, dt, a, b, c, d, h0 = _several()
    want, s_want = s4d_reference(u, dt, a, b, c, d, h0, True)
    chunks = []
    real = s4d_mod._block_forward

    def spy(*args, **kw):
        chunks.append(args[6])
        return real(*args, **kw)

    monkeypatch.setattr(s4d_mod, "_block_forward", spy)
    with torch.no_grad():
        y, s = s4d_chunked(u, dt, a, b, c, d, h0, True)
        assert chunks == [32]
        torch.testing.assert_close(y, want, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(s, s_want, rtol=1e-12, atol=1e-12)
        y, s = s4d_chunked(u, dt, a, b, c, d, h0)
        assert s is None
        torch.testing.assert_close(y, want, rtol=1e-12, atol=1e-12)
        y, s = s4d_chunked(u, dt, a, b, c, d, h0, True, chunk_size=1, block_size=1)
        torch.testing.assert_close(y, want, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(s, s_want, rtol=1e-12, atol=1e-12)
    # chunk_size 0 with the automatic block size is the same clear error (it divided by zero before)
    for kw in ({"chunk_size": 0}, {"block_size": 0}, {"chunk_size": 0, "block_size": 4}, {"block_size": -1}):
        with pytest.raises(ValueError, match="chunk_size and block_size must be >= 1"):
            s4d_chunked(u, dt, a, b, c, d, **kw)


@pytest.mark.parametrize("limit,keep", [(1792, True), (1791, False)], ids=["fits", "one_byte_over"])
def test_intermediates_are_kept_exactly_when_they_fit(monkeypatch, limit, keep):
    """recompute=None keeps the blocks' intermediates when 7 real (B, T_padded, H, N) tensors fit in
    KEEP_BYTES: B = 2, T = 5 padded to 8 by chunks of 4, H N = 2 modes, float64: 7 * 2 * 8 * 2 * 8 = 1,792
    bytes. Either way the gradients are the reference's."""
    u, dt, a, b, c, d, h0 = _several(t=5, b=2, h=1, n=2)
    monkeypatch.setattr(s4d_mod, "KEEP_BYTES", limit)
    seen = []
    real = s4d_mod._Block

    class Spy:
        @staticmethod
        def apply(*args):
            seen.append(args[2])
            return real.apply(*args)

    monkeypatch.setattr(s4d_mod, "_Block", Spy)
    xs = [x.clone().requires_grad_() for x in (u, dt, b)]
    y, _ = s4d_chunked(xs[0], xs[1], a, xs[2], c, d, h0, chunk_size=4, block_size=8)
    assert seen == [keep]
    want, _ = s4d_reference(u, dt, a, b, c, d, h0)
    torch.testing.assert_close(y, want, rtol=1e-12, atol=1e-12)
    gy = torch.randn(y.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ref = [x.clone().requires_grad_() for x in (u, dt, b)]
    for g1, g2 in zip(
        torch.autograd.grad((y * gy).sum(), xs),
        torch.autograd.grad((s4d_reference(ref[0], ref[1], a, ref[2], c, d, h0)[0] * gy).sum(), ref),
    ):
        torch.testing.assert_close(g1, g2, rtol=1e-10, atol=1e-10)


def test_chunked_state_dtype_follows_a_and_u():
    """The state dtype is A's and u's (at least complex64), and every input is brought to it: complex64 A, B,
    C with float64 u, dt compute in complex128 (the state is not rounded to complex64 between chunks);
    float32 dt with complex128 A computes in float64; a complex128 initial state in a complex64 call is
    rounded to complex64, and so are complex128 B and C."""
    u, dt, a, b, c, d, h0 = _several(t=20)
    lo = [x.to(torch.complex64) for x in (a, b, c)]
    hi = [x.to(C128) for x in lo]  # the same values
    y, s = s4d_chunked(u, dt, *lo, d, h0, True, chunk_size=4)
    want, s_want = s4d_reference(u, dt, *hi, d, h0, True)
    assert s.dtype == C128
    torch.testing.assert_close(y, want, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(s, s_want, rtol=1e-12, atol=1e-12)
    dt32 = dt.float()
    y, s = s4d_chunked(u, dt32, a, b, c, d, h0, True, chunk_size=4)
    want, s_want = s4d_reference(u, dt32.double(), a, b, c, d, h0, True)
    torch.testing.assert_close(y, want, rtol=1e-12, atol=1e-12)
    args32 = [u.float(), dt.float(), *lo, d.float()]
    y, s = s4d_chunked(*args32, h0, True, chunk_size=4)
    y_r, s_r = s4d_chunked(*args32, h0.to(torch.complex64), True, chunk_size=4)
    assert y.dtype == torch.float32 and s.dtype == torch.complex64
    assert torch.equal(y, y_r) and torch.equal(s, s_r)
    # complex128 B or C in a complex64 call: rounded to complex64 first, the same numbers as given so
    for i in (3, 4):
        args = list(args32)
        args[i] = (args[i].to(C128) + 1e-9j).to(C128)  # not representable in complex64
        rounded = list(args32)
        rounded[i] = args[i].to(torch.complex64)
        y, s = s4d_chunked(*args, h0, True, chunk_size=4)
        y_r, s_r = s4d_chunked(*rounded, h0, True, chunk_size=4)
        assert y.dtype == torch.float32 and s.dtype == torch.complex64
        assert torch.equal(y, y_r) and torch.equal(s, s_r), i


@pytest.mark.parametrize(
    "a_shape,b_shape,c_shape",
    [((2, 3), (2, 4), (2, 3)), ((3, 3), (3, 3), (3, 3)), ((2, 3, 1), (2, 3, 1), (2, 3, 1))],
    ids=["B", "A_channels", "A_3d"],
)
def test_mode_shapes_are_checked(a_shape, b_shape, c_shape):
    u, dt = torch.zeros(1, 4, 2), torch.zeros(1, 4, 2)
    a, b, c = (torch.zeros(s, dtype=C128) for s in (a_shape, b_shape, c_shape))
    for fn in (s4d_reference, s4d_chunked, s4d):
        with pytest.raises(ValueError, match=r"expected A, B, C \(H, N\)"):
            fn(u, dt, a, b, c)
