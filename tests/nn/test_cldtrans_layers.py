"""CLD-Trans layers: motif VQ tokenizer, amortised lag encoder, graph-conditioned neural ODE."""

import numpy as np
import pytest
import torch

from biodyn.errors import ConfigError
from biodyn.nn.lag_encoder import LagEncoder, cross_correlation, stability_bound
from biodyn.nn.ode import GraphODE, GraphStep, interpolate_graph
from biodyn.nn.vq import MotifTokenizer, codebook_stats
from biodyn.testing import assert_close


# ---------------------------------------------------------------- VQ tokenizer
def test_codebook_stats_hand_worked():
    # codes 0,0,1,3 over a codebook of 4: usage 3/4; p = (.5, .25, 0, .25) -> H = 1.5 ln 2, perplexity 2^1.5
    s = codebook_stats(torch.tensor([0, 0, 1, 3]), 4)
    assert s.usage == pytest.approx(0.75)
    assert s.perplexity == pytest.approx(2**1.5)


@pytest.mark.parametrize("use_vq", [True, False], ids=["vq", "no_vq"])
def test_tokenizer_shapes_any_channel_count_and_modality(use_vq):
    torch.manual_seed(0)
    tok = MotifTokenizer(n_modalities=2, dim=8, hidden=8, downsample=4, codebook_size=16, use_vq=use_vq)
    for c, t, m in ((3, 100, 0), (5, 64, 1)):
        x = torch.randn(2, c, t)
        out = tok(x, torch.full((2,), m))
        assert out["latents"].shape == (2, c, 25 if t == 100 else 16, 8)
        assert out["recon"].shape == (2, c, t)
        if use_vq:
            assert out["codes"].shape == (2, c, out["latents"].shape[2]) and out["codes"].max() < 16
        else:
            assert out["codes"] is None and float(out["commit"]) == 0


def test_modality_embedding_changes_the_encoding():
    torch.manual_seed(0)
    tok = MotifTokenizer(dim=8, hidden=8, codebook_size=16, use_vq=False)
    x = torch.randn(1, 2, 64)
    assert not torch.allclose(tok.encode(x, torch.tensor([0])), tok.encode(x, torch.tensor([1])))


