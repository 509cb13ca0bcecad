"""Seizure-detection operating points against cases worked out by hand: which search ``sensitivity_at_fa``
takes and where it switches, the bisection at each of its edges, the per-window metrics a training run logs,
and the sensitivity-vs-FA/24h figure read back through matplotlib's own objects."""

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from biodyn.errors import ConfigError
from biodyn.metrics.detection import (
    OperatingPoint,
    Scored,
    candidate_thresholds,
    choose_thresholds,
    choose_thresholds_bisect,
    evaluate,
    mask_events,
    sensitivity_at_fa,
    window_metrics,
)
from biodyn.metrics.events import normalize
from biodyn.metrics.postprocess import SEIZURE_POSTPROCESS, probs_to_events
from biodyn.types import Event


def _steps(n_values):
    """A staircase of ``n_values`` distinct probabilities, 4 s each at 1 Hz, with a seizure on the top step."""
    p = np.repeat(np.linspace(0.0, 1.0, n_values), 4)
    return Scored(p, 1.0, [Event(float(len(p) - 4), 4.0, "seiz")])


def test_scored_duration_defaults_to_samples_over_rate():
    assert Scored(np.zeros(10), 2.0, []).duration_s == 5.0
    assert Scored(np.zeros(10), 2.0, [], duration_s=7.5).duration_s == 7.5


def test_mask_events_by_hand():
    # 2 Hz; -1 (unlabelled) counts as background
    mask = np.array([0, 1, 1, 0, -1, 1, 1, 1])
    assert mask_events(mask, 2.0) == [Event(0.5, 1.0, "seiz"), Event(2.5, 1.5, "seiz")]
    assert mask_events(mask, 2.0, label="x") == [Event(0.5, 1.0, "x"), Event(2.5, 1.5, "x")]
    assert all(type(v) is float for e in mask_events(mask, 2.0) for v in (e.onset_s, e.duration_s))
    assert mask_events(np.zeros(5), 1.0) == []


def test_candidates_are_the_distinct_values_or_float64_quantiles_of_them():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(size=30), rng.uniform(size=20)
    want = np.unique(np.concatenate([a, b]))
    recs = [Scored(a, 1.0, []), Scored(b, 1.0, [])]
    got = candidate_thresholds(recs)
    assert got.dtype == np.float64 and np.array_equal(got, want)
    # as many values as asked for: the values themselves, bit for bit, not an interpolation of them
    assert np.array_equal(candidate_thresholds(recs, max_candidates=50), want)
    # fewer: quantiles, interpolated in float64 whatever the probabilities' type
    r32 = [Scored(a.astype(np.float32), 1.0, [])]
    q = candidate_thresholds(r32, max_candidates=4)
    assert q.dtype == np.float64
    np.testing.assert_array_equal(
        q, np.quantile(np.unique(a.astype(np.float32)).astype(np.float64), [0, 1 / 3, 2 / 3, 1])
    )


def _four_records():
    """tests/metrics/test_boundaries.py's two days: thresholds 0.0 / 0.7 / 0.9 give 3 / 2 / 0 false alarms
    (1.5 / 1.0 / 0.0 per 24 h) with sensitivity 1 / 1 / 0.5."""
    n = 43200
    pa, pb = np.zeros(n), np.zeros(n)
    pa[1000:1030], pa[5000:5030], pa[9000:9010] = 0.7, 0.9, 0.7
    pb[2000:2010] = 0.7
    return [
        Scored(pa, 1.0, [Event(1000.0, 30.0, "seiz"), Event(5000.0, 30.0, "seiz")]),
        Scored(pb, 1.0, []),
        Scored(np.zeros(n), 1.0, []),
        Scored(np.zeros(n), 1.0, []),
    ]


def test_bisection_at_each_edge():
    recs = _four_records()
    got = choose_thresholds_bisect(recs, targets=(0.1 / 86400, 1.5, 0.0, 2.0))
    # the lowest candidate exactly at its target; only the highest candidate meeting the target (0.0, and
    # a target just above it); a target every candidate meets
    assert got[1.5].threshold == 0.0 and got[1.5].fa_per_24h == 1.5
    assert got[0.0].threshold == 0.9 and got[0.0].sensitivity == 0.5
    assert got[2.0].threshold == 0.0
    assert got[0.1 / 86400].threshold == 0.9
    # a target none meets, before targets that are met: answered None, and the others still answered
    spike = [Scored(np.full(86400, 0.5), 1.0, [])]  # every threshold leaves one whole-day false alarm
    got = choose_thresholds_bisect(spike, targets=(0.5, 1.0, 2.0))
    assert got[0.5] is None and got[1.0].threshold == 0.5 and got[2.0].threshold == 0.5
    # nothing to threshold: no answer for any target
    assert choose_thresholds_bisect([Scored(np.zeros(0), 1.0, [])], targets=(1.0, 2.0)) == {
        1.0: None,
        2.0: None,
    }


def test_bisection_applies_the_post_processing():
    # with a 20 s minimum duration the two 10 s false alarms vanish: 0.7 meets 0.5/24h with both seizures
    recs = _four_records()
    assert choose_thresholds_bisect(recs, targets=(0.5,))[0.5].threshold == 0.9
    got = choose_thresholds_bisect(recs, targets=(0.5,), min_duration_s=20.0)[0.5]
    assert got.threshold == 0.7 and got.sensitivity == 1.0 and got.false_alarms == 0


def test_evaluate_sums_over_records_by_hand():
    recs = _four_records()
    op = evaluate(recs, 0.7)
    assert (op.hits, op.targets, op.false_alarms) == (2, 2, 2)
    assert op.sensitivity == 1.0 and op.fa_per_24h == 1.0 and op.threshold == 0.7
    assert type(op.threshold) is float
    # only "seiz" reference events are targets; the post-processing reaches the scoring
    recs[0].reference.append(Event(20000.0, 30.0, "bckg"))
    assert evaluate(recs, 0.7).targets == 2
    assert evaluate(recs, 0.7, min_duration_s=20.0).false_alarms == 0
    # no targets at all: sensitivity is undefined
    assert np.isnan(evaluate(recs[1:], 0.7).sensitivity)


