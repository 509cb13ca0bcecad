"""Path selection (``biodyn.ops._backend``), which path ran, the dtype policy and the step functions' door."""

import pytest
import torch
import torch.nn.functional as F

from biodyn.errors import ConfigError
from biodyn.ops import _backend, gated_delta_rule, gated_delta_rule_step, last_backend, record_backends
from biodyn.ops.gated_delta import gated_delta_rule_reference
from biodyn.ops.s4d import s4d, s4d_lin_init, s4d_reference, s4d_step
from biodyn.ops.ssd import ssd, ssd_reference, ssd_step
from biodyn.testing import requires_cuda


def gdn_inputs(dtype=torch.float32, b=2, t=37, h=2, dk=8, dv=4, device="cpu", seed=0):
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(b, t, h, dk, generator=gen)
    k = F.normalize(torch.randn(b, t, h, dk, generator=gen), dim=-1)
    v = torch.randn(b, t, h, dv, generator=gen)
    g = -torch.rand(b, t, h, generator=gen)
    beta = torch.rand(b, t, h, generator=gen)
    return [x.to(device=device, dtype=dtype) for x in (q, k, v, g, beta)]


def ssd_inputs(dtype=torch.float32, b=2, t=37, h=4, p=4, g=2, n=8, device="cpu", seed=0):
    gen = torch.Generator().manual_seed(seed)
    xs = [
        torch.randn(b, t, h, p, generator=gen),
        0.5 * torch.rand(b, t, h, generator=gen),
        -2 * torch.rand(h, generator=gen),
        torch.randn(b, t, g, n, generator=gen),
        torch.randn(b, t, g, n, generator=gen),
        torch.randn(h, generator=gen),
    ]
    return [x.to(device=device, dtype=dtype) for x in xs]


