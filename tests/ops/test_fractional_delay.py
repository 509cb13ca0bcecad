import numpy as np
import pytest
import torch

from biodyn.ops.fractional_delay import (
    delay,
    edge_lagged_mix,
    lagged_mix,
    lagged_mix_dense,
    odd_fast_length,
)


def test_odd_fast_length():
    assert odd_fast_length(1600) % 2 == 1 and odd_fast_length(1600) >= 1600
    assert odd_fast_length(1600) == 1701  # 3^5 * 7


@pytest.mark.parametrize("shift", [0, 1, 7, 30])
def test_integer_delay_is_an_exact_shift(shift):
    x = torch.randn(3, 2, 64, dtype=torch.float64)
    y = delay(x, float(shift))
    torch.testing.assert_close(y[..., shift:], x[..., : 64 - shift], atol=1e-12, rtol=0)
    assert y[..., :shift].abs().max() < 1e-12 if shift else True


def test_fractional_delay_matches_sinc_interpolation():
    # a band-limited signal: a few sines well below Nyquist, windowed to zero at the ends
    t = np.arange(400, dtype=np.float64)
    win = np.sin(np.pi * t / 399) ** 4
    sig = lambda tt: np.sin(2 * np.pi * 0.03 * tt) + 0.5 * np.cos(2 * np.pi * 0.11 * tt + 1.0)  # noqa: E731
    x = sig(t) * win
    tau = 2.37
    y = delay(torch.from_numpy(x), tau).numpy()
    # sinc interpolation of the samples at t - tau
    ref = np.array([np.sum(x * np.sinc(ti - tau - t)) for ti in t])
    np.testing.assert_allclose(y[50:-50], ref[50:-50], atol=2e-3)
    # seconds with fs
    y2 = delay(torch.from_numpy(x), tau / 100.0, fs=100.0).numpy()
    np.testing.assert_allclose(y, y2, atol=1e-12)


def test_delay_round_trip_and_grad_in_tau():
    x = torch.randn(2, 80, dtype=torch.float64)
    tau = torch.tensor([1.3, 4.7], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda xx, tt: delay(xx, tt), (x.clone().requires_grad_(), tau))
    # finite differences by hand on the loss
    loss = lambda tt: delay(x, tt).pow(2).sum() + delay(x, tt)[:, 40].sum()  # noqa: E731
    g = torch.autograd.grad(loss(tau), tau)[0]
    eps = 1e-6
    fd = torch.stack(
        [
            (loss(tau.detach() + eps * e) - loss(tau.detach() - eps * e)) / (2 * eps)
            for e in torch.eye(2, dtype=torch.float64)
        ]
    )
    torch.testing.assert_close(g, fd, atol=1e-6, rtol=1e-6)


def test_fused_equals_dense_values_and_gradients():
    torch.manual_seed(0)
    x = torch.randn(2, 4, 60, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 4, dtype=torch.float64, requires_grad=True)
    tau = (torch.rand(4, 4, dtype=torch.float64) * 6).requires_grad_()
    a = lagged_mix(x, w, tau, band=9)
    b = lagged_mix_dense(x, w, tau)
    torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
    r = torch.randn_like(a)
    ga = torch.autograd.grad((a * r).sum(), (x, w, tau))
    gb = torch.autograd.grad((b * r).sum(), (x, w, tau))
    for u, v in zip(ga, gb):
        torch.testing.assert_close(u, v, atol=1e-10, rtol=0)


def test_orientation_source_to_target():
    # one edge: channel 0 -> channel 2 with a 5-sample lag and weight 2
    x = torch.zeros(1, 3, 40, dtype=torch.float64)
    x[0, 0, 10] = 1.0
    w = torch.zeros(3, 3, dtype=torch.float64)
    tau = torch.zeros(3, 3, dtype=torch.float64)
    w[0, 2], tau[0, 2] = 2.0, 5.0
    y = lagged_mix(x, w, tau)
    assert y[0, 2, 15].item() == pytest.approx(2.0) and y[0, :2].abs().max() < 1e-12


def test_gradient_reaches_zero_weights():
    x = torch.randn(1, 3, 30, dtype=torch.float64)
    w = torch.zeros(3, 3, dtype=torch.float64, requires_grad=True)
    tau = torch.ones(3, 3, dtype=torch.float64)
    lagged_mix(x, w, tau).sum().backward()
    assert w.grad.abs().sum() > 0


