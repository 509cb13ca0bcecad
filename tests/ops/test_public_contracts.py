"""The public sequence kernels (gated_delta_rule, ssd, s4d) keep the dtype policy of ``biodyn.ops._backend``
on every path: one float64 input makes the computation float64, outputs come back in the input's dtype,
half precision is computed in float32, and an enclosing autocast does not reach inside. Each path's result
equals the float64 token-by-token reference."""

import pytest
import torch

from biodyn.errors import ConfigError
from biodyn.ops import gated_delta_rule
from biodyn.ops.gated_delta import gated_delta_rule_reference
from biodyn.ops.s4d import s4d, s4d_lin_init, s4d_reference
from biodyn.ops.ssd import ssd, ssd_reference

F32, F64 = torch.float32, torch.float64


def _gd(seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=F64)  # noqa: E731
    k = torch.nn.functional.normalize(r(2, 9, 2, 4), dim=-1)
    return [
        r(2, 9, 2, 4),
        k,
        r(2, 9, 2, 3),
        -torch.rand(2, 9, 2, generator=g, dtype=F64),
        torch.rand(2, 9, 2, generator=g, dtype=F64),
    ], r(2, 2, 4, 3)


def _ssd(seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=F64)  # noqa: E731
    return [
        r(2, 9, 4, 3),
        0.5 * torch.rand(2, 9, 4, generator=g, dtype=F64),
        -torch.rand(4, generator=g, dtype=F64),
        r(2, 9, 2, 5),
        r(2, 9, 2, 5),
        r(4),
    ], r(2, 4, 3, 5)


def _s4d(seed=0, constant=False):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=F64)  # noqa: E731
    dt = 0.5 * torch.rand(3 if constant else (2, 9, 3), generator=g, dtype=F64)
    return [
        r(2, 9, 3),
        dt,
        s4d_lin_init(3, 4, torch.complex128),
        torch.complex(r(3, 4), r(3, 4)),
        torch.complex(r(3, 4), r(3, 4)),
        r(3),
    ], torch.complex(r(2, 3, 4), r(2, 3, 4))


def _low(x, dtype=F32):
    if x.is_complex():
        return x.to(torch.complex64)
    return x.to(dtype)


def _ref_gd(xs, s0, scale=None):
    return gated_delta_rule_reference(*xs, scale=scale, initial_state=s0, output_final_state=True)


def _ref_s4d(xs, s0):
    u, dt, *rest = xs
    return s4d_reference(
        u,
        dt.expand(u.shape) if dt.ndim == 1 else dt,
        *rest,
        initial_state=s0,
        output_final_state=s0 is not None,
    )


