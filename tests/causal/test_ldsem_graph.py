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


def _stream_graph(seed, cfg):
    """``random_graph``'s documented draws, taken from the seed's stream in their order (the mask's uniforms,
    the weights' sizes and signs, the delays, then for zero-delay edges an order and their uniforms) and
    combined by the rules LDSEMConfig states; returns ``(A, tau)`` and the generator after the graph."""
    c = cfg.n_channels
    rng = np.random.default_rng(seed)
    p = cfg.edge_prob if cfg.edge_prob is not None else 2.0 / (c - 1)
    mask = rng.random((c, c)) < p
    mask[np.arange(c), np.arange(c)] = False
    assert cfg.cyclic  # the acyclic order is checked by test_acyclic_graphs_follow_a_random_order
    size = rng.uniform(*cfg.weight_range, (c, c))
    sign = rng.choice([-1.0, 1.0], (c, c))
    t_lo, t_hi = cfg.tau_range_samples
    tau = np.where(mask, t_hi - rng.uniform(0, t_hi - t_lo, (c, c)), 0.0)
    if cfg.instantaneous_prob > 0:
        order = list(rng.permutation(c))
        forward = np.array([[order.index(i) < order.index(j) for j in range(c)] for i in range(c)])
        tau[mask & forward & (rng.random((c, c)) < cfg.instantaneous_prob)] = 0.0
    return np.where(mask, size * sign, 0.0), tau, rng


def test_graph_draws_are_edges_strictly_below_their_probability_and_consume_a_fixed_stream():
    """A pair is an edge when its uniform draw is strictly below ``edge_prob`` (P(edge) = p exactly), an edge
    is instantaneous when its own draw is strictly below ``instantaneous_prob``: both probabilities set to a
    value one of the draws takes exactly, that pair is not taken. Without instantaneous edges nothing is drawn
    for them, so the generator's state after the graph (the innovations' stream) is the same as before the
    option existed."""
    c = 6
    u = np.random.default_rng(4).random((c, c))  # the mask's draws come first
    p = u[0, 1]
    cfg = LDSEMConfig(n_channels=c, edge_prob=p, seed=4)
    a_ref, tau_ref, rng_ref = _stream_graph(4, cfg)
    assert a_ref[0, 1] == 0 and (a_ref != 0).sum() >= 3
    rng = np.random.default_rng(4)
    a, tau = random_graph(rng, cfg)
    np.testing.assert_array_equal(a, a_ref)
    np.testing.assert_array_equal(tau, tau_ref)
    assert rng.random() == rng_ref.random()  # nothing else drawn
    # zero-delay edges: the probability set to the draw of an edge that goes forward in the order
    cfg = LDSEMConfig(n_channels=c, edge_prob=0.6, instantaneous_prob=0.5, seed=4)
    _, _, rng_ref = _stream_graph(4, cfg)
    rng = np.random.default_rng(4)
    a = random_graph(rng, cfg)[0]
    assert rng.random() == rng_ref.random()
    # the zero-delay draws are the stream's last (c, c) uniforms: step a copy back to them
    probe = np.random.default_rng(4)
    probe.random((c, c))
    probe.uniform(size=(c, c))
    probe.choice([-1.0, 1.0], (c, c))
    probe.uniform(size=(c, c))
    order = list(probe.permutation(c))
    u_inst = probe.random((c, c))
    forward = np.array([[order.index(i) < order.index(j) for j in range(c)] for i in range(c)])
    cand = np.argwhere((a != 0) & forward)
    i, j = cand[np.argmin(u_inst[tuple(cand.T)])]  # the forward edge with the smallest draw
    cfg = LDSEMConfig(n_channels=c, edge_prob=0.6, instantaneous_prob=float(u_inst[i, j]), seed=4)
    a, tau = random_graph(np.random.default_rng(4), cfg)
    a_ref, tau_ref, _ = _stream_graph(4, cfg)
    assert tau[i, j] > 0 and not ((tau == 0) & (a != 0)).any()  # no draw is below the smallest one
    np.testing.assert_array_equal(tau, tau_ref)


def test_zero_delay_edges_follow_a_random_order_not_the_channels():
    backward = 0
    for a, tau in _graphs(edge_prob=0.6, instantaneous_prob=0.7):
        z = (a != 0) & (tau == 0)
        backward += int(np.tril(z, -1).any())  # a zero-delay edge from a higher to a lower index
    assert backward > len(SEEDS) // 2


