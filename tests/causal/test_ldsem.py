import numpy as np
import pytest
import torch

from biodyn.causal.ldsem import LDSEMConfig, simulate, spectral_radius
from biodyn.causal.metrics import edge_scores, tau_mae_samples, topk_accuracy
from biodyn.errors import ConfigError
from biodyn.ops.fractional_delay import lagged_mix
from biodyn.types import LagGraph


@pytest.mark.parametrize("cyclic", [True, False], ids=["cyclic", "acyclic"])
@pytest.mark.parametrize("noise", ["laplace", "gaussian", "student_t", "uniform"])
def test_simulated_data_satisfy_the_sem(cyclic, noise):
    s = simulate(LDSEMConfig(n_channels=6, n_times=3000, cyclic=cyclic, noise=noise, seed=3))
    g = s.graph
    assert s.spectral_radius < 0.9 and s.data.shape == (6, 3000)
    a = g.weight
    assert (a != 0).sum() > 0 and np.all(np.diag(a) == 0)
    taus = g.tau_samples[a != 0]
    assert np.all((taus > 1.0) & (taus <= 8.0))
    if not cyclic:  # a DAG: some topological order exists
        m = (a != 0).astype(int)
        assert np.allclose(np.linalg.matrix_power(m, 6), 0)
    # exact on the whole (circular) solution: x_j - sum_i A_ij delay(x_i, tau_ij) == e_j
    xf = s.full_data
    n = xf.shape[1]
    f = np.fft.rfftfreq(n)
    spec = np.fft.rfft(xf, axis=1)
    pred_full = np.fft.irfft(
        np.einsum("if,ijf->jf", spec, a[..., None] * np.exp(-2j * np.pi * f * g.tau_samples[..., None])), n=n
    )
    np.testing.assert_allclose(xf - pred_full, s.full_noise, atol=1e-9)
    # and through biodyn's own (zero-padded) lag operator on the cropped data, up to the sinc tails of the crop
    x = torch.from_numpy(s.data)[None]
    pred = lagged_mix(x, torch.from_numpy(a), torch.from_numpy(g.tau_samples))[0].numpy()
    resid = s.data - pred
    assert np.abs(resid[:, 500:-500] - s.noise[:, 500:-500]).max() < 0.1 * s.noise.std()


def test_cycles_appear_and_stability_is_enforced():
    s = simulate(n_channels=8, n_times=500, edge_prob=0.5, cyclic=True, seed=1)
    m = (s.graph.weight != 0).astype(int)
    assert np.trace(np.linalg.matrix_power(m, 2) + np.linalg.matrix_power(m, 3)) > 0  # a 2- or 3-cycle
    assert spectral_radius(s.graph.weight, s.graph.tau_samples) < 0.9
    with pytest.raises(ConfigError):
        simulate(n_channels=1)


def test_oscillatory_sources_have_a_spectral_peak():
    from scipy.signal import welch

    s = simulate(
        n_channels=4, n_times=8000, oscillatory_sources=4, oscillation_hz=10.0, edge_prob=0.0, seed=2
    )
    f, p = welch(s.data, fs=100.0, nperseg=512)
    assert np.all(np.abs(f[p.argmax(axis=1)] - 10.0) < 1.0)


