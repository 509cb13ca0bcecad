"""The LD-SEM generator's random graphs against what LDSEMConfig promises, over many seeds: edge density,
no self-loops, a random causal order for acyclic graphs, weights of both signs in the range, delays spread
over (low, high] and 0 off the edges, and zero-delay edges drawn at their share and acyclic; the spectral
radius against a dense frequency grid."""

import numpy as np
import pytest

from biodyn.causal.ldsem import LDSEMConfig, random_graph, spectral_radius

SEEDS = range(60)


def _graphs(**kw):
    cfg = LDSEMConfig(**{"n_channels": 12, **kw})
    return [random_graph(np.random.default_rng(s), cfg) for s in SEEDS]


def test_edge_density_is_the_configured_or_two_parents_per_channel():
    for kw, p in (({}, 2 / 11), ({"edge_prob": 0.5}, 0.5)):
        dens = np.mean([(a != 0).sum() / (12 * 11) for a, _ in _graphs(**kw)])
        assert dens == pytest.approx(p, abs=0.02), kw  # 60 x 132 pairs: standard error < 0.006
    for a, tau in _graphs():
        assert not np.diag(a).any() and not np.diag(tau).any()


def test_acyclic_graphs_follow_a_random_order():
    backward = 0
    for a, _ in _graphs(cyclic=False, edge_prob=0.5):
        assert all(np.trace(np.linalg.matrix_power((a != 0).astype(float), k)) == 0 for k in range(1, 13))
        backward += int(np.tril(a != 0, -1).any())  # an edge from a higher to a lower index
    assert backward > len(SEEDS) // 2  # the order is a random permutation, not the channel order
    # cyclic graphs do have cycles (two channels feeding each other, at this density)
    assert any(((a != 0) & (a != 0).T).any() for a, _ in _graphs(edge_prob=0.5))


def test_weights_and_delays_in_their_ranges():
    for a, tau in _graphs(edge_prob=0.5, weight_range=(0.3, 0.6), tau_range_samples=(1.0, 8.0)):
        e = a != 0
        assert (np.abs(a[e]) >= 0.3).all() and (np.abs(a[e]) < 0.6).all()
        assert (a[e] > 0).any() and (a[e] < 0).any()  # random signs within one graph
        assert (tau[e] > 1.0).all() and (tau[e] <= 8.0).all() and (tau[~e] == 0).all()
        assert len(np.unique(tau[e])) == e.sum()  # each edge its own delay
    top = max(tau[a != 0].max() for a, tau in _graphs(edge_prob=0.5))
    assert top > 7.9  # the whole range (1, 8] is reached


def test_zero_delay_edges_at_their_share_and_acyclic():
    zero = edges = 0
    for a, tau in _graphs(edge_prob=0.5, instantaneous_prob=0.5):
        e = a != 0
        z = e & (tau == 0)
        assert z.any() and (e & (tau > 0)).any()  # every graph has both kinds
        assert all(np.trace(np.linalg.matrix_power(z.astype(float), k)) == 0 for k in range(1, 13))
        zero, edges = zero + z.sum(), edges + e.sum()
    # an edge is instantaneous with probability 1/2 when it goes forward in a random order (1/2): 1/4
    assert zero / edges == pytest.approx(0.25, abs=0.03)
    # none by default
    assert all(((tau > 0) == (a != 0)).all() for a, tau in _graphs(edge_prob=0.5))


def test_spectral_radius_against_a_dense_frequency_grid():
    a = np.array([[0.0, 0.5, 0.3], [0.0, 0.0, 0.6], [-0.4, 0.0, 0.0]])  # a sign: the peak is not at f = 0
    tau = np.array([[0.0, 2.1, 3.3], [0.0, 0.0, 1.9], [1.45, 0.0, 0.0]])  # peaks at f = 0.149
    f = np.linspace(0.0, 0.5, 20001)
    m = np.zeros((len(f), 3, 3), complex)
    for i, j in zip(*np.nonzero(a)):  # M[f, target, source] = A[source, target] exp(-2 pi i f tau)
        m[:, j, i] = a[i, j] * np.exp(-2j * np.pi * f * tau[i, j])
    want = np.abs(np.linalg.eigvals(m)).max()
    assert spectral_radius(a, tau) == pytest.approx(want, abs=2e-3)
    assert spectral_radius(a, tau, n_freqs=20001) == pytest.approx(want, rel=1e-12)


def test_simulate_sizes_at_their_bounds():
    from biodyn.causal.ldsem import simulate
    from biodyn.errors import ConfigError

    s = simulate(n_channels=2, n_times=16, burn_in=10)
    assert s.data.shape == (2, 16)
    # the circular solution: burn-in on both sides, made odd (no Nyquist bin)
    assert s.full_data.shape == (2, 37) and s.full_noise.shape == (2, 37)
    assert simulate(n_channels=2, n_times=17, burn_in=10).full_data.shape == (2, 37)
    assert simulate(n_channels=2, n_times=18, burn_in=10).full_data.shape == (2, 39)
    for kw in ({"n_channels": 1}, {"n_times": 15}):
        with pytest.raises(ConfigError, match="invalid LD-SEM size"):
            simulate(**{"n_channels": 2, "n_times": 16, "burn_in": 10, **kw})


