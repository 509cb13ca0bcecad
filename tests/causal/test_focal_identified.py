"""Honest focal leads: edges whose delay is not identified (at the ceiling, or a sub-window spread over half the
delay range) stay out of the onset times; no identified edge means no focal lead; ties stay ties."""

from __future__ import annotations

import json

import numpy as np
import pytest

from biodyn.causal.fit import LagFit
from biodyn.types import LagGraph


def _graph(edges: dict[tuple[int, int], float], c: int = 4, fs: float = 100.0) -> LagGraph:
    tau, w = np.zeros((c, c)), np.zeros((c, c))
    for (i, j), d in edges.items():
        tau[i, j], w[i, j] = d, 0.5
    return LagGraph(tau, w, [f"C{k}" for k in range(c)], fs)


def _fit(graph: LagGraph, spreads: list[dict] | None = None, ceiling=()) -> LagFit:
    c = len(graph.channels)
    at_ceiling = np.zeros((c, c), bool)
    for i, j in ceiling:
        at_ceiling[i, j] = True
    fit = LagFit(
        graph=graph,
        instantaneous=np.zeros((c, c)),
        partial_corr=np.zeros((c, c)),
        at_ceiling=at_ceiling,
        converged=True,
        n_iter=1,
        objective=0.0,
        tau_max_s=0.05,
        tau_min_s=0.01,
    )
    if spreads is not None:
        fit.stability = {"edges": spreads}
    return fit


def test_focal_groups_keep_ties_and_the_lead_is_none_on_a_tie_or_no_edge():
    empty = _graph({})
    assert empty.focal_lead() is None and empty.focal_groups() == [["C0", "C1", "C2", "C3"]]
    chain = _graph({(2, 1): 0.02, (1, 0): 0.02})  # C2 -> C1 -> C0; C3 alone
    assert chain.focal_lead() == "C2"
    assert chain.focal_groups() == [["C2"], ["C1", "C3"], ["C0"]]  # C1 and the edgeless C3 both score 0
    assert chain.focal_groups(edgeless_last=True) == [["C2"], ["C1"], ["C0"], ["C3"]]
    twins = _graph({(0, 1): 0.02, (2, 3): 0.02})  # two identical pairs: C0 and C2 tie for the first place
    assert twins.focal_lead() is None and twins.focal_groups()[0] == ["C0", "C2"]