def test_metrics_by_hand():
    names = ["a", "b", "c"]
    w = np.zeros((3, 3))
    w[0, 1], w[1, 2] = 1, 1  # a -> b -> c
    tau = np.zeros((3, 3))
    tau[0, 1], tau[1, 2] = 0.02, 0.05
    true = LagGraph(tau, w, names, fs=100.0)
    w2 = np.zeros((3, 3))
    w2[0, 1], w2[2, 1], w2[0, 2] = 1, 1, 1  # a -> b correct, c -> b reversed, a -> c extra
    tau2 = np.zeros((3, 3))
    tau2[0, 1], tau2[2, 1], tau2[0, 2] = 0.025, 0.05, 0.01
    est = LagGraph(tau2, w2, names, fs=100.0)
    sc = edge_scores(true, est)
    assert (sc["tp"], sc["n_true"], sc["n_est"]) == (1, 2, 3)
    assert sc["precision"] == pytest.approx(1 / 3) and sc["recall"] == pytest.approx(0.5)
    assert sc["f1"] == pytest.approx(2 / 5) and sc["shd"] == 2  # one extra pair, one reversed
    assert sc["orientation_f1"] == pytest.approx(0.5)
    assert tau_mae_samples(true, est) == pytest.approx(0.5)  # only a -> b is shared: |2.5 - 2|
    assert topk_accuracy(["c", "a", "b"], ["a"]) == {"top1": 0.0, "top3": 1.0, "top5": 1.0}
    assert true.focal_ranking()[0] == "a"


def test_topk_accuracy_credits_ties_by_chance():
    """Hand-worked: 5 channels all tied, one true source: top-k = k / 5; against every tie-break order."""
    import itertools

    names = list("abcde")
    got = topk_accuracy(names, ["d"], ks=(1, 3, 5), scores=[0.0] * 5)
    assert got == pytest.approx({"top1": 0.2, "top3": 0.6, "top5": 1.0})
    # b strictly first, then {a, c, d} tied, e last; truth {c, d}: top1 0, top2 = 2/3, top4 1
    scores, truth = [-1.0, 0.0, 0.0, 0.0, 2.0], ["c", "d"]
    ranking = ["b", "a", "c", "d", "e"]
    got = topk_accuracy(ranking, truth, ks=(1, 2, 3, 4), scores=scores)
    assert got == pytest.approx({"top1": 0.0, "top2": 2 / 3, "top3": 1.0, "top4": 1.0})
    # independent reference: the mean over all orders of the tied channels
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(2, 7))
        sc = rng.integers(0, 3, n).astype(float)
        names = [f"x{i}" for i in range(n)]
        order = np.argsort(sc, kind="stable")
        ranking, ranked = [names[i] for i in order], sc[order]
        truth = [names[i] for i in rng.choice(n, int(rng.integers(1, n + 1)), replace=False)]
        ks = tuple(range(1, n + 1))
        perms = [
            [ranking[i] for i in p]
            for p in itertools.permutations(range(n))
            if np.all(np.diff(ranked[list(p)]) >= 0)
        ]
        ref = {f"top{k}": np.mean([topk_accuracy(p, truth, ks)[f"top{k}"] for p in perms]) for k in ks}
        assert topk_accuracy(ranking, truth, ks, scores=ranked) == pytest.approx(ref)


def test_decimated_generator_obeys_its_recursion_at_the_high_rate():
    """Without decimation (factor 1) the data satisfy x_j[n] = sum_i A[i, j] x_i[n - d_ij] + e_j[n] exactly,
    the graph has a 3-cycle, and the delays are the integer ones over the simulation rate."""
    from biodyn.causal.ldsem import simulate_decimated

    s = simulate_decimated(
        n_channels=6,
        n_times=3000,
        fs=100.0,
        factor=1,
        innovation_cutoff=None,
        tau_range_s=(0.02, 0.06),
        burn_in_s=1.0,
        seed=3,
    )
    a, d = s.graph.weight, np.rint(s.graph.tau_samples).astype(int)
    assert np.allclose(s.graph.tau_samples[a != 0], d[a != 0])
    assert (a != 0).sum() == 7 and np.all((d[a != 0] >= 2) & (d[a != 0] <= 6))
    x, e = s.data, s.noise
    n = np.arange(10, 3000)
    for j in range(6):
        pred = sum(a[i, j] * x[i, n - d[i, j]] for i in range(6) if a[i, j] != 0)
        np.testing.assert_allclose(x[j, n], pred + e[j, n], atol=1e-10)
    # a 3-cycle: some channel reaches itself in three steps
    reach = np.linalg.matrix_power((a != 0).astype(int), 3)
    assert np.trace(reach) > 0


