import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from biodyn.errors import ConfigError
from biodyn.metrics.classification import (
    auprc,
    auroc,
    cohen_kappa,
    ece,
    f1_at_threshold,
    macro_auroc,
    macro_f1,
)
from biodyn.metrics.postprocess import mask_to_intervals, probs_to_events


def test_mask_to_intervals():
    assert mask_to_intervals(np.array([0, 1, 1, 0, 1], bool)).tolist() == [[1, 3], [4, 5]]
    assert mask_to_intervals(np.zeros(3, bool)).shape == (0, 2)


def test_probs_to_events_steps():
    fs = 10.0
    p = np.zeros(200)
    p[20:60] = 0.9  # 4 s event
    p[62:80] = 0.9  # 1.8 s, 0.2 s after the first
    p[100:102] = 0.9  # a 0.2 s blip
    p[150:170] = 0.6
    ev = probs_to_events(p, fs, threshold=0.5)
    assert [(e.onset_s, e.duration_s) for e in ev] == [(2.0, 4.0), (6.2, 1.8), (10.0, 0.2), (15.0, 2.0)]
    ev = probs_to_events(p, fs, threshold=0.5, opening_samples=5)  # removes the blip
    assert [e.onset_s for e in ev] == [2.0, 6.2, 15.0]
    ev = probs_to_events(p, fs, threshold=0.5, closing_samples=5)  # fills the 0.2 s gap
    assert [(e.onset_s, e.duration_s) for e in ev][:1] == [(2.0, 6.0)]
    ev = probs_to_events(p, fs, threshold=0.5, merge_gap_s=0.5, min_duration_s=1.0)
    assert [(e.onset_s, e.duration_s) for e in ev] == [(2.0, 6.0), (15.0, 2.0)]
    assert probs_to_events(p, fs, threshold=0.95) == []


def test_classification_against_sklearn_and_by_hand():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    s = np.clip(y * 0.3 + rng.uniform(0, 0.7, 500), 0, 1)
    assert auroc(y, s) == pytest.approx(roc_auc_score(y, s))
    assert 0 < auprc(y, s) <= 1 and np.isnan(auroc(np.ones(5), np.arange(5)))
    # ECE by hand: probs 0.1 (label 0), 0.1 (label 1), 0.9 (label 1), 0.9 (label 1)
    # bins: {0.1, 0.1}: |0.5 - 0.1| = 0.4 weight 0.5; {0.9, 0.9}: |1 - 0.9| = 0.1 weight 0.5 -> 0.25
    assert ece([0.1, 0.1, 0.9, 0.9], [0, 1, 1, 1]) == pytest.approx(0.25)
    assert ece([0.0, 1.0], [0, 1]) == 0.0
    assert f1_at_threshold([1, 1, 0, 0], [0.9, 0.4, 0.6, 0.1]) == pytest.approx(0.5)
    assert macro_f1([0, 1, 2, 2], [0, 1, 2, 1]) == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    assert cohen_kappa([0, 1, 0, 1], [0, 1, 0, 1]) == 1.0
    yk = np.stack([y, 1 - y, np.zeros_like(y)], 1)
    with pytest.warns(UserWarning, match="single label value"):
        assert macro_auroc(yk, np.stack([s, 1 - s, s], 1)) == pytest.approx(roc_auc_score(y, s))


def test_szcore_tolerances_by_hand():
    from biodyn.metrics.szcore import szcore_score
    from biodyn.types import Event

    ref = [Event(1000, 30, "seiz")]
    early = [Event(975, 10, "seiz")]  # ends 15 s before onset: inside the 30 s pre-tolerance
    late = [Event(1500, 10, "seiz")]  # far after: a false alarm
    assert szcore_score([(ref, early, 3600.0)])["tp"] == 1
    r = szcore_score([(ref, late, 3600.0)])
    assert (r["tp"], r["fp"], r["sensitivity"]) == (0, 1, 0.0) and r["fa_per_24h"] == pytest.approx(24.0)


