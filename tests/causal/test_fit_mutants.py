"""The lag fit (biodyn.causal.fit) against statements worked out by hand, one for each behaviour that mutation
testing (issue 41) showed no test pinned down: the data check at its exact bounds, the stopping rule fed
iterates by hand, what L-BFGS-B is asked for, the bounds and the flags at them, the screening's Granger
F-test and its Bonferroni level against a regression by hand, the objective against least squares on the
project's own fractional delay, the zero-lag coupling against node-wise regressions, warm starts, seeds,
progress reports and the fields of the LagFit."""

from __future__ import annotations

import math
import time
import types
import warnings

import numpy as np
import pytest
import torch
from scipy import optimize, stats

import biodyn.causal.fit as F
from biodyn.causal.fit import FitConfig, LagFit, fit_lags, zero_lag_coupling
from biodyn.errors import ConfigError
from biodyn.ops.fractional_delay import delay
from biodyn.types import LagGraph

FS = 100.0


def _delayed(x: np.ndarray, d: float) -> np.ndarray:
    """``x(t - d)``, band-limited, zeros before the start (a zero-padded FFT phase shift)."""
    n = len(x)
    spec = np.fft.rfft(x, 4 * n)
    f = np.fft.rfftfreq(4 * n)
    return np.fft.irfft(spec * np.exp(-2j * np.pi * f * d), 4 * n)[:n]


def _pair(n=1500, d=2.4, a=0.7, seed=0, noise=0.5):
    """x1 = a x0(t - d) + noise, x0 a smoothed white noise."""
    rng = np.random.default_rng(seed)
    x0 = np.convolve(rng.standard_normal(n + 20), np.ones(3) / 3, "same")[:n]
    return np.stack([x0, a * _delayed(x0, d) + noise * rng.standard_normal(n)])


def _standardised(x):
    return (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)


# ---------------------------------------------------------------- the data check


@pytest.mark.filterwarnings("ignore:lag fit did not converge")
def test_data_need_ten_times_tau_max_plus_two_samples_exactly():
    x = _pair(200)
    cfg = FitConfig(tau_max_samples=2.5, steps=2)  # 10 * (2.5 + 2) = 45 samples
    assert fit_lags(x[:, :45], FS, cfg=cfg).graph.channels == ["X0", "X1"]
    with pytest.raises(ConfigError, match=r"\(T >= 45 for tau_max_samples=2\.5\); got \(2, 44\)$"):
        fit_lags(x[:, :44], FS, cfg=cfg)


def test_one_channel_and_a_constant_channel_are_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match=r"^a lag graph needs at least 2 channels; got 1$"):
        fit_lags(rng.standard_normal((1, 500)), FS)
    x = rng.standard_normal((3, 500))
    x[1] = 2.0
    with pytest.raises(ConfigError, match=r"^constant channel\(s\) at row\(s\) \[1\]: drop them first$"):
        fit_lags(x, FS)


def test_float32_data_are_fitted_in_float64():
    x32 = _pair(600).astype(np.float32)
    got, want = fit_lags(x32, FS), fit_lags(x32.astype(np.float64), FS)
    assert np.array_equal(got.graph.weight, want.graph.weight) and got.objective == want.objective
    assert np.array_equal(got.graph.tau, want.graph.tau) and got.graph.weight.any()


def test_the_screening_looks_at_lags_one_to_ceil_tau_max_plus_one():
    assert [F._n_lags(t) for t in (0.0, 0.5, 1.0, 1.01, 8.0)] == [1, 2, 2, 3, 9]


# ---------------------------------------------------------------- the stopping rule, fed iterates by hand


class _Iterate:
    """What L-BFGS-B hands its callback: ``x`` (its own working array) and ``fun``."""

    def __init__(self, x, fun):
        self.x, self.fun = x, fun


def _stop_at(fs, taus, steps=50, **kw):
    """Feed ``_Stop`` the objective values ``fs`` and delays ``taus``; returns the call it stopped at (None:
    never), the stopper and the progress calls."""
    calls = []
    stop = F._Stop(None, FitConfig(steps=steps, **kw), lambda *a: calls.append(a), "refining")
    for k, (f, tau) in enumerate(zip(fs, taus), 1):
        try:
            stop(_Iterate(tau if isinstance(tau, np.ndarray) else np.array(tau, dtype=float), f))
        except StopIteration:
            return k, stop, calls
    return None, stop, calls


def test_stop_after_three_calm_iterations_in_a_row_and_report_each():
    k, stop, calls = _stop_at([5.0] * 9, [[2.0, 3.0]] * 9, steps=40)
    # iteration 1 has nothing to compare with; 2, 3 and 4 are calm
    assert k == 4 and stop.converged is True and stop.n_iter == 4
    assert calls == [("refining", i, 40) for i in range(1, 5)]


def test_no_stop_while_the_objective_or_a_delay_moves():
    k, stop, _ = _stop_at([5.0] * 9, [[2.0, float(i)] for i in range(9)])  # a delay moves 1 sample a step
    assert k is None and stop.converged is False and stop.n_iter == 9
    assert _stop_at([float(i) for i in range(1, 10)], [[2.0]] * 9)[0] is None  # the objective moves
    # a calm run broken by a jump starts over: 2 calm, a jump, 2 calm is not 3 in a row
    assert _stop_at([5.0, 5.0, 5.0, 9.0, 9.0, 9.0], [[1.0]] * 6)[0] is None
    assert _stop_at([5.0, 5.0, 5.0, 9.0, 9.0, 9.0, 9.0], [[1.0]] * 7)[0] == 7


def test_delays_are_copied_from_the_optimiser_s_array():
    """L-BFGS-B passes its working array and overwrites it in place: the rule must compare copies."""
    x = np.zeros(1)
    stop = F._Stop(None, FitConfig(), None, "refining")
    for i in range(9):
        x[0] = float(i)  # the delay moves a sample every iteration
        stop(_Iterate(x, 5.0))
    assert stop.converged is False


def test_no_delays_settle_on_the_objective_alone():
    assert _stop_at([5.0] * 9, [[]] * 9)[0] == 4


