import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

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
