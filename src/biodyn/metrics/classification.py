"""Sample- and window-level metrics: AUROC, AUPRC, ECE, F1, Cohen's kappa (scikit-learn underneath)."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn import metrics as skm


def auroc(y_true, scores) -> float:
    """Area under the ROC curve of binary labels; NaN when only one class is present."""
    y = np.asarray(y_true).ravel()
    if np.unique(y).size < 2:
        return float("nan")
    return float(skm.roc_auc_score(y, np.asarray(scores).ravel()))


def auprc(y_true, scores) -> float:
    """Average precision (area under the precision-recall curve, step interpolation)."""
    y = np.asarray(y_true).ravel()
    if y.sum() == 0:
        return float("nan")
    return float(skm.average_precision_score(y, np.asarray(scores).ravel()))


def macro_auroc(y_true, scores) -> float:
    """Mean AUROC over the columns of a multi-label ``(N, K)`` problem, skipping (with a warning) classes
    whose labels are all 0 or all 1 in ``y_true`` (PTB-XL's macro-AUROC)."""
    y, s = np.asarray(y_true), np.asarray(scores)
    vals, skipped = [], []
    for k in range(y.shape[1]):
        v = auroc(y[:, k], s[:, k])
        (skipped if np.isnan(v) else vals).append(k if np.isnan(v) else v)
    if skipped:
        warnings.warn(
            f"macro_auroc: classes {skipped} have a single label value and are skipped", stacklevel=2
        )
    return float(np.mean(vals)) if vals else float("nan")


def ece(probs, labels, n_bins: int = 15) -> float:
    """Expected calibration error of binary probabilities: ``sum_b |B_b|/N * |acc_b - conf_b|`` over
    ``n_bins`` equal-width bins of the predicted probability of the positive class, where acc_b is the
    positive rate in the bin."""
    p = np.asarray(probs, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1], right=True), 0, n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        sel = idx == b
        if sel.any():
            total += sel.mean() * abs(y[sel].mean() - p[sel].mean())
    return float(total)


def f1_at_threshold(y_true, probs, threshold: float = 0.5) -> float:
    return float(
        skm.f1_score(np.asarray(y_true).ravel(), np.asarray(probs).ravel() >= threshold, zero_division=0)
    )


def macro_f1(y_true, y_pred) -> float:
    return float(skm.f1_score(y_true, y_pred, average="macro", zero_division=0))


def cohen_kappa(y_true, y_pred) -> float:
    return float(skm.cohen_kappa_score(y_true, y_pred))