@pytest.mark.parametrize(
    ("fs", "ftol", "stops"),
    [
        ([2.0, 3.0, 4.5, 6.75, 10.125], 0.4, 4),  # growing by half: the change is 1/3 of the larger value
        ([10.125, 6.75, 4.5, 3.0, 2.0], 0.4, 4),  # shrinking by a third: 1/3 of the larger (the previous)
        ([0.0, 0.3, 0.6, 0.9, 1.2], 0.4, 4),  # below 1 in size: relative to 1, not to the values
        ([0.0, 0.6, 0.0, 0.6, 0.0, 0.6], 0.4, None),  # 0.6 / 1 is not calm
        ([1.0, 0.5, 1.0, 0.5, 1.0, 0.5], 0.5, None),  # exactly ftol is not below it
    ],
)
def test_the_objective_s_change_is_relative_to_the_larger_value_or_one(fs, ftol, stops):
    assert _stop_at(fs, [[1.0]] * len(fs), ftol=ftol)[0] == stops


def test_a_delay_change_of_exactly_the_tolerance_is_not_calm():
    taus = [[0.0], [0.5]] * 4
    assert _stop_at([5.0] * 8, taus, tau_tol_samples=0.5)[0] is None
    assert _stop_at([5.0] * 8, taus, tau_tol_samples=0.5000001)[0] == 4


# ---------------------------------------------------------------- what L-BFGS-B is asked for


def _spy(monkeypatch):
    """Record every ``optimize.minimize`` call of the fit (its start, keywords and result)."""
    calls = []

    def minimize(fun, x0, **kw):
        res = optimize.minimize(fun, x0, **kw)
        calls.append({"x0": np.array(x0, copy=True), **kw, "res": res})
        return res

    monkeypatch.setattr(F, "optimize", types.SimpleNamespace(minimize=minimize))
    return calls


def test_l_bfgs_b_gets_the_delay_bounds_the_iteration_limit_and_tight_own_tolerances(monkeypatch):
    calls = _spy(monkeypatch)
    cfg = FitConfig(tau_max_samples=4.0, tau_min_samples=0.5, steps=60)
    fit_lags(_pair(800), FS, cfg=cfg)
    assert len(calls) == 3  # one edge, three starts, nothing pruned
    for c in calls:
        assert c["bounds"] == [(0.5, 4.0)] * len(c["x0"])
        assert isinstance(c["callback"], F._Stop) and c["jac"] is True
        # L-BFGS-B's own tests (ftol, gtol) far below the stopping rule's, so the rule decides; 20 corrections
        assert c["options"] == {"maxiter": 60, "maxcor": 20, "ftol": 1e-15, "gtol": 1e-10, "maxls": 40}


def test_the_starts_are_the_screening_s_delays_then_seeded_jittered_copies(monkeypatch):
    calls = _spy(monkeypatch)
    x = np.vstack([_pair(1200), _pair(1200, d=3.3, seed=1)[1:]])
    x[2] += 0.5 * _delayed(x[1], 1.6)
    cfg = FitConfig(tau_max_samples=4.0, init_jitter_samples=0.2, n_starts=3)
    fit = fit_lags(x, FS, cfg=cfg, seed=5)
    s = F._screen(_standardised(x), 4.0, cfg.alpha)
    src, tgt = np.nonzero(s.support)
    starts = [c["x0"] for c in calls[:3]]
    assert len(src) >= 2 and fit.n_starts == 3
    np.testing.assert_array_equal(starts[0], np.clip(s.tau0[src, tgt], 0.0, 4.0))  # the first is unmoved
    # each extra start: every delay moved on its own by U(-1, 1) * jitter, drawn in order from the seed
    draws = np.random.default_rng(5).uniform(-1, 1, (3, len(src)))
    for k in (1, 2):
        np.testing.assert_allclose(starts[k], np.clip(s.tau0[src, tgt] + 0.2 * draws[k], 0, 4), atol=1e-15)
    one = _spy(monkeypatch)
    assert fit_lags(x, FS, cfg=FitConfig(tau_max_samples=4.0, n_starts=1)).n_starts == 1 and len(one) == 1


def test_delays_stay_within_their_bounds_and_are_flagged_there():
    # a true delay beyond tau_max ends at tau_max exactly: at the ceiling, even with no margin
    for margin in (0.1, 0.0):
        fit = fit_lags(
            _pair(800, d=5.5), FS, cfg=FitConfig(tau_max_samples=4.0, ceiling_margin_samples=margin)
        )
        assert fit.graph.tau_samples[0, 1] == pytest.approx(4.0, abs=1e-12) and fit.converged is True
        assert fit.at_ceiling.tolist() == [[False, True], [False, False]]
        assert fit.at_floor is not None and not fit.at_floor.any()  # tau_min = 0: no floor
    # a margin as wide as the range flags every edge, never a pair without one
    fit = fit_lags(_pair(800), FS, cfg=FitConfig(tau_max_samples=4.0, ceiling_margin_samples=4.0))
    assert fit.at_ceiling.tolist() == [[False, True], [False, False]]
    # a true delay below tau_min ends at tau_min exactly: at the floor
    for margin in (0.1, 0.0):
        cfg = FitConfig(tau_max_samples=4.0, tau_min_samples=1.5, ceiling_margin_samples=margin)
        fit = fit_lags(_pair(800, d=0.6), FS, cfg=cfg)
        assert fit.graph.tau_samples[0, 1] == pytest.approx(1.5, abs=1e-12)
        assert fit.at_floor.tolist() == [[False, True], [False, False]] and not fit.at_ceiling.any()
        assert fit.tau_min_s == 0.015 and fit.tau_max_s == 0.04
    # the floor flag needs a floor above 0, even when every delay is within the margin of 0
    fit = fit_lags(_pair(800), FS, cfg=FitConfig(tau_max_samples=4.0, ceiling_margin_samples=3.0))
    assert fit.graph.weight[0, 1] != 0 and not fit.at_floor.any()
    fit = fit_lags(_pair(800, d=1.2), FS, cfg=FitConfig(tau_max_samples=4.0, tau_min_samples=0.75))
    assert fit.at_floor.tolist() == [[False, False], [False, False]]
    fit = fit_lags(_pair(800, d=0.3), FS, cfg=FitConfig(tau_max_samples=4.0, tau_min_samples=0.75))
    assert fit.at_floor.tolist() == [[False, True], [False, False]]


def test_no_edge_means_no_iteration_and_a_converged_fit():
    rng = np.random.default_rng(3)
    calls = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = fit_lags(rng.standard_normal((2, 600)), FS, progress=lambda *a: calls.append(a))
    assert not fit.graph.weight.any() and fit.converged is True and fit.n_iter == 0
    assert calls == [("screening", 1, 1)]


