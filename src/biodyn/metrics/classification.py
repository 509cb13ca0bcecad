"""Sample- and window-level metrics: AUROC, AUPRC, ECE, F1, Cohen's kappa (scikit-learn underneath)."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn import metrics as skm

from biodyn.errors import ConfigError


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


def macro_auroc_classes(y_true) -> int:
    """How many columns of a multi-label ``(N, K)`` target :func:`macro_auroc` averages: those with both label
    values (PTB-XL's small folds can lack a superclass, and the mean is then over fewer than ``K``)."""
    y = np.asarray(y_true)
    return int(sum(np.unique(y[:, k]).size > 1 for k in range(y.shape[1])))


def ece(probs, labels, n_bins: int = 15) -> float:
    """Expected calibration error ``sum_b |B_b| / N * |acc_b - conf_b|`` over ``n_bins`` equal-width bins
    ``(0, 1/n], (1/n, 2/n], ...`` (a confidence of exactly 0 falls in the first bin).

    * binary: ``probs (N,)`` the positive-class probability, ``labels (N,)`` 0/1; ``conf_b`` is the mean
      probability in the bin and ``acc_b`` the positive rate;
    * multi-class: ``probs (N, K)``, ``labels (N,)`` class indices: top-label ECE (confidence = max
      probability, accuracy = argmax == label), as in Guo et al. 2017;
    * multi-label: ``probs (N, K)``, ``labels (N, K)`` 0/1: every entry is a binary prediction.
    """
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if p.ndim == 2 and y.ndim == 1:
        conf = p.max(axis=1)
        hit = (p.argmax(axis=1) == y).astype(np.float64)
    else:
        if p.shape != y.shape:
            raise ConfigError(f"ece: probs {p.shape} and labels {y.shape} do not match")
        conf, hit = p.ravel(), y.ravel()
    if conf.size == 0:
        return float("nan")
    if n_bins < 1:
        raise ConfigError(f"invalid n_bins={n_bins!r}; must be >= 1")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.searchsorted(edges[1:-1], conf, side="left"), 0, n_bins - 1)  # bin b: (e_b, e_b+1]
    gap = np.abs(np.bincount(idx, hit, minlength=n_bins) - np.bincount(idx, conf, minlength=n_bins))
    return float(gap.sum() / conf.size)


def f1_at_threshold(y_true, probs, threshold: float = 0.5) -> float:
    """Binary F1 of ``probs >= threshold`` against 0/1 labels (0 when there are no positives at all)."""
    return float(
        skm.f1_score(np.asarray(y_true).ravel(), np.asarray(probs).ravel() >= threshold, zero_division=0)
    )


def macro_f1(y_true, y_pred) -> float:
    """Unweighted mean of per-class F1 over the classes present in ``y_true`` or ``y_pred``."""
    return float(skm.f1_score(y_true, y_pred, average="macro", zero_division=0))


def cohen_kappa(y_true, y_pred) -> float:
    """Cohen's kappa ``(p_o - p_e) / (1 - p_e)`` of two label sequences (unweighted)."""
    return float(skm.cohen_kappa_score(y_true, y_pred))
