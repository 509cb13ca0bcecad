"""Seconds to score 1,000 hours of generated TUSZ-style annotations with every NEDC method
(DP alignment, epoch, OVERLAP, TAES, IRA), files read from disk included. Goal: <= 10 s on CPU.

Medians of 3 runs; the baseline measured in the same run is the cell-by-cell DP reference."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import goal, median_time, parser, report


def write_pair(d: Path, k: int, hours: float, rng: np.random.Generator) -> tuple[Path, Path]:
    dur = hours * 3600.0

    def events(n, jitter):
        starts = np.sort(rng.uniform(0, dur - 200, n))
        out, t = [], 0.0
        for s in starts:
            s = max(s + rng.normal(0, jitter), t + 1.0)
            e = min(s + rng.uniform(2, 120), dur)
            if e > s:
                out.append((s, e))
                t = e
        return out

    paths = []
    # per hour: a Poisson(8) number of reference seizures, a Poisson(40) number of hypothesis events
    for kind, n, jitter in (("ref", rng.poisson(8 * hours), 0.0), ("hyp", rng.poisson(40 * hours), 20.0)):
        rows = "".join(f"TERM,{a:.4f},{b:.4f},seiz,1.0000\n" for a, b in events(n, jitter))
        p = d / kind / f"f{k:05d}.csv_bi"
        p.parent.mkdir(exist_ok=True)
        p.write_text(
            f"# version = csv_v1.0.0\n# duration = {dur:.4f} secs\n#\n"
            f"channel,start_time,stop_time,label,confidence\n{rows}"
        )
        paths.append(p)
    return paths[0], paths[1]


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    total_h = 100.0 if args.quick else 1000.0
    file_h = 1.0
    rng = np.random.default_rng(0)
    rows = []
    from biodyn.io.events import read_annotation_file, read_annotation_files
    from biodyn.metrics.events import dp_cost_matrix, dp_cost_matrix_reference, normalize
    from biodyn.metrics.nedc import METHODS, score_annotations

    def score_files(refs, hyps, **kw):  # reading the files is part of what is timed
        return score_annotations(read_annotation_files(refs), read_annotation_files(hyps), **kw)

    with tempfile.TemporaryDirectory() as d:
        pairs = [write_pair(Path(d), k, file_h, rng) for k in range(int(total_h / file_h))]
        refs, hyps = [p[0] for p in pairs], [p[1] for p in pairs]
        repeats = 3
        for m in METHODS:
            t = median_time(lambda m=m: score_files(refs, hyps, methods=[m]), repeats, warmup=0)
            rows.append(
                {"method": m, "hours": total_h, "files": len(refs), "median_s": t, "repeats": repeats}
            )
        t_all = median_time(lambda: score_files(refs, hyps), repeats, warmup=0)
        res = score_files(refs, hyps)
        rows.append(
            {
                "method": "all (one pass)",
                "hours": total_h,
                "files": len(refs),
                "median_s": t_all,
                "repeats": repeats,
            }
        )
        # baseline in the same run: the DP edit-distance tables, cell-by-cell reference vs row-vectorised
        seqs = []
        for rf, hf in zip(refs, hyps):
            r, h = (normalize(read_annotation_file(f).events, 3600.0 * file_h) for f in (rf, hf))
            seqs.append(
                (np.array([s.label == "seiz" for s in r], int), np.array([s.label == "seiz" for s in h], int))
            )
        t_ref = median_time(lambda: [dp_cost_matrix_reference(a, b) for a, b in seqs], 1, warmup=0)
        t_fast = median_time(lambda: [dp_cost_matrix(a, b) for a, b in seqs], repeats, warmup=0)
        cells = sum((len(a) + 1) * (len(b) + 1) for a, b in seqs)
        rows.append(
            {
                "method": "DP tables: reference (cell loop)",
                "hours": total_h,
                "files": len(refs),
                "median_s": t_ref,
                "cells": cells,
            }
        )
        rows.append(
            {
                "method": "DP tables: row-vectorised",
                "hours": total_h,
                "files": len(refs),
                "median_s": t_fast,
                "cells": cells,
                "speedup_vs_reference": t_ref / t_fast,
            }
        )
    seconds_1000h = t_all * 1000.0 / total_h
    goals = {"score_1000h_seconds": goal(seconds_1000h, 10.0, "s", False)}
    note = "measured on 1000 h" if not args.quick else f"measured on {total_h:g} h, scaled linearly to 1000 h"
    print(
        f"overlap seiz sensitivity on the generated data: {res['overlap'].per_label['seiz']['sensitivity']:.3f}"
    )
    report("bench_scoring", rows, goals, args.json, quick=args.quick, note=note)


if __name__ == "__main__":
    main()