def _ece_loop(p, y, n_bins=15):
    """Bin by bin, straight from the definition."""
    edges = np.linspace(0, 1, n_bins + 1)
    total = 0.0
    for b in range(n_bins):
        lo, hi = edges[b], edges[b + 1]
        sel = (p > lo) & (p <= hi) if b else (p >= lo) & (p <= hi)
        if sel.any():
            total += sel.sum() / len(p) * abs(y[sel].mean() - p[sel].mean())
    return total


def test_ece_against_loop_and_multiclass_by_hand():
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 1, 1000)
    p[:20] = np.linspace(0, 1, 16).repeat(2)[:20]  # values exactly on bin edges
    y = (rng.uniform(0, 1, 1000) < p**2).astype(int)
    assert ece(p, y) == pytest.approx(_ece_loop(p, y), abs=1e-12)
    assert ece(p, y, n_bins=7) == pytest.approx(_ece_loop(p, y, 7), abs=1e-12)
    # top-label: confidences 0.7 (right), 0.7 (wrong), 0.95 (right) -> bins {0.7, 0.7}: |0.5 - 0.7| * 2/3;
    # {0.95}: |1 - 0.95| * 1/3
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.7, 0.2], [0.02, 0.03, 0.95]])
    assert ece(probs, np.array([0, 0, 2])) == pytest.approx(0.2 * 2 / 3 + 0.05 / 3)
    # multi-label: entries scored one by one
    ml = ece(probs, np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]]))
    assert ml == pytest.approx(_ece_loop(probs.ravel(), np.eye(3).ravel()))
    with pytest.raises(ConfigError, match="do not match"):
        ece(np.zeros(3), np.zeros(4))


def test_auprc_f1_kappa_against_sklearn():
    from sklearn.metrics import average_precision_score, cohen_kappa_score, f1_score

    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 300)
    s = rng.uniform(0, 1, 300) + 0.3 * y
    assert auprc(y, s) == pytest.approx(average_precision_score(y, s))
    assert f1_at_threshold(y, s, 0.6) == pytest.approx(f1_score(y, s >= 0.6))
    a, b = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    assert macro_f1(a, b) == pytest.approx(f1_score(a, b, average="macro"))
    # kappa by hand: [[20, 5], [10, 15]] -> p_o = 0.7, p_e = (25*30 + 25*20) / 2500 = 0.5 -> 0.4
    t = np.array([0] * 25 + [1] * 25)
    q = np.array([0] * 20 + [1] * 5 + [0] * 10 + [1] * 15)
    assert cohen_kappa(t, q) == pytest.approx(0.4)


def test_probs_to_events_bad_input():
    with pytest.raises(ConfigError, match="NaN"):
        probs_to_events(np.array([0.1, np.nan]), 1.0)
    with pytest.raises(ConfigError, match="fs"):
        probs_to_events(np.zeros(3), 0.0)
    with pytest.raises(ConfigError, match=">= 0"):
        probs_to_events(np.zeros(3), 1.0, merge_gap_s=-1)


def test_macro_auroc_says_how_many_classes_it_averaged():
    """A PTB-XL-like fold with no record of one superclass: the macro-AUROC is the mean over the four others
    (scikit-learn per column), and the multi-label task reports the count beside it."""
    from biodyn.metrics.classification import macro_auroc_classes
    from biodyn.train.tasks import get_task

    rng = np.random.default_rng(0)
    y = (rng.random((40, 5)) < 0.4).astype(np.float64)
    y[:, 3] = 0  # no record of class 3
    y[:2, :] = [[1, 0, 0, 0, 0], [0, 1, 1, 0, 1]]
    s = rng.random((40, 5))
    want = np.mean([roc_auc_score(y[:, k], s[:, k]) for k in (0, 1, 2, 4)])
    assert macro_auroc_classes(y) == 4 and macro_auroc_classes(np.eye(5)) == 5
    out = get_task("multilabel").metrics(s, y)
    assert out["macro_auroc"] == pytest.approx(want) and out["macro_auroc_n_classes"] == 4.0
    t = np.array([0, 1, 1, 0, 1, 0])  # multi-class with a class (2) absent from the truth
    out = get_task("multiclass").metrics(rng.dirichlet(np.ones(3), 6), t)
    assert out["macro_auroc_n_classes"] == 2.0