@pytest.mark.parametrize("t", [64, 63], ids=["even-T", "odd-T"])
@pytest.mark.parametrize("lead", [3, 1, 20])
def test_negative_delay_is_a_lead(t, lead):
    """tau < 0 moves the signal earlier: y[i] = x[i + lead], zeros past the end, T samples out."""
    x = torch.randn(2, t, dtype=torch.float64, generator=torch.Generator().manual_seed(t + lead))
    y = delay(x, -float(lead))
    assert y.shape == x.shape
    torch.testing.assert_close(y[..., : t - lead], x[..., lead:], atol=1e-12, rtol=0)
    assert y[..., t - lead :].abs().max() < 1e-12


def test_mixed_sign_delays_do_not_wrap():
    """One channel led by 20 samples, one delayed by 1: the FFT length must cover the largest |tau|, else
    the lead wraps the start of the signal around to its end."""
    x = torch.randn(2, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    y = delay(x, torch.tensor([-20.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(y[0, :44], x[0, 20:], atol=1e-12, rtol=0)
    assert y[0, 44:].abs().max() < 1e-12
    torch.testing.assert_close(y[1, 1:], x[1, :63], atol=1e-12, rtol=0)
    # the same through the fused and the sparse mixers (source 0 -> target 1 led by 20, 1 -> 0 delayed 1)
    xb = x[None]
    w = torch.tensor([[0.0, 2.0], [0.5, 0.0]], dtype=torch.float64)
    tau = torch.tensor([[0.0, -20.0], [1.0, 0.0]], dtype=torch.float64)
    dense = lagged_mix_dense(xb, w, tau)
    torch.testing.assert_close(dense[0, 1, :44], 2 * x[0, 20:], atol=1e-12, rtol=0)
    assert dense[0, 1, 44:].abs().max() < 1e-12
    torch.testing.assert_close(dense[0, 0, 1:], 0.5 * x[1, :63], atol=1e-12, rtol=0)
    torch.testing.assert_close(lagged_mix(xb, w, tau, band=7), dense, atol=1e-12, rtol=0)
    src, tgt = torch.tensor([0, 1]), torch.tensor([1, 0])
    sparse = edge_lagged_mix(
        xb,
        src,
        tgt,
        torch.tensor([2.0, 0.5], dtype=torch.float64),
        torch.tensor([-20.0, 1.0], dtype=torch.float64),
    )
    torch.testing.assert_close(sparse, dense, atol=1e-12, rtol=0)


def test_fractional_lead_on_odd_length_matches_sinc_interpolation():
    t = np.arange(151, dtype=np.float64)  # odd T
    x = np.sin(2 * np.pi * 0.05 * t) * np.sin(np.pi * t / 150) ** 4
    tau = -3.6
    y = delay(torch.from_numpy(x), tau).numpy()
    assert y.shape == (151,)
    ref = np.array([np.sum(x * np.sinc(ti - tau - t)) for ti in t])
    np.testing.assert_allclose(y[20:-20], ref[20:-20], atol=2e-3)


def test_odd_fast_lengths_by_hand():
    # the smallest odd 3-5-7-smooth number >= n
    assert [odd_fast_length(n) for n in (0, 1, 2, 4, 22, 25, 26, 50, 100)] == [
        1,
        1,
        3,
        5,
        25,
        25,
        27,
        63,
        105,
    ]


def test_mixers_take_delays_in_seconds_and_empty_edge_lists():
    x = torch.randn(1, 3, 50, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    w = torch.randn(3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    tau = torch.rand(3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(7)) * 4
    fs = 250.0
    want = lagged_mix_dense(x, w, tau)
    torch.testing.assert_close(lagged_mix_dense(x, w, tau / fs, fs=fs), want, atol=1e-12, rtol=0)
    torch.testing.assert_close(lagged_mix(x, w, tau / fs, fs=fs), want, atol=1e-12, rtol=0)
    src, tgt = torch.tensor([0, 2]), torch.tensor([1, 1])
    y = edge_lagged_mix(x, src, tgt, w[src, tgt], tau[src, tgt] / fs, fs=fs)
    torch.testing.assert_close(
        y, edge_lagged_mix(x, src, tgt, w[src, tgt], tau[src, tgt]), atol=1e-12, rtol=0
    )
    none = torch.zeros(0, dtype=torch.long)
    empty = edge_lagged_mix(
        x, none, none, torch.zeros(0, dtype=torch.float64), torch.zeros(0, dtype=torch.float64)
    )
    assert empty.shape == x.shape and not empty.any()
