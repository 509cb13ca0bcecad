"""The gated delta rule's token-by-token reference against cases worked out by hand, and its argument checks.

With one head and K = V = 1 the recurrence is scalar: ``S_t = a_t (1 - b_t k_t^2) S_{t-1} + b_t k_t v_t``
and ``o_t = scale q_t S_t`` with ``a_t = exp(g_t)``.
"""

import math

import pytest
import torch

from biodyn import branches
from biodyn.ops.gated_delta import gated_delta_rule, gated_delta_rule_chunked, gated_delta_rule_reference


def scalar_case():
    """Two tokens, B = H = K = V = 1, values chosen so that every factor shows in the result."""
    q = torch.tensor([2.0, -1.0], dtype=torch.float64).reshape(1, 2, 1, 1)
    k = torch.tensor([0.5, 1.0], dtype=torch.float64).reshape(1, 2, 1, 1)
    v = torch.tensor([3.0, 4.0], dtype=torch.float64).reshape(1, 2, 1, 1)
    g = torch.tensor([math.log(0.5), math.log(0.25)], dtype=torch.float64).reshape(1, 2, 1)
    beta = torch.tensor([0.8, 0.5], dtype=torch.float64).reshape(1, 2, 1)
    return q, k, v, g, beta


def test_scalar_recurrence_by_hand():
    q, k, v, g, beta = scalar_case()
    s0 = torch.full((1, 1, 1, 1), 2.0, dtype=torch.float64)
    # S1 = 0.5 (1 - 0.8 * 0.25) 2 + 0.8 * 0.5 * 3 = 0.8 + 1.2 = 2.0;   o1 = 0.5 * 2 * 2.0 = 2.0
    # S2 = 0.25 (1 - 0.5 * 1) 2.0 + 0.5 * 1 * 4 = 0.25 + 2.0 = 2.25;  o2 = 0.5 * (-1) * 2.25 = -1.125
    o, s = gated_delta_rule_reference(q, k, v, g, beta, scale=0.5, initial_state=s0, output_final_state=True)
    torch.testing.assert_close(o.flatten(), torch.tensor([2.0, -1.125], dtype=torch.float64))
    torch.testing.assert_close(s.flatten(), torch.tensor([2.25], dtype=torch.float64))


def test_zero_state_default_scale_and_no_final_state_by_default():
    q, k, v, g, beta = scalar_case()
    # from S0 = 0: S1 = 1.2, S2 = 0.25 * 0.5 * 1.2 + 2 = 2.15; scale defaults to K ** -0.5 = 1
    o, s = gated_delta_rule_reference(q, k, v, g, beta)
    assert s is None
    torch.testing.assert_close(o.flatten(), torch.tensor([2.4, -2.15], dtype=torch.float64))
    assert gated_delta_rule_reference(q, k, v, g, beta, output_final_state=False)[1] is None
    _, s = gated_delta_rule_reference(q, k, v, g, beta, output_final_state=True)
    torch.testing.assert_close(s.flatten(), torch.tensor([2.15], dtype=torch.float64))