def test_decimated_generator_resonance_puts_a_spectral_peak_in_the_band():
    from scipy.signal import welch

    from biodyn.causal.ldsem import simulate_decimated

    s = simulate_decimated(n_channels=4, n_times=4000, fs=100.0, factor=5, resonance_hz=(9.0, 11.0), seed=1)
    f, p = welch(s.data, fs=100.0, nperseg=512)
    peak = f[np.argmax(p, axis=1)]
    assert np.all((peak > 7.0) & (peak < 13.0)), peak


def _decimated_graphs(seeds=range(40), **kw):
    from biodyn.causal.ldsem import DecimatedConfig, _decimated_graph

    cfg = DecimatedConfig(**kw)
    return [_decimated_graph(np.random.default_rng(s), cfg) for s in seeds]


def test_decimated_graph_is_a_three_cycle_plus_the_configured_number_of_edges():
    for kw, want in (({}, 7), ({"n_edges": 10}, 10), ({"n_edges": 3}, 3), ({"n_edges": 30}, 30)):
        for a, d in _decimated_graphs(n_channels=6, **kw):
            e = a != 0
            assert e.sum() == want and not np.diag(e).any() and not np.diag(d).any(), kw
            assert (d[~e] == 0).all()
            # some three channels feed each other in a cycle
            assert np.trace(np.linalg.matrix_power(e.astype(int), 3)) >= 3
        if kw.get("n_edges") == 3:  # the cycle alone: three channels, each one parent and one child
            assert sorted(e.sum(0)) == sorted(e.sum(1)) == [0, 0, 0, 1, 1, 1]
    # more edges than pairs: every pair, once (3 and 4 channels: 6 and 12 pairs)
    for c, n_edges in ((3, 6), (3, 100), (4, 12), (4, 50)):
        for a, _ in _decimated_graphs(range(10), n_channels=c, n_edges=n_edges):
            assert ((a != 0) == ~np.eye(c, dtype=bool)).all(), (c, n_edges)


def test_decimated_graph_weights_and_integer_delays_in_their_ranges():
    """|A| in [low, high) with both signs; delays integers in [round(low fs_hi), round(high fs_hi)], both ends
    reached: at 100 Hz (factor 1) and (0.02, 0.04) s, delays of 2, 3 and 4 samples."""
    seen = set()
    for a, d in _decimated_graphs(n_channels=6, fs=100.0, factor=1, tau_range_s=(0.02, 0.04)):
        e = a != 0
        assert (np.abs(a[e]) >= 0.4).all() and (np.abs(a[e]) < 0.7).all()
        assert d.dtype.kind == "i"
        seen |= set(d[e].tolist())
    assert seen == {2, 3, 4}
    signs = np.concatenate([np.sign(a[a != 0]) for a, _ in _decimated_graphs(n_channels=6)])
    assert set(signs.tolist()) == {-1.0, 1.0} and abs(signs.mean()) < 0.15  # 280 fair signs: sd 0.06


def test_decimated_sizes_and_noise_at_their_bounds():
    from biodyn.causal.ldsem import simulate_decimated
    from biodyn.errors import ConfigError

    small = {"n_times": 32, "factor": 1, "burn_in_s": 0.0}
    assert simulate_decimated(n_channels=3, **small).data.shape == (3, 32)  # a 3-cycle needs 3 channels
    for kw in ({"n_channels": 2}, {"factor": 0}, {"n_channels": 2, "factor": 0}):
        with pytest.raises(ConfigError, match="invalid decimated LD-SEM"):
            simulate_decimated(**{"n_channels": 4, **small, **kw})
    with pytest.raises(ConfigError, match=r"^invalid noise='cauchy'; allowed: 'laplace', 'student_t'"):
        simulate_decimated(n_channels=4, noise="cauchy", **small)