def test_search_auto_switches_at_max_exact():
    dev = [_steps(5)]
    assert sensitivity_at_fa(dev, dev, max_exact=5, szcore=False)["search"] == "exact"  # 5 values <= 5
    rep = sensitivity_at_fa(dev, dev, max_exact=4, curve_points=3, szcore=False)
    assert rep["search"] == "bisect" and [p["threshold"] for p in rep["dev_curve"]] == [0.0, 0.5, 1.0]
    # given thresholds are always swept exactly
    rep = sensitivity_at_fa(dev, dev, thresholds=[0.25, 0.75], max_exact=0, szcore=False)
    assert rep["search"] == "exact" and [p["threshold"] for p in rep["dev_curve"]] == [0.25, 0.75]
    assert sensitivity_at_fa(dev, dev, szcore=False)["search"] == "exact"
    with pytest.raises(ConfigError, match="search='fast'"):
        sensitivity_at_fa(dev, dev, search="fast")


def test_search_defaults_exact_up_to_2048_values_and_a_128_point_curve():
    assert sensitivity_at_fa([_steps(2048)], [], targets=(), szcore=False)["search"] == "exact"
    rep = sensitivity_at_fa([_steps(2049)], [], targets=(), szcore=False)
    assert rep["search"] == "bisect" and len(rep["dev_curve"]) == 128


def test_report_by_hand():
    recs = _four_records()
    rep = sensitivity_at_fa(recs, recs[:2], targets=(1.0, 0.0, 1e-9), min_duration_s=0.0)
    assert rep["search"] == "exact" and rep["postprocess"] == {"min_duration_s": 0.0}
    assert [(p["threshold"], p["false_alarms"]) for p in rep["dev_curve"]] == [(0.0, 3), (0.7, 2), (0.9, 0)]
    r1, r0, rnone = rep["operating_points"]
    assert (r1["threshold"], r1["dev"]) == (0.7, {"sensitivity": 1.0, "fa_per_24h": 1.0})
    # eval: records a and b only (one day): 2 false alarms at 0.7
    ev = dict(r1["eval"])
    sz = ev.pop("szcore")
    assert ev == {"sensitivity": 1.0, "fa_per_24h": 2.0, "hits": 2, "targets": 2, "false_alarms": 2}
    assert sz["ref_events"] == 2
    assert r0["threshold"] == 0.9 and r0["eval"]["hits"] == 1
    # 0.9 has no false alarm, so even 1e-9/24h is met
    assert rnone["threshold"] == 0.9
    json.dumps(rep)


def _windows(fs=2.0):
    """Three 100 s windows at ``fs``: a seizure detected at 0.9, a seizure seen only at 0.5, and a
    seizure-free window with a 30 s false positive at 0.7 (background 0.1 everywhere)."""
    t = int(100 * fs)
    s = lambda a, b: slice(int(a * fs), int(b * fs))  # noqa: E731 - seconds -> samples
    probs, target = np.full((3, t), 0.1), np.zeros((3, t))
    probs[0, s(20, 60)], target[0, s(20, 60)] = 0.9, 1
    probs[1, s(30, 70)], target[1, s(30, 70)] = 0.5, 1
    probs[2, s(50, 80)] = 0.7
    return probs, target


def test_window_metrics_by_hand():
    """Candidates 0.1 / 0.5 / 0.7 / 0.9 over 300 s. With Brain-Go-Brr's post-processing (on at the threshold,
    off 0.08 below it, 3-600 s events): 0.1 makes each window one 100 s event (2 hits, 1 false alarm), 0.5
    and 0.7 keep the false positive (one FA = 288/24h), 0.9 finds only the first seizure with no FA."""
    probs, target = _windows()
    m = window_metrics(probs, target, 2.0)
    assert (m["sens_at_10fa"], m["threshold_at_10fa"], m["fa_at_10fa"]) == (0.5, 0.9, 0.0)
    assert m["auroc"] == pytest.approx(roc_auc_score(target.ravel() > 0, probs.ravel()))
    assert m["window_auroc"] == 0.5  # window maxima 0.9 (seizure) > 0.7 (none) > 0.5 (seizure)
    # a target of exactly one false alarm in 300 s: the lowest threshold meets it with both seizures
    m = window_metrics(probs, target, 2.0, fa_target=288.0)
    assert (m["sens_at_10fa"], m["threshold_at_10fa"], m["fa_at_10fa"]) == (1.0, 0.1, 288.0)
    assert window_metrics(probs, target, 2.0, fa_target=287.9)["threshold_at_10fa"] == 0.9
    # the rate sets the durations: at 1 Hz the same samples span 600 s, so one FA is 144/24h
    assert window_metrics(probs, target, 1.0, fa_target=144.0)["threshold_at_10fa"] == 0.1
    # overrides reach the post-processing: with a 45 s minimum every 30-40 s event is gone
    m = window_metrics(probs, target, 2.0, post={"min_duration_s": 45.0})
    assert (m["sens_at_10fa"], m["threshold_at_10fa"], m["fa_at_10fa"]) == (0.0, 0.5, 0.0)
    # (N, 1, T) windows are read as (N, T)
    m3 = window_metrics(probs[:, None], target[:, None], 2.0)
    assert (m3["sens_at_10fa"], m3["threshold_at_10fa"], m3["auroc"]) == (0.5, 0.9, m["auroc"])


