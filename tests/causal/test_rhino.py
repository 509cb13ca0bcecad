"""Rhino recovers a simple nonlinear lagged chain (far better than chance) and is reachable by name."""

import numpy as np
import pytest

from biodyn.causal.baselines import BASELINES, fit_baseline
from biodyn.causal.metrics import edge_scores
from biodyn.causal.rhino import _break_cycles
from biodyn.errors import ConfigError
from biodyn.types import LagGraph


def _chain(t=1500, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, t))
    for k in range(3, t):
        x[1, k] += 0.9 * np.tanh(2 * x[0, k - 2])  # nonlinear, lag 2
        x[2, k] += 0.8 * x[1, k - 3]  # linear, lag 3
    tau = np.zeros((3, 3))
    w = np.zeros((3, 3))
    tau[0, 1], tau[1, 2] = 2, 3
    w[0, 1] = w[1, 2] = 1
    return x, LagGraph(tau / 100, w, ["X0", "X1", "X2"], 100.0)


@pytest.mark.slow
def test_rhino_recovers_lagged_chain():
    x, true = _chain()
    est = fit_baseline("rhino", x, 100.0, 0.05, channels=true.channels, steps=300, seed=0)
    s = edge_scores(true, est)
    # chance: 6 possible directed edges, 2 true; a random graph of the same size scores F1 ~ 1/3
    assert s["recall"] == 1.0 and s["f1"] >= 0.8, s
    np.testing.assert_allclose(est.tau_samples[0, 1], 2.0, atol=0.5)
    np.testing.assert_allclose(est.tau_samples[1, 2], 3.0, atol=0.5)


def test_rhino_registered_and_checks_options():
    assert "rhino" in BASELINES
    x, _ = _chain(300)
    with pytest.raises(ConfigError, match="nope"):
        fit_baseline("rhino", x, 100.0, 0.05, nope=1)


def test_break_cycles_keeps_a_dag():
    w = np.array([[0, 0.9, 0], [0, 0, 0.8], [0.6, 0, 0]])
    out = _break_cycles(w)
    assert out[2, 0] == 0 and out[0, 1] == 0.9 and out[1, 2] == 0.8