def test_tokenizer_learns_to_reconstruct_and_uses_codes():
    torch.manual_seed(0)
    tok = MotifTokenizer(dim=16, hidden=32, downsample=2, codebook_size=32, use_vq=True)
    t = torch.arange(128) / 128
    opt = torch.optim.Adam(tok.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        phase = torch.rand(8, 3, 1) * 6.28
        freq = 2 + torch.randint(0, 4, (8, 3, 1))
        x = torch.sin(2 * np.pi * freq * t + phase)
        out = tok(x, torch.zeros(8, dtype=torch.long))
        loss = (out["recon"] - x).square().mean() + out["commit"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float((out["recon"] - x).square().mean().detach()))
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    s = codebook_stats(out["codes"], 32)
    assert s.usage > 0.1 and s.perplexity > 2


# ---------------------------------------------------------------- lag encoder
def test_cross_correlation_matches_numpy():
    x = torch.randn(1, 2, 50, dtype=torch.float64)
    r = cross_correlation(x, 3)
    a, b = x[0, 0].numpy(), x[0, 1].numpy()
    for k, lag in enumerate(range(-3, 4)):  # mean_t a(t - lag) b(t)
        if lag >= 0:
            ref = np.dot(a[: 50 - lag], b[lag:]) / 50
        else:
            ref = np.dot(a[-lag:], b[: 50 + lag]) / 50
        assert float(r[0, 0, 1, k]) == pytest.approx(ref, abs=1e-12)


def test_stability_bound_is_the_spectral_radius_of_abs_weights():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(3, 5, 5, generator=g, dtype=torch.float64)
    ref = np.abs(np.linalg.eigvals(np.abs(a.numpy()))).max(-1)
    np.testing.assert_allclose(stability_bound(a, iters=300).numpy(), ref, rtol=1e-6)


@pytest.mark.parametrize("mode", ["continuous", "integer", "zero"])
def test_lag_encoder_ranges_diagonal_and_modes(mode):
    torch.manual_seed(0)
    enc = LagEncoder(tau_max_samples=5.0, embed_dim=4, hidden=16, lag_mode=mode)
    x = torch.randn(2, 4, 80)
    tau, w = enc(x, torch.randn(2, 4, 4))
    assert tau.shape == w.shape == (2, 4, 4)
    assert (tau >= 0).all() and (tau <= 5.0).all()
    assert (torch.diagonal(tau, dim1=1, dim2=2) == 0).all() and (torch.diagonal(w, dim1=1, dim2=2) == 0).all()
    if mode == "integer":
        assert torch.equal(tau, tau.round())
    if mode == "zero":
        assert (tau == 0).all()


def test_integer_lag_has_a_straight_through_gradient():
    torch.manual_seed(0)
    enc = LagEncoder(tau_max_samples=5.0, hidden=8, lag_mode="integer")
    tau, _ = enc(torch.randn(1, 3, 60))
    tau.sum().backward()
    assert enc.tau_head.weight.grad.abs().sum() > 0


def test_lag_encoder_bad_input():
    enc = LagEncoder(tau_max_samples=5.0)
    with pytest.raises(ConfigError, match="at least 2 channels"):
        enc(torch.randn(1, 1, 80))
    with pytest.raises(ConfigError, match="too short"):
        enc(torch.randn(1, 3, 10))


# ---------------------------------------------------------------- graph ODE
def test_interpolate_graph():
    g = torch.stack([torch.zeros(1, 2, 2), torch.ones(1, 2, 2), 3 * torch.ones(1, 2, 2)], 1)
    assert float(interpolate_graph(g, torch.tensor(0.5))[0, 0, 0]) == pytest.approx(0.5)
    assert float(interpolate_graph(g, torch.tensor(1.5))[0, 0, 0]) == pytest.approx(2.0)
    assert float(interpolate_graph(g, torch.tensor(9.0))[0, 0, 0]) == pytest.approx(3.0)


def test_linear_ode_matches_matrix_exponential():
    """With f(z) = F z and g = identity the ODE is linear: dz_j/dt = F z_j + sum_i A[i, j] z_i."""
    torch.manual_seed(0)
    ode = GraphODE(dim=2, hidden=2, method="dopri5", rtol=1e-10, atol=1e-12).double()
    fmat = torch.tensor([[-0.3, 0.1], [0.0, -0.2]], dtype=torch.float64)
    ode.func.f = torch.nn.Linear(2, 2, bias=False).double()
    ode.func.f.weight.data = fmat.clone()
    ode.func.g = torch.nn.Identity()
    a = torch.tensor([[[0.0, 0.5], [0.2, 0.0]]], dtype=torch.float64)  # (1, C=2, C)
    z0 = torch.randn(1, 2, 2, dtype=torch.float64)
    out = ode(z0, a[:, None], torch.tensor([0.0, 1.0], dtype=torch.float64))
    # vec over (C, D), row-major: the generator is I_C (x) F + A^T (x) I_D
    eye = torch.eye(2, dtype=torch.float64)
    big = torch.kron(eye, fmat) + torch.kron(a[0].T.contiguous(), eye)
    ref = torch.linalg.matrix_exp(big) @ z0[0].reshape(-1)
    assert_close(out[-1, 0].contiguous().reshape(-1), ref, rtol=1e-8, name="z(1)")


@pytest.mark.parametrize("method", ["dopri5", "rk4"])
def test_adjoint_gradients_match_direct(method):
    torch.manual_seed(0)
    kw = {"dim": 3, "hidden": 8, "method": method, "rtol": 1e-9, "atol": 1e-11, "step_size": 0.1}
    direct = GraphODE(**kw).double()
    adj = GraphODE(**kw, adjoint=True).double()
    adj.load_state_dict(direct.state_dict())
    z0 = torch.randn(2, 4, 3, dtype=torch.float64)
    graphs = torch.randn(2, 3, 4, 4, dtype=torch.float64) * 0.3
    times = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)
    grads = []
    for model in (direct, adj):
        g = graphs.clone().requires_grad_()
        z = z0.clone().requires_grad_()
        out = model(z, g, times)
        out.square().sum().backward()
        grads.append([z.grad, g.grad, *[p.grad for p in model.parameters()]])
    for k, (a, b) in enumerate(zip(*grads)):
        assert_close(b, a, rtol=1e-6, name=f"grad{k}")


def test_graph_step_shapes():
    step = GraphStep(dim=3, hidden=4)
    out = step(torch.randn(2, 4, 3), torch.randn(2, 3, 4, 4), 2)
    assert out.shape == (3, 2, 4, 3)
