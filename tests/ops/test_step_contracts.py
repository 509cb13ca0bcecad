"""The streaming steps' contract, stated in ``biodyn.ops._backend``: the compute dtype is the promoted real
dtype of every input (half precision computed in float32), the output comes back in the input's dtype and
the state in the compute dtype; a step from no state equals the reference's first token; wrong shapes are
errors at the door."""

import pytest
import torch

from biodyn import branches
from biodyn.ops import _backend
from biodyn.ops.gated_delta import gated_delta_rule_reference, gated_delta_rule_step
from biodyn.ops.s4d import s4d_lin_init, s4d_reference, s4d_step
from biodyn.ops.ssd import ssd_reference, ssd_step

F32, F64 = torch.float32, torch.float64


def _gd(dtype=F64, seed=0):
    g = torch.Generator().manual_seed(seed)
    q, k = torch.randn(2, 3, 4, generator=g, dtype=dtype), torch.randn(2, 3, 4, generator=g, dtype=dtype)
    k = torch.nn.functional.normalize(k, dim=-1)
    return [
        q,
        k,
        torch.randn(2, 3, 5, generator=g, dtype=dtype),
        -torch.rand(2, 3, generator=g, dtype=dtype),
        torch.rand(2, 3, generator=g, dtype=dtype),
    ]


def _ssd(dtype=F64, seed=0, g=1):
    gen = torch.Generator().manual_seed(seed)
    return [
        torch.randn(2, 4, 3, generator=gen, dtype=dtype),
        0.5 * torch.rand(2, 4, generator=gen, dtype=dtype),
        -torch.rand(4, generator=gen, dtype=dtype),
        torch.randn(2, g, 5, generator=gen, dtype=dtype),
        torch.randn(2, g, 5, generator=gen, dtype=dtype),
        torch.randn(4, generator=gen, dtype=dtype),
    ]


