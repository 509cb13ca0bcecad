"""Post-processing and seed statistics at the edges the mutation run found open, each worked out by hand:
the defaults, morphological kernels one sample either side of what they remove or fill, hysteresis runs
switched on by exactly one sample, float32 input, and the confidence intervals' bounds."""

import math

import numpy as np
import pytest

from biodyn.errors import ConfigError
from biodyn.metrics.postprocess import probs_to_events
from biodyn.metrics.stats import mean_ci, wilson_interval


def spans(p, fs=1.0, **kw):
    """Events as ``(start, stop)`` sample indices."""
    return [
        (round(e.onset_s * fs), round((e.onset_s + e.duration_s) * fs))
        for e in probs_to_events(np.asarray(p), fs, **kw)
    ]


def test_defaults_threshold_half_and_label_seiz():
    ev = probs_to_events(np.array([0.1, 0.5, 0.49, 0.9]), 1.0)
    assert [(e.onset_s, e.duration_s, e.label) for e in ev] == [(1.0, 1.0, "seiz"), (3.0, 1.0, "seiz")]


def test_float32_probabilities_are_compared_in_float64():
    # float32(0.7) is 0.699999988..., below the threshold 0.7 whatever the array's type; the threshold taken
    # from the float32 value itself (as candidate_thresholds gives it) includes the sample
    p32 = np.array([0.1, 0.7, 0.1], np.float32)
    assert spans(p32, threshold=0.7) == [] == spans(p32.astype(np.float64), threshold=0.7)
    assert spans(p32, threshold=float(np.float64(p32[1]))) == [(1, 2)]


def _runs(n, *spans_):
    m = np.zeros(n)
    for a, b in spans_:
        m[a:b] = 1.0
    return m


@pytest.mark.parametrize("k", [2, 5])
def test_opening_removes_runs_shorter_than_its_kernel(k):
    # runs of k - 1 and k samples: the shorter goes, the one exactly the kernel's length stays
    m = _runs(30, (3, 3 + k - 1), (15, 15 + k))
    assert spans(m, opening_samples=k) == [(15, 15 + k)]
    assert spans(m, opening_samples=1) == spans(m) == [(3, 3 + k - 1), (15, 15 + k)]  # 1: no opening


@pytest.mark.parametrize("k", [2, 5])
def test_closing_fills_gaps_shorter_than_its_kernel(k):
    # gaps of k - 1 samples are filled, gaps of k are not
    m = _runs(40, (2, 6), (6 + k - 1, 15), (15 + k, 30))
    assert spans(m, closing_samples=k) == [(2, 15), (15 + k, 30)]
    assert spans(m, closing_samples=1) == spans(m) == [(2, 6), (6 + k - 1, 15), (15 + k, 30)]


def test_closing_keeps_events_touching_both_edges():
    m = _runs(20, (0, 4), (6, 14), (16, 20))
    assert spans(m, closing_samples=3) == [(0, 20)]
    assert spans(_runs(10, (0, 3), (7, 10)), closing_samples=3) == [(0, 3), (7, 10)]


def test_hysteresis_run_switched_on_by_one_sample():
    # on at >= 0.5, off below 0.4: a run (from the very first sample) holding exactly one sample >= 0.5 is on,
    # also when that sample is exactly 0.5; a run that never reaches 0.5 stays off
    p = np.array([0.45, 0.5, 0.45, 0.1, 0.45, 0.6, 0.1, 0.45, 0.49, 0.1])
    assert spans(p, hysteresis_gap=0.1) == [(0, 3), (4, 6)]


def test_merging_with_nothing_to_merge():
    assert spans(np.zeros(10), merge_gap_s=2.0) == []
    assert spans(_runs(10, (2, 4)), merge_gap_s=2.0) == [(2, 4)]