def _white(cfg):
    """The innovations ``simulate_decimated`` draws: the seed's stream after the graph, one (C, n_hi) block of
    the configured noise, n_hi = (n_times + 2 burn-in) x factor samples at the simulation rate."""
    from biodyn.causal.ldsem import LDSEMConfig, _decimated_graph, _noise

    rng = np.random.default_rng(cfg.seed)
    _decimated_graph(rng, cfg)
    burn = round(cfg.burn_in_s * cfg.fs)
    return _noise(
        rng, LDSEMConfig(noise=cfg.noise), (cfg.n_channels, (cfg.n_times + 2 * burn) * cfg.factor)
    ), burn


def test_decimated_noise_is_the_innovations_at_the_read_instants_after_the_burn_in():
    from biodyn.causal.ldsem import DecimatedConfig, simulate_decimated

    cfg = DecimatedConfig(
        n_channels=4, n_times=50, fs=100.0, factor=3, burn_in_s=0.2, noise="uniform", seed=2
    )
    e, burn = _white(cfg)
    assert burn == 20
    s = simulate_decimated(cfg)
    np.testing.assert_array_equal(s.noise, e[:, ::3][:, 20:70])


def test_decimated_innovation_cutoff_is_a_second_order_butterworth_at_that_share_of_the_read_nyquist():
    """innovation_cutoff = 0.4 at 100 Hz read from 200 Hz: the innovations are the white draws through the
    causal 2nd-order Butterworth low-pass at 0.4 x 50 = 20 Hz (designed here in (b, a) form, cutoff as a
    share of the 100 Hz simulation Nyquist: 0.2), whose power gain there is 1/2."""
    from scipy.signal import butter, freqz, lfilter

    from biodyn.causal.ldsem import DecimatedConfig, simulate_decimated

    cfg = DecimatedConfig(
        n_channels=4, n_times=60, fs=100.0, factor=2, burn_in_s=0.1, innovation_cutoff=0.4, seed=1
    )
    b, a = butter(2, 0.2)
    assert abs(freqz(b, a, worN=[20.0], fs=200.0)[1][0]) ** 2 == pytest.approx(0.5)
    e, burn = _white(cfg)
    s = simulate_decimated(cfg)
    np.testing.assert_allclose(
        s.noise, lfilter(b, a, e, axis=1)[:, ::2][:, burn : burn + 60], rtol=1e-9, atol=1e-12
    )


def test_decimated_recursion_holds_to_the_last_sample_without_burn_in():
    """burn_in_s = 0: the read window is the whole simulation, computed to its last sample (the recursion
    from a zero past, x_j[n] = sum_i A[i, j] x_i[n - d_ij] + e_j[n] with x = 0 before the start)."""
    from biodyn.causal.ldsem import simulate_decimated

    s = simulate_decimated(
        n_channels=5, n_times=300, factor=1, burn_in_s=0.0, tau_range_s=(0.02, 0.06), seed=4
    )
    a, d = s.graph.weight, np.rint(s.graph.tau_samples).astype(int)
    x = np.concatenate([np.zeros((5, 10)), s.data], 1)
    n = np.arange(10, 310)
    for j in range(5):
        pred = sum(a[i, j] * x[i, n - d[i, j]] for i in range(5) if a[i, j] != 0)
        np.testing.assert_allclose(x[j, n], pred + s.noise[j], atol=1e-10)


def test_decimated_anti_alias_removes_the_folded_upper_band_at_factor_two():
    """White innovations at 200 Hz read at 100 Hz: every second sample folds the 50-100 Hz half of their power
    onto the read band (about twice the power in 5-25 Hz), the anti-alias low-pass removes it (about half
    the raw reading's; the same simulation, anti_alias only changes the reading)."""
    from scipy.signal import welch

    from biodyn.causal.ldsem import simulate_decimated

    for seed in (0, 1):
        p = []
        for anti_alias in (True, False):
            s = simulate_decimated(n_channels=4, n_times=4000, factor=2, anti_alias=anti_alias, seed=seed)
            f, pw = welch(s.data, fs=100.0, nperseg=256)
            p.append(pw[:, (f > 5) & (f < 25)].sum(1))
        assert (p[0] / p[1] < 0.75).all() and (p[0] / p[1] > 0.25).all(), p[0] / p[1]


