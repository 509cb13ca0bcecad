"""The amortised lag encoder, trained only by the LD-SEM objective, gives each recording its own delays."""

import numpy as np
import pytest
import torch

from biodyn.causal.amortised import AmortisedConfig, infer_graph, train_amortised
from biodyn.ops.fractional_delay import delay


def _two_channel_recording(tau: float, seed: int, n: int = 3000) -> np.ndarray:
    """x1(t) = 0.7 x0(t - tau) + e1(t), x2 independent; Laplace innovations."""
    rng = np.random.default_rng(seed)
    e = rng.laplace(size=(3, n)) / np.sqrt(2)
    x = e.copy()
    x[1] += 0.7 * delay(torch.from_numpy(e[0]), tau).numpy()
    return x


@pytest.mark.slow
def test_different_simulated_delays_give_different_inferred_tau():
    cfg = AmortisedConfig(steps=150, n_train_graphs=16, n_times_train=2048, window=256, batch_size=16)
    enc = train_amortised(cfg, seed=0, n_channels=3, noise="laplace", cyclic=True)
    est = {}
    for tau in (2.0, 6.0):
        g = infer_graph(enc, _two_channel_recording(tau, seed=int(tau)), fs=100.0, window=256)
        assert g.weight[0, 1] != 0, f"edge 0 -> 1 (tau {tau}) not found"
        est[tau] = g.tau_samples[0, 1]
        assert abs(est[tau] - tau) < 1.0, est
        assert g.weight[1, 0] == 0 or abs(g.weight[1, 0]) < abs(g.weight[0, 1])
    assert est[6.0] - est[2.0] > 3.0


def test_the_likelihood_reaches_the_encoder():
    """The 'with and without the non-Gaussianity assumption' rows train the same encoder under the Laplace and
    the Gaussian LD-SEM likelihood: from one seed and the same data the two must end apart, and both away from
    the untrained encoder (a likelihood that never reached the gradient would leave them equal)."""
    x = torch.from_numpy(_two_channel_recording(4.0, seed=3, n=256)).float()[None]
    out = {}
    for lik, steps in (("laplace", 25), ("gaussian", 25), ("laplace", 0)):
        cfg = AmortisedConfig(
            steps=steps,
            n_train_graphs=4,
            n_times_train=512,
            window=256,
            batch_size=4,
            hidden=16,
            likelihood=lik,
        )
        enc = train_amortised(cfg, seed=0, n_channels=3, noise="laplace", cyclic=True)
        with torch.no_grad():
            out[(lik, steps)] = enc(x)[0]
    lap, gau, prior = out[("laplace", 25)], out[("gaussian", 25)], out[("laplace", 0)]
    assert (lap - gau).abs().mean() > 1e-3 and (lap - prior).abs().mean() > 1e-3
    assert (gau - prior).abs().mean() > 1e-3
