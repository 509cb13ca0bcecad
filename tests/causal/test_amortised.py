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
