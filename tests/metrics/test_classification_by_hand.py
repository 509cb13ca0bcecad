"""Classification scores worked out by hand where merging two ECE bins changes the answer, where macro-AUROC
skips classes, and where a multi-label F1 column has no true nor predicted sample."""

import warnings

import numpy as np
import pytest

from biodyn.metrics.classification import ece, f1_at_threshold, macro_auroc, macro_f1


def test_ece_bins_with_opposite_gaps_do_not_cancel():
    # bin (0, .5]: p .2 with label 1 (under-confident by .8); bin (.5, 1]: p .9 with label 0 (over by .9).
    # Within a bin the gaps add with their signs, across bins their sizes: (.8 + .9) / 2, not |1 - 1.1| / 2
    assert ece([0.2, 0.9], [1, 0], n_bins=2) == pytest.approx(0.85)
    assert ece([0.2, 0.9], [1, 0], n_bins=1) == pytest.approx(0.05)
    # four bins (0, .25], (.25, .5], (.5, .75], (.75, 1]: .1 -> first, .3 -> second, .6 -> third, 1.0 -> last
    p, y = [0.1, 0.3, 0.6, 1.0], [1, 0, 0, 1]
    assert ece(p, y, n_bins=4) == pytest.approx((0.9 + 0.3 + 0.6 + 0.0) / 4)
    # a confidence of exactly 0 falls in the first bin, with .1: |1 - .1| over both
    assert ece([0.0, 0.1, 0.9], [0, 1, 0], n_bins=2) == pytest.approx((0.9 + 0.9) / 3)


def test_macro_auroc_warns_naming_the_skipped_classes_only():
    y = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 1]])  # class 1 never positive, class 2 always
    s = np.array([[0.9, 0.1, 0.5], [0.2, 0.3, 0.5], [0.8, 0.5, 0.5]])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert macro_auroc(y, s) == 1.0
    assert [str(w.message) for w in seen] == [
        "macro_auroc: classes [1, 2] have a single label value and are skipped"
    ]
    # every class skipped: NaN, with the one warning and no numpy warning about an empty mean
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert np.isnan(macro_auroc(np.zeros((3, 2)), s[:, :2]))
    assert [(w.category, str(w.message)) for w in seen] == [
        (UserWarning, "macro_auroc: classes [0, 1] have a single label value and are skipped")
    ]


def test_macro_f1_of_a_label_column_never_true_nor_predicted_is_zero_without_warning():
    # multi-label indicators: column 0 has F1 2 * 1 / (2 * 1 + 0 + 1) = 2/3; column 1 is all 0 in both and
    # scores 0 (not 1), so the macro mean is 1/3
    y = np.array([[1, 0], [1, 0], [0, 0]])
    p = np.array([[1, 0], [0, 0], [0, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert macro_f1(y, p) == pytest.approx(1 / 3)


def test_f1_at_threshold_without_positives_is_zero_without_warning():
    # no true and no predicted positive: F1 is 0 by the function's own rule, not scikit-learn's warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert f1_at_threshold([0, 0], [0.1, 0.2]) == 0.0