def test_channels_without_an_edge_are_unranked_and_a_new_edge_does_not_move_the_others():
    from biodyn.causal.metrics import groups_spearman, ranking_spearman

    # a = C1 -> b = C3 at 10 ms, b -> c = C4 at 20 ms; C0 and C2 without an edge. Onset times (minimum norm,
    # the group centred on 0): C1 -40/3, C3 -10/3, C4 +50/3 ms, and the gauge puts C0 and C2 at 0
    one = _graph({(1, 3): 0.01, (3, 4): 0.02}, c=5)
    np.testing.assert_allclose(
        one.focal_scores(), 5e-3 * np.array([0, -40 / 3, 0, -10 / 3, 50 / 3]), atol=1e-12
    )
    assert one.focal_groups() == [["C1"], ["C3"], ["C0", "C2"], ["C4"]]  # CLD-Trans' rule: unchanged
    assert one.focal_groups(edgeless_last=True) == [["C1"], ["C3"], ["C4"], ["C0", "C2"]]
    # one more edge, c -> C0 at 5 ms: onsets 0, 10, 30, 35 ms re-centred (-18.75, -8.75, 11.25, 16.25); the
    # edgeless C2 stays at the gauge's 0; C0 leaves the tie at 0 for the end
    two = _graph({(1, 3): 0.01, (3, 4): 0.02, (4, 0): 0.005}, c=5)
    np.testing.assert_allclose(
        two.focal_scores(), 5e-3 * np.array([16.25, -18.75, 0, -8.75, 11.25]), atol=1e-12
    )
    assert two.focal_ranking() == ["C1", "C3", "C2", "C4", "C0"]
    # CLD-Trans' rule orders by score alone, as before: C2 scores 4e-10 s below C0 and comes first, though the
    # groups (within 1e-9 s) tie the two
    near = _graph({(0, 1): 0.02, (2, 3): 0.02 + 2e-10}, c=4)
    assert near.focal_ranking() == ["C2", "C0", "C1", "C3"] and near.focal_groups()[0] == ["C0", "C2"]
    assert two.focal_ranking(edgeless_last=True) == ["C1", "C3", "C4", "C0", "C2"]
    # the fit: the connected channels keep their order, the unranked tail is marked and never first
    f1, f2 = _fit(one), _fit(two)
    assert f1.focal_ranking() == ["C1", "C3", "C4", "C0", "C2"] and f1.focal_groups()[-1] == ["C0", "C2"]
    assert f1.unranked() == {"C0": "no identified edge", "C2": "no identified edge"}
    assert f2.focal_groups() == [["C1"], ["C3"], ["C4"], ["C0"], ["C2"]] and list(f2.unranked()) == ["C2"]
    assert f1.focal_lead() == f2.focal_lead() == one.focal_lead() == "C1"
    d = json.loads(json.dumps(f1.to_dict()))
    assert d["unranked"] == {"C0": "no identified edge", "C2": "no identified edge"}
    assert d["focal_groups"][-1] == ["C0", "C2"]
    # the two measures of agreement: channel order for ties (positions C0 2/4, C2 3/2, C4 4/3: 1 - 6*6/120)
    assert ranking_spearman(one.focal_ranking(), two.focal_ranking()) == pytest.approx(0.7)
    # ties as ties over the fits' groups: ranks (1, 2, 3, 4.5, 4.5) and (1, ..., 5): 9.5 / sqrt(9.5 * 10)
    assert groups_spearman(f1.focal_groups(), f2.focal_groups()) == pytest.approx(9.5 / np.sqrt(95))
    # an edge that is not identified does not connect its channels: C0 is unranked again
    f3 = _fit(two, ceiling=[(4, 0)])
    assert f3.focal_groups() == f1.focal_groups() and list(f3.unranked()) == ["C0", "C2"]


def test_groups_spearman_ties_as_ties_and_undefined_without_order():
    from scipy.stats import spearmanr

    from biodyn.causal.metrics import groups_spearman

    a, b = [["A", "B"], ["C"]], [["A"], ["B", "C"]]
    # ranks (1.5, 1.5, 3) and (1, 2.5, 2.5): deviations (-.5, -.5, 1), (-1, .5, .5): 0.75 / 1.5
    assert groups_spearman(a, b) == pytest.approx(0.5)
    assert groups_spearman([["B", "A"], ["C"]], [["A"], ["C", "B"]]) == pytest.approx(0.5)  # no channel order
    assert groups_spearman(a, a) == pytest.approx(1.0)
    assert groups_spearman([["C"], ["A", "B"]], a) == pytest.approx(-1.0)
    assert np.isnan(groups_spearman([["A", "B", "C"]], a))  # one group orders nothing: undefined, not 1
    assert np.isnan(groups_spearman([["A", "B", "C"]], [["A", "B", "C"]]))
    assert np.isnan(groups_spearman([["A"], ["X"]], [["A"], ["Y"]]))  # one shared channel
    rng = np.random.default_rng(0)
    names = [f"c{k}" for k in range(12)]
    for _ in range(20):  # random groupings against scipy on the group positions
        ga, gb = rng.integers(0, 4, 12), rng.integers(0, 5, 12)
        to_groups = lambda g: [[n for n, k in zip(names, g) if k == v] for v in sorted(set(g))]  # noqa: E731
        ref = spearmanr(ga, gb)[0]
        got = groups_spearman(to_groups(ga), to_groups(gb))
        assert (np.isnan(ref) and np.isnan(got)) or got == pytest.approx(ref)


