"""The lag fit's screening kernels against statements worked out by hand: the cross-correlation each lag is
scored by (a plain mean of products of standardised channels), the peak it picks with each sign rule, and a
computation in float64 whatever the input's type."""

import numpy as np
import pytest

from biodyn.causal.fit import _n_lags, _xcorr_delays, screen


def _pair(n=6000, seed=0):
    """x1 = -0.9 x0(t - 3) + 0.4 x0(t - 6) + noise, both standardised: the strongest correlation is negative
    at lag 3, the strongest positive one at lag 6."""
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal(n)
    x1 = np.zeros(n)
    x1[6:] = -0.9 * x0[3:-3] + 0.4 * x0[:-6]
    x1 += 0.1 * rng.standard_normal(n)
    x = np.stack([x0, x1])
    return (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)


def test_xcorr_delays_by_hand():
    x = _pair()
    lags = _n_lags(8.0)
    assert lags == 9  # lags 1..ceil(8) + 1
    t = x.shape[1]
    # corr(x0(t - l), x1(t)) over the targets x1[lags:], as a plain mean of products
    hand = np.array([np.mean(x[0, lags - lag : t - lag] * x[1, lags:]) for lag in range(1, lags + 1)])
    assert np.argmax(np.abs(hand)) + 1 == 3 and np.argmax(hand) + 1 == 6
    tau, corr = _xcorr_delays(x, 8.0, "any")
    assert corr[0, 1] == pytest.approx(hand[2], rel=1e-12) and corr[0, 1] < -0.8
    assert tau[0, 1] == pytest.approx(3.0, abs=0.05)  # an integer lag: the parabola barely moves it
    tau, corr = _xcorr_delays(x, 8.0, "positive")
    assert corr[0, 1] == pytest.approx(hand[5], rel=1e-12) and 0.3 < corr[0, 1] < 0.5
    assert tau[0, 1] == pytest.approx(6.0, abs=0.05)


def test_screen_computes_in_float64():
    x = _pair(3000)
    x32 = x.astype(np.float32)
    for got, want in zip(screen(x32, 8.0), screen(x32.astype(np.float64), 8.0)):
        assert got.dtype == want.dtype and np.array_equal(got, want)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"tau_max_samples": 0.0}, r"^invalid tau_max_samples=0\.0; allowed: > 0$"),
        ({"tau_max_samples": float("nan")}, r"^invalid tau_max_samples=nan"),
        (
            {"tau_min_samples": -0.5},
            r"^invalid tau_min_samples=-0\.5; allowed: 0 <= tau_min < tau_max \(8\)$",
        ),
        ({"tau_min_samples": 8.0}, r"^invalid tau_min_samples=8\.0; allowed: 0 <= tau_min < tau_max \(8\)$"),
        ({"tau_max_samples": 2.5, "tau_min_samples": 2.5}, r"tau_min < tau_max \(2\.5\)$"),
        ({"steps": 0}, r"^invalid steps=0; allowed: an integer >= 1$"),
        ({"weight_sign": "negative"}, r"^invalid weight_sign='negative'; allowed: 'any', 'positive'$"),
        ({"init_delays": "random"}, r"^invalid init_delays='random'; allowed: 'screen', 'xcorr'$"),
        ({"likelihood": "laplace"}, r"^FitConfig\.likelihood='laplace': the per-recording fit's variable"),
    ],
)
def test_fit_config_refuses_at_each_bound(kw, message):
    from biodyn.causal.fit import FitConfig
    from biodyn.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        FitConfig(**kw)


def test_fit_config_accepts_each_bound():
    from biodyn.causal.fit import FitConfig

    FitConfig(tau_max_samples=1e-3, tau_min_samples=0.0, steps=1)
    FitConfig(tau_max_samples=8.0, tau_min_samples=7.999)
    FitConfig(weight_sign="positive", init_delays="xcorr")


def _vertex(profile, k):
    """Lag (1-based) of the vertex of the parabola through ``profile[k - 1 : k + 2]``, by a least-squares fit
    of a quadratic through the three points (numpy's polyfit, not the closed form the kernel uses)."""
    a, b, _ = np.polyfit([k, k + 1, k + 2], profile[k - 1 : k + 2], 2)
    return -b / (2 * a)


