import json

import numpy as np
import pytest

from biodyn.metrics.detection import Scored, choose_thresholds, evaluate, sensitivity_at_fa, sweep
from biodyn.metrics.plot import plot_curve
from biodyn.types import Event


def _rec(seed, hours=1.0, fs=1.0):
    """A recording with 3 seizures; the detector is right inside them and noisy outside."""
    rng = np.random.default_rng(seed)
    n = int(hours * 3600 * fs)
    p = rng.uniform(0, 0.6, n)
    ref = []
    for k in range(3):
        a = int((k + 0.5) * n / 3)
        p[a : a + 60] = rng.uniform(0.5, 1.0)
        ref.append(Event(a / fs, 60 / fs, "seiz"))
    spikes = rng.choice(n, 20, replace=False)
    p[spikes] = rng.uniform(0.6, 0.9, 20)  # isolated false positives of varying height
    return Scored(p, fs, ref, record_id=f"r{seed}")


def test_evaluate_by_hand():
    p = np.zeros(86400)
    p[100:200] = 0.9  # hit
    p[5000:5010] = 0.8  # false alarm
    r = Scored(p, 1.0, [Event(150, 100, "seiz"), Event(9000, 10, "seiz")])
    op = evaluate([r], 0.5)
    assert (op.hits, op.targets, op.false_alarms) == (1, 2, 1) and op.fa_per_24h == pytest.approx(1.0)
    assert evaluate([r], 0.85).false_alarms == 0


def test_thresholds_chosen_on_dev_and_frozen_on_eval(tmp_path):
    dev = [_rec(s) for s in range(3)]
    ev = [_rec(s) for s in range(10, 13)]
    grid = np.linspace(0.05, 0.95, 19)
    curve = sweep(dev, grid)
    chosen = choose_thresholds(curve)
    for target, p in chosen.items():
        assert p is not None and p.fa_per_24h <= target
        better = [q for q in curve if q.fa_per_24h <= target and q.sensitivity > p.sensitivity]
        assert not better
    # above the in-seizure level every isolated spike is a false alarm; none survive a 0.99 threshold
    assert curve[-1].fa_per_24h < curve[10].fa_per_24h
    rep = sensitivity_at_fa(dev, ev, thresholds=grid)
    assert [r["target_fa_per_24h"] for r in rep["operating_points"]] == [10.0, 5.0, 2.5, 1.0]
    sz = rep["operating_points"][0]["eval"]["szcore"]
    assert sz["ref_events"] == 9 and 0 <= sz["sensitivity"] <= 1  # 3 eval recordings x 3 seizures
    json.dumps(rep)
    plot_curve(curve, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").read_bytes()[:4] == b"\x89PNG"
    from biodyn.metrics.plot import save_report

    save_report(rep, tmp_path / "op.json", tmp_path / "op.png")
    assert json.loads((tmp_path / "op.json").read_text())["operating_points"][0]["target_fa_per_24h"] == 10.0
    assert (tmp_path / "op.png").read_bytes()[:4] == b"\x89PNG"


def test_bisection_agrees_with_exact_sweep():
    from biodyn.metrics.detection import candidate_thresholds, choose_thresholds_bisect

    dev = [_rec(s, hours=0.5) for s in range(2)]
    for r in dev:
        r.probs = np.round(r.probs, 2)  # few distinct values keep the exact sweep small
    u = candidate_thresholds(dev)
    exact = choose_thresholds(sweep(dev, u))
    bis = choose_thresholds_bisect(dev)
    for t in exact:
        assert bis[t] is not None and bis[t].fa_per_24h <= t
        assert bis[t].sensitivity == exact[t].sensitivity
        k = int(np.searchsorted(u, bis[t].threshold))
        assert k == 0 or evaluate(dev, u[k - 1]).fa_per_24h > t  # the next lower value misses the target
    rep_e = sensitivity_at_fa(dev, dev, search="exact")
    rep_b = sensitivity_at_fa(dev, dev, search="bisect", curve_points=16)
    assert rep_e["search"] == "exact" and rep_b["search"] == "bisect" and len(rep_b["dev_curve"]) <= 16
    se = [r["eval"]["sensitivity"] for r in rep_e["operating_points"]]
    sb = [r["eval"]["sensitivity"] for r in rep_b["operating_points"]]
    assert se == sb
