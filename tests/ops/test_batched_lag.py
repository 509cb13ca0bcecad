import pytest
import torch

from biodyn.errors import ConfigError
from biodyn.ops.batched_lag import lagged_mix_batched, lagged_mix_batched_dense
from biodyn.ops.fractional_delay import lagged_mix_dense
from biodyn.testing import assert_close


def _inputs(b=3, c=4, t=97, tau_max=6.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, c, t, generator=g, dtype=torch.float64)
    w = torch.randn(b, c, c, generator=g, dtype=torch.float64) * 0.3
    tau = torch.rand(b, c, c, generator=g, dtype=torch.float64) * tau_max
    return x, w, tau


@pytest.mark.parametrize("band", [1, 7, 64], ids=lambda b: f"band{b}")
@pytest.mark.parametrize("t", [64, 97], ids=lambda t: f"T{t}")
def test_fused_matches_dense_reference_and_grads(band, t):
    x, w, tau = _inputs(t=t)
    args = [v.clone().requires_grad_() for v in (x, w, tau)]
    ref_args = [v.clone().requires_grad_() for v in (x, w, tau)]
    y = lagged_mix_batched(*args, tau_max_samples=6.0, band=band)
    y_ref = lagged_mix_batched_dense(*ref_args)
    assert_close(y, y_ref, rtol=1e-12, name="y")
    g = torch.randn_like(y)
    (y * g).sum().backward()
    (y_ref * g).sum().backward()
    for name, a, r in zip(("dx", "dweight", "dtau"), args, ref_args):
        assert_close(a.grad, r.grad, rtol=1e-10, name=name)


def test_each_batch_element_uses_its_own_graph():
    """Against the unbatched reference of biodyn.ops.fractional_delay, one element at a time."""
    x, w, tau = _inputs(b=2)
    y = lagged_mix_batched(x, w, tau, tau_max_samples=6.0)
    for b in range(2):
        assert_close(y[b], lagged_mix_dense(x[b : b + 1], w[b], tau[b])[0], rtol=1e-12, name=f"b{b}")


def test_integer_delay_is_zero_padded_not_circular():
    x = torch.zeros(1, 2, 32, dtype=torch.float64)
    x[0, 0, -1] = 1.0  # the last sample must not wrap around to the start
    w = torch.tensor([[[0.0, 1.0], [0.0, 0.0]]], dtype=torch.float64)
    tau = torch.tensor([[[0.0, 3.0], [0.0, 0.0]]], dtype=torch.float64)
    y = lagged_mix_batched(x, w, tau, tau_max_samples=3.0)
    assert y.abs().max() < 1e-12
    x[0, 0, 5] = 2.0
    y = lagged_mix_batched(x, w, tau, tau_max_samples=3.0)
    assert abs(float(y[0, 1, 8]) - 2.0) < 1e-12 and float(y[0, 1].abs().sum()) == pytest.approx(2.0, abs=1e-9)


def test_gradcheck_tau():
    x, w, tau = _inputs(b=1, c=2, t=24, tau_max=3.0)
    tau.requires_grad_()
    assert torch.autograd.gradcheck(lambda tt: lagged_mix_batched(x, w, tt, tau_max_samples=3.0), (tau,))


def test_shape_errors_name_the_parameter():
    x, w, tau = _inputs()
    with pytest.raises(ConfigError, match="weight"):
        lagged_mix_batched(x, w[0], tau)
    with pytest.raises(ConfigError, match=r"x must be \(B, C, T\)"):
        lagged_mix_batched(x[0], w, tau)


def _edge(b, c, t, tau_value, dtype=torch.float64, seed=0):
    """x (B, C, T) and one edge 0 -> 1 with weight 2 and an integer delay of ``tau_value`` samples."""
    x = torch.randn(b, c, t, dtype=dtype, generator=torch.Generator().manual_seed(seed))
    w = torch.zeros(b, c, c, dtype=dtype)
    tau = torch.zeros(b, c, c, dtype=dtype)
    w[:, 0, 1], tau[:, 0, 1] = 2.0, tau_value
    return x, w, tau


def test_fft_length_read_from_tau_does_not_wrap():
    """Without tau_max_samples the FFT length comes from tau itself: T = 20 and tau = 8 need n >= 29 (27 would
    bring the last samples round to the start); the integer delay is an exact shift with zeros before it."""
    x, w, tau = _edge(2, 3, 20, 8.0)
    for y in (lagged_mix_batched(x, w, tau), lagged_mix_batched_dense(x, w, tau)):
        torch.testing.assert_close(y[:, 1, 8:], 2 * x[:, 0, :12], atol=1e-12, rtol=0)
        assert y[:, 1, :8].abs().max() < 1e-12 and y[:, [0, 2]].abs().max() < 1e-12


def test_float32_is_computed_in_float32_without_autocast():
    x, w, tau = _edge(2, 3, 40, 5.5, dtype=torch.float32)
    ref = lagged_mix_batched_dense(x.double(), w.double(), tau.double())
    for y in (lagged_mix_batched(x, w, tau), lagged_mix_batched_dense(x, w, tau)):
        assert y.dtype == torch.float32
        torch.testing.assert_close(y.double(), ref, atol=1e-5, rtol=1e-5)  # bf16 products would be ~1e-2 off
    # mixed input dtypes are brought to x's compute dtype (float32 here), half precision to float32
    y = lagged_mix_batched(x, w.double(), tau.double())
    assert y.dtype == torch.float32
    torch.testing.assert_close(y.double(), ref, atol=1e-5, rtol=1e-5)
    y = lagged_mix_batched_dense(x, w.double(), tau.double())
    assert y.dtype == torch.float32
    y = lagged_mix_batched(x.bfloat16(), w.bfloat16(), tau)
    assert y.dtype == torch.float32
    # the dense reference too: bfloat16 x is promoted to float32 (a bfloat16 FFT is not supported)
    y = lagged_mix_batched_dense(x.bfloat16(), w.bfloat16(), tau)
    want = lagged_mix_batched_dense(x.bfloat16().float(), w.bfloat16().float(), tau)
    assert y.dtype == torch.float32 and torch.equal(y, want)
    y64 = lagged_mix_batched(x.double(), w, tau)
    assert y64.dtype == torch.float64


def test_shapes_are_named_in_errors():
    x, w, tau = _edge(2, 3, 10, 1.0)
    with pytest.raises(ConfigError, match=r"weight must be \(B, C, C\)"):
        lagged_mix_batched(x, w[:1], tau)
    with pytest.raises(ConfigError, match=r"tau must be \(B, C, C\)"):
        lagged_mix_batched(x, w, tau[:, :2])
