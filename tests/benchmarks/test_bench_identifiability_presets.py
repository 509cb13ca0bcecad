"""Part 4 of the identifiability benchmark (``--preset-path``): its false-positive counts and the merge of logs
written by cells run as separate processes."""

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_identifiability as bench
from biodyn.types import LagGraph


def _graph(edges: dict, fs: float = 100.0) -> LagGraph:
    tau, w = np.zeros((4, 4)), np.zeros((4, 4))
    for (i, j), (t, a) in edges.items():
        tau[i, j], w[i, j] = t / fs, a
    return LagGraph(tau, w, ["A", "B", "C", "D"], fs)


def test_delay_scores_count_false_positives_reversing_true_edges_by_hand():
    true = _graph({(0, 1): (2.5, 0.6), (1, 2): (3.0, -0.5)})
    # found: both true edges (delays off by +0.1 and -0.3 samples), the reverse of 0->1, an unrelated 3->0
    est = _graph({(0, 1): (2.6, 0.6), (1, 2): (2.7, -0.5), (1, 0): (1.0, -0.06), (3, 0): (2.0, 0.1)})
    s = bench._delay_scores(true, est)
    assert (s["n_fp"], s["n_fp_reverse"], s["n_fn"]) == (2, 1, 0)
    assert np.isclose(s["bias_samples"], -0.1) and np.isclose(s["mae_samples"], 0.2)
    assert np.isclose(s["edge_f1"], 2 * 2 / (2 * 2 + 2 + 0))  # 2 TP, 2 FP, 0 FN
    missed = bench._delay_scores(true, _graph({(0, 1): (2.5, 0.6)}))
    assert (missed["n_fp"], missed["n_fp_reverse"], missed["n_fn"]) == (0, 0, 1)


def test_preset_path_merges_logs_and_refits_only_what_lacks_a_count(tmp_path, monkeypatch):
    """Fits logged by other processes (``runs_from``) are read, not refitted; a fit logged before the
    reverse-edge count is fitted again only if it had false positives (without any, its count is 0)."""
    cell = {
        "generator": "fft",
        "noise": "laplace",
        "fs": 100.0,
        "C": 4,
        "seeds": [0, 1],
        "methods": ["direct"],
    }
    key = {k: cell[k] for k in ("generator", "noise", "fs", "C")}
    base = {**key, "method": "direct", "T": 500, "n_true": 3, "n_est": 3, "n_fn": 0, "fit_s": 1.0}
    old = tmp_path / "a.jsonl"
    old.write_text(
        json.dumps({**base, "seed": 0, "edge_f1": 1.0, "bias_samples": 0.0, "mae_samples": 0.01, "n_fp": 0})
        + "\n"
        + json.dumps({**base, "seed": 1, "edge_f1": 0.8, "bias_samples": 0.0, "mae_samples": 0.01, "n_fp": 1})
        + "\n"
    )
    fitted = []

    def fake_fit(method, data, fs, channels):
        fitted.append(method)
        return _graph({(0, 1): (2.0, 0.5)})

    monkeypatch.setattr(bench, "_preset_fit", fake_fit)
    monkeypatch.setattr(
        bench,
        "_preset_sim",
        lambda *a: type("S", (), {"data": None, "graph": _graph({(0, 1): (2.0, 0.5), (1, 0): (3.0, 0.4)})})(),
    )
    rows, per_run = bench.preset_path([cell], 500, str(tmp_path / "b.jsonl"), (str(old),))
    assert fitted == ["direct"]  # seed 1 only
    assert [r["seed"] for r in per_run] == [0, 1] and per_run[0]["n_fp_reverse"] == 0
    assert per_run[1]["n_fn"] == 1 and per_run[1]["n_fp"] == 0
    assert rows[0]["n_seeds"] == 2 and rows[0]["n_fp"] == 0 and rows[0]["n_fn"] == 1
    assert len((tmp_path / "b.jsonl").read_text().splitlines()) == 1  # the refit, logged