def test_xcorr_delays_refine_an_inner_peak_by_the_parabola_through_its_neighbours():
    x = _pair()
    lags, t = _n_lags(8.0), x.shape[1]
    hand = np.array([np.mean(x[0, lags - lag : t - lag] * x[1, lags:]) for lag in range(1, lags + 1)])
    tau, _ = _xcorr_delays(x, 8.0, "any")
    assert tau[0, 1] == pytest.approx(_vertex(np.abs(hand), 2), abs=1e-9)  # |corr| peaks at lag 3
    tau, _ = _xcorr_delays(x, 8.0, "positive")
    assert tau[0, 1] == pytest.approx(_vertex(hand, 5), abs=1e-9)  # corr peaks at lag 6


@pytest.mark.parametrize(("lag", "want"), [(1, 1.0), (9, 8.0)])
def test_xcorr_delays_keep_an_edge_peak_unrefined(lag, want):
    """A peak at the first lag or the last one (9 = ceil(8) + 1) has no neighbour on one side: no parabola;
    the delay is the lag itself, clipped to [1, tau_max]."""
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal(5000)
    x1 = np.r_[np.zeros(lag), x0[:-lag]] + 0.05 * rng.standard_normal(5000)
    x = np.stack([x0, x1])
    x = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    for sign in ("any", "positive"):
        tau, corr = _xcorr_delays(x, 8.0, sign)
        assert tau[0, 1] == want and corr[0, 1] > 0.9


@pytest.mark.parametrize(("delay", "lag"), [(2.3, 2), (7.7, 8)])
def test_xcorr_delays_refine_a_peak_next_to_either_end(delay, lag):
    """Fractional delays peaking at the second and the second-to-last lag (8 of 9): inner peaks, refined by
    the parabola through both neighbours towards the true delay."""
    rng = np.random.default_rng(2)
    a = np.convolve(rng.standard_normal(6000), np.hanning(9), mode="same")  # smooth: a rounded peak
    k, frac = int(delay), delay - int(delay)
    b = (1 - frac) * np.r_[np.zeros(k), a[:-k]] + frac * np.r_[np.zeros(k + 1), a[: -k - 1]]  # a(t - delay)
    x = np.stack([a, b + 0.05 * rng.standard_normal(6000)])
    x = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    lags, t = _n_lags(8.0), x.shape[1]
    hand = np.array([np.mean(x[0, lags - j : t - j] * x[1, lags:]) for j in range(1, lags + 1)])
    assert np.argmax(np.abs(hand)) + 1 == lag
    tau, _ = _xcorr_delays(x, 8.0, "any")
    assert tau[0, 1] == pytest.approx(_vertex(np.abs(hand), lag - 1), abs=1e-9)
    assert tau[0, 1] == pytest.approx(delay, abs=0.2) and tau[0, 1] != lag


@pytest.mark.filterwarnings("ignore:lag fit did not converge")  # a few iterations suffice here
def test_lag_fit_json_carries_every_field_under_its_name():
    """The JSON that `biodyn lags` writes and the reports read: the LagGraph's own keys, then each of the
    fit's fields under its documented name, with the fit's values."""
    import json

    from biodyn.causal.fit import FitConfig, fit_lags

    x = _pair(2000)
    fit = fit_lags(np.vstack([x, x[:1] * 0.5 + x[1:] * 0.5]), 100.0, ["a", "b", "c"], FitConfig(steps=5))
    d = fit.to_dict()
    own = fit.graph.to_dict()
    assert set(own) | {"edges"} <= set(d)
    assert {k: d[k] for k in own if k != "edges"} == {k: v for k, v in own.items() if k != "edges"}
    want = {
        "edges": fit.edges(),
        "focal_ranking": fit.focal_ranking(),
        "focal_groups": fit.focal_groups(),
        "focal_lead": fit.focal_lead(),
        "focal_lead_note": fit.focal_lead_note(),
        "unranked": fit.unranked(),
        "n_not_identified": len(fit.not_identified()),
        "tau_min_s": fit.tau_min_s,
        "model": fit.model,
        "onset_s": fit.onset_s,
        "instantaneous": fit.instantaneous.tolist(),
        "partial_corr": fit.partial_corr.tolist(),
        "instantaneous_edges": fit.instantaneous_edges(),
        "n_at_ceiling": int(fit.at_ceiling.sum()),
        "n_at_floor": 0 if fit.at_floor is None else int(fit.at_floor.sum()),
        "tau_max_s": fit.tau_max_s,
        "converged": fit.converged,
        "n_iter": fit.n_iter,
        "objective": fit.objective,
        "fit_s": fit.fit_s,
        "dropped_channels": list(fit.dropped),
        "preset": fit.preset,
        "stability": fit.stability,
    }
    assert set(d) == set(own) | set(want)
    assert {k: d[k] for k in want} == want
    json.dumps(d)