def test_the_iteration_limit_is_honoured_and_reported():
    calls = []
    with pytest.warns(UserWarning, match=r"did not converge within steps=1 iterations"):
        fit = fit_lags(
            _pair(800), FS, cfg=FitConfig(tau_max_samples=4.0, steps=1), progress=lambda *a: calls.append(a)
        )
    assert fit.converged is False and fit.n_iter == 3  # three starts of one iteration each
    assert calls[1:] == [("refining", 1, 1)] * 3


def test_progress_counts_each_optimisation_s_iterations_and_n_iter_is_their_sum():
    calls = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a converged fit does not warn
        fit = fit_lags(
            _pair(800), FS, cfg=FitConfig(tau_max_samples=4.0), progress=lambda *a: calls.append(a)
        )
    assert fit.converged is True and calls[0] == ("screening", 1, 1)
    done = [c[1] for c in calls[1:]]
    runs = [i for i, d in enumerate(done) if d == 1]
    assert len(runs) == 3 and {c[0] for c in calls[1:]} == {"refining"} and {c[2] for c in calls[1:]} == {500}
    for a, b in zip(runs, [*runs[1:], len(done)]):
        assert done[a:b] == list(range(1, b - a + 1))
    assert fit.n_iter == len(done) > 3


def test_the_fit_runs_on_one_torch_thread_and_counts_the_starts_that_hold_each_edge():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen = []
        fit = fit_lags(
            _pair(800),
            FS,
            cfg=FitConfig(tau_max_samples=4.0),
            progress=lambda *a: seen.append(torch.get_num_threads()),
        )
        assert (
            set(seen[1:]) == {1} and torch.get_num_threads() == 2
        )  # one thread while refining, then restored
    finally:
        torch.set_num_threads(before)
    assert (
        fit.start_votes.dtype == np.int64
        and fit.start_votes.tolist() == [[0, 3], [0, 0]]
        and fit.n_starts == 3
    )


def test_weak_edges_are_pruned_once_and_the_rest_refitted():
    """x2 -> x1 weakly (0.15 < min_weight 0.3) next to x0 -> x1: screened, dropped, and x0 -> x1 refitted."""
    x = np.vstack([_pair(1500), np.random.default_rng(9).standard_normal(1500)])
    x[1] += 0.15 * _delayed(x[2], 1.5)
    calls = []
    cfg = FitConfig(tau_max_samples=4.0, min_weight=0.3)
    fit = fit_lags(x, FS, cfg=cfg, progress=lambda *a: calls.append(a))
    assert F._screen(_standardised(x), 4.0, cfg.alpha).support[2, 1]  # screened, then pruned
    stages = [c[0] for c in calls[1:] if c[1] == 1]  # one per optimisation
    assert stages == ["refining"] * 3 + ["pruned"]
    assert fit.graph.weight[2, 1] == 0 and fit.graph.weight[0, 1] != 0
    # the pruned refit is the fit of what is left, from the delays found
    want = F._Objective(_standardised(x), np.array([0]), np.array([1]), cfg)
    a, _, _ = want.weights(fit.state["tau"])
    np.testing.assert_allclose(fit.state["a"], a, rtol=1e-12)


def test_edges_weak_only_without_a_pruned_one_are_pruned_round_after_round():
    """x1 = 0.8 x0(t-2) - 0.45 x2(t-3) + 0.45 x3(t-3) - 0.25 x4(t-3), x3 = x2 + noise, x4 = x3 + noise: x4 -> x1
    is weak (|-0.25| < min_weight 0.3) and pruned first; without it x3 carries 0.45 - 0.25 = 0.2, pruned
    next; without both, x2 carries -0.45 + 0.2 = -0.25, pruned last: three refits, all the fit allows."""
    rng = np.random.default_rng(11)
    x0, x2 = rng.standard_normal((2, 3000))
    x3 = x2 + 0.3 * rng.standard_normal(3000)
    x4 = x3 + 0.3 * rng.standard_normal(3000)
    x1 = np.zeros(3000)
    x1[3:] = 0.8 * x0[1:-2] - 0.45 * x2[:-3] + 0.45 * x3[:-3] - 0.25 * x4[:-3]
    x = np.stack([x0, x1 + 0.3 * rng.standard_normal(3000), x2, x3, x4])
    calls = []
    cfg = FitConfig(tau_max_samples=4.0, min_weight=0.3)
    fit = fit_lags(x, FS, cfg=cfg, progress=lambda *a: calls.append(a))
    stages = [c[0] for c in calls[1:] if c[1] == 1]  # one per optimisation
    assert stages == ["refining"] * 3 + ["pruned"] * 3
    assert fit.graph.weight[0, 1] != 0 and fit.graph.weight[2:, 1].tolist() == [0.0, 0.0, 0.0]


# ---------------------------------------------------------------- fields of the fit


def test_state_objective_and_timing_are_the_fit_s():
    x = _pair(800)
    x[1] *= 3.0
    t0 = time.perf_counter()
    fit = fit_lags(x, FS, cfg=FitConfig(tau_max_samples=4.0))
    elapsed = time.perf_counter() - t0
    assert 0 < fit.fit_s <= elapsed
    st = fit.state
    assert sorted(st) == ["a", "phi", "src", "tau", "tgt"]
    src, tgt = np.nonzero(fit.graph.weight)
    np.testing.assert_array_equal(st["src"], src)
    np.testing.assert_array_equal(st["tgt"], tgt)
    np.testing.assert_allclose(st["tau"], fit.graph.tau_samples[src, tgt], rtol=1e-12)
    std = x.std(1)  # weights are standardised in the state, in data units in the graph
    np.testing.assert_allclose(st["a"] * std[tgt] / std[src], fit.graph.weight[src, tgt], rtol=1e-12)
    assert st["phi"].shape == (2, 5)  # own past 1..ceil(4) + 1
    obj = F._Objective(_standardised(x), src, tgt, FitConfig(tau_max_samples=4.0))
    assert type(fit.objective) is float and fit.objective == pytest.approx(
        float(obj.loss(torch.from_numpy(st["tau"]))), rel=1e-12
    )
    assert fit_lags(x, FS, cfg=FitConfig(tau_max_samples=4.0, self_lags=0)).state["phi"].shape == (2, 0)


