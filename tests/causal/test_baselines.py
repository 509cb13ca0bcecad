import numpy as np
import pytest

from biodyn.causal.baselines import fit_baseline, fit_dynotears, graph_from_lag_coefs
from biodyn.errors import ConfigError


def _var_data(t=3000, seed=0):
    """x0 -> x1 at lag 2 (0.6), x1 -> x2 at lag 1 (-0.5), x0 -> x2 instantaneous (0.7); Laplace noise."""
    rng = np.random.default_rng(seed)
    e = rng.laplace(size=(3, t))
    x = np.zeros((3, t))
    for s in range(t):
        x[0, s] = e[0, s]
        x[1, s] = 0.6 * x[0, s - 2] + e[1, s] if s >= 2 else e[1, s]
        x[2, s] = (-0.5 * x[1, s - 1] if s >= 1 else 0.0) + 0.7 * x[0, s] + e[2, s]
    return x


def test_graph_from_lag_coefs_weighted_mean():
    coef = np.zeros((5, 2, 2))
    coef[2, 0, 1], coef[3, 0, 1], coef[4, 0, 1] = 0.6, 0.2, 0.01  # peak at lag 2; lag 4 is outside +-1
    g = graph_from_lag_coefs(coef, fs=10.0)
    assert g.tau_samples[0, 1] == pytest.approx((2 * 0.6 + 3 * 0.2) / 0.8)
    assert g.weight[0, 1] == pytest.approx(0.8)
    assert g.weight[1, 0] == 0 and g.tau[1, 0] == 0


def test_dynotears_recovers_lagged_and_instantaneous_edges():
    x = _var_data()
    g = fit_dynotears(x, fs=1.0, tau_max=3.0)
    support = g.weight != 0
    expected = np.zeros((3, 3), bool)
    expected[0, 1] = expected[1, 2] = expected[0, 2] = True
    np.testing.assert_array_equal(support, expected)
    assert g.tau_samples[0, 1] == pytest.approx(2.0, abs=0.1)
    assert g.tau_samples[1, 2] == pytest.approx(1.0, abs=0.1)
    assert g.tau_samples[0, 2] == pytest.approx(0.0, abs=0.1)
    assert g.weight[1, 2] < 0 < g.weight[0, 1]


@pytest.mark.slow
def test_varlingam_recovers_lagged_edges():
    x = _var_data()
    g = fit_baseline("varlingam", x, fs=1.0, tau_max=3.0)
    assert g.weight[0, 1] != 0 and g.weight[1, 2] != 0 and g.weight[0, 2] != 0
    assert g.tau_samples[0, 1] == pytest.approx(2.0, abs=0.25)


def test_pcmci_finds_lagged_edges():
    pytest.importorskip("tigramite")
    x = _var_data(t=1500)
    g = fit_baseline("pcmci", x, fs=1.0, tau_max=3.0)  # lagged links only (tau_min=1)
    assert g.weight[0, 1] != 0 and g.weight[1, 2] != 0
    assert g.tau_samples[0, 1] == pytest.approx(2.0, abs=0.25)


def test_bad_input():
    with pytest.raises(ConfigError, match="unknown baseline"):
        fit_baseline("nope", np.zeros((2, 100)), 1.0, 1.0)
    with pytest.raises(ConfigError, match="NaN"):
        fit_dynotears(np.full((2, 200), np.nan), 1.0, 2.0)
