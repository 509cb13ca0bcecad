"""How much of a lag graph survives resampling in time: per-edge confidence, focal-ranking stability.

:func:`lag_stability` refits the graph on ``n_windows`` overlapping sub-windows (each ``window_frac`` of
the recording, evenly spaced from the start to the end; a moving-block subsample over time) and reports

- per lagged edge of the full fit: ``confidence`` = the share of sub-window fits that assert the edge with
  the same sign, and the 5 % / 95 % quantiles of its delay over those fits;
- per zero-lag coupling: the share of sub-window fits that report it;
- the focal ranking over identified edges (:meth:`~biodyn.causal.fit.LagFit.not_identified`): for each channel
  the share of sub-window fits whose focal lead it is (``first_share``; ``no_focal_lead_share``: the fits with
  none), the full fit's lead's share (``focal_first_share``, None when the full fit has no focal lead), and the
  Spearman correlation of each sub-window ranking with the full one, ties as ties and the channels without an
  identified edge one final group (:func:`~biodyn.causal.metrics.groups_spearman`; NaN, undefined, when
  either ranking orders nothing; the median is over the defined ones, ``n_ranking_spearman_undefined``
  counts the others).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from biodyn.causal.fit import FitConfig, LagFit, Progress, fit_lags
from biodyn.causal.metrics import groups_spearman


def lag_stability(
    x: np.ndarray,
    fs: float,
    channels: Sequence[str],
    cfg: FitConfig,
    full: LagFit,
    n_windows: int = 8,
    window_frac: float = 0.6,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Sub-window refits of ``x`` ``(C, T)`` (the data ``full`` was fitted on); see the module docstring.

    Each refit starts once from ``full`` (warm start: its edges join the sub-window's screened support, with
    their delays) and otherwise uses the same configuration; a common-source fit (``full.model``) is refitted
    as one, an edge's delay in a sub-window being the difference of its two channels' delays there (the same
    edge when their order is the same).
    """
    names = list(channels)
    t = x.shape[1]
    n_win = max(round(window_frac * t), 1)
    starts = np.linspace(0, t - n_win, n_windows).round().astype(int) if n_windows > 1 else np.array([0])
    fits: list[LagFit] = []
    sub_cfg = replace(cfg, n_starts=1)  # one start each: warm, from the full fit's edges and delays
    for k, s0 in enumerate(starts):
        if full.model == "common_source":
            from biodyn.causal.common_source import fit_common_source

            fits.append(fit_common_source(x[:, s0 : s0 + n_win], fs, names, cfg.tau_max_samples))
        else:
            fits.append(fit_lags(x[:, s0 : s0 + n_win], fs, names, sub_cfg, seed=0, init=full))
        if progress is not None:
            progress("stability", k + 1, len(starts))
    w_full = full.graph.weight
    edges = []
    for e in full.graph.edges():
        i, j = names.index(e["source"]), names.index(e["target"])
        if full.model == "common_source":  # the same order of the two channels' delays, and its size
            diffs = [f.onset_s[names[j]] - f.onset_s[names[i]] for f in fits]
            taus = np.array([v for v in diffs if v >= 0])
            same = list(taus)
        else:
            same = [f for f in fits if np.sign(f.graph.weight[i, j]) == np.sign(w_full[i, j])]
            taus = np.array([f.graph.tau[i, j] for f in same])
        edges.append(
            {
                "source": e["source"],
                "target": e["target"],
                "confidence": len(same) / len(fits),
                "tau_s_q05": float(np.quantile(taus, 0.05)) if len(taus) else None,
                "tau_s_q95": float(np.quantile(taus, 0.95)) if len(taus) else None,
            }
        )
    inst = []
    iu, ju = np.triu_indices(len(names), 1)
    for i, j in zip(iu, ju):
        if full.instantaneous[i, j] != 0 or full.instantaneous[j, i] != 0:
            hits = [f for f in fits if f.instantaneous[i, j] != 0 or f.instantaneous[j, i] != 0]
            inst.append({"a": names[i], "b": names[j], "confidence": len(hits) / len(fits)})
    # the ranking of the full fit over its identified edges (the spreads above included), each sub-window's over
    # the edges it does not put at the ceiling; a fit without a focal lead (no identified edge, a tie) counts
    # for none
    ident = full.identified_graph(edges)
    groups, lead = ident.focal_groups(edgeless_last=True), ident.focal_lead()
    sub = [f.identified_graph() for f in fits]
    firsts = [g.focal_lead() for g in sub]
    named = [n for n in firsts if n is not None]
    first_share = {n: named.count(n) / len(fits) for n in sorted(set(named), key=named.index)}
    # ties as ties, the channels without an identified edge one final group; undefined (NaN) against a ranking
    # that orders nothing, and left out of the median
    rhos = [groups_spearman(groups, g.focal_groups(edgeless_last=True)) for g in sub]
    defined = [r for r in rhos if np.isfinite(r)]
    return {
        "n_windows": len(fits),
        "window_s": n_win / fs,
        "window_starts_s": [float(s0 / fs) for s0 in starts],
        "edges": edges,
        "instantaneous": inst,
        "first_share": dict(sorted(first_share.items(), key=lambda kv: -kv[1])),
        "focal_first_share": first_share.get(lead, 0.0) if lead is not None else None,
        "no_focal_lead_share": firsts.count(None) / len(fits),
        "ranking_spearman": [float(r) for r in rhos],
        "ranking_spearman_median": float(np.median(defined)) if defined else float("nan"),
        "n_ranking_spearman_undefined": len(rhos) - len(defined),
        "all_converged": all(f.converged for f in fits),
    }
