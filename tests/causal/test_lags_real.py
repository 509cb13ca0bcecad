"""The lag fit on recording-like data: dependent channels, zero-lag coupling, convergence, stability."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from biodyn.causal.fit import FitConfig, fit_lags, zero_lag_coupling
from biodyn.causal.ldsem import simulate
from biodyn.causal.metrics import ranking_spearman, topk_overlap
from biodyn.causal.recording import dependent_channels, fit_recording
from biodyn.data_root import data_root


def test_dependent_channels_finds_derived_limb_leads_and_says_how():
    rng = np.random.default_rng(0)
    lead_i, lead_ii = rng.standard_normal((2, 2000)) * 100
    v1 = rng.standard_normal(2000) * 50
    names = ["I", "II", "III", "aVR", "aVL", "aVF", "V1"]
    x = np.stack(
        [
            lead_i,
            lead_ii,
            lead_ii - lead_i,
            -(lead_i + lead_ii) / 2,
            lead_i - lead_ii / 2,
            lead_ii - lead_i / 2,
            v1,
        ]
    )
    x = np.round(x)  # quantised like a recording: still dependent to within rtol
    dep = dependent_channels(x, names)
    assert [d["channel"] for d in dep] == ["III", "aVR", "aVL", "aVF"]
    assert dep[0]["combination"] == pytest.approx({"I": -1.0, "II": 1.0}, abs=0.01)
    assert "III = -1.00 I + 1.00 II" in dep[0]["reason"]
    assert dependent_channels(x[[0, 1, 6]], ["I", "II", "V1"]) == []


def test_zero_lag_mixing_is_not_turned_into_fractional_delays():
    # x1 = 0.8 x0 at zero lag (volume conduction); x2 <- x0 three samples later (a true lag)
    rng = np.random.default_rng(1)
    t = 4000
    x0 = rng.laplace(size=t)
    x = np.stack(
        [x0, 0.8 * x0 + 0.6 * rng.laplace(size=t), np.r_[np.zeros(3), 0.7 * x0[:-3]] + rng.laplace(size=t)]
    )
    fit = fit_lags(x, 100.0, ["a", "b", "c"], FitConfig(tau_max_samples=6.0, tau_min_samples=1.0))
    # no lag asserted for the zero-lag pair
    assert fit.graph.weight[0, 1] == 0 and fit.graph.weight[1, 0] == 0
    assert fit.graph.tau_samples[0, 2] == pytest.approx(3.0, abs=0.05)
    assert fit.partial_corr[0, 1] > 0.5 and fit.instantaneous[0, 1] != 0
    pairs = {(e["a"], e["b"]) for e in fit.instantaneous_edges()}
    assert ("a", "b") in pairs and ("a", "c") not in pairs


def test_zero_lag_coupling_matches_an_independent_partial_correlation():
    rng = np.random.default_rng(2)
    e = rng.standard_normal((3, 5000))
    e[1] += 0.5 * e[0]
    e[2] += 0.5 * e[1]
    b, pcor = zero_lag_coupling(e)
    # partial correlation of 0 and 2 given 1, by regressing both on 1 (independent of the precision matrix)
    r0 = e[0] - np.polyval(np.polyfit(e[1], e[0], 1), e[1])
    r2 = e[2] - np.polyval(np.polyfit(e[1], e[2], 1), e[1])
    assert pcor[0, 2] == pytest.approx(np.corrcoef(r0, r2)[0, 1], abs=1e-6)
    coef = np.linalg.lstsq(np.c_[e[0], e[1], np.ones(5000)], e[2], rcond=None)[0]
    assert b[0, 2] == pytest.approx(coef[0], abs=1e-3) and b[1, 2] == pytest.approx(coef[1], abs=1e-3)


def test_converged_fit_does_not_depend_on_seed_or_step_limit():
    s = simulate(n_channels=5, n_times=3000, cyclic=True, noise="laplace", seed=11, edge_prob=0.4)
    fits = [
        fit_lags(s.data, s.graph.fs, cfg=FitConfig(steps=steps), seed=seed)
        for seed, steps in ((0, 200), (1, 200), (2, 2000))
    ]
    assert all(f.converged for f in fits)
    for f in fits[1:]:
        assert np.array_equal(f.graph.weight != 0, fits[0].graph.weight != 0)
        np.testing.assert_allclose(f.graph.tau_samples, fits[0].graph.tau_samples, atol=0.02)
        assert f.focal_ranking() == fits[0].focal_ranking()
    with pytest.warns(UserWarning, match="did not converge within steps=2"):
        assert not fit_lags(s.data, s.graph.fs, cfg=FitConfig(steps=2)).converged


def test_the_seed_moves_only_the_extra_starts():
    """The first start is the screening's delays whatever the seed: with one start the seed changes nothing,
    even on a fit stopped long before convergence (where the start shows in the result)."""
    s = simulate(n_channels=4, n_times=2000, cyclic=True, noise="laplace", seed=3, edge_prob=0.5)
    with pytest.warns(UserWarning, match="did not converge"):
        fits = [
            fit_lags(s.data, s.graph.fs, cfg=FitConfig(steps=1, n_starts=1), seed=seed) for seed in (0, 7)
        ]
    np.testing.assert_array_equal(fits[0].graph.tau, fits[1].graph.tau)


def test_ranking_spearman_against_scipy():
    a = ["F", "C", "P", "O", "T"]
    b = ["C", "F", "P", "T", "O"]
    ref = stats.spearmanr([a.index(n) for n in sorted(a)], [b.index(n) for n in sorted(a)]).statistic
    assert ranking_spearman(a, b) == pytest.approx(ref)
    assert ranking_spearman(a, a) == pytest.approx(1.0) and ranking_spearman(a, a[::-1]) == pytest.approx(
        -1.0
    )
    assert topk_overlap(a, b, 3) == 3 and topk_overlap(a, a[::-1], 2) == 0


def test_fit_recording_stability_and_json():
    s = simulate(n_channels=4, n_times=3000, cyclic=False, noise="laplace", seed=5, edge_prob=0.5)
    fit = fit_recording(
        s.data, 100.0, ["Fz", "Cz", "Pz", "Oz"], tau_max_s=0.08, stability=3, band_hz=(0.5, None)
    )
    st = fit.stability
    assert st["n_windows"] == 3 and len(st["ranking_spearman"]) == 3
    rhos = np.array(st["ranking_spearman"], dtype=float)  # ties as ties; NaN: a ranking that orders nothing
    assert st["n_ranking_spearman_undefined"] == int(np.isnan(rhos).sum())
    if np.isfinite(rhos).any():
        assert st["ranking_spearman_median"] == pytest.approx(np.nanmedian(rhos))
    assert sum(st["first_share"].values()) + st["no_focal_lead_share"] == pytest.approx(1.0)
    assert all(0 <= e["confidence"] <= 1 for e in st["edges"])
    d = json.loads(json.dumps(fit.to_dict()))
    assert {"at_ceiling", "at_floor", "confidence", "tau_s_q05", "tau_s_q95", "identified"} <= set(
        d["edges"][0]
    )
    assert d["converged"] and d["focal_lead"] in st["first_share"] and d["focal_lead_note"] is None


def test_ecg_leads_get_the_chest_limb_layout(tmp_path):
    from biodyn.causal.plot import is_ecg, layout, plot_lag_graph

    names = ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"]
    pos, kind = layout(names)
    assert kind == "ecg" and is_ecg(names) and not is_ecg(["Fz", "V1"])
    assert (pos[2:, 0] > 0).all() and (pos[:2, 0] < 0).all()  # chest on the right, limb leads on the left
    rng = np.random.default_rng(0)
    fit = fit_lags(rng.standard_normal((8, 1000)), 100.0, names, FitConfig(tau_max_samples=4.0))
    plot_lag_graph(fit, tmp_path / "ecg.png")
    assert (tmp_path / "ecg.png").stat().st_size > 0


def _ptbxl_record():
    root = data_root()
    rec = None if root is None else root / "ptbxl" / "records500" / "00000" / "00001_hr"
    if rec is None or not rec.with_suffix(".hea").exists():
        pytest.skip("PTB-XL sample records are not under the data root")
    return rec


def test_wfdb_input_honours_channels_start_and_stop(tmp_path, capsys):
    from biodyn.cli import main

    rec = _ptbxl_record()
    out = tmp_path / "out"
    code = main(
        [
            "lags",
            str(rec),
            "--channels",
            "v1,V6,II",
            "--start",
            "2",
            "--stop",
            "6",
            "--stability",
            "0",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    result = json.loads((out / "lag_graph.json").read_text())
    assert result["channels"] == ["V1", "V6", "II"]
    assert result["start_s"] == 2 and result["stop_s"] == 6
    assert result["preset"] == "ecg" and result["tau_max_s"] == pytest.approx(0.04)  # chosen by modality
