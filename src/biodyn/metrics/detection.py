"""Seizure-detection operating points: sensitivity at fixed false alarms per 24 h (OVERLAP scoring).

A detector outputs per-sample probabilities for each recording. For a threshold, the probabilities are
post-processed into events (:func:`~biodyn.metrics.postprocess.probs_to_events`) and scored with OVERLAP
against the reference. On a dev set, for each FA/24h target, the chosen threshold is the one with the highest
sensitivity among thresholds whose FA/24h is <= the target; on eval that threshold is applied frozen.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from biodyn.metrics.events import normalize, score_overlap
from biodyn.metrics.postprocess import SEIZURE_POSTPROCESS, mask_to_intervals, probs_to_events
from biodyn.types import Event

FA_TARGETS = (10.0, 5.0, 2.5, 1.0)


@dataclass
class Scored:
    """One recording: per-sample seizure probabilities, their rate, the reference seizure events."""

    probs: np.ndarray
    fs: float
    reference: list[Event]
    duration_s: float | None = None
    record_id: str = ""

    def __post_init__(self):
        if self.duration_s is None:
            self.duration_s = len(self.probs) / self.fs


@dataclass
class OperatingPoint:
    threshold: float
    sensitivity: float
    fa_per_24h: float
    hits: int = 0
    targets: int = 0
    false_alarms: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def evaluate(records: Sequence[Scored], threshold: float, **post) -> OperatingPoint:
    """OVERLAP sensitivity and FA/24h over ``records`` at ``threshold`` (``post``: post-processing kwargs)."""
    hits = targets = fa = 0
    dur = 0.0
    for r in records:
        hyp = probs_to_events(r.probs, r.fs, threshold=threshold, **post)
        ref_seg = normalize([e for e in r.reference if e.label == "seiz"], r.duration_s)
        hyp_seg = normalize(hyp, r.duration_s)
        c = score_overlap(ref_seg, hyp_seg, ("seiz", "bckg"))["seiz"]
        hits += int(c.hits)
        targets += int(c.targets)
        fa += int(c.false_alarms)
        dur += r.duration_s
    sens = hits / targets if targets else float("nan")
    return OperatingPoint(float(threshold), sens, fa / dur * 86400.0, hits, targets, fa)


def candidate_thresholds(records: Sequence[Scored], max_candidates: int | None = None) -> np.ndarray:
    """Distinct probability values, ascending: every one (``max_candidates=None``, an exact sweep) or
    ``max_candidates`` quantiles of them (a grid for plotting)."""
    p = np.unique(np.concatenate([np.asarray(r.probs, np.float64).ravel() for r in records]))
    if max_candidates is not None and len(p) > max_candidates:
        p = np.unique(np.quantile(p, np.linspace(0, 1, max_candidates)))
    return p


def sweep(
    records: Sequence[Scored], thresholds: Sequence[float] | None = None, **post
) -> list[OperatingPoint]:
    """The sensitivity-vs-FA/24h curve over ``thresholds`` (default: every distinct probability)."""
    th = candidate_thresholds(records) if thresholds is None else np.asarray(thresholds)
    return [evaluate(records, t, **post) for t in th]


def choose_thresholds(
    curve: Sequence[OperatingPoint], targets: Sequence[float] = FA_TARGETS
) -> dict[float, OperatingPoint | None]:
    """For each FA/24h target, the point with the highest sensitivity (ties: the lowest FA/24h, then the
    highest threshold) among those with FA/24h <= target; ``None`` when no threshold meets it."""
    out = {}
    for t in targets:
        ok = [p for p in curve if p.fa_per_24h <= t and not np.isnan(p.sensitivity)]
        out[t] = max(ok, key=lambda p: (p.sensitivity, -p.fa_per_24h, p.threshold)) if ok else None
    return out


def _drops_long_events(records: Sequence[Scored], threshold: float, max_duration_s: float, post) -> bool:
    """Whether ``max_duration_s`` drops an event of some record at ``threshold`` (``post`` without it)."""
    return any(
        e.duration_s > max_duration_s
        for r in records
        for e in probs_to_events(r.probs, r.fs, threshold=threshold, **post)
    )


class _Unfiltered:
    """Bounds on the curve below the threshold from which ``max_duration_s`` drops nothing, read from the
    events before that filter (``F(t)``, which only shrinks as the threshold rises) at one threshold:
    per record, the reference segments it overlaps, the references lying inside one too-long event (never
    hit at this threshold or any lower one), and its events as ``(start, stop)`` seconds with whether each is
    short enough to be kept and clear of every reference (touching counts as overlapping here)."""

    def __init__(self, records, refs, threshold: float, max_duration_s: float, post):
        self.hit = self.covered = 0
        self.events = []
        for r, ref in zip(records, refs):
            ev = probs_to_events(r.probs, r.fs, threshold=threshold, **post)
            h = np.array([(round(e.onset_s, 4), round(e.onset_s + e.duration_s, 4)) for e in ev]).reshape(
                -1, 2
            )
            long_ = np.array([e.duration_s > max_duration_s for e in ev], bool)
            ov = (h[None, :, 1] > ref[:, None, 0]) & (h[None, :, 0] < ref[:, None, 1])
            inside = (h[None, :, 0] <= ref[:, None, 0]) & (ref[:, None, 1] <= h[None, :, 1]) & long_[None, :]
            self.hit += int(ov.any(axis=1).sum())
            self.covered += int((inside & ov).any(axis=1).sum())  # (a zero-length reference at an edge)
            near = (h[None, :, 1] >= ref[:, None, 0]) & (h[None, :, 0] <= ref[:, None, 1])
            self.events.append((h, ~long_ & ~near.any(axis=0)))

    def false_alarms_below(self, upper: _Unfiltered) -> int:
        """False alarms at every threshold from this one up to ``upper``'s: an event here that is kept and
        clear of the references and holds an event at ``upper`` holds at least one false alarm all along
        (whatever it holds at a threshold in between is a run of its own, as short and as clear)."""
        n = 0
        for (h, clear), (hu, _) in zip(self.events, upper.events):
            if not len(hu):
                continue
            k = np.searchsorted(hu[:, 0], h[:, 0])  # the first event at `upper` starting inside this one
            n += int(np.sum(clear & (k < len(hu)) & (hu[np.minimum(k, len(hu) - 1), 0] < h[:, 1])))
        return n


def choose_thresholds_bisect(
    records: Sequence[Scored], targets: Sequence[float] = FA_TARGETS, **post
) -> dict[float, OperatingPoint | None]:
    """Per target, the threshold with the highest sensitivity among the distinct probabilities with
    FA/24h <= target: a bisection where the curve is monotone, a branch and bound where it is not.

    Before the maximum duration, the post-processed events ``F(t)`` only shrink, split or vanish as the
    threshold ``t`` rises (thresholding with or without hysteresis, opening, closing, merging and the minimum
    duration are all monotone), so sensitivity would never rise with it. ``max_duration_s`` breaks that: at a
    low threshold a whole stretch can merge into one event longer than it, which is dropped, so sensitivity
    can be 0 there and > 0 above (and FA/24h 0, so the lowest threshold meets every target). Whether some
    event is dropped is itself monotone (an event at a higher threshold lies inside one at a lower
    threshold), so a first bisection finds the lowest candidate ``u[k0]`` from which nothing is dropped.

    - On ``u[k0:]`` the curve is the monotone one: a bisection finds the lowest threshold with FA/24h <=
      target (``O(log n)`` evaluations).
    - Below ``u[k0]``, a branch and bound over index ranges ``[a, b]`` finds what the exact sweep
      (:func:`sweep` + :func:`choose_thresholds`) would find there: at every threshold of the range the hits
      are at most the references ``F(u[a])`` overlaps less those lying inside one too-long event of
      ``F(u[b])``, and the false alarms at least the events of ``F(u[a])`` short enough to be kept, clear of
      every reference and holding an event of ``F(u[b])``. A range that cannot beat the best point so far is
      skipped, one that may is halved, a single threshold is evaluated; a point found there replaces the
      bisection's when it has more hits, or as many with fewer false alarms.

    So the answer is never less sensitive than the exact sweep's provided FA/24h falls with the threshold on
    ``u[k0:]``: it usually does but need not (raising the threshold can split one event in two), and where
    it does not the bisection may stop above a more sensitive admissible threshold. The answer always meets
    its target and is always one of the exact sweep's points. Ties inside ``u[k0:]`` keep the lowest
    admissible threshold (the exact sweep prefers the lowest FA/24h, then the highest threshold). Records no
    longer than ``max_duration_s`` (training windows) skip all of this: nothing can be dropped."""
    u = candidate_thresholds(records)
    cache: dict[int, OperatingPoint] = {}

    def at(k: int) -> OperatingPoint:
        if k not in cache:
            cache[k] = evaluate(records, u[k], **post)
        return cache[k]

    # k0: the lowest index from which max_duration_s drops no event ("drops" is True below it, False from it)
    k0 = 0
    max_d = post.get("max_duration_s")
    # (no event outlasts its record: with every record within max_duration_s nothing is ever dropped)
    if max_d is not None and len(u) and any(len(r.probs) / r.fs > max_d for r in records):
        pre = {**post, "max_duration_s": None}
        lo, hi = -1, len(u)  # invariant: drops at lo (or lo = -1), none at hi (or hi = len(u))
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _drops_long_events(records, u[mid], max_d, pre):
                lo = mid
            else:
                hi = mid
        k0 = hi
    # below u[k0]: the branch and bound of the docstring, with _Unfiltered's bounds
    refs = [
        np.array(
            [
                (g.start, g.stop)
                for g in normalize([e for e in r.reference if e.label == "seiz"], r.duration_s)
                if g.label == "seiz"
            ]
            if r.reference
            else [],
            np.float64,
        ).reshape(-1, 2)
        for r in records
    ]
    dur = sum(r.duration_s for r in records)
    unf: dict[int, _Unfiltered] = {}

    def info(k: int) -> _Unfiltered:
        if k not in unf:
            unf[k] = _Unfiltered(records, refs, u[k], max_d, {**post, "max_duration_s": None})
        return unf[k]

    out: dict[float, OperatingPoint | None] = {}
    for t in targets:
        best = None
        if k0 < len(u) and at(len(u) - 1).fa_per_24h <= t:
            lo, hi = k0, len(u) - 1  # invariant: at(hi) meets the target
            if at(lo).fa_per_24h <= t:
                hi = lo
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if at(mid).fa_per_24h <= t:
                    hi = mid
                else:
                    lo = mid
            best = at(hi)
        if k0 and sum(len(r) for r in refs):
            stack = [(0, k0 - 1)]  # popped highest range first: a later find has a lower threshold
            while stack:
                a, b = stack.pop()
                if best is not None:
                    top = info(a).hit - info(b).covered
                    fa_low = info(a).false_alarms_below(info(b))
                    if fa_low / dur * 86400.0 > t or (top, -fa_low) <= (best.hits, -best.false_alarms):
                        continue
                elif info(a).false_alarms_below(info(b)) / dur * 86400.0 > t:
                    continue
                if a == b:
                    p = at(a)
                    if p.fa_per_24h <= t and (
                        best is None or (p.hits, -p.false_alarms) > (best.hits, -best.false_alarms)
                    ):
                        best = p
                    continue
                mid = (a + b) // 2
                stack += [(a, mid), (mid + 1, b)]
        out[t] = best
    return out


def sensitivity_at_fa(
    dev: Sequence[Scored],
    evalset: Sequence[Scored],
    targets: Sequence[float] = FA_TARGETS,
    thresholds: Sequence[float] | None = None,
    search: str = "auto",
    max_exact: int = 2048,
    curve_points: int = 128,
    szcore: bool = True,
    **post,
) -> dict[str, Any]:
    """Choose thresholds on ``dev``, apply them frozen to ``evalset``; returns a JSON-able report.

    ``search``: ``"exact"`` sweeps every distinct dev probability (or the given ``thresholds``);
    ``"bisect"`` uses :func:`choose_thresholds_bisect`; ``"auto"`` is exact up to ``max_exact`` distinct
    values, else bisection. With ``szcore``, each eval row also carries SzCORE event scoring
    (:func:`~biodyn.metrics.szcore.szcore_score`) at the frozen threshold. ``dev_curve`` is the exact sweep, or ``curve_points`` quantile thresholds
    when bisecting (for the JSON/PNG curve only)."""
    from biodyn.errors import check_option

    check_option("search", search, ("auto", "exact", "bisect"))
    if search == "auto":
        n = len(candidate_thresholds(dev)) if thresholds is None else 0
        search = "exact" if n <= max_exact else "bisect"
    if search == "exact":
        curve = sweep(dev, thresholds, **post)
        chosen = choose_thresholds(curve, targets)
    else:
        chosen = choose_thresholds_bisect(dev, targets, **post)
        curve = sweep(dev, candidate_thresholds(dev, curve_points), **post)
    rows = []
    for t, p in chosen.items():
        if p is None:
            rows.append({"target_fa_per_24h": t, "threshold": None, "dev": None, "eval": None})
            continue
        ev = evaluate(evalset, p.threshold, **post)
        rows.append(
            {
                "target_fa_per_24h": t,
                "threshold": p.threshold,
                "dev": {"sensitivity": p.sensitivity, "fa_per_24h": p.fa_per_24h},
                "eval": {
                    "sensitivity": ev.sensitivity,
                    "fa_per_24h": ev.fa_per_24h,
                    "hits": ev.hits,
                    "targets": ev.targets,
                    "false_alarms": ev.false_alarms,
                },
            }
        )
        if szcore:
            from biodyn.metrics.szcore import szcore_score

            files = [
                (
                    [e for e in r.reference if e.label == "seiz"],
                    probs_to_events(r.probs, r.fs, threshold=p.threshold, **post),
                    r.duration_s,
                )
                for r in evalset
            ]
            rows[-1]["eval"]["szcore"] = szcore_score(files)
    return {
        "search": search,
        "operating_points": rows,
        "dev_curve": [p.__dict__ for p in curve],
        "postprocess": post,
    }


def mask_events(mask: np.ndarray, fs: float, label: str = "seiz") -> list[Event]:
    """Reference events from a per-sample 0/1 mask ``(T,)`` (negative = unlabelled counts as background)."""
    return [
        Event(float(a / fs), float((b - a) / fs), label) for a, b in mask_to_intervals(np.asarray(mask) > 0)
    ]


def window_metrics(
    probs: np.ndarray,
    target: np.ndarray,
    fs: float,
    fa_target: float = 10.0,
    post: dict[str, Any] | None = None,
) -> dict[str, float]:
    """Metrics of per-sample probabilities ``(N, T)`` against masks ``(N, T)``, each window a recording:
    ``auroc`` (per sample), ``window_auroc`` (window max vs any seizure sample), and the OVERLAP
    ``sens_at_10fa`` (highest sensitivity among thresholds with FA/24h <= ``fa_target``; 0 when none),
    with its ``threshold_at_10fa`` and ``fa_at_10fa``."""
    from biodyn.metrics.classification import auroc

    probs = np.asarray(probs, np.float64).reshape(len(probs), -1)
    target = np.asarray(target).reshape(probs.shape)
    out: dict[str, float] = {}
    y = (target > 0).ravel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["auroc"] = auroc(y, probs.ravel()) if 0 < y.sum() < y.size else float("nan")
        wy = (target > 0).any(axis=1)
        out["window_auroc"] = auroc(wy, probs.max(axis=1)) if 0 < wy.sum() < len(wy) else float("nan")
    recs = [
        Scored(p, fs, mask_events(t, fs), record_id=str(i)) for i, (p, t) in enumerate(zip(probs, target))
    ]
    pp = {**SEIZURE_POSTPROCESS, **(post or {})}
    op = choose_thresholds_bisect(recs, (fa_target,), **pp)[fa_target]
    out["sens_at_10fa"] = 0.0 if op is None or np.isnan(op.sensitivity) else float(op.sensitivity)
    out["threshold_at_10fa"] = float("nan") if op is None else float(op.threshold)
    out["fa_at_10fa"] = float("nan") if op is None else float(op.fa_per_24h)
    return out