def s4d_inputs(dtype=torch.float32, b=2, t=37, h=3, n=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    u = torch.randn(b, t, h, generator=gen).to(dtype)
    dt = (0.05 + 0.1 * torch.rand(b, t, h, generator=gen)).to(dtype)
    a = s4d_lin_init(h, n)
    bb = torch.complex(torch.ones(h, n), torch.zeros(h, n))
    c = torch.complex(torch.randn(h, n, generator=gen), torch.randn(h, n, generator=gen))
    return [u, dt, a, bb, c, torch.randn(h, generator=gen)]


def test_cpu_calls_take_the_torch_paths_and_say_so():
    with record_backends() as calls:
        gated_delta_rule(*gdn_inputs())
        ssd(*ssd_inputs())
        u, dt, a, b, c, d = s4d_inputs()
        s4d(u, dt, a, b, c, d)
        s4d(u, dt[0, 0], a, b, c, d)  # a constant step: the FFT convolution
    assert calls == [("gated_delta_rule", "chunked"), ("ssd", "chunked"), ("s4d", "chunked"), ("s4d", "fft")]
    assert last_backend("gated_delta_rule") == "chunked" and last_backend("s4d") == "fft"
    with pytest.raises(ConfigError, match="unknown kernel"):
        last_backend("nope")


@pytest.mark.parametrize("kernel", ["gated_delta_rule", "ssd", "s4d"])
def test_reference_path_is_the_reference(kernel, kc):
    if kernel == "gated_delta_rule":
        xs = gdn_inputs(torch.float64)
        got, want = gated_delta_rule(*xs, path="reference"), gated_delta_rule_reference(*xs)
        fast = gated_delta_rule(*xs, path="chunked", chunk_size=8)
    elif kernel == "ssd":
        xs = ssd_inputs(torch.float64)
        got, want = ssd(*xs, path="reference"), ssd_reference(*xs)
        fast = ssd(*xs, path="chunked", chunk_size=8)
    else:
        xs = s4d_inputs(torch.float64)
        got, want = s4d(*xs, path="reference"), s4d_reference(*xs)
        fast = s4d(*xs, path="chunked", chunk_size=4, block_size=16)
    assert last_backend(kernel) == "chunked"
    assert torch.equal(got[0], want[0])
    kc.close(fast[0], want[0], name=kernel)


def test_asking_for_a_path_that_cannot_run_is_an_error():
    with pytest.raises(ConfigError, match="path='fla' needs a CUDA input"):
        gated_delta_rule(*gdn_inputs(), path="fla")
    with pytest.raises(ConfigError, match="path='mamba_ssm' needs a CUDA input"):
        ssd(*ssd_inputs(), path="mamba_ssm")
    with pytest.raises(ConfigError, match=r"invalid path='nope'; allowed: 'auto', 'reference'"):
        ssd(*ssd_inputs(), path="nope")
    with pytest.raises(ValueError, match="path='fft' needs a constant dt"):
        s4d(*s4d_inputs(), path="fft")


def test_backend_environment(monkeypatch):
    monkeypatch.delenv("BIODYN_BACKEND", raising=False)
    monkeypatch.delenv("BIODYN_FORCE_TORCH", raising=False)
    assert _backend.backend_mode() == "auto"
    monkeypatch.setenv("BIODYN_FORCE_TORCH", "1")  # the older switch still works
    assert _backend.backend_mode() == "torch"
    monkeypatch.setenv("BIODYN_BACKEND", "auto")  # the new one wins
    assert _backend.backend_mode() == "auto"
    monkeypatch.setenv("BIODYN_BACKEND", "triton")
    with pytest.raises(ConfigError, match=r"BIODYN_BACKEND='triton'; allowed: 'auto', 'torch'"):
        _backend.backend_mode()


@pytest.mark.parametrize("half", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
@pytest.mark.parametrize("kernel", ["gated_delta_rule", "ssd", "s4d"])
def test_half_inputs_are_computed_in_float32_and_returned_in_their_dtype(kernel, half, kc):
    fn, make = {
        "gated_delta_rule": (gated_delta_rule, gdn_inputs),
        "ssd": (ssd, ssd_inputs),
        "s4d": (s4d, s4d_inputs),
    }[kernel]
    xs = make()
    rounded = [x.to(half).float() if not x.is_complex() else x for x in xs]  # the inputs' rounding only
    want, _ = fn(*rounded)
    y, s = fn(*[x.to(half) if not x.is_complex() else x for x in xs], output_final_state=True)
    assert y.dtype == half
    assert s.dtype in (torch.float32, torch.complex64)  # states keep the compute dtype
    kc.close(y.float(), want, name=kernel, dtype=half)


def test_autocast_does_not_lower_the_kernels_precision():
    xs = gdn_inputs()
    want, _ = gated_delta_rule(*xs)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got, _ = gated_delta_rule(*xs, path="reference")
    assert got.dtype == torch.float32
    assert (got - want).abs().max() < 1e-5


def test_steps_take_the_references_argument_order_and_check_it(kc):
    q, k, v, g, beta = gdn_inputs(torch.float64, t=5)
    want, s_want = gated_delta_rule_reference(q, k, v, g, beta, 0.3, None, True)
    s, outs = None, []
    for t in range(5):
        o, s = gated_delta_rule_step(q[:, t], k[:, t], v[:, t], g[:, t], beta[:, t], 0.3, s)
        outs.append(o)
    kc.close(torch.stack(outs, 1), want, name="o")
    kc.close(s, s_want, name="state")
    with pytest.raises(ValueError, match=r"state must be \(B, H, K, V\)"):
        gated_delta_rule_step(q[:, 0], k[:, 0], v[:, 0], g[:, 0], beta[:, 0], None, torch.zeros(2, 2, 4, 8))
    with pytest.raises(ValueError, match=r"g and beta \(B, H\)"):
        gated_delta_rule_step(q[:, 0], k[:, 0], v[:, 0], g[:, 0, :1], beta[:, 0])
    x, dt, a, b, c, d = ssd_inputs(t=1)
    with pytest.raises(ValueError, match=r"state must be \(B, H, P, N\)"):
        ssd_step(x[:, 0], dt[:, 0], a, b[:, 0], c[:, 0], d, torch.zeros(2, 4, 4, 9))
    with pytest.raises(ValueError, match=r"expected x \(B, H, P\)"):
        ssd_step(x[:, 0], dt[:, 0, :2], a, b[:, 0], c[:, 0], d)
    u, dt, a, b, c, d = s4d_inputs(t=1)
    with pytest.raises(ValueError, match=r"state must be complex \(B, H, N\)"):
        s4d_step(u[:, 0], dt[:, 0], a, b, c, d, torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match=r"expected u and dt \(B, H\)"):
        s4d_step(u[:, 0], dt[:, 0, :2], a, b, c, d)


@requires_cuda
@pytest.mark.parametrize("kernel", ["gated_delta_rule", "ssd"])
def test_cuda_library_path_runs_and_matches_torch(kernel, monkeypatch):
    library = {"gated_delta_rule": "fla", "ssd": "mamba_ssm"}[kernel]
    if _backend.LIBRARIES[library]() is None:
        pytest.skip(f"{library} is not installed")
    monkeypatch.delenv("BIODYN_FORCE_TORCH", raising=False)
    monkeypatch.setenv("BIODYN_BACKEND", "auto")
    if kernel == "gated_delta_rule":
        fn, xs = gated_delta_rule, gdn_inputs(t=200, dk=64, dv=64, device="cuda")
    else:
        fn, xs = ssd, ssd_inputs(t=200, p=32, n=64, device="cuda")
    with record_backends() as calls:
        fast, _ = fn(*xs)
    assert calls == [(kernel, library)]  # the library really ran
    monkeypatch.setenv("BIODYN_BACKEND", "torch")
    slow, _ = fn(*xs)
    assert last_backend(kernel) == "chunked"
    from biodyn.testing import assert_close

    assert_close(fast, slow, rtol=5e-3, atol=1e-4, name=kernel)
