"""Lag-graph metrics: delay error, edge support and orientation, SHD, focal-lead ranking."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from biodyn.types import LagGraph


def _support(g: LagGraph) -> np.ndarray:
    s = g.weight != 0
    np.fill_diagonal(s, False)
    return s


def tau_mae_samples(true: LagGraph, est: LagGraph) -> float:
    """Mean ``|tau_est - tau_true|`` in samples over true edges that ``est`` also asserts (NaN if none)."""
    both = _support(true) & _support(est)
    if not both.any():
        return float("nan")
    return float(np.abs(est.tau_samples[both] - true.tau_samples[both]).mean())


def _f1(tp: int, n_pred: int, n_true: int) -> tuple[float, float, float]:
    prec = tp / n_pred if n_pred else float("nan")
    rec = tp / n_true if n_true else float("nan")
    f1 = 2 * tp / (n_pred + n_true) if n_pred + n_true else float("nan")
    return prec, rec, f1


def edge_scores(true: LagGraph, est: LagGraph) -> dict[str, float]:
    """Directed-edge precision, recall and F1; orientation F1 (the same, restricted to channel pairs that
    both graphs connect, so it scores direction only); SHD (missing + extra + wrongly oriented pairs)."""
    t, e = _support(true), _support(est)
    tp = int((t & e).sum())
    prec, rec, f1 = _f1(tp, int(e.sum()), int(t.sum()))
    pair_t, pair_e = t | t.T, e | e.T
    both = pair_t & pair_e  # symmetric: pairs connected in both graphs
    _, _, ori_f1 = _f1(int((t & e & both).sum()), int((e & both).sum()), int((t & both).sum()))
    iu = np.triu_indices_from(t, 1)
    missing = int((pair_t & ~pair_e)[iu].sum())
    extra = int((pair_e & ~pair_t)[iu].sum())
    misoriented = int((both & ((t != e) | (t.T != e.T)))[iu].sum())
    return {
        "precision": prec,
        "recall": rec,
        "f1": f1,
        "orientation_f1": ori_f1,
        "shd": missing + extra + misoriented,
        "tp": tp,
        "n_true": int(t.sum()),
        "n_est": int(e.sum()),
    }


def topk_accuracy(
    ranking: Sequence[str],
    true_sources: Sequence[str],
    ks: Sequence[int] = (1, 3, 5),
    scores: Sequence[float] | None = None,
) -> dict[str, float]:
    """Top-k accuracy of a focal-lead ranking: 1 if any true source is among the first k, else 0.

    With ``scores`` (one per entry of ``ranking``, ascending: lower ranks first) channels of equal score are
    tied, and the credit is the expected accuracy when a tie is broken uniformly at random: for the tie
    straddling position k, with ``m`` of its ``g`` members inside the first k and ``t`` of them true sources
    (none ranked strictly above), ``1 - C(g - t, m) / C(g, m)``. A ranking that ties every channel (a method
    that asserts no edge) then scores chance, not its channel order.
    """
    truth = set(true_sources)
    if scores is None:
        return {f"top{k}": float(bool(truth & set(ranking[:k]))) for k in ks}
    s = np.round(np.asarray(scores, dtype=np.float64), 12)  # sums of the same lags in another order tie
    if s.shape != (len(ranking),):
        raise ValueError(f"topk_accuracy: {len(ranking)} channels but scores of shape {s.shape}")
    is_true = np.array([c in truth for c in ranking])
    out = {}
    for k in ks:
        if k >= len(ranking) or not is_true.any():
            out[f"top{k}"] = float(is_true.any())
            continue
        cut = np.sort(s)[k - 1]  # the k-th score
        if is_true[s < cut].any():
            out[f"top{k}"] = 1.0
            continue
        group = s == cut
        g, t, m = int(group.sum()), int((group & is_true).sum()), k - int((s < cut).sum())
        out[f"top{k}"] = 1.0 - math.comb(g - t, m) / math.comb(g, m)
    return out


def ranking_positions(ranking: Sequence[str], channels: Sequence[str] | None = None) -> np.ndarray:
    """Position (0 = first) of each of ``channels`` (default: ``ranking`` sorted) in ``ranking``."""
    pos = {n: k for k, n in enumerate(ranking)}
    names = sorted(ranking) if channels is None else list(channels)
    return np.array([pos[n] for n in names], dtype=np.float64)


def ranking_spearman(a: Sequence[str], b: Sequence[str]) -> float:
    """Spearman correlation between two rankings of the same channels (over the channels in both).

    The Pearson correlation of the positions (which are already ranks without ties); NaN when fewer than
    two channels are shared or a ranking is constant.
    """
    common = sorted(set(a) & set(b))
    if len(common) < 2:
        return float("nan")
    ra = np.argsort(np.argsort(ranking_positions(a, common)))
    rb = np.argsort(np.argsort(ranking_positions(b, common)))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    den = np.sqrt((ra**2).sum() * (rb**2).sum())
    return float((ra * rb).sum() / den) if den > 0 else float("nan")


def groups_spearman(a: Sequence[Sequence[str]], b: Sequence[Sequence[str]]) -> float:
    """Spearman correlation between two rankings given as tie groups (earliest group first, e.g.
    :meth:`biodyn.causal.fit.LagFit.focal_groups`), with ties as ties: each channel's rank is the average rank
    of its group (``scipy.stats.spearmanr`` on the group positions), over the channels both rankings hold.

    NaN (undefined, not agreement) when fewer than two channels are shared or either ranking puts every shared
    channel in one group: a ranking that orders nothing (a fit without an identified edge) cannot agree or
    disagree with another. Channel order never enters, unlike :func:`ranking_spearman` of a flat ranking whose
    ties were listed in channel order.
    """
    from scipy.stats import spearmanr

    pa = {n: k for k, g in enumerate(a) for n in g}
    pb = {n: k for k, g in enumerate(b) for n in g}
    common = sorted(set(pa) & set(pb))
    if len(common) < 2:
        return float("nan")
    xa = np.array([pa[n] for n in common], dtype=np.float64)
    xb = np.array([pb[n] for n in common], dtype=np.float64)
    if np.ptp(xa) == 0 or np.ptp(xb) == 0:
        return float("nan")
    return float(spearmanr(xa, xb)[0])


def topk_overlap(a: Sequence[str], b: Sequence[str], k: int = 3) -> int:
    """How many of the first ``k`` channels of two rankings are shared."""
    return len(set(a[:k]) & set(b[:k]))