def test_an_offset_per_channel_changes_nothing():
    x = _pair(800)
    a = fit_lags(x, FS, cfg=FitConfig(tau_max_samples=4.0))
    b = fit_lags(x + np.array([[100.0], [-50.0]]), FS, cfg=FitConfig(tau_max_samples=4.0))
    np.testing.assert_allclose(b.graph.weight, a.graph.weight, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(b.graph.tau, a.graph.tau, rtol=1e-6, atol=1e-9)


def _coupled(n=1500, seed=4):
    """x0 -> x1 (2.4 samples) and x0 -> x2 (1.3), x0 white, the innovations of x1 and x2 correlated at zero
    lag (a shared white term)."""
    rng = np.random.default_rng(seed)
    x0, u = rng.standard_normal(n), rng.standard_normal(n)
    x1 = 0.7 * _delayed(x0, 2.4) + 0.5 * rng.standard_normal(n) + 0.6 * u
    return np.stack([x0, x1, 0.6 * _delayed(x0, 1.3) + 0.5 * rng.standard_normal(n) + 0.6 * u])


def test_zero_lag_coupling_is_reported_from_its_threshold_on_in_data_units():
    x = _coupled()
    cfg = FitConfig(tau_max_samples=4.0, tau_min_samples=1.0)  # no delay short enough to mimic zero lag
    fit = fit_lags(x, FS, cfg=cfg)
    pc = fit.partial_corr
    assert abs(pc[1, 2]) > 0.3 and (np.abs(pc[0, 1:]) < 0.1).all()
    strong = np.abs(pc) >= 0.1
    assert ((fit.instantaneous != 0) == strong).all()
    # a coupling exactly at the threshold is reported
    at = fit_lags(
        x, FS, cfg=FitConfig(tau_max_samples=4.0, tau_min_samples=1.0, min_partial_corr=float(abs(pc[1, 2])))
    )
    assert at.instantaneous[1, 2] == fit.instantaneous[1, 2] != 0 and at.instantaneous[0, 1] == 0
    # in the data's units: B[i, j] predicts j from i, so it scales with std_j / std_i
    y = x.copy()
    y[2] *= 4.0
    scaled = fit_lags(y, FS, cfg=cfg)
    assert scaled.instantaneous[1, 2] == pytest.approx(4.0 * fit.instantaneous[1, 2], rel=1e-6)
    assert scaled.instantaneous[2, 1] == pytest.approx(fit.instantaneous[2, 1] / 4.0, rel=1e-6)


# ---------------------------------------------------------------- warm starts and seeds


def test_a_warm_start_adds_the_previous_fit_s_edges_to_the_screened_support():
    x = _pair(800)
    first = fit_lags(x, FS, cfg=FitConfig(tau_max_samples=4.0))
    none = FitConfig(tau_max_samples=4.0, alpha=0.0)  # p < 0 never: the screening keeps nothing
    assert not fit_lags(x, FS, cfg=none).graph.weight.any()
    warm = fit_lags(x, FS, cfg=none, init=first)
    assert warm.graph.weight[0, 1] == pytest.approx(first.graph.weight[0, 1], rel=1e-6)
    assert warm.graph.tau[0, 1] == pytest.approx(first.graph.tau[0, 1], rel=1e-6)
    assert warm.n_iter < first.n_iter  # it starts at the optimum
    # a fit of other channels is no warm start
    assert not fit_lags(x, FS, ["p", "q"], cfg=none, init=first).graph.weight.any()


def _jittered_starts(x, cfg, seed):
    """The first refinement's starts as the docstring states them: the screening's delays, then copies moved
    by U(-1, 1) * init_jitter_samples drawn in order from default_rng(seed), clipped to the delay range."""
    s = F._screen(_standardised(x), cfg.tau_max_samples, cfg.alpha)
    tau0 = s.tau0[s.support]
    draws = np.random.default_rng(seed).uniform(-1, 1, (cfg.n_starts, len(tau0)))
    draws[0] = 0.0
    return [
        np.clip(tau0 + cfg.init_jitter_samples * d, cfg.tau_min_samples, cfg.tau_max_samples) for d in draws
    ]


def test_fit_ldsem_is_fit_lags_graph_with_the_same_arguments(monkeypatch):
    """The seed is seen in the starts it draws (bit for bit on any machine), the configuration in the bounds,
    and the graph is fit_lags' with the same arguments."""
    x = _pair(1200, seed=1)
    calls = _spy(monkeypatch)
    got = F.fit_ldsem(x, FS)  # the default seed is 0
    for c, want in zip(calls, _jittered_starts(x, FitConfig(), 0)):
        np.testing.assert_allclose(c["x0"], want, atol=1e-15)
    assert np.array_equal(got.weight, fit_lags(x, FS, seed=0).graph.weight)
    calls.clear()
    cfg = FitConfig(tau_max_samples=6.0)
    got = F.fit_ldsem(x, FS, ["a", "b"], cfg, seed=1)
    assert calls[0]["bounds"] == [(0.0, 6.0)]
    for c, want in zip(calls, _jittered_starts(x, cfg, 1)):
        np.testing.assert_allclose(c["x0"], want, atol=1e-15)
    want = fit_lags(x, FS, ["a", "b"], cfg, seed=1).graph
    assert got.channels == ["a", "b"] and np.array_equal(got.weight, want.weight)
    assert np.array_equal(got.tau, want.tau)


# ---------------------------------------------------------------- the screening against a regression by hand


def _granger(x, lags):
    """Granger F-test p-values ``(C, C)`` and full-model coefficients ``(C, L, C)`` by ordinary least squares:
    every target on lags 1..L of all channels, and without one source's block."""
    c, t = x.shape
    cols = [x[k, lags - lag : t - lag] for k in range(c) for lag in range(1, lags + 1)]
    design, y = np.stack(cols, 1), x[:, lags:].T
    n, p = design.shape
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    rss = ((y - design @ coef) ** 2).sum(0)
    pv = np.ones((c, c))
    for i in range(c):
        keep = [k for k in range(c * lags) if k // lags != i]
        sub = design[:, keep]
        rss_r = ((y - sub @ np.linalg.lstsq(sub, y, rcond=None)[0]) ** 2).sum(0)
        for j in range(c):
            if i != j:
                f = ((rss_r[j] - rss[j]) / lags) / (rss[j] / (n - p))
                pv[i, j] = stats.f.sf(f, lags, n - p)
    return pv, coef.reshape(c, lags, c)


def _four(n=1200, seed=0):
    """x3 = 0.8 x0(t-1) - 0.9 x1(t-2) + 0.5 x1(t-4) + 0.7 x2(t-3) + noise, the sources white."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, n))
    x[3, 4:] += 0.8 * x[0, 3:-1] - 0.9 * x[1, 2:-2] + 0.5 * x[1, :-4] + 0.7 * x[2, 1:-3]
    return _standardised(x)


def test_screening_is_a_granger_f_test():
    x = _four()
    s = F._screen(x, 4.0, 1e-3)
    pv, coef = _granger(x, 5)
    np.testing.assert_allclose(s.coef, coef, rtol=1e-6, atol=1e-9)
    off = ~np.eye(4, dtype=bool)
    np.testing.assert_allclose(np.log(s.p_value[off]), np.log(pv[off]), rtol=1e-7, atol=1e-7)
    assert (np.diag(s.p_value) == 1.0).all()  # a channel is not its own source
    assert s.support[:3, 3].all() and s.support.sum() == 3
    # one residual degree of freedom: 3 channels, lags 1..2, 9 samples (7 targets, 6 regressors)
    small = _standardised(np.random.default_rng(1).standard_normal((3, 9)))
    pv1, _ = _granger(small, 2)
    np.testing.assert_allclose(F._screen(small, 1.0, 1e-3).p_value, pv1, rtol=1e-3)


def test_screening_survives_an_exact_duplicate_channel():
    x = _four()[:3]
    s = F._screen(np.vstack([x, x[:1]]), 4.0, 1e-3)
    assert np.isfinite(s.p_value).all() and np.isfinite(s.coef).all()


def test_the_screening_level_is_bonferroni_over_the_ordered_pairs_and_strict():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 1000))
    x[1, 2:] += 0.12 * x[0, :-2]  # a weak edge: p well inside (0, 1)
    x = _standardised(x)
    p = F._screen(x[:2], 4.0, 1.0).p_value[0, 1]
    assert 1e-8 < p < 0.1 and (2 * p) / 2 == p
    assert not F.screen(x[:2], 4.0, 2 * p)[0][0, 1]  # p < alpha / 2 is strict
    assert F.screen(x[:2], 4.0, np.nextafter(2 * p, 1.0))[0][0, 1]
    p3 = F._screen(x, 4.0, 1.0).p_value[0, 1]  # three channels: 6 ordered pairs
    assert F.screen(x, 4.0, 6 * p3 * (1 + 1e-9))[0][0, 1]
    assert not F.screen(x, 4.0, 6 * p3 * (1 - 1e-9))[0][0, 1]


def _centroid(prof, sign, tau_max=4.0):
    """Initial delay and weight of a lag profile (coefficients at lags 1..L): the peak lag (the largest
    coefficient with sign "positive", else the largest in size), the centroid of the weights (sizes, or the
    positive parts) over the peak and its neighbours (at most tau_max), and the coefficients' sum there."""
    lag = np.arange(1, len(prof) + 1)
    peak = lag[np.argmax(prof if sign == "positive" else np.abs(prof))]
    near = np.abs(lag - peak) <= 1
    w = np.abs(prof) if sign == "any" else np.maximum(prof, 0.0)
    return min(float((w * lag)[near].sum() / w[near].sum()), tau_max), float(prof[near].sum())


@pytest.mark.parametrize("sign", ["any", "positive"])
def test_initial_delays_are_the_centroid_of_the_lag_coefficients_around_the_peak(sign):
    x = _four()
    s = F._screen(x, 4.0, 1e-3, sign)
    support, w0, tau0 = F.screen(x, 4.0, 1e-3) if sign == "any" else (s.support, s.w0, s.tau0)
    for i in range(3):
        tau, w = _centroid(s.coef[i, :, 3], sign)
        assert (
            support[i, 3]
            and tau0[i, 3] == pytest.approx(tau, rel=1e-12)
            and w0[i, 3] == pytest.approx(w, rel=1e-12)
        )
    # the peaks: lag 1 (x0), lag 2 in size / lag 4 positive (x1), lag 3 (x2)
    assert np.round(tau0[:3, 3]).tolist() == ([1.0, 2.0, 3.0] if sign == "any" else [1.0, 4.0, 3.0])
    assert (tau0[~support] == 0).all() and (w0[~support] == 0).all()


def test_with_positive_weights_a_source_with_no_positive_lag_is_dropped():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 1200))
    # x0 -> x1 inverted at every lag 1..5, x2 -> x1 at lag 3
    x[1, 5:] += -0.5 * sum(x[0, 5 - lag : -lag] for lag in range(1, 6)) + 0.6 * x[2, 2:-3]
    x = _standardised(x)
    s = F._screen(x, 4.0, 1e-3, "positive")
    assert F._screen(x, 4.0, 1e-3, "any").support[0, 1]
    assert not s.support[0, 1] and s.support[2, 1]
    assert s.tau0[2, 1] == pytest.approx(_centroid(s.coef[2, :, 1], "positive")[0], rel=1e-12)
    # the fit with weight_sign="positive": nothing to refine for the inverted pair alone
    calls = []
    fit = fit_lags(
        x[:2],
        FS,
        cfg=FitConfig(tau_max_samples=4.0, weight_sign="positive"),
        progress=lambda *a: calls.append(a),
    )
    assert fit.n_iter == 0 and not fit.graph.weight.any() and calls == [("screening", 1, 1)]