def test_edges_not_identified_stay_out_of_the_ranking():
    g = _graph({(3, 0): 0.02, (0, 1): 0.02, (1, 2): 0.03})
    wide = {"source": "C3", "target": "C0", "tau_s_q05": 0.011, "tau_s_q95": 0.040}  # 29 ms of a 40 ms range
    tight = {"source": "C0", "target": "C1", "tau_s_q05": 0.019, "tau_s_q95": 0.021}
    fit = _fit(g, [wide, tight])
    assert g.focal_lead() == "C3"  # with every edge
    assert fit.focal_lead() == "C0"  # the wide C3 -> C0 edge is out
    rows = {(e["source"], e["target"]): e for e in fit.edges()}
    assert (
        not rows[("C3", "C0")]["identified"]
        and "half the delay range" in rows[("C3", "C0")]["not_identified"]
    )
    assert rows[("C0", "C1")]["identified"] and rows[("C1", "C2")]["identified"]
    # exactly half the range is still identified; the ceiling flag is not identified either
    half = {"source": "C3", "target": "C0", "tau_s_q05": 0.010, "tau_s_q95": 0.030}
    assert _fit(g, [half]).focal_lead() == "C3"
    assert _fit(g, ceiling=[(3, 0)]).focal_lead() == "C0"


def test_no_identified_edge_means_no_focal_lead_in_json():
    g = _graph({(1, 0): 0.049})
    fit = _fit(g, ceiling=[(1, 0)])
    d = json.loads(json.dumps(fit.to_dict()))
    assert d["focal_lead"] is None and d["focal_lead_note"] == "no focal lead: no identified edge"
    assert d["n_not_identified"] == 1 and d["edges"][0]["not_identified"] == "at the delay ceiling"
    tie = _fit(_graph({(0, 1): 0.02, (2, 3): 0.02}))
    assert tie.focal_lead_note() == "no focal lead: tie between C0, C2"


def test_cli_says_there_is_no_focal_lead_on_unrelated_channels(tmp_path, capsys):
    from biodyn.cli import main

    x = np.random.default_rng(0).standard_normal((3, 3000))
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out"
    code = main(
        [
            "lags",
            str(tmp_path / "x.npy"),
            "--fs",
            "100",
            "--channels",
            "A,B,C",
            "--stability",
            "0",
            "--out",
            str(out),
            "--no-progress",
            "--json",
            str(tmp_path / "s.json"),
        ]
    )
    assert code == 0
    assert "no focal lead: no identified edge" in capsys.readouterr().out
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["focal_lead"] is None and summary["focal_lead_note"] == "no focal lead: no identified edge"
    assert summary["unranked"] == {n: "no identified edge" for n in ("A", "B", "C")}
    assert (out / "lag_graph.png").stat().st_size > 0