def _s4d(dtype=F64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    cdt = torch.complex128 if dtype == F64 else torch.complex64
    r = lambda *s: torch.randn(*s, generator=gen, dtype=dtype)  # noqa: E731
    return [
        r(2, 3),
        0.5 * torch.rand(2, 3, generator=gen, dtype=dtype),
        s4d_lin_init(3, 4, cdt),
        torch.complex(r(3, 4), r(3, 4)),
        torch.complex(r(3, 4), r(3, 4)),
        r(3),
    ]


def _lower(x, dtype):
    if x.is_complex():
        return x.to(torch.complex64 if dtype in (F32, torch.bfloat16, torch.float16) else torch.complex128)
    return x.to(dtype)


STEPS = {
    # name: (inputs, step, index of the input whose dtype the output takes, state dtype for complex states)
    "gated_delta": (_gd, gated_delta_rule_step, 2),
    "ssd": (_ssd, ssd_step, 0),
    "s4d": (_s4d, s4d_step, 0),
}


@pytest.mark.parametrize("name", sorted(STEPS))
def test_each_input_takes_part_in_the_compute_dtype(name):
    """All inputs float32 except one float64: the step computes in float64 (its state says so) and equals the
    all-float64 step to float32 rounding of the inputs."""
    make, step, out_i = STEPS[name]
    full = make(F64)
    y64, s64 = step(*full)
    for i in range(len(full)):
        xs = [_lower(x, F32) if j != i else x for j, x in enumerate(full)]
        y, s = step(*xs)
        assert s.real.dtype == F64, (name, i)
        assert y.dtype == xs[out_i].dtype, (name, i)
        torch.testing.assert_close(y.to(F64), y64, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(s.to(s64.dtype), s64, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(STEPS))
def test_half_inputs_compute_in_float32_and_return_in_their_dtype(name):
    make, step, _ = STEPS[name]
    full = make(F32)
    y32, _ = step(*full)
    xs = [_lower(x, torch.bfloat16) if not x.is_complex() else x for x in full]
    y, s = step(*xs)
    assert y.dtype == torch.bfloat16 and s.real.dtype == F32
    torch.testing.assert_close(y.float(), y32, rtol=5e-2, atol=5e-2)


def test_first_step_from_no_state_equals_the_reference():
    q, k, v, g, beta = _gd()
    o, s = gated_delta_rule_step(q, k, v, g, beta)
    o_ref, s_ref = gated_delta_rule_reference(
        q[:, None], k[:, None], v[:, None], g[:, None], beta[:, None], output_final_state=True
    )
    torch.testing.assert_close(o, o_ref[:, 0])
    torch.testing.assert_close(s, s_ref)
    x, dt, a, b, c, d = _ssd()
    with branches.count() as seen:
        y, s = ssd_step(x, dt, a, b, c, d)
    assert seen["ssd.step.grouped"] == 0  # G = 1
    y_ref, s_ref = ssd_reference(
        x[:, None], dt[:, None], a, b[:, None], c[:, None], d, output_final_state=True
    )
    torch.testing.assert_close(y, y_ref[:, 0])
    torch.testing.assert_close(s, s_ref)
    u, dt, a, b, c, d = _s4d()
    y, h = s4d_step(u, dt, a, b, c, d)
    y_ref, h_ref = s4d_reference(u[:, None], dt[:, None], a, b, c, d, output_final_state=True)
    torch.testing.assert_close(y, y_ref[:, 0])
    torch.testing.assert_close(h, h_ref)


def test_step_shapes_are_checked():
    q, k, v, g, beta = _gd()
    bad_gd = [
        (q[0], k[0], v, g, beta),  # q not (B, H, K)
        (q, k[..., :3], v, g, beta),  # k differs from q
        (q, k, v[0], g, beta),  # v not 3-D
        (q, k, v[:, :2], g, beta),  # v's heads differ
        (q, k, v, g[:, :2], beta),
        (q, k, v, g, beta[:1]),
    ]
    for args in bad_gd:
        with pytest.raises(ValueError, match=r"must be|expected"):
            gated_delta_rule_step(*args)
    x, dt, a, b, c, d = _ssd(g=2)
    bad_ssd = [
        (x, dt, a, b[0], c[0], d),  # B not (B, G, N)
        (x, dt, a, b, c[..., :4], d),  # C differs from B
        (x, dt, a, b[:1], c[:1], d),  # batch differs
        (
            x,
            dt,
            a,
            torch.randn(2, 3, 5, dtype=F64),
            torch.randn(2, 3, 5, dtype=F64),
            d,
        ),  # G = 3 does not divide H = 4
    ]
    for args in bad_ssd:
        with pytest.raises(ValueError, match="expected B and C"):
            ssd_step(*args)
    with pytest.raises(ValueError, match="state must be"):
        ssd_step(x, dt, a, b, c, d, torch.zeros(2, 4, 3, 4, dtype=F64))


def test_backend_switches(monkeypatch):
    for value, forced in (
        ("1", True),
        ("yes", True),
        ("0", False),
        ("false", False),
        ("False", False),
        ("", False),
    ):
        monkeypatch.setenv("BIODYN_FORCE_TORCH", value)
        assert _backend.force_torch() is forced, value
    monkeypatch.delenv("BIODYN_FORCE_TORCH")
    assert _backend.force_torch() is False
    assert _backend._optional("biodyn.no_such_module", "x") is None
    assert _backend._optional("math", "pi") == pytest.approx(3.141592653589793)
    cpu = torch.zeros(1)
    assert _backend.use_fla(cpu) is False and _backend.use_mamba_ssm(cpu) is False


def test_references_return_no_final_state_unless_asked():
    u, dt, a, b, c, d = _s4d()
    _, s = s4d_reference(u[:, None], dt[:, None], a, b, c, d)
    assert s is None
    _, s = s4d_reference(u[:, None], dt[:, None], a, b, c, d, output_final_state=True)
    assert s.shape == (2, 3, 4)


def test_a_state_of_another_dtype_is_brought_to_the_compute_dtype():
    """The state is not one of the inputs that choose the compute dtype: a float64 state fed to a float32
    gated delta step is rounded to float32, and the new state comes back in float32."""
    q, k, v, g, beta = _gd(F32)
    s64 = torch.randn(2, 3, 4, 5, generator=torch.Generator().manual_seed(1), dtype=F64)
    o, s = gated_delta_rule_step(q, k, v, g, beta, state=s64)
    o32, s32 = gated_delta_rule_step(q, k, v, g, beta, state=s64.float())
    assert o.dtype == F32 and s.dtype == F32
    assert torch.equal(o, o32) and torch.equal(s, s32)