def test_xcorr_starts_follow_the_weight_sign():
    rng = np.random.default_rng(6)
    x0 = rng.standard_normal(1500)
    x1 = np.zeros(1500)
    x1[4:] = -0.9 * x0[2:-2] + 0.5 * x0[:-4]  # the largest correlation inverted (lag 2), a positive one at 4
    x = np.stack([x0, x1 + 0.3 * rng.standard_normal(1500)])
    cfg = dict(tau_max_samples=4.0, init_delays="xcorr", self_lags=0)
    pos = fit_lags(x, FS, cfg=FitConfig(weight_sign="positive", **cfg))
    assert 3.0 < pos.graph.tau_samples[0, 1] < 4.5 and pos.graph.weight[0, 1] > 0
    anyw = fit_lags(x, FS, cfg=FitConfig(**cfg))
    assert anyw.graph.tau_samples[0, 1] == pytest.approx(2.0, abs=0.2) and anyw.graph.weight[0, 1] < 0


def test_xcorr_starts_with_positive_weights_need_a_positive_correlation():
    """x1 = -x0(t-2) + 0.5 x0(t-4), x0 smooth: the regression finds the positive lag, but every lagged
    correlation is negative, so the xcorr start (the classic time-delay estimate) has no positive peak: no edge."""
    rng = np.random.default_rng(0)
    x0 = np.convolve(rng.standard_normal(2020), np.hanning(11), "same")[:2000]
    x1 = np.zeros(2000)
    x1[4:] = -x0[2:-2] + 0.5 * x0[:-4]
    x = _standardised(np.stack([x0, x1 + 0.3 * rng.standard_normal(2000)]))
    assert F._screen(x, 4.0, 1e-3, "positive").support[0, 1]
    assert (F._xcorr_delays(x, 4.0, "positive")[1][0, 1] < 0).all()
    cfg = FitConfig(tau_max_samples=4.0, weight_sign="positive", init_delays="xcorr")
    fit = fit_lags(x, FS, cfg=cfg)
    assert fit.n_iter == 0 and not fit.graph.weight.any()


