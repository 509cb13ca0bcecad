import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from biodyn import branches
from biodyn.ops.gated_delta import gated_delta_rule_chunked, gated_delta_rule_reference, gated_delta_rule_step
from biodyn.testing import assert_close, rel_rms_error


def make(b, t, h, dk, dv, dtype, seed=0, g_scale=1.0, beta=None, grad=True):
    gen = torch.Generator().manual_seed(seed)

    def r(*s):
        return torch.randn(*s, generator=gen, dtype=dtype)

    q = r(b, t, h, dk)
    k = F.normalize(r(b, t, h, dk), dim=-1)  # the blocks L2-normalise k, as the model does
    v = r(b, t, h, dv)
    g = -g_scale * torch.rand(b, t, h, generator=gen, dtype=dtype)
    be = (
        torch.rand(b, t, h, generator=gen, dtype=dtype)
        if beta is None
        else torch.full((b, t, h), beta, dtype=dtype)
    )
    s0 = r(b, h, dk, dv)
    xs = [q, k, v, g, be, s0]
    if grad:
        for x in xs:
            x.requires_grad_(True)
    return xs


def run_both(xs, chunk):
    q, k, v, g, be, s0 = xs
    o1, s1 = gated_delta_rule_reference(q, k, v, g, be, initial_state=s0, output_final_state=True)
    o2, s2 = gated_delta_rule_chunked(
        q, k, v, g, be, initial_state=s0, output_final_state=True, chunk_size=chunk
    )
    return (o1, s1), (o2, s2)


NAMES = ["q", "k", "v", "g", "beta", "h0"]


@settings(max_examples=12, deadline=None)
@given(
    t=st.integers(1, 70), chunk=st.sampled_from([4, 16, 64]), h=st.integers(1, 2), seed=st.integers(0, 1000)
)
def test_chunked_equals_reference_float64(t, chunk, h, seed, kc):
    xs = make(2, t, h, 8, 6, torch.float64, seed)
    ref, fast = run_both(xs, chunk)
    kc.close(fast[0], ref[0], "o")
    kc.close(fast[1], ref[1], "final_state")
    kc.same_grads(ref, fast, xs, NAMES)


@pytest.mark.parametrize("t", [1, 33, 64, 129], ids=lambda t: f"T{t}")
def test_chunked_equals_reference_float32(t, kc):
    xs = make(2, t, 2, 16, 16, torch.float32, seed=t)
    ref, fast = run_both(xs, 32)
    kc.close(fast[0], ref[0], "o")
    kc.close(fast[1], ref[1], "final_state")
    kc.same_grads(ref, fast, xs, NAMES)


def test_step_by_step_and_halves_equal_full_pass():
    q, k, v, g, be, s0 = make(2, 23, 2, 8, 4, torch.float64, grad=False)
    o_full, s_full = gated_delta_rule_chunked(
        q, k, v, g, be, initial_state=s0, output_final_state=True, chunk_size=8
    )
    s = s0
    outs = []
    for i in range(23):
        o, s = gated_delta_rule_step(q[:, i], k[:, i], v[:, i], g[:, i], be[:, i], state=s)
        outs.append(o)
    assert_close(torch.stack(outs, 1), o_full, rtol=1e-12, name="o")
    assert_close(s, s_full, rtol=1e-12, name="state")
    o_a, s_a = gated_delta_rule_chunked(
        q[:, :10],
        k[:, :10],
        v[:, :10],
        g[:, :10],
        be[:, :10],
        initial_state=s0,
        output_final_state=True,
        chunk_size=8,
    )
    o_b, s_b = gated_delta_rule_chunked(
        q[:, 10:],
        k[:, 10:],
        v[:, 10:],
        g[:, 10:],
        be[:, 10:],
        initial_state=s_a,
        output_final_state=True,
        chunk_size=8,
    )
    assert_close(torch.cat([o_a, o_b], 1), o_full, rtol=1e-12, name="halves o")
    assert_close(s_b, s_full, rtol=1e-12, name="halves state")


def test_gradcheck_tiny():
    xs = make(1, 5, 1, 3, 2, torch.float64)

    def f(*args):
        return gated_delta_rule_chunked(
            *args[:5], initial_state=args[5], output_final_state=True, chunk_size=2
        )

    assert torch.autograd.gradcheck(f, tuple(xs), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("g_scale", "beta"),
    [(1e-8, 0.0), (1e-8, 1.0), (30.0, 0.0), (30.0, 1.0), (1e-8, None)],
    ids=["a->1,b->0", "a->1,b->1", "a->0,b->0", "a->0,b->1", "a->1"],
)
def test_extreme_gates_are_finite_and_match(g_scale, beta, kc):
    # float64 at chunk 16: both scales take the factorised (outer-product) path, whose in-chunk decay range
    # limit is 600 (g_scale=30 spans about 15 * 15 = 225); test_exact_decay_path_* below runs the exact one
    xs = make(1, 40, 2, 8, 4, torch.float64, g_scale=g_scale, beta=beta)
    ref, fast = run_both(xs, 16)
    assert (ref[0] - fast[0]).abs().max() < 1e-9
    for gr in kc.grads(fast, xs):
        assert torch.isfinite(gr).all()