def test_heads_and_batch_are_independent_scalar_recurrences():
    """B = 2, H = 3, K = V = 1: every (batch, head) pair is its own scalar recurrence, at its place in the
    (B, T, H, V) output and the (B, H, K, V) state."""
    gen = torch.Generator().manual_seed(3)
    b, t, h = 2, 4, 3
    q, k, v = (torch.randn(b, t, h, 1, generator=gen, dtype=torch.float64) for _ in range(3))
    g = -torch.rand(b, t, h, generator=gen, dtype=torch.float64)
    beta = torch.rand(b, t, h, generator=gen, dtype=torch.float64)
    s0 = torch.randn(b, h, 1, 1, generator=gen, dtype=torch.float64)
    o, s = gated_delta_rule_reference(q, k, v, g, beta, scale=1.0, initial_state=s0, output_final_state=True)
    assert o.shape == (b, t, h, 1) and s.shape == (b, h, 1, 1)
    for i in range(b):
        for j in range(h):
            st = float(s0[i, j])
            for n in range(t):
                kk = float(k[i, n, j])
                st = math.exp(float(g[i, n, j])) * (1 - float(beta[i, n, j]) * kk * kk) * st
                st += float(beta[i, n, j]) * kk * float(v[i, n, j])
                assert float(o[i, n, j, 0]) == pytest.approx(float(q[i, n, j]) * st, rel=1e-12, abs=1e-12)
            assert float(s[i, j, 0, 0]) == pytest.approx(st, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(
    "q_shape,k_shape",
    [((1, 2, 1, 3), (1, 2, 1, 4)), ((1, 2, 1, 1, 3), (1, 2, 1, 1, 3)), ((2, 1, 3), (2, 1, 3))],
    ids=["q_ne_k", "q_k_5d", "q_k_3d"],
)
def test_q_and_k_must_be_equal_and_four_dimensional(q_shape, k_shape):
    q, k = torch.zeros(q_shape), torch.zeros(k_shape)
    v, g, beta = torch.zeros(1, 2, 1, 3), torch.zeros(1, 2, 1), torch.zeros(1, 2, 1)
    with pytest.raises(ValueError, match="q and k must be"):
        gated_delta_rule_reference(q, k, v, g, beta)


def _inputs(t, seed=0):
    """q, k (1, T, 2, 3) with unit k, v (1, T, 2, 2), g and beta (1, T, 2)."""
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(1, t, 2, 3, generator=gen, dtype=torch.float64)
    k = torch.nn.functional.normalize(torch.randn(1, t, 2, 3, generator=gen, dtype=torch.float64), dim=-1)
    v = torch.randn(1, t, 2, 2, generator=gen, dtype=torch.float64)
    g = -torch.rand(1, t, 2, generator=gen, dtype=torch.float64)
    return q, k, v, g, torch.rand(1, t, 2, generator=gen, dtype=torch.float64)


@pytest.mark.parametrize(
    "t,chunk,padded",
    [(64, None, False), (65, None, True), (32, 16, False), (32, 24, True)],
    ids=["T64_default", "T65_default", "T32_chunk16", "T32_chunk24"],
)
@pytest.mark.parametrize("fn", ["public", "chunked"])
def test_the_chunk_size_reaches_the_chunked_kernel(t, chunk, padded, fn):
    """The chunk size (64 by default, in gated_delta_rule as in the chunked kernel) is the kernel's: a sequence
    of whole chunks is not padded, one token more is; the result equals the reference either way."""
    xs = _inputs(t)
    kw = {} if chunk is None else {"chunk_size": chunk}
    with branches.count() as seen:
        if fn == "public":
            o, _ = gated_delta_rule(*xs, path="chunked", **kw)
        else:
            o, _ = gated_delta_rule_chunked(*xs, **kw)
    assert (seen["gated_delta.pad"] > 0) == padded
    torch.testing.assert_close(o, gated_delta_rule_reference(*xs)[0], rtol=1e-12, atol=1e-12)


def test_chunked_defaults_no_final_state_and_takes_chunks_of_one():
    xs = _inputs(5)
    o, s = gated_delta_rule_chunked(*xs)
    assert s is None
    want, s_want = gated_delta_rule_reference(*xs, output_final_state=True)
    torch.testing.assert_close(o, want, rtol=1e-12, atol=1e-12)
    o1, s1 = gated_delta_rule_chunked(*xs, output_final_state=True, chunk_size=1)  # the smallest chunk
    torch.testing.assert_close(o1, want, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(s1, s_want, rtol=1e-12, atol=1e-12)


def _decay_path(g_tokens, dtype):
    """Run one chunk of 16 tokens with per-token log decays ``g_tokens`` (16 values) and return the decay
    path the chunked form took; its output is checked against the reference on the way."""
    q, k, v, _, beta = (x.to(dtype) for x in _inputs(16, seed=5))
    g = torch.tensor(g_tokens, dtype=dtype)[None, :, None].expand(1, 16, 2).contiguous()
    with branches.count() as seen:
        o, s = gated_delta_rule_chunked(q, k, v, g, beta, output_final_state=True, chunk_size=16)
    want, s_want = gated_delta_rule_reference(
        *(x.double() for x in (q, k, v, g, beta)), output_final_state=True
    )
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(o.double(), want, rtol=tol, atol=tol)
    torch.testing.assert_close(s.double(), s_want, rtol=tol, atol=tol)
    assert seen["gated_delta.decay.exact"] + seen["gated_delta.decay.outer"] == 1
    return "exact" if seen["gated_delta.decay.exact"] else "outer"


@pytest.mark.parametrize(
    "dtype,limit", [(torch.float32, 60.0), (torch.float64, 600.0)], ids=["float32", "float64"]
)
def test_decay_limit_boundaries(dtype, limit):
    """The in-chunk decay range is G_1 - G_C = -(g_2 + ... + g_C) (the first token's decay is not inside the
    chunk's range), and the factorised path is taken only strictly below the limit (60 in float32, 600 in
    float64). Every sum here is exact in the dtype."""
    step = limit / 15  # 4 or 40: fifteen steps reach the limit exactly
    assert _decay_path([-100.0] + [-step] * 15, dtype) == "exact"  # range == limit
    assert _decay_path([0.0] + [-step] * 14 + [-step - 0.5], dtype) == "exact"  # limit + 0.5
    assert _decay_path([0.0] + [-step] * 14 + [-step + 0.5], dtype) == "outer"  # limit - 0.5
    assert _decay_path([-100.0] + [0.0] * 15, dtype) == "outer"  # the first token's decay is outside
    assert _decay_path([0.0, -(limit + 1)] + [0.0] * 14, dtype) == "exact"  # on the second token
    assert _decay_path([0.0] * 15 + [-(limit + 1)], dtype) == "exact"  # on the last token


def test_factorised_decay_just_below_the_float32_limit():
    """A range of 59.5 in float32 takes the factorised path, whose factors exp(G_i - m), exp(m - G_j) about the
    mid-chunk m stay within float32's range (exp(+-30)); the result equals the reference."""
    assert _decay_path([-1.0] + [-59.5 / 15] * 15, torch.float32) == "outer"