def test_xcorr_starts_with_positive_weights_need_a_correlation_above_zero():
    """Balanced +-1 channels (standardising leaves them bit for bit) whose largest lagged correlation is exactly
    0: no same-polarity lag, so no edge, even at a screening level that keeps the pair."""
    rng = np.random.default_rng(0)

    def balanced():
        v = np.repeat([1.0, -1.0], 40)
        rng.shuffle(v)
        return v

    for _ in range(3):
        x = np.stack([balanced(), balanced()])
    assert np.array_equal(F._standardise(x)[0], x)
    _, corr = F._xcorr_delays(x, 3.0, "positive")
    assert corr[0, 1] == 0.0 and F._screen(x, 3.0, 1.0, "positive").support[0, 1]
    cfg = FitConfig(tau_max_samples=3.0, alpha=1.0, weight_sign="positive", init_delays="xcorr")
    fit = fit_lags(x, FS, cfg=cfg)
    assert fit.n_iter == 0 and not fit.graph.weight.any()


def test_xcorr_leave_a_peak_with_no_float_curvature_at_its_lag():
    """A correlation profile set by hand (the target an impulse, so each lag's correlation is one sample of
    the source): the peak at lag 4 ties lag 5 and lag 3 is one ulp below 1, so the parabola's curvature
    ``sm - 2 s0 + sp`` is 0.0 in float64: no parabola, the delay is the lag."""
    lags, n = F._n_lags(8.0), 256
    prof = np.array([0.1, 0.2, np.nextafter(1.0, 0.0), 1.0, 1.0, 0.3, 0.2, 0.1, 0.05])
    x = np.zeros((2, lags + n))
    x[0, :lags] = prof[::-1]  # x0[lags - l] is the correlation at lag l
    x[1, lags] = n
    for sign in ("any", "positive"):
        tau, corr = F._xcorr_delays(x, 8.0, sign)
        assert corr[0, 1] == 1.0 and tau[0, 1] == 4.0


# ---------------------------------------------------------------- the objective against least squares by hand


def _regressors(x, src, tgt, tau, tau_max, p, j):
    """Target ``j``'s regressors ``(N, K + p)``, its delayed sources (the project's fractional delay) in edge
    order then its own past 1..p, and the target ``(N,)``, over the targets from max(ceil(tau_max) + 1, p) on."""
    t = x.shape[1]
    crop = max(math.ceil(tau_max) + 1, p)
    cols = [
        delay(torch.from_numpy(x[i]), torch.tensor(d)).numpy()[crop:]
        for i, jj, d in zip(src, tgt, tau)
        if jj == j
    ]
    cols += [x[j, crop - lag : t - lag] for lag in range(1, p + 1)]
    return (np.stack(cols, 1) if cols else np.zeros((t - crop, 0))), x[j, crop:]


def _loss_by_hand(x, src, tgt, tau, tau_max, p):
    """``sum_j 1/2 log mean_t u_j(t)^2``, ``u_j`` the residual of target ``j``'s ordinary least squares."""
    total = 0.0
    for j in range(x.shape[0]):
        design, y = _regressors(x, src, tgt, tau, tau_max, p, j)
        u = y - design @ np.linalg.lstsq(design, y, rcond=None)[0] if design.shape[1] else y
        total += 0.5 * np.log(np.mean(u**2))
    return total


@pytest.mark.parametrize(("t", "self_lags", "p"), [(1572, None, 5), (1570, 0, 0), (1572, 7, 7), (1570, 2, 2)])
def test_objective_is_least_squares_on_the_delayed_sources(t, self_lags, p):
    """Delays with ceil 4 (the FFT length is the fractional delay's own); lengths where the next odd fast FFT
    length is exactly T + 3 or T + 5 samples away."""
    x = _standardised(_coupled(t))
    src, tgt, tau = np.array([0, 0, 2]), np.array([1, 2, 1]), np.array([3.3, 4.0, 3.7])
    obj = F._Objective(x, src, tgt, FitConfig(tau_max_samples=4.0, self_lags=self_lags))
    got = float(obj.loss(torch.from_numpy(tau)))
    assert got == pytest.approx(_loss_by_hand(x, src, tgt, tau, 4.0, p), abs=1e-10)
    value, grad = obj.value_and_grad(tau)
    assert value == pytest.approx(got, abs=1e-12) and grad.shape == (3,)
    a, phi, resid = obj.weights(tau)
    assert a.shape == (3,) and phi.shape == (3, p) and resid.shape == (3, t - max(5, p))


def test_the_ridge_only_shrinks_the_least_squares_weights():
    """The tiny ridge (1e-9 of the Gram trace) pulls every target's weights towards zero: their norm is just
    below the ordinary least-squares norm, never above it."""
    x = _standardised(_coupled(1200))
    src, tgt, tau = np.array([0, 0, 2]), np.array([1, 2, 1]), np.array([3.3, 4.0, 3.7])
    a, phi, _ = F._Objective(x, src, tgt, FitConfig(tau_max_samples=4.0)).weights(tau)
    for j in range(3):
        design, y = _regressors(x, src, tgt, tau, 4.0, 5, j)
        ls = np.linalg.norm(np.linalg.lstsq(design, y, rcond=None)[0])
        got = np.linalg.norm(np.r_[a[tgt == j], phi[j]])
        assert ls * (1 - 1e-6) < got < ls


