"""Cost of Brain-Go-Brr's dev threshold search (``choose_thresholds_bisect``) with its 3-600 s post-processing,
beside the plain bisection it replaced (the baseline, measured in the same run).

One generated recording at 256 Hz (smooth noisy background, two 60 s seizures an hour, every other one weak),
searched whole, as ``biodyn.systems.seizure.evaluate`` passes dev recordings, and cut into 60 s windows with a
10 s stride, as ``window_metrics`` sees a training run's windows. Float32 probabilities, so nearly every sample
is a distinct candidate: the exact sweep would take one evaluation per candidate (``exact_sweep_est_s``:
candidates times the time of one evaluation, not run). Full: 2 h; ``--quick``: 15 min. Rows: seconds,
evaluations (post-processing + scoring at one threshold), post-processing passes, and the threshold /
sensitivity chosen for 1 FA/24h."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import goal, parser, report


def recording(hours: float, fs: float, seed: int = 0):
    from scipy.ndimage import uniform_filter1d

    from biodyn.types import Event

    rng = np.random.default_rng(seed)
    n = int(hours * 3600 * fs)
    z = uniform_filter1d(rng.normal(0, 1, n), int(fs)) * np.sqrt(fs) - 2.5  # logits, about 1 s correlation
    ref = []
    for k in range(max(1, int(hours * 2))):
        a = int(rng.uniform(0, n - 60 * fs))
        z[a : a + int(60 * fs)] += 5.0 if k % 2 == 0 else 0.7
        ref.append(Event(a / fs, 60.0, "seiz"))
    return (1 / (1 + np.exp(-z))).astype(np.float32).astype(np.float64), ref


def plain_bisection(records, targets, **post):
    """The search before the fix: the lowest threshold with FA/24h <= target, assuming monotone curves."""
    from biodyn.metrics import detection as D

    u = D.candidate_thresholds(records)
    cache = {}

    def at(k):
        if k not in cache:
            cache[k] = D.evaluate(records, u[k], **post)
        return cache[k]

    out = {}
    for t in targets:
        if not len(u) or at(len(u) - 1).fa_per_24h > t:
            out[t] = None
            continue
        lo, hi = 0, len(u) - 1
        if at(lo).fa_per_24h <= t:
            hi = lo
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if at(mid).fa_per_24h <= t:
                hi = mid
            else:
                lo = mid
        out[t] = at(hi)
    return out


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    from biodyn.metrics import detection as D
    from biodyn.metrics.postprocess import SEIZURE_POSTPROCESS

    hours, fs = (0.25 if args.quick else 2.0), 256.0
    p, ref = recording(hours, fs)
    win, stride = int(60 * fs), int(10 * fs)
    mask = np.zeros(len(p))
    for e in ref:
        mask[int(e.onset_s * fs) : int((e.onset_s + e.duration_s) * fs)] = 1
    cases = {
        "whole recording": [D.Scored(p, fs, ref)],
        "60 s windows": [
            D.Scored(p[s : s + win], fs, D.mask_events(mask[s : s + win], fs))
            for s in range(0, len(p) - win + 1, stride)
        ],
    }
    calls = {"evaluate": 0, "probs_to_events": 0}
    real_eval, real_pte = D.evaluate, D.probs_to_events

    def counted_eval(*a, **k):
        calls["evaluate"] += 1
        return real_eval(*a, **k)

    def counted_pte(*a, **k):
        calls["probs_to_events"] += 1
        return real_pte(*a, **k)

    D.evaluate, D.probs_to_events = counted_eval, counted_pte
    rows = []
    try:
        for case, recs in cases.items():
            n_cand = len(D.candidate_thresholds(recs))
            t0 = time.perf_counter()
            real_eval(recs, 0.5, **SEIZURE_POSTPROCESS)
            one_eval = time.perf_counter() - t0
            for search, fn in (
                ("plain bisection", plain_bisection),
                ("bisection + bound", D.choose_thresholds_bisect),
            ):
                calls.update(evaluate=0, probs_to_events=0)
                t0 = time.perf_counter()
                got = fn(recs, (1.0,), **SEIZURE_POSTPROCESS)[1.0]
                rows.append(
                    {
                        "case": case,
                        "search": search,
                        "hours": hours,
                        "records": len(recs),
                        "candidates": n_cand,
                        "seconds": time.perf_counter() - t0,
                        "evaluations": calls["evaluate"],
                        "postprocess_passes": calls["probs_to_events"],
                        "threshold_at_1fa": None if got is None else got.threshold,
                        "sensitivity_at_1fa": None if got is None else got.sensitivity,
                        "exact_sweep_est_s": n_cand * one_eval,
                    }
                )
    finally:
        D.evaluate, D.probs_to_events = real_eval, real_pte
    whole = [r for r in rows if r["case"] == "whole recording"]
    goals = {
        # the fix must not cost more than a minute on 2 h of dev data, and must find the seizures the plain
        # bisection lost to the dropped 600 s+ merges
        "whole_recording_seconds": goal(whole[1]["seconds"], 60.0, "s", False),
        "sensitivity_gain_at_1fa": goal(
            (whole[1]["sensitivity_at_1fa"] or 0.0) - (whole[0]["sensitivity_at_1fa"] or 0.0), 0.0, "", True
        ),
    }
    report("bench_threshold_search", rows, goals, args.json, quick=args.quick)


if __name__ == "__main__":
    main()