def test_window_metrics_default_target_is_10_fa_per_24h():
    """8000 s in all (sixteen 500 s windows at 1 Hz), so one false alarm is 10.8/24h: a seizure at 0.9 and one
    false positive at 0.7. 0.1 makes every window an event (15 FAs); 0.7 leaves one FA, over the default
    target 10 but under 11; 0.9 none."""
    probs, target = np.full((16, 500), 0.1), np.zeros((16, 500))
    probs[0, 100:140], target[0, 100:140] = 0.9, 1
    probs[1, 200:230] = 0.7
    m = window_metrics(probs, target, 1.0)
    assert (m["sens_at_10fa"], m["threshold_at_10fa"], m["fa_at_10fa"]) == (1.0, 0.9, 0.0)
    m = window_metrics(probs, target, 1.0, fa_target=11.0)
    assert (m["sens_at_10fa"], m["threshold_at_10fa"], m["fa_at_10fa"]) == (1.0, 0.7, 10.8)


def test_window_metrics_degenerate_cases():
    probs, target = _windows()
    # no seizure anywhere: AUROCs undefined, sensitivity undefined (reported as 0) at the threshold that
    # meets the target: 0.99, held for 2 s only, which the 11-sample opening removes
    p = np.full_like(probs, 0.1)
    p[0, :4] = 0.99
    m = window_metrics(p, np.zeros_like(target), 2.0)
    assert np.isnan(m["auroc"]) and np.isnan(m["window_auroc"])
    assert m["sens_at_10fa"] == 0.0 and m["threshold_at_10fa"] == 0.99 and m["fa_at_10fa"] == 0.0
    # every window holds a seizure: window AUROC undefined, per-sample AUROC still defined
    t2 = target.copy()
    t2[2, :10] = 1
    m = window_metrics(probs, t2, 2.0)
    assert np.isnan(m["window_auroc"]) and m["auroc"] == pytest.approx(
        roc_auc_score(t2.ravel(), probs.ravel())
    )
    # one seizure sample, so one seizure window: both AUROCs defined
    t1 = np.zeros_like(target)
    t1[0, 50] = 1
    m = window_metrics(probs, t1, 2.0)
    assert m["auroc"] == pytest.approx(roc_auc_score(t1.ravel(), probs.ravel())) and m["window_auroc"] == 1.0
    # every sample a seizure: per-sample AUROC undefined too
    assert np.isnan(window_metrics(probs, np.ones_like(target), 2.0)["auroc"])
    # a window on at 0.95 all along: every threshold leaves a false alarm, so no operating point
    p = probs.copy()
    p[2] = 0.95
    m = window_metrics(p, target, 2.0)
    assert m["sens_at_10fa"] == 0.0 and np.isnan(m["threshold_at_10fa"]) and np.isnan(m["fa_at_10fa"])