def test_long_sequence_finite():
    xs = make(1, 16384, 1, 4, 4, torch.float32, g_scale=0.05)
    q, k, v, g, be, s0 = xs
    o, s = gated_delta_rule_chunked(q, k, v, g, be, initial_state=s0, output_final_state=True)
    (o.square().mean() + s.square().mean()).backward()
    assert torch.isfinite(o).all() and all(torch.isfinite(x.grad).all() for x in xs)


def test_bad_shapes():
    q = torch.zeros(1, 4, 2, 3)
    with pytest.raises(ValueError, match=r"g and beta \(B, T, H\)"):
        gated_delta_rule_chunked(q, q, q, torch.zeros(1, 4), torch.zeros(1, 4, 2))


def test_bfloat16_inputs_are_computed_in_float32():
    q, k, v, g, be, _ = make(1, 40, 2, 8, 4, torch.float32, grad=False)
    ref, _ = gated_delta_rule_reference(q, k, v, g, be)
    half = [x.to(torch.bfloat16) for x in (q, k, v)]
    o, _ = gated_delta_rule_chunked(*half, g, be, chunk_size=16)
    assert o.dtype == torch.bfloat16
    assert rel_rms_error(o.float(), ref) < 2e-2  # bf16 rounding of the inputs only


def test_empty_sequence_is_a_clear_error():
    q = torch.zeros(1, 0, 2, 4)
    g = torch.zeros(1, 0, 2)
    for fn in (gated_delta_rule_chunked, gated_delta_rule_reference):
        with pytest.raises(ValueError, match="empty sequence"):
            fn(q, q, q, g, g)


@pytest.mark.parametrize("c", [3, 8, 15, 16, 17, 64])
def test_unit_lower_inverse_matches_dense_inverse(c):
    from biodyn.ops.gated_delta.chunk import _unit_lower_inverse

    a = 0.2 * torch.randn(2, 3, c, c, dtype=torch.float64, generator=torch.Generator().manual_seed(c))
    want = torch.linalg.inv(torch.eye(c, dtype=torch.float64) + a.tril(-1))
    with branches.count() as seen:
        got = _unit_lower_inverse(a, torch.full_like(a, float("nan")))  # diagonal and upper part of a ignored
    assert (got - want).abs().max() < 1e-9 * want.abs().max()
    # even C >= 16 is inverted by halves, other sizes (odd, or below 16) by one triangular solve
    path = "halves" if c >= 16 and c % 2 == 0 else "solve"
    assert seen == {f"gated_delta.inverse.{path}": 1}


# The chunk form has two ways of forming the in-chunk decay Gamma_ij = exp(G_i - G_j): factorised as
# exp(G_i - m) exp(m - G_j) when the decay over a chunk stays below a limit (60 in float32, 600 in float64),
# else exactly per pair. Past the limit the factors over- or underflow, so strong decays take the exact path;
# these cases push the decay over a chunk past the exponent range of the dtype (exp(-750) is 0 in float64,
# exp(-104) in float32), where exp(G_i) itself underflows.
@pytest.mark.parametrize(
    ("dtype", "g_scale", "t"),
    [(torch.float64, 200.0, 40), (torch.float32, 30.0, 37), (torch.float64, 200.0, 32)],
    ids=["float64-padded", "float32-odd-T", "float64-whole-chunks"],
)
def test_exact_decay_path_past_the_exponent_range(dtype, g_scale, t, kc):
    xs = make(2, t, 2, 8, 4, dtype, seed=3, g_scale=g_scale)
    with branches.count() as seen:
        ref, fast = run_both(xs, 16)
    assert seen["gated_delta.decay.exact"] == 1 and seen["gated_delta.decay.outer"] == 0
    assert seen["gated_delta.pad"] == (1 if t % 16 else 0)
    g_chunk = xs[3].detach()[:, :16].sum(1)  # the decay over the first chunk, (B, H)
    assert (g_chunk < (-750 if dtype == torch.float64 else -104)).all()  # exp of it underflows to 0
    assert not torch.exp(g_chunk).any()
    kc.close(fast[0], ref[0], "o")
    kc.close(fast[1], ref[1], "final_state")
    kc.same_grads(ref, fast, xs, NAMES)


def test_mild_decay_takes_the_factorised_path(kc):
    xs = make(1, 48, 2, 8, 4, torch.float32, seed=4, g_scale=1.0)
    with branches.count() as seen:
        ref, fast = run_both(xs, 16)
    assert seen["gated_delta.decay.outer"] == 1 and seen["gated_delta.decay.exact"] == 0
    # the 3 chunks form one block
    assert seen["gated_delta.pad"] == 0 and seen["gated_delta.inverse.halves"] == 1
    kc.close(fast[0], ref[0], "o")
    kc.same_grads(ref, fast, xs, NAMES)


def test_decay_limit_is_per_dtype():
    """g = -5 per token over a chunk of 16: a range of 75, past float32's limit (60), under float64's (600)."""
    for dtype, path in ((torch.float32, "exact"), (torch.float64, "outer")):
        q, k, v, g, be, s0 = make(1, 16, 1, 4, 4, dtype, grad=False)
        with branches.count() as seen:
            o, _ = gated_delta_rule_chunked(
                q, k, v, torch.full_like(g, -5.0), be, initial_state=s0, chunk_size=16
            )
        ref, _ = gated_delta_rule_reference(q, k, v, torch.full_like(g, -5.0), be, initial_state=s0)
        assert seen[f"gated_delta.decay.{path}"] == 1, dtype
        assert_close(o, ref, rtol=1e-4 if dtype == torch.float32 else 1e-10, name=str(dtype))
