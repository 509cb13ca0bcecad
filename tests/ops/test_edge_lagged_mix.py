import torch

from biodyn.ops.fractional_delay import edge_lagged_mix, lagged_mix_dense


def _dense(c, src, tgt, values):
    m = torch.zeros(c, c, dtype=values.dtype)
    return m.index_put((src, tgt), values, accumulate=True)


def test_edge_lagged_mix_equals_dense_reference_and_gradients():
    g = torch.Generator().manual_seed(0)
    b, c, t = 2, 5, 97
    x = torch.randn(b, c, t, generator=g, dtype=torch.float64, requires_grad=True)
    src = torch.tensor([0, 1, 3, 4, 2])
    tgt = torch.tensor([1, 2, 0, 1, 4])
    w = torch.randn(5, generator=g, dtype=torch.float64, requires_grad=True)
    tau = (torch.rand(5, generator=g, dtype=torch.float64) * 6).requires_grad_()
    y = edge_lagged_mix(x, src, tgt, w, tau)
    # the dense reference shifts every pair; unasserted pairs have weight 0 and delay 0
    ref = lagged_mix_dense(x, _dense(c, src, tgt, w), _dense(c, src, tgt, tau))
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-12)
    gy = torch.randn(y.shape, generator=g, dtype=torch.float64)
    grads = torch.autograd.grad((y * gy).sum(), (x, w, tau))
    grads_ref = torch.autograd.grad((ref * gy).sum(), (x, w, tau))
    for a, r in zip(grads, grads_ref):
        torch.testing.assert_close(a, r, rtol=0, atol=1e-10)


def test_edge_lagged_mix_integer_delay_is_a_shift():
    x = torch.arange(1.0, 21.0, dtype=torch.float64).reshape(1, 2, 10)
    one = torch.ones(1, dtype=torch.float64)
    y = edge_lagged_mix(x, torch.tensor([0]), torch.tensor([1]), 2 * one, 3 * one)
    expected = torch.cat([torch.zeros(3, dtype=torch.float64), 2 * x[0, 0, :7]])
    torch.testing.assert_close(y[0, 1], expected, atol=1e-12, rtol=0)
    assert y[0, 0].abs().max() < 1e-12


def test_weights_are_brought_to_the_signals_dtype():
    """float64 weights on a float32 signal: the mix is computed in float32 (the weights rounded to it) and
    comes back in float32, as with float32 weights."""
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 3, 30, generator=g)
    src, tgt = torch.tensor([0, 2]), torch.tensor([1, 1])
    w = torch.randn(2, generator=g, dtype=torch.float64)
    tau = torch.tensor([1.5, 4.25])
    y = edge_lagged_mix(x, src, tgt, w, tau)
    assert y.dtype == torch.float32
    assert torch.equal(y, edge_lagged_mix(x, src, tgt, w.float(), tau))