def _figure(monkeypatch, draw):
    """Run ``draw`` and return the figure it closed (plot_curve closes its figure after saving it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    closed = []
    real_close = plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: closed.append(fig))
    draw()
    monkeypatch.setattr(plt, "close", real_close)
    assert len(closed) == 1
    fig = closed[0]
    plt.close(fig)
    return fig


def test_plot_curve_draws_the_curve_and_targets(monkeypatch, tmp_path):
    from matplotlib.colors import to_rgba
    from PIL import Image

    from biodyn.metrics.plot import plot_curve

    curve = [
        OperatingPoint(0.9, 0.5, 0.0),
        OperatingPoint(0.2, 1.0, 6.0),
        OperatingPoint(0.5, 0.75, 0.5),
        OperatingPoint(0.95, float("nan"), 0.0),  # no targets: not drawn
    ]
    path = tmp_path / "c.png"
    fig = _figure(monkeypatch, lambda: plot_curve(curve, path, targets=(5.0, 1.0), title="T"))
    (ax,) = fig.axes
    assert tuple(fig.get_size_inches()) == (5.0, 4.0)
    assert ax.get_xscale() == "log" and ax.get_title() == "T"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("false alarms per 24 h", "sensitivity (%)")
    step, *vlines = ax.get_lines()
    # points sorted by FA/24h, FA 0 drawn at 0.01 (log axis), sensitivity in %; a post step
    assert step.get_drawstyle() == "steps-post"
    np.testing.assert_array_equal(step.get_xdata(), [0.01, 0.5, 6.0])
    np.testing.assert_array_equal(step.get_ydata(), [50.0, 75.0, 100.0])
    assert [tuple(v.get_xdata()) for v in vlines] == [(5.0, 5.0), (1.0, 1.0)]
    for v in vlines:
        assert to_rgba(v.get_color()) == to_rgba("grey") and v.get_linewidth() == 0.8
        assert v.get_linestyle() == "--"
    grid = ax.xaxis.get_gridlines()[0]
    assert grid.get_visible() and grid.get_alpha() == 0.3
    with Image.open(path) as im:
        assert im.format == "PNG" and im.info["dpi"] == pytest.approx((120, 120), abs=0.1)
        size = im.size
    # cropped to what is drawn (a tight box, matplotlib's 0.1 in padding around it), not the 5 x 4 in canvas
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    box = fig.get_tightbbox(FigureCanvasAgg(fig).get_renderer())
    assert size != (600, 480)
    assert size == pytest.approx(((box.width + 0.2) * 120, (box.height + 0.2) * 120), abs=2)
    assert [f.name for f in tmp_path.iterdir()] == ["c.png"]  # written atomically: no temporary left


def test_plot_curve_defaults_and_an_empty_curve(monkeypatch, tmp_path):
    from biodyn.metrics.plot import plot_curve

    fig = _figure(
        monkeypatch, lambda: plot_curve([OperatingPoint(0.5, float("nan"), 1.0)], tmp_path / "e.png")
    )
    (ax,) = fig.axes
    assert ax.get_title() == "OVERLAP sensitivity vs false alarms"
    lines = ax.get_lines()  # nothing but the four default FA targets
    assert [v.get_xdata()[0] for v in lines] == [10.0, 5.0, 2.5, 1.0]
    assert (tmp_path / "e.png").read_bytes()[:4] == b"\x89PNG"


def test_save_report_writes_json_and_the_dev_curve(monkeypatch, tmp_path):
    from biodyn.metrics.plot import save_report

    recs = _four_records()
    rep = sensitivity_at_fa(recs, recs, targets=(1.0, 0.5), szcore=False)
    fig = _figure(monkeypatch, lambda: save_report(rep, tmp_path / "r.json", tmp_path / "r.png"))
    assert json.loads((tmp_path / "r.json").read_text()) == json.loads(json.dumps(rep))
    (ax,) = fig.axes
    assert ax.get_title() == "OVERLAP sensitivity vs false alarms (dev)"
    step, *vlines = ax.get_lines()
    np.testing.assert_array_equal(step.get_xdata(), [0.01, 1.0, 1.5])  # the dev curve, FA 0 at 0.01
    np.testing.assert_array_equal(step.get_ydata(), [50.0, 100.0, 100.0])
    assert [v.get_xdata()[0] for v in vlines] == [1.0, 0.5]  # the report's targets, not the defaults
    fig = _figure(monkeypatch, lambda: save_report(rep, tmp_path / "s.json", tmp_path / "s.png", title="E"))
    assert fig.axes[0].get_title() == "E"
    # without a PNG path only the JSON is written
    save_report(rep, tmp_path / "t.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "r.png", "s.json", "s.png", "t.json"]


@pytest.mark.parametrize("search", ["exact", "bisect"])
def test_report_rows_for_a_target_none_meets_and_the_post_processing(search):
    # one day in all: a 1000 s record with a seizure at 0.9, and a record whose 10 s at 1.0 (the highest
    # value) is a false alarm at every threshold: 0.5/24h is never met; 2.0/24h is, with both 0.0 (each
    # record one whole event) and 0.9: the exact sweep takes 0.9 (same sensitivity, higher threshold), the
    # bisection the lowest, 0.0
    s, d = np.zeros(1000), np.zeros(85400)
    s[100:130], d[5000:5010] = 0.9, 1.0
    day = [Scored(s, 1.0, [Event(100.0, 30.0, "seiz")]), Scored(d, 1.0, [])]
    rep = sensitivity_at_fa(day, day, targets=(0.5, 2.0), search=search, szcore=False)
    none, met = rep["operating_points"]
    assert none == {"target_fa_per_24h": 0.5, "threshold": None, "dev": None, "eval": None}
    assert met["target_fa_per_24h"] == 2.0 and met["threshold"] == {"exact": 0.9, "bisect": 0.0}[search]
    assert met["eval"]["false_alarms"] == 1 and met["eval"]["fa_per_24h"] == 1.0
    # the post-processing reaches the dev curve, the choice and the eval scoring: with a 20 s minimum the
    # 10 s false alarms vanish, so 0.7 meets 0.5/24h (0.9 without it) and has no false alarm on eval either
    recs = _four_records()
    plain = sensitivity_at_fa(recs, recs, targets=(0.5,), search=search, curve_points=3, szcore=False)
    assert plain["operating_points"][0]["threshold"] == 0.9
    rep = sensitivity_at_fa(
        recs, recs, targets=(0.5,), search=search, curve_points=3, szcore=False, min_duration_s=20.0
    )
    (row,) = rep["operating_points"]
    assert row["threshold"] == 0.7 and row["eval"]["false_alarms"] == 0 and row["eval"]["hits"] == 2
    assert [p["false_alarms"] for p in rep["dev_curve"]] == [3, 0, 0]
    assert [p["false_alarms"] for p in plain["dev_curve"]] == [3, 2, 0]
    assert rep["postprocess"] == {"min_duration_s": 20.0}


def test_szcore_rows_score_the_frozen_threshold_with_the_post_processing():
    """SzCORE on eval (records a and b) at the threshold chosen on dev: 0.9 for 0.0/24h finds seizure 2 only
    (sensitivity 1/2, no false alarm); with a 20 s minimum duration 0.7 is chosen and finds both, its two 10 s
    false alarms removed (precision 1)."""
    recs = _four_records()
    sz = sensitivity_at_fa(recs, recs[:2], targets=(0.0,))["operating_points"][0]["eval"]["szcore"]
    assert (sz["ref_events"], sz["sensitivity"], sz["precision"]) == (2, 0.5, 1.0)
    rep = sensitivity_at_fa(recs, recs[:2], targets=(0.0,), min_duration_s=20.0)
    (row,) = rep["operating_points"]
    assert row["threshold"] == 0.7
    sz = row["eval"]["szcore"]
    assert (sz["sensitivity"], sz["precision"]) == (1.0, 1.0)


def _merged_then_dropped():
    """Two 100 s records at 1 Hz, background 0.1, events kept up to 30 s (``max_duration_s=30``). Record a: a
    seizure at 10-20 s held at 0.9 and a 40 s false positive at 50-90 s held at 0.5; record b: a seizure at
    30-40 s held at 0.5. By hand: 0.1 makes each record one 100 s event, both dropped (sensitivity 0, no
    false alarm); 0.5 finds both seizures and drops the 40 s false positive (sensitivity 1, no false alarm);
    0.9 finds the first seizure only (0.5, none). Sensitivity is not monotone in the threshold."""
    pa, pb = np.full(100, 0.1), np.full(100, 0.1)
    pa[10:20], pa[50:90], pb[30:40] = 0.9, 0.5, 0.5
    return [
        Scored(pa, 1.0, [Event(10.0, 10.0, "seiz")]),
        Scored(pb, 1.0, [Event(30.0, 10.0, "seiz")]),
    ]


def test_bisection_where_max_duration_drops_a_merged_stretch():
    recs = _merged_then_dropped()
    post = {"max_duration_s": 30.0}
    curve = [evaluate(recs, t, **post) for t in candidate_thresholds(recs)]
    assert [(p.threshold, p.sensitivity, p.false_alarms) for p in curve] == [
        (0.1, 0.0, 0),
        (0.5, 1.0, 0),
        (0.9, 0.5, 0),
    ]
    exact = choose_thresholds(curve, targets=(0.0, 10.0))
    got = choose_thresholds_bisect(recs, targets=(0.0, 10.0), **post)
    for t in (0.0, 10.0):
        # the exact sweep's answer (0.5, both seizures), not the lowest threshold meeting the target (0.1,
        # where every event is merged and dropped)
        assert exact[t].threshold == 0.5 and got[t].threshold == 0.5 and got[t].sensitivity == 1.0
    # without the maximum duration the curve is monotone and the lowest threshold wins
    assert choose_thresholds_bisect(recs, targets=(10.0,))[10.0].threshold == 0.1
    # the best point above the dropped region keeps its place when nothing below beats it: a 1 s limit
    # drops even the 10 s seizures below 0.9 ... and at 0.9 too, so every candidate is swept exactly
    got = choose_thresholds_bisect(recs, targets=(10.0,), max_duration_s=1.0)[10.0]
    assert got.threshold == 0.9 and got.sensitivity == 0.0 and got.false_alarms == 0
    # a 45 s limit keeps the 40 s false positive at 0.5: the dropped region is 0.1 alone, and the bisection
    # above it stops at 0.9 for a zero target, 0.5 for a target of one false alarm in 200 s (432/24h)
    got = choose_thresholds_bisect(recs, targets=(0.0, 432.0), max_duration_s=45.0)
    assert (got[0.0].threshold, got[0.0].sensitivity) == (0.9, 0.5)
    assert (got[432.0].threshold, got[432.0].sensitivity, got[432.0].false_alarms) == (0.5, 1.0, 1)


def test_window_metrics_where_a_window_merges_past_600_s():
    """The case the mutation work found: 700 s windows at 1 Hz with Brain-Go-Brr's post-processing (events
    of 3-600 s). Background 0.1, a seizure at 100-160 s held at 0.9 in window 0, a 30 s false positive at
    0.7 in window 1. At 0.1 every window is one 700 s event, dropped: no false alarm and no seizure found;
    0.7 finds the seizure with one false alarm (1400 s: 61.7/24h); 0.9 the seizure alone."""
    probs, target = np.full((2, 700), 0.1), np.zeros((2, 700))
    probs[0, 100:160], target[0, 100:160] = 0.9, 1
    probs[1, 300:330] = 0.7
    m = window_metrics(probs, target, 1.0)
    assert (m["sens_at_10fa"], m["threshold_at_10fa"], m["fa_at_10fa"]) == (1.0, 0.9, 0.0)
    recs = [Scored(p, 1.0, mask_events(t, 1.0)) for p, t in zip(probs, target)]
    curve = [evaluate(recs, t, **SEIZURE_POSTPROCESS) for t in candidate_thresholds(recs)]
    assert [(p.threshold, p.hits, p.false_alarms) for p in curve] == [(0.1, 0, 0), (0.7, 1, 1), (0.9, 1, 0)]
    assert choose_thresholds(curve, targets=(10.0,))[10.0].threshold == 0.9


@pytest.mark.parametrize("seed", range(40))
def test_bisection_matches_the_exact_sweep_where_long_events_are_dropped(seed):
    """Random blocky records with few distinct values and a short maximum duration, so that the curve is
    not monotone: wherever FA/24h falls with the threshold from the first threshold at which nothing is
    dropped (the condition the docstring states), the answer's sensitivity is the exact sweep's."""
    rng = np.random.default_rng(seed)
    recs = []
    for _ in range(3):
        p = np.repeat(rng.choice([0.1, 0.3, 0.5, 0.7, 0.9], size=12), rng.integers(2, 12, size=12))
        on = np.repeat(rng.random(12) < 0.3, 1)
        ref, t = [], 0
        for blk, k in zip(on, np.cumsum(rng.integers(5, 15, size=12))):
            if blk and k + 5 < len(p):
                ref.append(Event(float(k), 5.0, "seiz"))
        recs.append(Scored(p, 1.0, ref))
    post = {"max_duration_s": float(rng.integers(8, 30)), "merge_gap_s": float(rng.integers(0, 4))}
    u = candidate_thresholds(recs)
    curve = [evaluate(recs, t, **post) for t in u]
    free = [
        not any(
            e.duration_s > post["max_duration_s"]
            for r in recs
            for e in probs_to_events(r.probs, r.fs, threshold=t, **{**post, "max_duration_s": None})
        )
        for t in u
    ]
    k0 = free.index(True) if any(free) else len(u)
    assert all(free[k0:])  # nothing dropped from k0 up: the monotone part the bisection relies on
    fa_falls = all(a.false_alarms >= b.false_alarms for a, b in zip(curve[k0:], curve[k0 + 1 :]))
    targets = (0.0, 2000.0, 5000.0, 20000.0)
    exact = choose_thresholds(curve, targets)
    got = choose_thresholds_bisect(recs, targets, **post)
    for t in targets:
        if exact[t] is None:
            continue
        assert got[t] is not None and got[t].fa_per_24h <= t
        assert got[t] in curve  # one of the exact sweep's own points
        if fa_falls:
            assert got[t].sensitivity == exact[t].sensitivity


def _on(n, *spans, fs=1.0):
    """Probabilities ``(n,)``: 0 outside, each ``(start, stop, value)`` span (samples) at its value."""
    p = np.zeros(n)
    for a, b, v in spans:
        p[a:b] = v
    return Scored(p, fs, [])


def test_drops_long_events_is_whether_the_maximum_duration_changes_the_events():
    """An event exactly ``max_duration_s`` long is kept (only longer ones are dropped); the events are the
    post-processed ones: two 3 s events 1 s apart merged by a 2 s gap make one 7 s event, dropped at 5 s."""
    from biodyn.metrics.detection import _drops_long_events

    exact = [_on(20, (2, 7, 0.9))]  # one 5 s event
    assert not _drops_long_events(exact, 0.5, 5.0, {})
    assert _drops_long_events(exact, 0.5, 4.0, {})
    pair = [_on(20, (0, 3, 0.9), (4, 7, 0.9))]
    for post, dropped in (({"merge_gap_s": 2.0}, True), ({}, False)):
        assert _drops_long_events(pair, 0.5, 5.0, post) is dropped
        kept = probs_to_events(pair[0].probs, 1.0, threshold=0.5, max_duration_s=5.0, **post)
        assert dropped == (kept != probs_to_events(pair[0].probs, 1.0, threshold=0.5, **post))


def test_unfiltered_bounds_by_hand():
    """The branch and bound's per-threshold bounds on hand-made records at 1 Hz (too long: over 5 s).

    P, references 10-15 and 25-28 s: events 5-10 (touches the first reference: no hit, not clear),
    15-18 (touches it from the other side: the same), 20-23 (clear), 24-34 (long, holds the second):
    one reference hit, one covered by a long event, only 20-23 clear. Q, references 10-15, 30-35, 50-52:
    long events 10-20 (from the reference's start: covers it), 25-35 (to its end: covers it) and 51-60
    (starts inside the third: a hit, not covering it): three hits, two covered."""
    from biodyn.metrics.detection import _Unfiltered

    p = _on(40, (5, 10, 0.9), (15, 18, 0.9), (20, 23, 0.9), (24, 34, 0.9))
    p_ref = np.array([[10.0, 15.0], [25.0, 28.0]])
    u = _Unfiltered([p], [p_ref], 0.5, 5.0, {})
    assert (u.hit, u.covered) == (1, 1)
    h, clear = u.events[0]
    np.testing.assert_array_equal(h, [[5, 10], [15, 18], [20, 23], [24, 34]])
    assert clear.tolist() == [False, False, True, False]
    q = _on(60, (10, 20, 0.9), (25, 35, 0.9), (51, 60, 0.9))
    q_ref = np.array([[10.0, 15.0], [30.0, 35.0], [50.0, 52.0]])
    u = _Unfiltered([q], [q_ref], 0.5, 5.0, {})
    assert (u.hit, u.covered) == (3, 2) and u.events[0][1].tolist() == [False] * 3
    u = _Unfiltered([p, q], [p_ref, q_ref], 0.5, 5.0, {})  # summed over records
    assert (u.hit, u.covered) == (4, 3)
    # an empty record: no events, an empty (0, 2) array
    u = _Unfiltered([_on(10)], [np.zeros((0, 2))], 0.5, 5.0, {})
    assert (u.hit, u.covered) == (0, 0) and u.events[0][0].shape == (0, 2)


def test_unfiltered_times_are_rounded_to_four_decimals_like_the_references():
    """At 3 Hz an event over samples 4-9 is 4/3-10/3 s, kept as 1.3333-3.3333 (the references' 4 digits): a
    reference ending at 4/3 s (1.3333 once normalised) touches it, so it is no hit and not clear."""
    from biodyn.metrics.detection import _Unfiltered

    r = _on(15, (4, 10, 0.9), fs=3.0)
    u = _Unfiltered([r], [np.zeros((0, 2))], 0.5, 5.0, {})
    np.testing.assert_array_equal(u.events[0][0], [[1.3333, 3.3333]])
    ref = normalize([Event(0.0, 4 / 3, "seiz")], 5.0)
    ref = np.array([(g.start, g.stop) for g in ref if g.label == "seiz"])
    assert ref.tolist() == [[0.0, 1.3333]]
    u = _Unfiltered([r], [ref], 0.5, 5.0, {})
    assert u.hit == 0 and u.events[0][1].tolist() == [False]


def test_false_alarms_below_counts_the_clear_events_that_hold_an_event_above():
    """At 0.3 the record (1 Hz, no reference) has events 0-4, 10-14, 20-24 and 30-34; at 0.7 only 2-4 (inside
    the first, ending with it) and 21-23 (inside the third): two events of the lower threshold hold one of
    the higher, so at least two false alarms at every threshold in between. Summed over records; a record
    with no event at the higher threshold adds nothing."""
    from biodyn.metrics.detection import _Unfiltered

    f = _on(
        40,
        (0, 2, 0.5),
        (2, 4, 0.9),
        (10, 14, 0.5),
        (20, 21, 0.5),
        (21, 23, 0.9),
        (23, 24, 0.5),
        (30, 34, 0.5),
    )
    lo, hi = (_Unfiltered([f], [np.zeros((0, 2))], t, 8.0, {}) for t in (0.3, 0.7))
    np.testing.assert_array_equal(lo.events[0][0], [[0, 4], [10, 14], [20, 24], [30, 34]])
    np.testing.assert_array_equal(hi.events[0][0], [[2, 4], [21, 23]])
    assert lo.false_alarms_below(hi) == 2
    g = _on(40, (0, 3, 0.5))  # an event at 0.3, none at 0.7
    recs = [g, f, f]
    lo, hi = (_Unfiltered(recs, [np.zeros((0, 2))] * 3, t, 8.0, {}) for t in (0.3, 0.7))
    assert lo.false_alarms_below(hi) == 4


def test_false_alarms_below_where_four_decimals_make_two_events_touch():
    """At 20 kHz events over samples 0-1 and 3-7 are kept as 0-0.0001 s and 0.0001-0.0004 s (3/20000 s rounds
    to 0.0001): they touch. An event holds an event of the higher threshold only when that one starts inside
    it: not when it ends where this one starts, nor when it starts where this one ends."""
    from biodyn.metrics.detection import _Unfiltered

    none = [np.zeros((0, 2))]
    for spans, held in (
        ([(0, 2, 0.9), (3, 8, 0.5)], [True, False]),  # above: samples 0-1 only, inside the first
        ([(0, 2, 0.5), (3, 6, 0.9), (6, 8, 0.5)], [False, True]),  # above: 3-5, inside the second
    ):
        r = _on(12, *spans, fs=20000.0)
        lo, hi = (_Unfiltered([r], none, t, 1.0, {}) for t in (0.3, 0.7))
        np.testing.assert_array_equal(lo.events[0][0], [[0.0, 0.0001], [0.0001, 0.0004]])
        assert lo.events[0][1].tolist() == [True, True]  # short, no reference
        assert lo.false_alarms_below(hi) == sum(held)


def _stair(levels, fs=1.0, n=100):
    """One record of ``n`` samples at ``fs``: 0 outside, a seizure 10-(10 + 2 len(levels)) samples whose
    probability climbs ``levels`` 2 samples each, the reference exactly that seizure."""
    p = np.zeros(n)
    for i, v in enumerate(levels):
        p[10 + 2 * i : 12 + 2 * i] = v
    return Scored(p, fs, [Event(10 / fs, 2 * len(levels) / fs, "seiz")])


@pytest.mark.parametrize("levels", [(0.2, 0.4, 0.6), (0.2, 0.4, 0.6, 0.8), (0.2, 0.4, 0.6, 0.8, 0.9)])
def test_bisection_keeps_the_lowest_of_tied_thresholds_above_the_dropped_one(levels):
    """A 100 s record, max_duration_s 50: at threshold 0 the whole record is one event (dropped), from the
    first level up every threshold finds the seizure with no false alarm. Ties above the dropped threshold
    keep the lowest (the docstring's rule), so the first level; the same at 0.5 Hz (a 200 s record), and
    nothing dropped (the lowest threshold itself) with max_duration_s above the record's length."""
    from biodyn.metrics.detection import choose_thresholds_bisect

    recs = [_stair(levels)]
    assert candidate_thresholds(recs).tolist() == [0.0, *levels]
    got = choose_thresholds_bisect(recs, targets=(10.0,), max_duration_s=50.0)[10.0]
    assert (got.threshold, got.hits, got.false_alarms) == (0.2, 1, 0)
    got = choose_thresholds_bisect([_stair(levels, fs=0.5)], targets=(10.0,), max_duration_s=60.0)[10.0]
    assert (got.threshold, got.hits, got.false_alarms) == (0.2, 1, 0)
    got = choose_thresholds_bisect(recs, targets=(10.0,), max_duration_s=150.0)[10.0]
    assert (got.threshold, got.hits) == (0.0, 1)


def test_records_within_the_maximum_duration_skip_the_search_for_dropped_events(monkeypatch):
    """Records no longer than max_duration_s (exactly as long included) cannot lose an event to it: no
    threshold is checked for dropped events; one sample longer, they are."""
    from biodyn.metrics import detection

    calls = []
    real = detection._drops_long_events
    monkeypatch.setattr(detection, "_drops_long_events", lambda *a: calls.append(a[1]) or real(*a))
    for fs, limit, checked in (
        (1.0, 100.0, False),
        (1.0, 99.0, True),
        (256.0, 100 / 256, False),
        (4.0, 25.0, False),
    ):
        calls.clear()
        got = detection.choose_thresholds_bisect([_stair((0.2, 0.4), fs=fs)], (10.0,), max_duration_s=limit)
        assert bool(calls) is checked, (fs, limit)
        assert got[10.0].hits == 1


def test_bisection_where_false_alarms_rise_again_keeps_the_lowest_admissible_threshold():
    """False alarms need not fall with the threshold (raising it can split an event): record A (0.1, 0.7,
    0.3, 0.5, 0.1) is one event at 0.1, 0.3 and 0.7 but two at 0.5; A2 (all 0.1) one event at 0.1 only; B's
    seizure is found at every threshold. So 2, 1, 2, 1 false alarms at 0.1, 0.3, 0.5, 0.7: with at most one
    allowed, 0.3 and 0.7 are admissible, equally sensitive, and the bisection keeps the lowest, 0.3."""
    from biodyn.metrics.detection import choose_thresholds_bisect

    recs = [
        Scored(np.array([0.1, 0.7, 0.3, 0.5, 0.1]), 1.0, []),
        Scored(np.full(5, 0.1), 1.0, []),
        Scored(np.array([0.1, 0.1, 0.7, 0.7, 0.1]), 1.0, [Event(2.0, 2.0, "seiz")]),
    ]
    curve = [evaluate(recs, t) for t in candidate_thresholds(recs)]
    assert [(p.threshold, p.hits, p.false_alarms) for p in curve] == [
        (0.1, 1, 2),
        (0.3, 1, 1),
        (0.5, 1, 2),
        (0.7, 1, 1),
    ]
    target = 1.5 * 86400.0 / 15.0  # 1.5 false alarms in the 15 s
    got = choose_thresholds_bisect(recs, targets=(target,))[target]
    assert (got.threshold, got.hits, got.false_alarms) == (0.3, 1, 1)


def _searched(monkeypatch, recs, target, **post):
    """``choose_thresholds_bisect``'s answer for one target and the thresholds it evaluated."""
    from biodyn.metrics import detection

    seen = []
    real = detection.evaluate
    monkeypatch.setattr(detection, "evaluate", lambda r, t, **kw: seen.append(float(t)) or real(r, t, **kw))
    got = detection.choose_thresholds_bisect(recs, targets=(target,), **post)[target]
    return got, set(seen)


def test_branch_and_bound_skips_what_its_bounds_rule_out(monkeypatch):
    """Three 100 s records at 1 Hz, background 0.1, max_duration_s 30 (300 s in all). a: a seizure at 10-20 s
    held at 0.9, a 5 s false positive at 50-55 s and a 35 s one at 60-95 s, both at 0.5; b: a seizure at
    30-40 s at 0.5; c: no seizure, 0-40 s at 0.95 (too long at every threshold). By hand: 0.1 finds nothing
    (every record one dropped event), 0.5 both seizures and one false alarm (288/24h), 0.9 a's seizure, 0.95
    nothing. Something is dropped at every threshold, so the branch and bound alone searches: it evaluates
    0.95 and 0.9, never 0.1 (at most 0 hits: both references lie inside its 100 s events), and 0.5 only
    when its false alarm is allowed (at least one: its 5 s event holds itself), the bound included: 288."""
    pa, pb, pc = np.full(100, 0.1), np.full(100, 0.1), np.full(100, 0.1)
    pa[10:20], pa[50:55], pa[60:95], pb[30:40], pc[0:40] = 0.9, 0.5, 0.5, 0.5, 0.95
    recs = [
        Scored(pa, 1.0, [Event(10.0, 10.0, "seiz")]),
        Scored(pb, 1.0, [Event(30.0, 10.0, "seiz")]),
        Scored(pc, 1.0, []),
    ]
    curve = [evaluate(recs, t, max_duration_s=30.0) for t in candidate_thresholds(recs)]
    assert [(p.threshold, p.hits, p.false_alarms) for p in curve] == [
        (0.1, 0, 0),
        (0.5, 2, 1),
        (0.9, 1, 0),
        (0.95, 0, 0),
    ]
    got, seen = _searched(monkeypatch, recs, 288.0, max_duration_s=30.0)
    assert (got.threshold, got.hits, got.false_alarms) == (0.5, 2, 1) and seen == {0.5, 0.9, 0.95}
    got, seen = _searched(monkeypatch, recs, 287.9, max_duration_s=30.0)
    assert (got.threshold, got.hits, got.false_alarms) == (0.9, 1, 0) and seen == {0.9, 0.95}


def test_branch_and_bound_prefers_fewer_false_alarms_at_equal_hits(monkeypatch):
    """One 100 s record at 1 Hz, background 0.1, max_duration_s 30: a seizure at 10-20 s held at 0.7; 45-90 s
    at 0.4, 50-90 s at 0.5 with 60-65 s at 0.7 inside. 0.4 and 0.5 find the seizure and drop the long
    stretch (no false alarm), 0.7 finds it and the 5 s run at 60-65 s (one false alarm), 0.1 drops
    everything. Nothing is dropped from 0.7 up: the bisection's point is 0.7 (1 hit, 1 false alarm), the
    branch and bound replaces it by 0.5 (as many hits, fewer false alarms) and skips 0.4 and 0.1, which
    cannot do better (at most 1 hit and at least 0 false alarms, a tie: the higher threshold stays)."""
    p = np.full(100, 0.1)
    p[10:20], p[45:90], p[50:90], p[60:65] = 0.7, 0.4, 0.5, 0.7
    recs = [Scored(p, 1.0, [Event(10.0, 10.0, "seiz")])]
    curve = [evaluate(recs, t, max_duration_s=30.0) for t in candidate_thresholds(recs)]
    assert [(q.threshold, q.hits, q.false_alarms) for q in curve] == [
        (0.1, 0, 0),
        (0.4, 1, 0),
        (0.5, 1, 0),
        (0.7, 1, 1),
    ]
    got, seen = _searched(monkeypatch, recs, 1000.0, max_duration_s=30.0)
    assert (got.threshold, got.hits, got.false_alarms) == (0.5, 1, 0) and seen == {0.5, 0.7}


def test_branch_and_bound_with_no_point_yet_skips_by_false_alarms_alone(monkeypatch):
    """Before any point is found only the false-alarm bound can skip a range. One 100 s record at 1 Hz,
    background 0.1, max_duration_s 30: 0-40 s at 0.95 (dropped at every threshold), a 5 s false positive at
    50-55 s at 0.95, a seizure at 70-80 s at 0.5. 0.95: no hit, one false alarm (864/24h); 0.5: the seizure
    and that false alarm; 0.1: nothing. With 864 allowed (the bound's limit included) 0.5 is found; with 863
    the ranges holding 0.95 and 0.5 are skipped unevaluated (both hold the 5 s event) and 0.1 is the answer."""
    p = np.full(100, 0.1)
    p[0:40], p[50:55], p[70:80] = 0.95, 0.95, 0.5
    recs = [Scored(p, 1.0, [Event(70.0, 10.0, "seiz")])]
    curve = [evaluate(recs, t, max_duration_s=30.0) for t in candidate_thresholds(recs)]
    assert [(q.threshold, q.hits, q.false_alarms) for q in curve] == [(0.1, 0, 0), (0.5, 1, 1), (0.95, 0, 1)]
    got, seen = _searched(monkeypatch, recs, 864.0, max_duration_s=30.0)
    assert (got.threshold, got.hits) == (0.5, 1) and seen == {0.5, 0.95}
    got, seen = _searched(monkeypatch, recs, 863.0, max_duration_s=30.0)
    assert (got.threshold, got.hits, got.false_alarms) == (0.1, 0, 0) and seen == {0.1}


def test_branch_and_bound_keeps_the_first_of_equal_points(monkeypatch):
    """Every threshold ties (no hit, one false alarm): a, 100 s at 1 Hz, background 0.1, 0-40 s at 0.95 and
    40-42 s at 0.5 (dropped at every threshold, partly over the seizure at 35-45 s), a 5 s false positive at
    50-55 s at 0.95; b, 20 s of 0.1 (one false alarm at 0.1 only). The search evaluates 0.95 (first: the
    highest range), then 0.5 (its bound allows a hit: the seizure is only partly under the dropped event) and
    keeps 0.95; 0.1 is skipped (no hit possible, at least b's false alarm: a tie cannot replace)."""
    pa, pb = np.full(100, 0.1), np.full(20, 0.1)
    pa[0:40], pa[40:42], pa[50:55] = 0.95, 0.5, 0.95
    recs = [Scored(pa, 1.0, [Event(35.0, 10.0, "seiz")]), Scored(pb, 1.0, [])]
    curve = [evaluate(recs, t, max_duration_s=30.0) for t in candidate_thresholds(recs)]
    assert [(q.threshold, q.hits, q.false_alarms) for q in curve] == [(0.1, 0, 1), (0.5, 0, 1), (0.95, 0, 1)]
    got, seen = _searched(monkeypatch, recs, 1000.0, max_duration_s=30.0)
    assert got.threshold == 0.95 and seen == {0.5, 0.95}