def test_decimated_sources_are_the_channels_with_children_and_no_parents():
    from biodyn.causal.ldsem import simulate_decimated

    found = 0
    for seed in range(12):
        s = simulate_decimated(n_channels=6, n_times=16, factor=1, burn_in_s=0.0, n_edges=8, seed=seed)
        w = s.graph.weight != 0
        names = s.graph.channels
        want = [names[i] for i in range(6) if not w[:, i].any() and w[i].any()]
        assert s.sources == want
        found += len(want)
    assert found > 0


def _own_filters(s):
    """Each channel's own AR(2) (a1, a2) and gain g, recovered from a factor-1 simulation by least squares
    (exact: no noise in x_j[n] + a1 x_j[n-1] + a2 x_j[n-2] = g (sum_i A[i, j] x_i[n - d_ij] + e_j[n]))."""
    a, d = s.graph.weight, np.rint(s.graph.tau_samples).astype(int)
    x, e = s.data, s.noise
    c, t = x.shape
    n = np.arange(12, t)
    out = []
    for j in range(c):
        u = e[j, n] + sum(a[i, j] * x[i, n - d[i, j]] for i in range(c) if a[i, j] != 0)
        coef = np.linalg.lstsq(np.column_stack([x[j, n - 1], x[j, n - 2], u]), x[j, n], rcond=None)[0]
        out.append((-coef[0], -coef[1], coef[2]))
    return np.array(out).T


def _loop_radius(a, d, a1, a2, g, freqs):
    """max_f rho(diag(g_j / (1 + a1_j z + a2_j z^2)) M(f)), z = exp(-2 pi i f), built edge by edge."""
    z = np.exp(-2j * np.pi * freqs)
    m = np.zeros((len(freqs), len(g), len(g)), complex)
    for i, j in zip(*np.nonzero(a)):  # row j (target): its own filter times the edge
        m[:, j, i] = g[j] / (1 + a1[j] * z + a2[j] * z**2) * a[i, j] * np.exp(-2j * np.pi * freqs * d[i, j])
    return float(np.abs(np.linalg.eigvals(m)).max())


GRID = np.linspace(0.0, 0.5, 8192)  # the simulator's frequency grid (cycles per sample at its rate)


def test_decimated_resonances_have_their_bandwidth_their_own_frequency_and_peak_gain_one():
    """resonance_hz = (20, 30) at 100 Hz, bandwidth 4 Hz: each channel's own filter has poles of radius
    r = exp(-pi 4 / 100) (a2 = r^2) at a frequency of its own in the band, and a gain that makes its peak
    response 1 on the 8,192-point grid (and within 1e-5 of 1 on a grid 64 times finer); the reported radius
    is that of the whole loop on the grid, below 0.9 without shrinking."""
    from biodyn.causal.ldsem import simulate_decimated

    s = simulate_decimated(
        n_channels=5,
        n_times=400,
        factor=1,
        burn_in_s=0.5,
        tau_range_s=(0.02, 0.06),
        resonance_hz=(20.0, 30.0),
        seed=1,
    )
    a1, a2, g = _own_filters(s)
    r = np.exp(-np.pi * 4.0 / 100.0)
    np.testing.assert_allclose(a2, r * r, rtol=1e-9)
    hz = np.arccos(-a1 / (2 * r)) * 100.0 / (2 * np.pi)
    assert ((hz > 20.0) & (hz < 30.0)).all() and np.diff(np.sort(hz)).min() > 0.1, hz
    for grid, tol in ((GRID, 1e-9), (np.linspace(0.0, 0.5, 64 * 8192), 1e-5)):
        z = np.exp(-2j * np.pi * grid)[:, None]
        peak = np.abs(g / (1 + a1 * z + a2 * z**2)).max(0)
        np.testing.assert_allclose(peak, 1.0, rtol=tol)
    a, d = s.graph.weight, np.rint(s.graph.tau_samples).astype(int)
    assert s.spectral_radius == pytest.approx(_loop_radius(a, d, a1, a2, g, GRID), rel=1e-9)
    assert s.spectral_radius < 0.9