def test_simulate_gives_up_after_fifty_draws(monkeypatch):
    from biodyn.causal import ldsem
    from biodyn.errors import ConfigError

    calls = []
    draw = ldsem.random_graph
    monkeypatch.setattr(ldsem, "random_graph", lambda rng, cfg: calls.append(1) or draw(rng, cfg))
    cfg = LDSEMConfig(n_channels=10, n_times=64, burn_in=16, edge_prob=1.0, weight_range=(0.8, 0.9))
    with pytest.raises(ConfigError, match="could not draw a stable LD-SEM"):
        ldsem.simulate(cfg)
    assert len(calls) == 50


def test_a_draw_exactly_at_the_radius_limit_is_shrunk():
    """Stable means a radius strictly below ``max_spectral_radius``: a draw whose radius is the limit exactly
    is shrunk by 0.95 (and its weights with it), a draw just under it is kept."""
    from biodyn.causal.ldsem import simulate

    base = {"n_channels": 4, "n_times": 64, "burn_in": 16, "edge_prob": 0.7, "weight_range": (0.5, 0.6)}
    a0, tau = random_graph(np.random.default_rng(0), LDSEMConfig(**base))
    rho0 = spectral_radius(a0, tau)
    s = simulate(LDSEMConfig(**base, max_spectral_radius=rho0))
    assert s.spectral_radius == pytest.approx(0.95 * rho0, rel=1e-12)
    np.testing.assert_allclose(s.graph.weight, 0.95 * a0, rtol=1e-12)
    s = simulate(LDSEMConfig(**base, max_spectral_radius=float(np.nextafter(rho0, 1))))
    assert s.spectral_radius == rho0 and np.array_equal(s.graph.weight, a0)


def test_a_shrink_to_exactly_half_the_weights_low_end_is_kept():
    """The shrunk weights may be as small as half the range's low end, that bound included: two channels
    feeding each other with |A| = w, the limit set so that the shrink factor is exactly 1/2; the first draw
    is kept (not redrawn), its weights w / 2."""
    from biodyn.causal.ldsem import simulate

    w = 0.7
    base = {"n_channels": 2, "n_times": 64, "burn_in": 16, "edge_prob": 1.0, "weight_range": (w, w)}
    a0, tau = random_graph(np.random.default_rng(0), LDSEMConfig(**base))
    rho0 = spectral_radius(a0, tau)
    limit = rho0 / 1.9
    for _ in range(8):  # the limit whose 0.95 x is rho0 / 2 to the last bit: a shrink by exactly 1/2
        if 0.95 * limit == rho0 / 2:
            break
        limit = float(np.nextafter(limit, 1 if 0.95 * limit < rho0 / 2 else 0))
    assert 0.95 * limit / rho0 == 0.5
    s = simulate(LDSEMConfig(**base, max_spectral_radius=limit))
    assert np.array_equal(s.graph.weight, a0 / 2) and np.allclose(s.graph.tau_samples, tau, rtol=1e-12)
    assert s.spectral_radius < limit


def test_a_zero_radius_limit_admits_no_graph():
    """Radii are never below 0: with ``max_spectral_radius = 0`` every draw fails, edgeless (radius 0, nothing
    to shrink) or not (shrunk to nothing, which is not a graph of the configured weights)."""
    from biodyn.causal.ldsem import simulate
    from biodyn.errors import ConfigError

    for edge_prob in (0.0, 0.5):
        with pytest.raises(ConfigError, match="could not draw a stable LD-SEM"):
            simulate(n_channels=3, n_times=64, burn_in=16, edge_prob=edge_prob, max_spectral_radius=0.0)


def test_oscillatory_innovations_are_the_resonator_of_radius_098():
    """An oscillatory source's innovation is white noise through the resonator with poles 0.98 e^(+-i w0):
    a least-squares AR(2) fit of it gives a2 = 0.98^2 and a1 = -2 x 0.98 cos(w0) (standard error ~0.003
    over 9,000 samples)."""
    from biodyn.causal.ldsem import simulate

    s = simulate(n_channels=2, n_times=7000, burn_in=1000, oscillatory_sources=2, noise="gaussian", seed=5)
    w0 = 2 * np.pi * 10.0 / 100.0
    for e in s.full_noise:
        coef = np.linalg.lstsq(np.column_stack([e[1:-1], e[:-2]]), e[2:], rcond=None)[0]
        assert -coef[1] == pytest.approx(0.98**2, abs=0.012)
        assert -coef[0] == pytest.approx(-2 * 0.98 * np.cos(w0), abs=0.02)