def test_simulate_shrinks_an_unstable_draw_until_it_is_stable():
    """Dense strong graphs (|A| in [0.8, 0.9), every pair an edge) are unstable as drawn; the weights are
    scaled by 0.95 x the limit / the radius, and the radius scales with them: exactly 0.95 x 0.9 = 0.855."""
    from biodyn.causal.ldsem import simulate

    for seed in range(5):
        cfg = LDSEMConfig(
            n_channels=4, n_times=64, burn_in=16, edge_prob=1.0, weight_range=(0.8, 0.9), seed=seed
        )
        a0, tau = random_graph(np.random.default_rng(seed), cfg)
        assert spectral_radius(a0, tau) > 0.9  # unstable as drawn
        assert simulate(cfg).spectral_radius == pytest.approx(0.855, rel=1e-9)
    # barely unstable (radius in (0.9, 1]): shrunk as well, not redrawn
    cfg = LDSEMConfig(n_channels=4, n_times=64, burn_in=16, edge_prob=1.0, weight_range=(0.40, 0.41), seed=0)
    a0, tau = random_graph(np.random.default_rng(0), cfg)
    assert 0.9 < spectral_radius(a0, tau) <= 1.0
    s = simulate(cfg)
    assert s.spectral_radius == pytest.approx(0.855, rel=1e-9)
    # that draw, not another: its delays and signs (the weights come back in the data's units)
    assert np.allclose(s.graph.tau_samples, tau) and np.array_equal(np.sign(s.graph.weight), np.sign(a0))
    # a shrink that would leave weights under half the range's low end is refused: a new draw, and after 50
    # such draws an error
    from biodyn.errors import ConfigError

    cfg = LDSEMConfig(n_channels=10, n_times=64, burn_in=16, edge_prob=1.0, weight_range=(0.8, 0.9))
    with pytest.raises(ConfigError, match="could not draw a stable LD-SEM"):
        simulate(cfg)
    # a draw already under the limit is kept as it is
    cfg = LDSEMConfig(n_channels=4, n_times=64, burn_in=16, edge_prob=0.7, weight_range=(0.5, 0.6), seed=0)
    a0, tau = random_graph(np.random.default_rng(0), cfg)
    rho0 = spectral_radius(a0, tau)
    assert rho0 < 0.9 and simulate(cfg).spectral_radius == pytest.approx(rho0, rel=1e-12)


def test_oscillatory_innovations_have_unit_variance():
    from biodyn.causal.ldsem import simulate

    s = simulate(n_channels=3, n_times=4000, oscillatory_sources=3, noise="gaussian")
    assert s.full_noise.std(axis=1) == pytest.approx(np.ones(3), abs=1e-12)


def test_sources_are_the_channels_with_children_and_no_parents():
    from biodyn.causal.ldsem import simulate

    found = 0
    for seed in range(10):
        s = simulate(n_channels=6, n_times=64, burn_in=16, cyclic=False, edge_prob=0.4, seed=seed)
        w = s.graph.weight != 0
        names = s.graph.channels
        want = [names[i] for i in range(6) if not w[:, i].any() and w[i].any()]
        assert s.sources == want
        found += len(want)
    assert found > 0


def test_spectral_radius_default_grid_is_512_points():
    a = np.array([[0.0, 0.5, 0.3], [0.0, 0.0, 0.6], [-0.4, 0.0, 0.0]])
    tau = np.array([[0.0, 2.1, 3.3], [0.0, 0.0, 1.9], [1.45, 0.0, 0.0]])
    assert (
        spectral_radius(a, tau)
        == spectral_radius(a, tau, n_freqs=512)
        != spectral_radius(a, tau, n_freqs=513)
    )


@pytest.mark.parametrize(
    ("noise", "lo", "hi", "kurtosis"),
    [
        ("laplace", -np.inf, np.inf, 3.0),  # excess kurtosis of the Laplace distribution
        ("uniform", -np.sqrt(3), np.sqrt(3), -1.2),
        ("gaussian", -np.inf, np.inf, 0.0),
        ("student_t", -np.inf, np.inf, None),  # df = 3: no finite kurtosis
    ],
)
def test_innovations_have_unit_variance_and_their_distributions_shape(noise, lo, hi, kurtosis):
    from scipy import stats

    from biodyn.causal.ldsem import _noise

    e = _noise(np.random.default_rng(0), LDSEMConfig(noise=noise), (4, 200_000))
    assert e.shape == (4, 200_000) and e.min() >= lo and e.max() <= hi
    if noise != "student_t":
        assert e.var() == pytest.approx(1.0, abs=0.01)
        assert stats.kurtosis(e.ravel()) == pytest.approx(kurtosis, abs=0.1)
    else:  # df 3: unit variance in theory, heavy tails; with df 5 the sample settles
        e5 = _noise(np.random.default_rng(0), LDSEMConfig(noise=noise, student_df=5.0), (4, 200_000))
        assert e5.var() == pytest.approx(1.0, abs=0.03) and stats.kurtosis(e5.ravel()) > 2.0
        # the median of |t_3| / sqrt(3 / (3 - 2)): the quartile of t_3 scaled to unit variance
        assert np.median(np.abs(e)) == pytest.approx(stats.t(3).ppf(0.75) / np.sqrt(3), abs=0.01)


def test_an_unknown_noise_is_refused_by_name():
    from biodyn.causal.ldsem import _noise
    from biodyn.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^invalid noise='cauchy'; allowed: 'laplace', 'student_t'"):
        _noise(np.random.default_rng(0), LDSEMConfig(noise="cauchy"), (1, 4))
