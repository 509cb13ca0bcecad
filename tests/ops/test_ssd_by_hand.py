"""SSD against a scalar case worked out by hand, the reference's optional final state, and the chunk size
reaching the chunked kernel (seen through its padding branch).

With one head, one group and P = N = 1 the recurrence is scalar: ``S_t = exp(dt_t A) S_{t-1} + dt_t x_t B_t``
and ``y_t = S_t C_t + D x_t``.
"""

import math

import pytest
import torch

from biodyn import branches
from biodyn.ops.ssd import ssd, ssd_chunked, ssd_reference

F64 = torch.float64


def scalar_case():
    """Two tokens, B = H = G = P = N = 1."""
    x = torch.tensor([2.0, -1.0], dtype=F64).reshape(1, 2, 1, 1)
    dt = torch.tensor([math.log(2.0), math.log(4.0)], dtype=F64).reshape(1, 2, 1)
    a = torch.tensor([-1.0], dtype=F64)  # exp(dt A) = 1/2, then 1/4
    b = torch.tensor([3.0, 0.5], dtype=F64).reshape(1, 2, 1, 1)
    c = torch.tensor([1.0, 2.0], dtype=F64).reshape(1, 2, 1, 1)
    return x, dt, a, b, c


def test_scalar_recurrence_by_hand():
    x, dt, a, b, c = scalar_case()
    l2, l4 = math.log(2.0), math.log(4.0)
    d = torch.tensor([0.5], dtype=F64)
    s0 = torch.full((1, 1, 1, 1), 4.0, dtype=F64)
    # S1 = 4 / 2 + ln2 * 2 * 3 = 2 + 6 ln2;          y1 = S1 * 1 + 0.5 * 2
    # S2 = S1 / 4 + ln4 * (-1) * 0.5 = S1 / 4 - ln2;  y2 = S2 * 2 + 0.5 * (-1)
    s1 = 2 + 6 * l2
    s2 = s1 / 4 - 0.5 * l4
    want_y = torch.tensor([s1 + 1.0, 2 * s2 - 0.5], dtype=F64)
    for fn in (ssd_reference, ssd_chunked):
        y, s = fn(x, dt, a, b, c, d, s0, True)
        torch.testing.assert_close(y.flatten(), want_y, rtol=1e-14, atol=1e-14)
        torch.testing.assert_close(s.flatten(), torch.tensor([s2], dtype=F64), rtol=1e-14, atol=1e-14)


def test_reference_returns_a_final_state_only_when_asked():
    x, dt, a, b, c = scalar_case()
    y, s = ssd_reference(x, dt, a, b, c)
    assert s is None
    assert ssd_reference(x, dt, a, b, c, output_final_state=False)[1] is None
    # from S0 = 0 without D: S1 = 6 ln2, y1 = S1;  S2 = S1 / 4 - ln2, y2 = 2 S2
    s1 = 6 * math.log(2.0)
    torch.testing.assert_close(y.flatten(), torch.tensor([s1, 2 * (s1 / 4 - math.log(2.0))], dtype=F64))
    _, s = ssd_reference(x, dt, a, b, c, output_final_state=True)
    assert s.shape == (1, 1, 1, 1)


