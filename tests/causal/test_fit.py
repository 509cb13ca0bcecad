import numpy as np
import pytest

from biodyn.causal.fit import FitConfig, fit_ldsem, screen
from biodyn.causal.ldsem import simulate
from biodyn.causal.metrics import edge_scores, tau_mae_samples
from biodyn.errors import ConfigError


@pytest.mark.slow
@pytest.mark.parametrize("cyclic", [True, False], ids=["cyclic", "acyclic"])
def test_recovers_sub_sample_lags(cyclic):
    s = simulate(n_channels=5, n_times=4000, cyclic=cyclic, noise="laplace", seed=7, edge_prob=0.4)
    g = fit_ldsem(s.data, s.graph.fs, cfg=FitConfig(steps=150, lr=0.03))
    sc = edge_scores(s.graph, g)
    assert sc["f1"] == 1.0, sc
    assert tau_mae_samples(s.graph, g) < 0.1
    # weights come back in the data's units
    both = (s.graph.weight != 0) & (g.weight != 0)
    np.testing.assert_allclose(g.weight[both], s.graph.weight[both], atol=0.05)
    assert g.to_dict()["edges"][0]["tau_samples"] == pytest.approx(g.edges()[0]["tau_s"] * g.fs)


def test_screening_initial_delays_are_close():
    s = simulate(n_channels=4, n_times=4000, seed=3, edge_prob=0.5)
    support, _, tau0 = screen(s.data, 8.0)
    true = s.graph.weight != 0
    assert np.array_equal(support, true)
    assert np.abs(tau0[true] - s.graph.tau_samples[true]).max() < 0.6


def test_no_edges_and_bad_input():
    rng = np.random.default_rng(0)
    g = fit_ldsem(rng.standard_normal((3, 3000)), 100.0)
    assert not (g.weight != 0).any()
    with pytest.raises(ConfigError, match="NaN"):
        fit_ldsem(np.full((3, 3000), np.nan), 100.0)
    with pytest.raises(ConfigError, match=r"\(C, T\)"):
        fit_ldsem(np.zeros((3, 20)), 100.0)


def test_a_likelihood_the_fit_does_not_use_is_refused():
    """The per-recording fit is least squares; a Laplace likelihood asked of it must not be silently ignored."""
    import pytest

    from biodyn.causal.fit import FitConfig
    from biodyn.errors import ConfigError

    assert FitConfig().likelihood == "gaussian"
    with pytest.raises(ConfigError, match="least squares"):
        FitConfig(likelihood="laplace")