def _hand_fit(**kw):
    """A LagFit built by hand: a -> b (0.6, 20 ms), c -> a (-0.3, 80 ms, at the ceiling), zero-lag a -- c."""
    from biodyn.causal.fit import LagFit
    from biodyn.types import LagGraph

    w = np.array([[0.0, 0.6, 0.0], [0.0, 0.0, 0.0], [-0.3, 0.0, 0.0]])
    tau = np.array([[0.0, 0.02, 0.0], [0.0, 0.0, 0.0], [0.08, 0.0, 0.0]])
    inst = np.array([[0.0, 0.0, 0.25], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    pc = np.array([[0.0, 0.05, 0.3], [0.05, 0.0, -0.2], [0.3, -0.2, 0.0]])
    ceiling = np.zeros((3, 3), bool)
    ceiling[2, 0] = True
    args = dict(
        graph=LagGraph(tau, w, ["a", "b", "c"], 100.0),
        instantaneous=inst,
        partial_corr=pc,
        at_ceiling=ceiling,
        converged=True,
        n_iter=3,
        objective=1.0,
        tau_max_s=0.08,
    )
    return LagFit(**{**args, **kw})


def test_edges_and_zero_lag_couplings_by_hand():
    fit = _hand_fit()
    ab, ca = fit.edges()  # strongest first
    assert (ab["source"], ab["target"], ab["at_ceiling"], ab["at_floor"], ab["identified"]) == (
        "a",
        "b",
        False,
        False,
        True,
    )
    assert (ca["source"], ca["target"], ca["at_ceiling"], ca["identified"]) == ("c", "a", True, False)
    assert ca["not_identified"] == "at the delay ceiling" and "confidence" not in ab
    # zero-lag: only a -- c has a coefficient (b's couplings are under the reporting threshold)
    assert fit.instantaneous_edges() == [
        {"a": "a", "b": "c", "partial_corr": 0.3, "weight_a_to_b": 0.25, "weight_b_to_a": 0.0}
    ]
    # a coefficient either way makes a pair; pairs sorted by |partial correlation|, ties in index order
    inst = np.array([[0.0, 0.1, 0.0], [0.0, 0.0, 0.0], [0.2, 0.4, 0.0]])
    got = _hand_fit(instantaneous=inst).instantaneous_edges()
    assert [(e["a"], e["b"], e["partial_corr"], e["weight_a_to_b"], e["weight_b_to_a"]) for e in got] == [
        ("a", "c", 0.3, 0.0, 0.2),
        ("b", "c", -0.2, 0.0, 0.4),
        ("a", "b", 0.05, 0.1, 0.0),
    ]
    # with sub-window stability: each edge's confidence and delay spread, each pair's confidence
    stab = {
        "edges": [{"source": "a", "target": "b", "confidence": 0.9, "tau_s_q05": 0.018, "tau_s_q95": 0.022}],
        "instantaneous": [{"a": "a", "b": "c", "confidence": 0.7}],
    }
    fit = _hand_fit(stability=stab, at_floor=np.eye(3, dtype=bool)[[1, 0, 2]])
    ab, ca = fit.edges()
    assert (ab["confidence"], ab["tau_s_q05"], ab["tau_s_q95"], ab["at_floor"]) == (0.9, 0.018, 0.022, True)
    assert ca["at_floor"] is False and "confidence" not in ca
    assert fit.instantaneous_edges()[0]["confidence"] == 0.7


@pytest.mark.filterwarnings("ignore:lag fit did not converge")  # a few iterations suffice here
def test_fit_lags_reports_progress_and_names_channels():
    from biodyn.causal.fit import FitConfig, fit_lags
    from biodyn.errors import ConfigError

    x = _pair(2000)
    calls = []
    fit = fit_lags(x, 100.0, cfg=FitConfig(steps=4), progress=lambda *a: calls.append(a))
    assert fit.graph.channels == ["X0", "X1"]  # no names given
    assert calls[0] == ("screening", 1, 1)
    stages = [c[0] for c in calls[1:]]
    assert stages and stages[0] == "refining" and set(stages) <= {"refining", "pruned"}
    assert all(total == 4 and 1 <= done <= 4 for _, done, total in calls[1:])
    assert fit_lags(x, 0.5, ["p", "q"], FitConfig(steps=2)).graph.channels == ["p", "q"]  # any rate > 0
    for fs in (0.0, -1.0, float("nan")):
        with pytest.raises(ConfigError, match="fs"):
            fit_lags(x, fs)