def _inputs(t, seed=0):
    """x (1, T, 2, 2), dt, A, B and C (1, T, 1, 3)."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=F64)  # noqa: E731
    x, b, c = r(1, t, 2, 2), r(1, t, 1, 3), r(1, t, 1, 3)
    return x, 0.3 * torch.rand(1, t, 2, generator=g, dtype=F64), -torch.rand(2, generator=g, dtype=F64), b, c


@pytest.mark.parametrize(
    "t,chunk,padded",
    [(64, None, False), (65, None, True), (32, 16, False), (32, 24, True)],
    ids=["T64_default", "T65_default", "T32_chunk16", "T32_chunk24"],
)
def test_the_chunk_size_reaches_the_chunked_kernel(t, chunk, padded):
    """ssd's chunk size (64 by default) is the chunked kernel's: a sequence of whole chunks is not padded,
    one token more is; the result equals the reference either way."""
    xs = _inputs(t)
    kw = {} if chunk is None else {"chunk_size": chunk}
    with branches.count() as seen:
        y, _ = ssd(*xs, path="chunked", **kw)
    assert (seen["ssd.pad"] > 0) == padded
    torch.testing.assert_close(y, ssd_reference(*xs)[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("t", [5, 40], ids=["T5", "T40"])
def test_chunked_without_grad_equals_the_reference(t):
    """Under no_grad the chunked form runs its blocks directly (no recomputation in backward to set up): the
    same result, from a given state, with the final state, over several chunks and a padded last one."""
    x, dt, a, b, c = _inputs(t, seed=1)
    d = torch.tensor([0.5, -1.0], dtype=F64)
    s0 = torch.randn(1, 2, 2, 3, generator=torch.Generator().manual_seed(2), dtype=F64)
    want_y, want_s = ssd_reference(x, dt, a, b, c, d, s0, True)
    with torch.no_grad():
        y, s = ssd_chunked(x, dt, a, b, c, d, s0, True, chunk_size=16)
    torch.testing.assert_close(y, want_y, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(s, want_s, rtol=1e-12, atol=1e-12)


def test_chunked_defaults_no_final_state_and_chunks_of_64():
    xs = _inputs(64)
    with branches.count() as seen:
        y, s = ssd_chunked(*xs)
    assert s is None and seen["ssd.pad"] == 0  # 64 tokens: one whole chunk
    torch.testing.assert_close(y, ssd_reference(*xs)[0], rtol=1e-12, atol=1e-12)


def test_blocks_split_time_not_the_batch(monkeypatch):
    """Blocks are runs of tokens: a batch larger than a block's token count is carried whole through each."""
    import biodyn.ops.ssd as ssd_mod

    monkeypatch.setattr(ssd_mod, "BLOCK_TOKENS", 4)
    g = torch.Generator().manual_seed(4)
    x, b, c = (torch.randn(6, 11, 2, n, generator=g, dtype=F64) for n in (2, 1, 1))
    b, c = b.expand(-1, -1, -1, 3).contiguous(), c.expand(-1, -1, -1, 3).contiguous()
    dt = 0.3 * torch.rand(6, 11, 2, generator=g, dtype=F64)
    a = -torch.rand(2, generator=g, dtype=F64)
    want_y, want_s = ssd_reference(x, dt, a, b, c, None, None, True)
    y, s = ssd_chunked(x, dt, a, b, c, None, None, True, chunk_size=4)
    torch.testing.assert_close(y, want_y, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(s, want_s, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "x_shape,dt_shape,a_shape,bc_shapes,match",
    [
        ((1, 3, 2, 2), (1, 3, 3), (2,), ((1, 3, 1, 4),) * 2, r"expected x \(B, T, H, P\)"),
        ((1, 3, 2, 2), (1, 3, 2), (3,), ((1, 3, 1, 4),) * 2, r"expected x \(B, T, H, P\)"),
        ((1, 3, 2), (1, 3, 2), (2,), ((1, 3, 1, 4),) * 2, r"expected x \(B, T, H, P\)"),
        ((1, 3, 2, 2), (1, 3, 2), (2,), ((1, 3, 1, 4), (1, 3, 1, 5)), r"expected B and C"),
        ((1, 3, 2, 2), (1, 3, 2), (2,), ((1, 4, 1, 4),) * 2, r"expected B and C"),
    ],
    ids=["dt", "A", "x_3d", "B_ne_C", "B_C_length"],
)
def test_shapes_are_checked(x_shape, dt_shape, a_shape, bc_shapes, match):
    x, dt, a = torch.zeros(x_shape), torch.zeros(dt_shape), -torch.ones(a_shape)
    b, c = (torch.zeros(s) for s in bc_shapes)
    for fn in (ssd_reference, ssd_chunked, ssd):
        with pytest.raises(ValueError, match=match):
            fn(x, dt, a, b, c)