@pytest.mark.parametrize("resonance_hz", [None, (20.0, 30.0)], ids=["plain", "resonant"])
def test_decimated_unstable_loop_is_shrunk_to_radius_085(resonance_hz):
    """Strong weights (0.8-0.95, 12 edges on 5 channels): the loop as drawn has a radius over 0.9; every weight
    is scaled by 0.85 / that radius, so the loop's radius is 0.85, computed here from the returned graph."""
    from biodyn.causal.ldsem import DecimatedConfig, _decimated_graph, simulate_decimated

    kw = {
        "n_channels": 5,
        "n_times": 200,
        "factor": 1,
        "burn_in_s": 0.2,
        "tau_range_s": (0.02, 0.06),
        "n_edges": 12,
        "weight_range": (0.8, 0.95),
        "resonance_hz": resonance_hz,
        "seed": 2,
    }
    a0, d0 = _decimated_graph(np.random.default_rng(2), DecimatedConfig(**kw))
    s = simulate_decimated(**kw)
    a, d = s.graph.weight, np.rint(s.graph.tau_samples).astype(int)
    np.testing.assert_array_equal(d, d0)
    if resonance_hz is None:
        a1 = a2 = np.zeros(5)
        g = np.ones(5)
        assert spectral_radius(a0, d0.astype(float), n_freqs=8192) > 0.9
    else:
        a1, a2, g = _own_filters(s)
    rho0 = _loop_radius(a0, d0, a1, a2, g, GRID)
    assert rho0 > 0.9
    np.testing.assert_allclose(a, a0 * 0.85 / rho0, rtol=1e-9)
    assert s.spectral_radius == pytest.approx(0.85, rel=1e-12)
    assert _loop_radius(a, d, a1, a2, g, GRID) == pytest.approx(0.85, rel=1e-9)


def test_decimated_plain_radius_is_the_spectral_radius_on_the_grid_and_shrinks_from_exactly_09():
    """Without resonances the loop is the graph: the reported radius is spectral_radius on 8,192 points,
    bit for bit; a 3-cycle of weights |A| = w whose radius there is 0.9 exactly is shrunk (stable means below
    0.9): weights w x 0.85 / 0.9, radius 0.85."""
    from biodyn.causal.ldsem import DecimatedConfig, _decimated_graph, simulate_decimated

    for seed in (0, 1):
        s = simulate_decimated(
            n_channels=5, n_times=64, factor=1, burn_in_s=0.0, tau_range_s=(0.02, 0.06), seed=seed
        )
        d = np.rint(s.graph.tau_samples)
        assert s.spectral_radius == spectral_radius(s.graph.weight, d, n_freqs=8192)
    kw = {"n_channels": 3, "n_edges": 3, "n_times": 32, "factor": 1, "burn_in_s": 0.0, "seed": 0}
    for k in range(-40, -15):  # the eigenvalues' rounding puts the grid's maximum some 25 ulp above w
        w = 0.9 + k * np.spacing(0.9)
        a0, d0 = _decimated_graph(np.random.default_rng(0), DecimatedConfig(**kw, weight_range=(w, w)))
        if spectral_radius(a0, d0.astype(float), n_freqs=8192) == 0.9:
            break
    else:
        pytest.fail("no weight near 0.9 gives a radius of 0.9 exactly")
    s = simulate_decimated(**kw, weight_range=(w, w))
    np.testing.assert_allclose(np.abs(s.graph.weight[a0 != 0]), w * 0.85 / 0.9, rtol=1e-12)
    assert s.spectral_radius == pytest.approx(0.85, rel=1e-12)