def test_the_ridge_is_relative_to_the_data_s_scale():
    """The ridge is a share of the Gram trace, not a prior on the weights: data a million times smaller give
    the same weights."""
    x = _standardised(_coupled(900))
    src, tgt, tau = np.array([0, 0, 2]), np.array([1, 2, 1]), np.array([3.3, 4.0, 3.7])
    cfg = FitConfig(tau_max_samples=4.0)
    a, phi, _ = F._Objective(x, src, tgt, cfg).weights(tau)
    a6, phi6, _ = F._Objective(x * 1e-6, src, tgt, cfg).weights(tau)
    np.testing.assert_allclose(a6, a, rtol=1e-6)
    np.testing.assert_allclose(phi6, phi, rtol=1e-6)


def test_only_all_zero_padding_slots_are_pinned_to_zero():
    """A regressor whose energy is exactly 1 (one unit sample) is fitted like any other: x(t) = 0.7 x(t - 1)
    at the one sample after the unit one, so the own-past coefficient is 0.7."""
    x = np.zeros((1, 60))
    x[0, -2], x[0, -1] = 1.0, 0.7
    none = np.zeros(0, dtype=np.int64)
    obj = F._Objective(x, none, none, FitConfig(tau_max_samples=4.0, self_lags=1))
    assert obj.weights(np.zeros(0))[1][0, 0] == pytest.approx(0.7, rel=1e-6)


def test_objective_without_edges_is_the_own_past_regression():
    x = _standardised(_coupled(900))
    none = np.zeros(0, dtype=np.int64)
    obj = F._Objective(x, none, none, FitConfig(tau_max_samples=4.0))
    value, grad = obj.value_and_grad(np.zeros(0))
    assert value == pytest.approx(_loss_by_hand(x, [], [], [], 4.0, 5), abs=1e-10)
    assert grad.shape == (0,) and obj.weights(np.zeros(0))[0].shape == (0,)


def test_duplicate_sources_share_their_weight():
    """Two identical sources at the same delay: the least-squares weights are not unique; the ridge takes the
    minimum-norm solution, an even split of the single source's weight."""
    x = _standardised(_pair(900))
    x = np.vstack([x, x[:1]])
    cfg = FitConfig(tau_max_samples=4.0)
    two = F._Objective(x, np.array([0, 2]), np.array([1, 1]), cfg)
    one = F._Objective(x, np.array([0]), np.array([1]), cfg)
    a2, a1 = two.weights(np.array([2.4, 2.4]))[0], one.weights(np.array([2.4]))[0]
    assert a2[0] == pytest.approx(a2[1], rel=1e-6) and a2.sum() == pytest.approx(a1[0], rel=1e-6)


# ---------------------------------------------------------------- zero-lag coupling against regressions


def _ols(y, cols):
    return np.linalg.lstsq(np.stack(cols, 1), y, rcond=None)[0] if cols else np.zeros(0)


def test_zero_lag_coupling_against_node_wise_regressions():
    rng = np.random.default_rng(7)
    mix = np.array([[1.0, 0, 0, 0], [0.6, 1, 0, 0], [0, -0.4, 1, 0], [0.3, 0, 0.5, 1]])
    u = (mix @ rng.standard_normal((4, 4000))) * np.array([[1.0], [3.0], [0.5], [2.0]])
    b, pc = zero_lag_coupling(u)
    uc = u - u.mean(1, keepdims=True)
    for j in range(4):
        others = [i for i in range(4) if i != j]
        coef = _ols(uc[j], [uc[i] for i in others])
        np.testing.assert_allclose(b[others, j], coef, rtol=1e-9)
        for i in others:
            rest = [k for k in range(4) if k not in (i, j)]
            ri = uc[i] - np.stack([uc[k] for k in rest], 1) @ _ols(uc[i], [uc[k] for k in rest])
            rj = uc[j] - np.stack([uc[k] for k in rest], 1) @ _ols(uc[j], [uc[k] for k in rest])
            assert pc[i, j] == pytest.approx(np.corrcoef(ri, rj)[0, 1], rel=1e-9)
    assert (np.diag(b) == 0).all() and (np.diag(pc) == 0).all()
    # an innovation that is exactly zero is coupled to nothing (no 0 / 0)
    with np.errstate(all="ignore"):
        _, pz = zero_lag_coupling(np.vstack([u, np.zeros(4000)]))
    assert (pz[4] == 0).all() and (pz[:, 4] == 0).all()
    np.testing.assert_allclose(pz[:4, :4], pc, rtol=1e-9)


def test_weak_is_below_min_weight_strictly():
    got = F._weak(np.array([0.05, -0.05, 0.0499, -0.2]), FitConfig())
    assert got.tolist() == [False, False, True, False]
    got = F._weak(np.array([0.05, -0.05, 0.0499, -0.2]), FitConfig(weight_sign="positive"))
    assert got.tolist() == [False, True, True, True]


# ---------------------------------------------------------------- LagFit by hand


def _hand(**kw):
    """a -> b (0.6, 20 ms), c -> a (-0.3, 80 ms, at the ceiling), over a delay range of 0.125-1 s."""
    w = np.array([[0.0, 0.6, 0.0], [0.0, 0.0, 0.0], [-0.3, 0.0, 0.0]])
    tau = np.array([[0.0, 0.02, 0.0], [0.0, 0.0, 0.0], [0.08, 0.0, 0.0]])
    ceiling = np.zeros((3, 3), bool)
    ceiling[2, 0] = True
    args = dict(
        graph=LagGraph(tau, w, ["a", "b", "c"], 100.0),
        instantaneous=np.zeros((3, 3)),
        partial_corr=np.zeros((3, 3)),
        at_ceiling=ceiling,
        converged=True,
        n_iter=3,
        objective=1.0,
        tau_max_s=1.0,
        tau_min_s=0.125,
    )
    return LagFit(**{**args, **kw})


def _spread(lo, hi):
    return [{"source": "a", "target": "b", "tau_s_q05": lo, "tau_s_q95": hi}]


