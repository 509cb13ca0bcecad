"""Every figure kind the demo and `biodyn report` write, rendered on a small case: its pixel size, its labels,
no text outside the figure (get_window_extent with the renderer), no equal labels drawn on top of each other.

Each figure is checked as it is saved (a wrapper around ``Figure.savefig``): a figure saved with a tight box
grows to hold its texts, so for those the size bound is the check; the others must keep every text inside."""

import json

import numpy as np
import pytest
from matplotlib.figure import Figure

from biodyn.report.figcheck import overlapping_texts, text_strings, texts_outside


@pytest.fixture
def saved(monkeypatch):
    """``[(texts, outside, overlapping duplicates, tight, (width, height) in pixels)]`` of every figure saved."""
    got = []
    original = Figure.savefig

    def check(self, fname, *a, **k):
        tight = k.get("bbox_inches") == "tight"
        dpi = k.get("dpi") or self.dpi
        got.append(
            {
                "texts": text_strings(self),
                "outside": [] if tight else texts_outside(self),
                "dup": overlapping_texts(self),
                "tight": tight,
                "figure": self,
                "size": tuple(round(v * dpi) for v in self.get_size_inches()),
            }
        )
        return original(self, fname, *a, **k)

    monkeypatch.setattr(Figure, "savefig", check)
    return got


def _png_size(path):
    from PIL import Image

    with Image.open(path) as im:
        return im.size


def _ok(fig, max_px=(2000, 2200)):
    assert fig["outside"] == [], f"texts outside the figure: {fig['outside']}"
    assert fig["dup"] == [], f"equal labels on top of each other: {fig['dup']}"
    assert fig["size"][0] <= max_px[0] and fig["size"][1] <= max_px[1]


CHB = [
    "FP1-F7",
    "F7-T7",
    "T7-P7",
    "P7-O1",
    "FP1-F3",
    "F3-C3",
    "C3-P3",
    "P3-O1",
    "FP2-F4",
    "F4-C4",
    "C4-P4",
    "P4-O2",
    "FP2-F8",
    "F8-T8",
    "T8-P8",
    "P8-O2",
    "FZ-CZ",
    "CZ-PZ",
    "P7-T7",
    "T7-FT9",
    "FT9-FT10",
    "FT10-T8",
    "T8-P8#2",
]


def test_scalp_positions_are_inside_the_head_and_bipolar_pairs_at_midpoints():
    from biodyn.montage import positions

    names = CHB[:-1]  # T8-P8#2 is T8-P8 again
    p = positions(names)
    ft = positions(["FT9", "FT10"])
    k = names.index("FT9-FT10")
    np.testing.assert_allclose(p[k], ft.mean(0))  # the midpoint of the drawn electrodes
    # behind the forehead, not past the nose
    assert abs(p[k, 0]) < 0.02 and p[k, 1] < positions(["Fpz"])[0, 1]
    assert np.linalg.norm(p, axis=1).max() < 1.15  # no pair outside the head's reach (the nose is at ~1.1)


def test_lag_graph_scalp(tmp_path, saved):
    from biodyn.causal.plot import plot_lag_graph
    from biodyn.types import LagGraph

    c = len(CHB)
    tau, w = np.zeros((c, c)), np.zeros((c, c))
    for i, j, t in ((0, 1, 0.004), (1, 2, 0.012), (20, 21, 0.020), (14, 15, 0.008)):
        tau[i, j], w[i, j] = t, 0.5
    plot_lag_graph(LagGraph(tau, w, CHB, 256.0), tmp_path / "lag.png", title="test")
    fig = saved[-1]
    _ok(fig)
    assert "delay of the lagged edges (ms)" in fig["texts"] and "FT9-FT10" in fig["texts"]
    assert "T8-P8#2" not in fig["texts"]  # drawn once, on its twin's place
    assert (
        "no lagged edge" not in fig["texts"]
    )  # four edges, no delay panel (no spreads): said nothing of them
    names = [t for t in fig["texts"] if "-" in t]
    assert not [
        p for p in overlapping_texts(fig["figure"], same_only=False) if p[0] in names and p[1] in names
    ]
    ticks = sorted(float(t.replace("\u2212", "-")) for t in fig["texts"] if t.replace(".", "").isdigit())
    assert ticks and ticks[0] >= 4 and ticks[-1] <= 20  # the bar spans the edges' delays, not 0-1 ms
    # one lag only: a 1 ms bar around it; no lag: no bar
    w2 = np.zeros((c, c))
    w2[0, 1] = 0.5
    plot_lag_graph(LagGraph(tau, w2, CHB, 256.0), tmp_path / "one.png")
    plot_lag_graph(LagGraph(tau, np.zeros((c, c)), CHB, 256.0), tmp_path / "none.png")
    assert (
        "no lagged edge" in saved[-1]["texts"] and "delay of the lagged edges (ms)" not in saved[-1]["texts"]
    )
    for f in saved:
        _ok(f)


