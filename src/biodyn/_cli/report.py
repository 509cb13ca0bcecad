"""``biodyn report RESULTS_DIR``: seeds -> mean ± 95 % CI tables (markdown, LaTeX) and PNG figures."""

from __future__ import annotations

import argparse

from biodyn._cli._common import SEEDS_HELP
from biodyn._cli._common import seeds as parse_seeds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "results_dir", help="folder holding <experiment>/<model>/<task>/<budget>/seed<k>.json"
    )
    parser.add_argument("--out", default=None, help="output folder (default: RESULTS_DIR/report)")
    parser.add_argument("--seeds", default=None, help=f"seeds expected per cell, gaps marked; {SEEDS_HELP}")


def run(args) -> int:
    from biodyn.report import make_report

    res = make_report(args.results_dir, args.out, seeds=list(parse_seeds(args.seeds)))
    print(open(res["report"]).read())
    for f in [res["latex"], *res["figures"]]:
        print(f)
    return 0