def test_a_delay_spread_over_more_than_half_the_range_is_not_identified():
    fit = _hand()
    # half the range (1 - 0.125) / 2 = 0.4375 exactly: not more than half
    assert fit.not_identified(_spread(0.25, 0.6875)) == {(2, 0): "at the delay ceiling"}
    got = fit.not_identified(_spread(0.25, 0.75))
    assert got[(0, 1)] == (
        "delay interval 250.0-750.0 ms over the sub-windows covers more than half the delay range "
        "(125.0-1000.0 ms)"
    )
    # explicit spreads replace the stability's; the identified graph drops the edges and their delays
    wide = _hand(stability={"edges": _spread(0.125, 1.0)})
    assert (0, 1) in wide.not_identified() and (0, 1) not in wide.not_identified([])
    g = wide.identified_graph([])
    assert g.weight.tolist() == [[0.0, 0.6, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    assert g.tau.dtype == np.float64 and g.tau.tolist() == [
        [0.0, 0.02, 0.0],
        [0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0],
    ]
    assert not wide.identified_graph().weight.any()


def test_start_votes_flag_edges_only_when_there_were_several_starts():
    votes = np.zeros((3, 3), dtype=np.int64)
    assert _hand(start_votes=votes, n_starts=1).not_identified() == {(2, 0): "at the delay ceiling"}
    assert _hand(start_votes=None, n_starts=3).not_identified() == {(2, 0): "at the delay ceiling"}
    votes[0, 1], votes[2, 0] = 2, 1
    assert _hand(start_votes=votes, n_starts=3).not_identified() == {
        (2, 0): "at the delay ceiling",
        (0, 1): "in 2 of the 3 starts' optima only (optima of nearly equal depth disagree on it)",
    }
    votes[0, 1] = 1  # two starts are several
    assert _hand(start_votes=votes, n_starts=2).not_identified()[(0, 1)].startswith("in 1 of the 2 starts'")


def test_json_counts_the_edges_at_the_floor():
    assert _hand().to_dict()["n_at_floor"] == 0  # no floor recorded
    floor = np.zeros((3, 3), bool)
    floor[0, 1] = True
    assert _hand(at_floor=floor).to_dict()["n_at_floor"] == 1


def test_zero_lag_pairs_are_distinct_channels_strongest_first_ties_in_channel_order():
    c = 7
    rng = np.random.default_rng(8)
    pc = rng.choice([0.2, -0.3, 0.3, 0.5], size=(c, c))
    pc = np.triu(pc, 1) + np.triu(pc, 1).T
    inst = np.full((c, c), 0.1)  # every pair coupled, and a diagonal that is no pair
    fit = _hand(
        graph=LagGraph(np.zeros((c, c)), np.zeros((c, c)), [f"c{i}" for i in range(c)], 100.0),
        at_ceiling=np.zeros((c, c), bool),
        instantaneous=inst,
        partial_corr=pc,
    )
    want = sorted(((i, j) for i in range(c) for j in range(i + 1, c)), key=lambda ij: -abs(pc[ij]))
    got = [(int(e["a"][1:]), int(e["b"][1:])) for e in fit.instantaneous_edges()]
    assert got == want


# ---------------------------------------------------------------- L-BFGS-B's statuses, ties between starts


def _answers(monkeypatch, status, calls=0):
    """``optimize.minimize`` that reports ``status`` after feeding the callback ``calls`` moving iterates."""

    def minimize(fun, x0, callback=None, **kw):
        for k in range(calls):
            callback(_Iterate(np.asarray(x0, dtype=float) + k, 10.0 + k))
        return optimize.OptimizeResult(x=np.asarray(x0, dtype=float), fun=1.0, status=status, nit=calls)

    monkeypatch.setattr(F, "optimize", types.SimpleNamespace(minimize=minimize))


@pytest.mark.parametrize(("status", "converged"), [(0, True), (1, False), (2, True)])
def test_l_bfgs_b_s_own_statuses_before_the_limit(monkeypatch, status, converged):
    # scipy's L-BFGS-B: 0 the projected gradient vanished, 1 an iteration or evaluation limit was hit,
    # 2 the line search can no longer decrease the objective; the first and the last are an optimum
    _answers(monkeypatch, status)
    cfg = FitConfig(tau_max_samples=4.0, steps=50)
    obj = F._Objective(_standardised(_pair(400)), np.array([0]), np.array([1]), cfg)
    _, fun, conv, n_iter = F._optimise(obj, np.array([2.0]), cfg, None, "refining")
    assert (fun, conv, n_iter) == (1.0, converged, 0)


@pytest.mark.parametrize("status", [0, 2])
def test_a_status_reached_at_the_iteration_limit_is_not_convergence(monkeypatch, status):
    _answers(monkeypatch, status, calls=3)  # three iterates that never settle, and steps=3
    cfg = FitConfig(tau_max_samples=4.0, steps=3)
    obj = F._Objective(_standardised(_pair(400)), np.array([0]), np.array([1]), cfg)
    assert F._optimise(obj, np.array([2.0]), cfg, None, "refining")[2:] == (False, 3)


def test_of_equally_deep_optima_the_first_start_s_is_kept(monkeypatch):
    starts = []

    def optimise(obj, tau0, cfg, progress, stage):  # every start "converges" where it began, equally deep
        starts.append(np.array(tau0, copy=True))
        return np.array(tau0, copy=True), 1.0, True, 1

    monkeypatch.setattr(F, "_optimise", optimise)
    fit = fit_lags(_pair(800), FS, cfg=FitConfig(tau_max_samples=4.0, n_starts=3), seed=3)
    assert len(starts) == 3 and not np.array_equal(starts[0], starts[1])  # the jittered starts moved
    np.testing.assert_array_equal(fit.state["tau"], starts[0])  # the screening's delays: the first start


def test_a_significant_source_without_a_positive_lag_coefficient_gives_no_positive_edge(monkeypatch):
    # channel 2 is all zeros: its lagged coefficients are exactly 0 into every target; every pair is made
    # significant so the sign rule alone decides (largest coefficient <= 0: no same-polarity lag, no edge)
    x = np.vstack([_standardised(_pair(600)), np.zeros((1, 600))])
    monkeypatch.setattr(F.stats.f, "sf", lambda f, d1, d2: np.zeros_like(f))
    scr = F._screen(x, 4.0, 1e-3, "positive")
    assert np.all(scr.coef[2] == 0.0)
    assert not scr.support[2].any() and np.isfinite(scr.tau0).all()
    assert scr.support[0, 1]  # the true edge x0 -> x1 (positive weight) stays


@pytest.mark.parametrize("alpha", [-1e-9, 1.0000001, float("nan"), 2.0])
def test_the_screening_level_must_be_a_probability(alpha):
    with pytest.raises(ConfigError, match="invalid alpha"):
        FitConfig(alpha=alpha)
    with pytest.raises(ConfigError, match="invalid alpha"):
        F.screen(_pair(400), 4.0, alpha=alpha)
    # its bounds are levels: 0 keeps nothing, 1 keeps every pair but never a self-edge
    for ok in (0.0, 1.0):
        support, _, _ = F.screen(_pair(400), 4.0, alpha=ok)
        assert not np.diag(support).any() and support.any() == (ok == 1.0)
