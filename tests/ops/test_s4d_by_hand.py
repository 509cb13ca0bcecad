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
