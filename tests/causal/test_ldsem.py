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
