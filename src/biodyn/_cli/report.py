"""``biodyn report RESULTS_DIR``: seeds -> mean ± 95 % CI tables (markdown, LaTeX) and PNG figures."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "results_dir", help="folder holding <experiment>/<model>/<task>/<budget>/seed<k>.json"
    )
    parser.add_argument("--out", default=None, help="output folder (default: RESULTS_DIR/report)")
    parser.add_argument("--seeds", default="42,123,7,0,256", help="seeds expected per cell (gaps are marked)")


def run(args) -> int:
    from biodyn.report import make_report

    res = make_report(args.results_dir, args.out, seeds=[int(s) for s in args.seeds.split(",")])
    print(open(res["report"]).read())
    for f in [res["latex"], *res["figures"]]:
        print(f)
    return 0