def test_mean_ci_is_computed_in_float64():
    # in float32, 1e8 + 1 rounds back to 1e8 and the mean would be 0
    v = np.array([1e8, 1.0, -1e8], np.float32)
    assert mean_ci(v)[0] == pytest.approx(1 / 3, rel=1e-12)
    assert mean_ci(v) == mean_ci(v.astype(np.float64))


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5, -0.1])
def test_mean_ci_confidence_must_be_inside_0_1(confidence):
    with pytest.raises(ConfigError, match="confidence"):
        mean_ci([1.0, 2.0], confidence)


def test_wilson_interval_stays_inside_0_1():
    # k = n: the upper bound is 1 (in floating point the formula gives 1 + 2e-16 at n = 16, 40, ...);
    # k = 0: the lower bound is 0 (the formula gives -1e-17 at n = 21, ...): never outside [0, 1]
    for n in range(1, 200):
        lo, up = wilson_interval(0, n)[0], wilson_interval(n, n)[1]
        assert 0.0 <= lo < 1e-15 and 1.0 - 1e-15 < up <= 1.0
    assert wilson_interval(16, 16)[1] == 1.0 and wilson_interval(0, 21)[0] == 0.0
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_parse_post_by_hand():
    from biodyn.metrics.postprocess import SEIZURE_POSTPROCESS, parse_post

    assert parse_post(None) == {} and parse_post([]) == {}
    got = parse_post(["opening_samples=21", "merge_gap_s=5", "max_duration_s=none", "min_duration_s=NULL"])
    assert got == {"opening_samples": 21, "merge_gap_s": 5.0, "max_duration_s": None, "min_duration_s": None}
    assert type(got["opening_samples"]) is int and type(got["merge_gap_s"]) is float
    assert parse_post(["closing_samples=0", "hysteresis_gap=0.08"]) == {
        "closing_samples": 0,
        "hysteresis_gap": 0.08,
    }
    # every key of Brain-Go-Brr's post-processing is accepted
    assert set(parse_post([f"{k}=1" for k in SEIZURE_POSTPROCESS])) == set(SEIZURE_POSTPROCESS)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (
            "openin=3",
            r"invalid --post 'openin=3'; expected KEY=VALUE with KEY one of hysteresis_gap, opening",
        ),
        ("merge_gap_s", r"invalid --post 'merge_gap_s'; expected KEY=VALUE"),
        ("=5", r"invalid --post '=5'; expected KEY=VALUE"),
        ("merge_gap_s=x", r"invalid --post 'merge_gap_s=x': 'x' is not a number"),
        ("closing_samples=3.5", r"invalid --post 'closing_samples=3.5': '3.5' is not a number"),
        ("merge_gap_s=1=2", r"'1=2' is not a number"),
        ("merge_gap_s=-1", r"^invalid --post merge_gap_s=-1; allowed: a number >= 0$"),
        ("min_duration_s=inf", r"^invalid --post min_duration_s=inf; allowed"),
        ("min_duration_s=nan", r"^invalid --post min_duration_s=nan; allowed"),
        ("opening_samples=-3", r"^invalid --post opening_samples=-3; allowed"),
    ],
)
def test_parse_post_refuses(item, message):
    from biodyn.metrics.postprocess import parse_post

    with pytest.raises(ConfigError, match=message):
        parse_post(["merge_gap_s=1", item])


@pytest.mark.parametrize("key", ["opening_samples", "closing_samples", "min_duration_s", "merge_gap_s"])
def test_a_negative_setting_is_refused_by_name(key):
    with pytest.raises(ConfigError, match=rf"^invalid {key}=-1; allowed: >= 0$"):
        probs_to_events(np.zeros(4), 1.0, **{key: -1})
    assert probs_to_events(np.zeros(4), 1.0, **{key: 0}) == []


def test_mask_to_intervals_reads_any_nonzero_as_true():
    from biodyn.metrics.postprocess import mask_to_intervals

    got = mask_to_intervals(np.array([0, 2, 2, 0, 0.5, -1, 0]))
    assert got.tolist() == [[1, 3], [4, 6]]
    assert mask_to_intervals(np.array([True, False, True])).tolist() == [[0, 1], [2, 3]]
    assert mask_to_intervals(np.zeros(3)).shape == (0, 2)