CASES = {
    "gated_delta/chunked": (
        _gd,
        lambda xs, s0, **kw: gated_delta_rule(*xs, 0.4, s0, True, chunk_size=4, path="chunked", **kw),
        lambda xs, s0: _ref_gd(xs, s0, 0.4),
        2,
    ),
    "gated_delta/reference": (
        _gd,
        lambda xs, s0, **kw: gated_delta_rule(*xs, 0.4, s0, True, path="reference", **kw),
        lambda xs, s0: _ref_gd(xs, s0, 0.4),
        2,
    ),
    "ssd/chunked": (
        _ssd,
        lambda xs, s0, **kw: ssd(*xs, s0, True, chunk_size=4, path="chunked", **kw),
        lambda xs, s0: ssd_reference(*xs, s0, True),
        0,
    ),
    "ssd/reference": (
        _ssd,
        lambda xs, s0, **kw: ssd(*xs, s0, True, path="reference", **kw),
        lambda xs, s0: ssd_reference(*xs, s0, True),
        0,
    ),
    "s4d/chunked": (
        _s4d,
        lambda xs, s0, **kw: s4d(*xs, s0, True, chunk_size=4, path="chunked", **kw),
        _ref_s4d,
        0,
    ),
    "s4d/reference": (_s4d, lambda xs, s0, **kw: s4d(*xs, s0, True, path="reference", **kw), _ref_s4d, 0),
    "s4d/constant-dt-chunked": (
        lambda: _s4d(constant=True),
        lambda xs, s0, **kw: s4d(*xs, s0, True, chunk_size=4, **kw),
        _ref_s4d,
        0,
    ),
    "s4d/fft": (
        lambda: (_s4d(constant=True)[0], None),
        lambda xs, s0, **kw: s4d(*xs, path="fft", **kw),
        _ref_s4d,
        0,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_input_sets_the_compute_dtype(case):
    make, run, ref, out_i = CASES[case]
    xs, s0 = make()
    y_ref, s_ref = ref(xs, s0)
    y64, _ = run(xs, s0)
    torch.testing.assert_close(y64, y_ref, rtol=1e-10, atol=1e-10)
    for i in range(len(xs)):
        low = [_low(x) if j != i else x for j, x in enumerate(xs)]
        y, s = run(low, None if s0 is None else _low(s0))
        assert y.dtype == low[out_i].dtype, (case, i)
        if s is not None:
            assert s.real.dtype == F64, (case, i)
        torch.testing.assert_close(y.to(F64), y_ref, rtol=1e-4, atol=1e-4)
        assert (s is None) == (s0 is None), (case, i)  # a final state exactly when one was asked for
        if s is not None:
            torch.testing.assert_close(s.to(s_ref.dtype), s_ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", sorted(CASES))
def test_autocast_does_not_reach_inside_and_half_is_float32(case):
    make, run, _, _ = CASES[case]
    xs, s0 = make()
    low = [_low(x) for x in xs]
    s0_low = None if s0 is None else _low(s0)
    y32, _ = run(low, s0_low)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y_ac, _ = run(low, s0_low)
    assert y_ac.dtype == F32
    torch.testing.assert_close(y_ac, y32, rtol=1e-6, atol=1e-6)  # bf16 matmuls would be ~1e-2 off
    half = [x.to(torch.bfloat16) if not x.is_complex() else _low(x) for x in xs]
    y, s = run(half, s0_low)
    assert y.dtype == torch.bfloat16
    if s is not None:
        assert s.real.dtype == F32


def test_library_paths_pass_every_argument(monkeypatch):
    """The CUDA library calls, wired to stand-ins that run the references (only a CUDA machine has fla and
    mamba-ssm): every argument reaches the library under its own name, and the results come back as the
    torch paths return them. The stand-in 'usable' check needs a real input tensor, as the real one does."""
    from biodyn.ops import _backend, last_backend

    seen = {}

    def fake_fla(q, k, v, g, beta, *, scale, initial_state, output_final_state):
        seen["fla"] = (scale, initial_state, output_final_state)
        return gated_delta_rule_reference(q, k, v, g, beta, scale, initial_state, output_final_state)

    def fake_mamba(x, dt, a, b, c, chunk_size, *, D, initial_states, return_final_states):
        seen["mamba_ssm"] = (chunk_size, D, initial_states, return_final_states)
        y, s = ssd_reference(x, dt, a, b, c, D, initial_states, return_final_states)
        return (y, s) if return_final_states else y

    monkeypatch.setattr(_backend, "library_usable", lambda library, x: torch.is_tensor(x))
    monkeypatch.setattr(_backend, "fla_chunk_gated_delta_rule", lambda: fake_fla)
    monkeypatch.setattr(_backend, "mamba_chunk_scan_combined", lambda: fake_mamba)
    xs, s0 = _gd()
    o, s = gated_delta_rule(*xs, 0.4, s0, True)
    assert last_backend("gated_delta_rule") == "fla" and seen["fla"] == (0.4, s0, True)
    o_ref, s_ref = _ref_gd(xs, s0, 0.4)
    torch.testing.assert_close(o, o_ref)
    torch.testing.assert_close(s, s_ref)
    xs, s0 = _ssd()
    for final in (True, False):
        y, s = ssd(*xs, s0, final, chunk_size=8)
        assert last_backend("ssd") == "mamba_ssm"
        assert seen["mamba_ssm"][0] == 8 and seen["mamba_ssm"][1] is xs[5] and seen["mamba_ssm"][3] is final
        assert seen["mamba_ssm"][2] is s0
        y_ref, s_ref = ssd_reference(*xs, s0, final)
        torch.testing.assert_close(y, y_ref)
        assert (s is None) == (not final)
        if final:
            torch.testing.assert_close(s, s_ref)


def test_library_usable_truth_table(monkeypatch):
    """A library path needs all three: a CUDA input, BIODYN_BACKEND=auto and the library importable (a
    stand-in object plays the CUDA tensor: only its is_cuda flag is read)."""
    from types import SimpleNamespace

    from biodyn.ops import _backend

    cuda, cpu = SimpleNamespace(is_cuda=True), SimpleNamespace(is_cuda=False)
    for installed in (True, False):
        monkeypatch.setitem(
            _backend.LIBRARIES, "fla", lambda installed=installed: object() if installed else None
        )
        for mode in ("auto", "torch"):
            monkeypatch.setenv("BIODYN_BACKEND", mode)
            for x, is_cuda in ((cuda, True), (cpu, False), (object(), False)):
                want = installed and mode == "auto" and is_cuda
                assert _backend.library_usable("fla", x) is want, (installed, mode, is_cuda)
                assert _backend.choose("gated_delta_rule", "auto", x, "fla") == ("fla" if want else "chunked")
                assert _backend.choose("gated_delta_rule", "auto", x, None) == "chunked"
                assert _backend.use_fla(x) is want
                if want:
                    assert _backend.choose("gated_delta_rule", "fla", x, "fla") == "fla"
                else:
                    with pytest.raises(ConfigError, match="path='fla' needs a CUDA input"):
                        _backend.choose("gated_delta_rule", "fla", x, "fla")
    monkeypatch.setitem(_backend.LIBRARIES, "mamba_ssm", lambda: object())
    monkeypatch.setenv("BIODYN_BACKEND", "auto")
    assert _backend.use_mamba_ssm(cuda) is True and _backend.use_mamba_ssm(cpu) is False


def test_compute_dtype_and_cast_by_hand():
    from biodyn.ops import _backend

    f32, f64 = torch.zeros(1), torch.zeros(1, dtype=F64)
    assert _backend.compute_dtype(None, f64) == F64  # None is skipped, not the end of the list
    assert _backend.compute_dtype(1.5, f32) == F32  # so is a Python number
    assert _backend.compute_dtype(torch.zeros(1, dtype=torch.complex128), f32) == F64
    assert (
        _backend.compute_dtype() == F32 and _backend.compute_dtype(torch.zeros(1, dtype=torch.int64)) == F32
    )
    assert _backend.cast(torch.zeros(1, dtype=torch.complex128), F32).dtype == torch.complex64
    assert _backend.cast(torch.zeros(1, dtype=torch.complex64), F64).dtype == torch.complex128
    assert _backend.cast(None, F64) is None


def test_initial_state_shape_is_checked_at_the_door():
    xs, s0 = _ssd()
    with pytest.raises(ValueError, match=r"initial_state must be \(B, H, P, N\) = \(2, 4, 3, 5\)"):
        ssd(*xs, s0[..., :4])
    xs, s0 = _gd()
    with pytest.raises(ValueError, match=r"initial_state must be \(B, H, K, V\) = \(2, 2, 4, 3\)"):
        gated_delta_rule(*xs, None, s0[..., :2])
    y, s = ssd(*_ssd()[0])  # the default: no final state
    assert s is None and y.shape == (2, 9, 4, 3)
    o, s = gated_delta_rule(*_gd()[0])
    assert s is None and o.shape == (2, 9, 2, 3)


@pytest.mark.parametrize("case", sorted(CASES))
def test_float32_is_computed_in_float32(case):
    """All inputs float32, no autocast around: each path computes in float32 (within float32 rounding of the
    float64 reference; bfloat16 products, as an autocast inside the kernel would make, are ~1e-2 off)."""
    make, run, ref, _ = CASES[case]
    xs, s0 = make()
    y_ref, _ = ref(xs, s0)
    y, _ = run([_low(x) for x in xs], None if s0 is None else _low(s0))
    assert y.dtype == F32
    torch.testing.assert_close(y.to(F64), y_ref, rtol=2e-5, atol=2e-5)