def test_cli_lists_the_unranked_channels_apart(tmp_path, capsys, monkeypatch):
    import biodyn.causal.recording as recording
    from biodyn.cli import main

    fit = _fit(_graph({(1, 3): 0.01, (3, 4): 0.02}, c=5))  # C1 -> C3 -> C4; C0 and C2 without an edge
    monkeypatch.setattr(recording, "fit_recording", lambda *a, **k: fit)  # the fit is not what is tested
    np.save(tmp_path / "x.npy", np.random.default_rng(0).standard_normal((5, 3000)))
    args = ["lags", str(tmp_path / "x.npy"), "--fs", "100", "--channels", "C0,C1,C2,C3,C4", "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "out"), "--json", str(tmp_path / "s.json")]) == 0
    out = capsys.readouterr().out
    assert "focal lead C1; ranking (earliest first, '=' joins ties): C1, C3, C4\n" in out
    assert "unranked (no identified edge): C0, C2" in out
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["unranked"] == {"C0": "no identified edge", "C2": "no identified edge"}
    assert summary["focal_groups"] == [["C1"], ["C3"], ["C4"], ["C0", "C2"]]
    full = json.loads((tmp_path / "out" / "lag_graph.json").read_text())
    assert full["unranked"] == summary["unranked"] and full["focal_ranking"] == ["C1", "C3", "C4", "C0", "C2"]


@pytest.mark.parametrize("with_stability", [False, True])
def test_figure_draws_spreads_and_says_no_focal_lead(tmp_path, with_stability):
    from biodyn.causal.plot import plot_lag_graph

    g = _graph({(1, 0): 0.049}, c=3)
    spreads = (
        [{"source": "C1", "target": "C0", "tau_s_q05": 0.02, "tau_s_q95": 0.049}] if with_stability else None
    )
    plot_lag_graph(_fit(g, spreads, ceiling=[(1, 0)]), tmp_path / "g.png")
    assert (tmp_path / "g.png").stat().st_size > 0


def test_edges_the_starts_disagree_on_stay_out_of_the_ranking():
    # C3 -> C0 joins the chain C0 -> C1 -> C2 (and makes C3 the lead) in 2 of the 3 starts' optima only
    g = _graph({(3, 0): 0.02, (0, 1): 0.02, (1, 2): 0.03})
    fit = _fit(g)
    fit.n_starts = 3
    fit.start_votes = np.where(g.weight != 0, 3, 0)
    assert fit.focal_lead() == "C3" and not fit.not_identified()  # every start holds every edge
    fit.start_votes[3, 0] = 2
    assert fit.focal_lead() == "C0"
    rows = {(e["source"], e["target"]): e for e in fit.edges()}
    assert not rows[("C3", "C0")]["identified"]
    assert rows[("C3", "C0")]["not_identified"].startswith("in 2 of the 3 starts' optima only")
    assert rows[("C0", "C1")]["identified"] and rows[("C1", "C2")]["identified"]
    fit.n_starts = 1  # a single start has nothing to disagree with
    fit.start_votes[3, 0] = 1
    assert fit.focal_lead() == "C3"


def test_fit_lags_counts_the_starts_that_hold_each_edge():
    from biodyn.causal.fit import FitConfig, fit_lags

    # x0 -> x1 at 2.4 samples, x1 -> x2 at 3.3 samples (fractional delays by interpolation), clear optima
    rng = np.random.default_rng(3)
    t = 4000
    e = rng.laplace(size=(3, t + 10))

    def delayed(s, d):
        return np.interp(np.arange(len(s)) - d, np.arange(len(s)), s, left=0.0)

    x0 = e[0]
    x1 = 0.6 * delayed(x0, 2.4) + e[1]
    x2 = 0.6 * delayed(x1, 3.3) + e[2]
    x = np.stack([x0, x1, x2])[:, 10:]
    fit = fit_lags(x, 100.0, None, FitConfig(tau_max_samples=6.0, tau_min_samples=1.0, n_starts=4), seed=1)
    assert fit.n_starts == 4
    held = fit.graph.weight != 0
    assert held[0, 1] and held[1, 2]
    assert (fit.start_votes[held] == 4).all()  # the jittered starts all end with the true edges
    assert fit.start_votes.max() <= 4 and not fit.not_identified()
    assert fit.focal_ranking() == ["X0", "X1", "X2"]


@pytest.mark.data
@pytest.mark.slow
def test_chbmit_focal_ranking_does_not_depend_on_the_seed():
    # seeds 0 and 1 of the eeg preset's five starts end this excerpt in optima 0.005 apart (objective per
    # sample) that differ by three weak edges; ranked from every edge of the best optimum, Spearman was 0.44
    from biodyn.causal.metrics import groups_spearman
    from biodyn.causal.recording import fit_recording
    from biodyn.data_root import data_root
    from biodyn.datasets.chbmit import parse_summary
    from biodyn.montage import unique_names

    root = data_root()
    f = None if root is None else root / "chbmit" / "npy_excerpts" / "chb03" / "ictal" / "chb03_01_ictal.npy"
    if f is None or not f.exists():
        pytest.skip("CHB-MIT sample excerpts are not under the data root")
    names = unique_names(parse_summary(root / "chbmit" / "chb01-summary.txt")[0].channels)
    x = np.load(f)
    fits = [fit_recording(x, 256.0, names, 0.05, stability=0, seed=seed) for seed in (0, 1)]
    assert fits[0].n_starts == 5
    assert any(not e["identified"] for e in fits[0].edges())  # the edges the starts disagree on
    assert groups_spearman(fits[0].focal_groups(), fits[1].focal_groups()) >= 0.9