@pytest.mark.parametrize("epochs", [1, 2, 5])
def test_prism_curves_have_whole_epochs_and_labelled_axes(tmp_path, saved, epochs):
    from biodyn.systems.prism.plot import plot_curves

    rows = [
        {
            "epoch": e + 1,
            "train_loss": 2.0 / (e + 1),
            "val_loss": 2.1 / (e + 1),
            "val_accuracy": 0.1 * (e + 1),
            "val_macro_auroc": 0.5 + 0.05 * e,
        }
        for e in range(epochs)
    ]
    plot_curves({"audio": rows}, tmp_path / "curves.png")
    fig = saved[-1]
    _ok(fig)
    assert {"epoch", "cross-entropy loss", "score (1 = perfect)", "training", "validation"} <= fig["texts"]
    for ax in fig["figure"].axes:
        lo, hi = ax.get_xlim()
        shown = [t for t in ax.get_xticks() if lo - 1e-9 <= t <= hi + 1e-9]
        assert shown and all(float(t).is_integer() for t in shown), shown  # whole epochs (were 0.96 ... 1.04)
        assert ax.get_ylabel()


def test_demo_confusion_and_expectation(tmp_path, saved):
    from biodyn._cli.demo import _plot_confusion
    from biodyn._cli.demo_report import plot_expectation

    cm = np.arange(100).reshape(10, 10)
    _plot_confusion(cm, tmp_path / "cm.png", "PRISM test")
    _ok(saved[-1])
    assert {"predicted class", "true class", "test recordings"} <= saved[-1]["texts"]
    assert {str(k) for k in range(10)} <= saved[-1]["texts"]  # every class named
    plot_expectation(
        {"values": [0.75, 0.62, 0.88, 0.7, 0.74], "mean": 0.738, "ci95": 0.1}, 0.6, tmp_path / "e.png"
    )
    _ok(saved[-1])
    assert "chance (0.5)" in saved[-1]["texts"]


def test_report_figures(tmp_path, saved):
    from biodyn.report.plot import (
        plot_budget_curves,
        plot_identifiability,
        plot_topk_bars,
        plot_training_curves,
    )

    rows = [
        {
            "experiment": "e",
            "model": m,
            "task": t,
            "budget_frac": b,
            "budget": f"{b}",
            "metric": "test_auroc",
            "mean": 0.6 + 0.1 * b,
            "ci95": 0.05,
            "n": 5,
        }
        for m in ("a", "b")
        for t in ("probe", "finetune")
        for b in (0.01, 0.1, 1.0)
    ]
    plot_budget_curves(rows, "test_auroc", tmp_path / "b.png")
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    (run / "log.jsonl").write_text(
        "\n".join(json.dumps({"kind": "train", "step": s, "loss": 1 / s}) for s in (1, 2, 3))
    )
    assert plot_training_curves(tmp_path / "runs", tmp_path / "t.png")
    topk = [
        {"experiment": "focal", "model": m, "metric": f"top{k}", "mean": 0.2 * k / 5, "ci95": 0.05}
        for m in ("lag", "power")
        for k in (1, 3, 5)
    ]
    plot_topk_bars(topk, tmp_path / "k.png")
    ident = [
        {"task": t, "model": m, "metric": mt, "mean": 0.5, "ci95": 0.1}
        for t in ("c6-laplace", "c12-gauss")
        for m in ("amortised", "var")
        for mt in ("edge_f1", "tau_mae_samples")
    ]
    plot_identifiability(ident, tmp_path / "i.png")
    assert len(saved) == 4
    for f in saved:
        _ok(f)
    assert "train loss" in saved[1]["texts"] and "step" in saved[1]["texts"]


def test_lag_graph_with_spreads_lists_every_edge_beside_the_head(tmp_path, saved):
    """With sub-window spreads the delays go to a panel beside the head (one row an edge, its 5-95 % bar),
    not as numbers written over the arrows; the title sits above both panels."""
    from biodyn.causal.fit import LagFit
    from biodyn.causal.plot import plot_lag_graph
    from biodyn.types import LagGraph

    c = len(CHB)
    tau, w = np.zeros((c, c)), np.zeros((c, c))
    pairs = [(0, 1, 0.004), (1, 2, 0.012), (20, 21, 0.020), (14, 15, 0.008), (16, 17, 0.030)]
    for i, j, t in pairs:
        tau[i, j], w[i, j] = t, 0.5
    g = LagGraph(tau, w, CHB, 256.0)
    spreads = [
        {"source": CHB[i], "target": CHB[j], "tau_s_q05": t - 0.002, "tau_s_q95": t + 0.003}
        for i, j, t in pairs
    ]
    fit = LagFit(
        graph=g,
        instantaneous=np.zeros((c, c)),
        partial_corr=np.zeros((c, c)),
        at_ceiling=np.zeros((c, c), bool),
        converged=True,
        n_iter=1,
        objective=0.0,
        tau_max_s=0.05,
        tau_min_s=0.004,
    )
    fit.stability = {"edges": spreads, "focal_first_share": 1.0}
    plot_lag_graph(fit, tmp_path / "lag.png", title="spreads")
    fig = saved[-1]
    _ok(fig)
    rows = [t for t in fig["texts"] if "\u2192" in t]
    assert sorted(rows) == sorted(f"{CHB[i]} \u2192 {CHB[j]}" for i, j, _ in pairs)
    assert "delay (ms): dot, and 5-95 % over sub-windows" in fig["texts"]
    assert not [t for t in fig["texts"] if "[" in t and "]" in t]  # no delay labels over the arrows
    assert any(t.startswith("spreads") for t in fig["texts"])  # the title, above both panels
    # the 14 channels without an edge are not ranked, and the title says so (their labels are grey)
    assert any(t.startswith("spreads") and "; 14 channel(s) unranked" in t for t in fig["texts"])
